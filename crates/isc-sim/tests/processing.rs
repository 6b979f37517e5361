//! The simulator over HTTP: identity processing: profile processing, identity processing, attribute sync, legacy refresh, preview.

pub mod common;

use common::*;

#[tokio::test]
async fn process_identities_and_experimental_header() {
    let env = start().await;
    let ids = identity_ids(&env, 250).await;
    let mut too_many = ids.clone();
    too_many.push(ids[0].clone());
    let bad = "400.1 Bad Request Content";

    let r = env
        .post(
            "/v2024/identities/process",
            json!({"identityIds": ids[..2]}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        bad,
        "X-SailPoint-Experimental: true",
    );
    let r = env
        .send(
            Method::POST,
            "/v2024/identities/process",
            Some(&env.pat),
            Some((
                "application/json",
                json!({"identityIds": ids[..2]}).to_string(),
            )),
            &[("X-SailPoint-Experimental", "false")],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "X-SailPoint-Experimental");

    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": too_many})),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "1 to 250");
    assert!(r.text().contains("got 251"));
    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": []})),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "identityIds");
    let r = env
        .post_exp("/v2024/identities/process", Some(json!({})))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "'identityIds' is required");
    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": ["nope"]})),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "nope");

    let before =
        env.get(&format!("/v2024/identities/{}", ids[0])).await.body["lastRefresh"].clone();
    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": ids})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let object = r.body.as_object().unwrap();
    assert_eq!(object.len(), 2, "name must be omitted: {}", r.body);
    assert_eq!(r.body["type"], "TASK_RESULT");
    let done = env.wait_task(r.body["id"].as_str().unwrap()).await;
    assert_eq!(done["completionStatus"], "SUCCESS");
    assert_eq!(done["attributes"], json!({"identityCount": 250}));
    let after = env.get(&format!("/v2024/identities/{}", ids[0])).await.body["lastRefresh"].clone();
    assert_ne!(before, after);

    // The header is accepted (and ignored) elsewhere.
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&env.pat),
            None,
            &[("X-SailPoint-Experimental", "true")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn synchronize_attributes_window() {
    let env = start().await;
    let ids = identity_ids(&env, 2).await;
    let path = |id: &str| format!("/v2024/identities/{id}/synchronize-attributes");

    let r = env
        .send(Method::POST, &path(&ids[0]), Some(&env.pat), None, &[])
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "X-SailPoint-Experimental",
    );

    let r = env.post_exp(&path(&ids[0]), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["status"], "QUEUED");
    assert_eq!(r.body["payload"]["type"], "SYNCHRONIZE_IDENTITY_ATTRIBUTES");
    let data: Value =
        serde_json::from_str(r.body["payload"]["dataJson"].as_str().unwrap()).unwrap();
    assert_eq!(data, json!({"identityId": ids[0]}));

    let r = env.post_exp(&path(&ids[0]), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body["message"].as_str().unwrap().contains(&ids[0]));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");

    let r = env.post_exp(&path(&ids[1]), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    env.post_exp(&path("ffffffffffffffffffffffffffffffff"), None)
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "404 Not found",
            "ffffffffffffffffffffffffffffffff",
        );

    let journal = env.admin.journal().await;
    let flagged: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.flags.sync_within_window)
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].status, 429);
    assert_eq!(
        flagged[0].route.as_deref(),
        Some("/v2024/identities/{identityId}/synchronize-attributes")
    );
}

#[tokio::test]
async fn legacy_refresh_and_full_refresh_flag() {
    let env = start().await;
    let refresh = |body: String| {
        env.send(
            Method::POST,
            "/cc/api/system/refreshIdentities",
            Some(&env.pat),
            Some(("application/json", body)),
            &[],
        )
    };
    let args =
        json!({"correlateEntitlements": "true", "promoteAttributes": true, "refreshLinks": 1});

    let r =
        refresh(json!({"filter": r#"alias == "ada.lovelace""#, "refreshArgs": args}).to_string())
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["type"], "TASK_RESULT");
    assert_eq!(r.body["identityCount"], 1);
    let done = env.wait_task(r.body["id"].as_str().unwrap()).await;
    assert_eq!(done["completionStatus"], "SUCCESS");

    let r = refresh(
        json!({"filter": r#"department == "Finance" && (uid == "ada.lovelace" || lastname != "Turing")"#})
            .to_string(),
    )
    .await;
    assert_eq!(r.body["identityCount"], 56);

    for body in [
        json!({"filter": r#"uid == "nobody""#, "refreshArgs": args}),
        json!({"filter": r#"uid eq "ada.lovelace""#}),
        json!({"filter": ""}),
        json!({"refreshArgs": args}),
    ] {
        let r = refresh(body.to_string()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["identityCount"], 300, "{body}");
    }
    // The spec's own example sends the object as a JSON-encoded string.
    let r =
        refresh(json!(json!({"filter": r#"uid == "grace.hopper""#}).to_string()).to_string()).await;
    assert_eq!(r.body["identityCount"], 1);

    let r = refresh(json!({"filter": "", "refreshArgs": {"provision": 5}}).to_string()).await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "refreshArgs.provision",
    );

    let journal = env.admin.journal().await;
    let refreshes: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some("refreshIdentities"))
        .collect();
    assert_eq!(refreshes.len(), 8);
    let full: Vec<bool> = refreshes.iter().map(|e| e.flags.full_refresh).collect();
    assert_eq!(full, [false, false, true, true, true, true, false, false]);
    assert_eq!(
        refreshes[0].route.as_deref(),
        Some("/cc/api/system/refreshIdentities")
    );
    assert_eq!(refreshes[0].body["filter"], r#"alias == "ada.lovelace""#);
}

#[tokio::test]
async fn profile_processing_preview_and_default_config() {
    let env = start().await;
    let p = env.create_profile("Employees", EMPLOYEES, 1).await;
    let id = p["id"].as_str().unwrap();

    let r = env
        .get(&format!(
            "/v2024/identity-profiles/{id}/default-identity-attribute-config"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["enabled"], true);
    let transforms = r.body["attributeTransforms"].as_array().unwrap();
    let attr_names: Vec<&str> = transforms
        .iter()
        .map(|t| t["identityAttributeName"].as_str().unwrap())
        .collect();
    assert_eq!(
        attr_names,
        ["uid", "email", "firstname", "lastname", "displayName"]
    );
    assert_eq!(
        transforms[1]["transformDefinition"],
        json!({"type": "accountAttribute", "attributes": {"attributeName": "email", "sourceName": "HR Employees", "sourceId": EMPLOYEES}})
    );
    let config = r.body.clone();

    let r = env
        .patch(
            id,
            json!([{"op": "replace", "path": "/identityAttributeConfig", "value": config}]),
        )
        .await;
    assert_eq!(r.body["identityRefreshRequired"], true);

    let ada = &env
        .get(&format!(
            "/v2024/identities?filters={}",
            urlencode(r#"alias eq "ada.lovelace""#)
        ))
        .await
        .body[0];
    let before = ada["lastRefresh"].clone();
    let r = env
        .post(
            &format!("/v2024/identity-profiles/{id}/process-identities"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body, json!({}));
    let tasks = env
        .admin_request(Method::GET, "/__sim/tasks", None)
        .await
        .body;
    let task_id = tasks[0]["id"].as_str().unwrap().to_string();
    assert_eq!(tasks[0]["attributes"]["identityCount"], 200);
    let done = env.wait_task(&task_id).await;
    assert_eq!(done["completionStatus"], "SUCCESS");
    let profile = env
        .get(&format!("/v2024/identity-profiles/{id}"))
        .await
        .body;
    assert_eq!(profile["identityRefreshRequired"], false);
    let after = env
        .get(&format!(
            "/v2024/identities/{}",
            ada["id"].as_str().unwrap()
        ))
        .await
        .body["lastRefresh"]
        .clone();
    assert_ne!(before, after);

    let r = env
        .post(
            "/v2024/identity-profiles/identity-preview",
            json!({"identityId": ada["id"], "identityAttributeConfig": {"enabled": true, "attributeTransforms": [
                {"identityAttributeName": "email", "transformDefinition": {"type": "accountAttribute", "attributes": {"attributeName": "email"}}},
                {"identityAttributeName": "title", "transformDefinition": {"type": "static", "attributes": {"value": "Countess"}}},
                {"identityAttributeName": "x", "transformDefinition": {"type": "rule", "attributes": {}}}
            ]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["identity"],
        json!({"type": "IDENTITY", "id": ada["id"], "name": "Ada Lovelace"})
    );
    let preview = &r.body["previewAttributes"];
    assert_eq!(preview[0]["value"], "ada.lovelace@example.com");
    assert_eq!(preview[0]["previousValue"], "ada.lovelace@example.com");
    assert_eq!(preview[1]["value"], "Countess");
    assert!(preview[1].get("previousValue").is_none());
    assert!(preview[2].get("value").is_none());
    assert!(
        preview[2]["errorMessages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("rule")
    );
    env.post(
        "/v2024/identity-profiles/identity-preview",
        json!({"identityId": "nope"}),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "identityId",
    );

    env.post(
        "/v2024/identity-profiles/ffffffffffffffffffffffffffffffff/process-identities",
        json!({}),
    )
    .await
    .assert_error(
        StatusCode::NOT_FOUND,
        "404 Not found",
        "ffffffffffffffffffffffffffffffff",
    );
}
