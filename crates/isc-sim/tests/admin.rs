//! The simulator over HTTP: the `/__sim/` admin API: journal, direct state edits, reset and run-time config.

pub mod common;

use common::*;

#[tokio::test]
async fn journal_reset_and_admin_state_edits() {
    let env = start().await;
    let p = env.create_profile("Employees", EMPLOYEES, 1).await;
    let id = p["id"].as_str().unwrap();
    let r = env
        .send(
            Method::GET,
            &format!("/v2024/identity-profiles/{id}?count=true&count=false"),
            Some(&env.pat),
            None,
            &[("X-Custom", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let journal = env.admin.journal().await;
    let last = journal.last().unwrap();
    assert_eq!(last.method, "GET");
    assert_eq!(last.path, format!("/v2024/identity-profiles/{id}"));
    assert_eq!(
        last.route.as_deref(),
        Some("/v2024/identity-profiles/{identity-profile-id}")
    );
    assert_eq!(last.operation_id.as_deref(), Some("getIdentityProfile"));
    assert_eq!(Value::Object(last.query.clone()), json!({"count": "true"}));
    assert_eq!(last.headers["x-custom"], "yes");
    assert!(last.headers.get("authorization").is_none());
    assert_eq!(last.client_id.as_deref(), Some(PAT_ID));
    assert_eq!(last.body, Value::Null);
    assert_eq!(last.status, 200);
    assert_eq!(last.response_body, p);
    assert_eq!(
        serde_json::to_value(last.flags).unwrap(),
        json!({"fullRefresh": false, "rateLimited": false, "fault": false, "syncWithinWindow": false})
    );
    chrono::DateTime::parse_from_rfc3339(&last.time).unwrap();
    let seq = last.seq;
    let newer = env
        .admin_request(
            Method::GET,
            &format!("/__sim/requests?since={}", seq - 1),
            None,
        )
        .await
        .body;
    assert_eq!(newer.as_array().unwrap().len(), 1);
    assert_eq!(newer[0]["seq"], seq);

    // A change made "in the UI": bypasses the read-only rules.
    let r = env
        .admin_request(
            Method::PATCH,
            &format!("/__sim/identity-profiles/{id}"),
            Some(json!({"identityRefreshRequired": true, "description": "edited in UI", "priority": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = env.get(&format!("/v2024/identity-profiles/{id}")).await;
    assert_eq!(r.body["identityRefreshRequired"], true);
    assert_eq!(r.body["description"], "edited in UI");
    assert!(r.body.get("priority").is_none());
    assert_ne!(r.body["modified"], p["modified"]);

    let r = env
        .admin_request(
            Method::POST,
            "/__sim/identity-profiles",
            Some(json!({"name": "From UI", "authoritativeSource": {"type": "SOURCE", "id": CONTRACTORS, "name": "HR Contractors"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(is_hex32(r.body["id"].as_str().unwrap()));
    assert_eq!(r.body["identityCount"], 100);
    assert_eq!(
        env.admin_request(Method::GET, "/__sim/identity-profiles", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let ui_id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        env.admin_request(
            Method::DELETE,
            &format!("/__sim/identity-profiles/{ui_id}"),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );

    let r = env
        .admin_request(
            Method::POST,
            "/__sim/identities",
            Some(json!({"name": "New Hire", "alias": "new.hire", "sourceId": EMPLOYEES, "correlated": false,
                        "attributes": {"uid": "new.hire"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["correlated"], false);
    let r = env.get(&format!("/v2024/identity-profiles/{id}")).await;
    assert_eq!(r.body["identityCount"], 201);
    assert_eq!(
        env.admin_request(Method::GET, "/__sim/identities", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        301
    );
    assert_eq!(
        env.admin_request(Method::GET, "/__sim/sources", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        env.admin_request(Method::GET, "/__sim/nope", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Admin calls are not journaled.
    assert!(
        env.admin
            .journal()
            .await
            .iter()
            .all(|e| !e.path.starts_with("/__sim"))
    );

    // Reset: seed state back, journal and faults gone, tokens still valid.
    env.admin_request(
        Method::POST,
        "/__sim/faults",
        Some(json!({"path": "/x", "status": 500})),
    )
    .await;
    let r = env.admin_request(Method::POST, "/__sim/reset", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(env.admin.journal().await, Vec::<JournalEntry>::new());
    assert_eq!(
        env.admin_request(Method::GET, "/__sim/faults", None)
            .await
            .body,
        json!([])
    );
    assert_eq!(env.get("/v2024/identity-profiles").await.body, json!([]));
    assert_eq!(
        env.admin_request(Method::GET, "/__sim/identities", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        300
    );

    let r = env
        .admin_request(
            Method::POST,
            "/__sim/config",
            Some(json!({"taskDurationMs": 50, "syncAttributesWindowMs": 0, "tokenTtlSecs": 60})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["taskDurationMs"], 50);
    assert_eq!(r.body["tokenTtlSecs"], 60);
    let r = env
        .admin_request(
            Method::POST,
            "/__sim/config",
            Some(json!({"taskDurationMs": -1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    env.sim.shutdown().await;
}
