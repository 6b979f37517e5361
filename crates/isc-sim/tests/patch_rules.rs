//! The simulator over HTTP: the PATCH rules of identity profiles (RFC 6902 plus the tenant's read-only and pairing rules).

pub mod common;

use common::*;

#[tokio::test]
async fn patch_rules() {
    let env = start().await;
    let p = env.create_profile("Employees", EMPLOYEES, 1).await;
    env.create_profile("Taken", CONTRACTORS, 2).await;
    let id = p["id"].as_str().unwrap().to_string();
    let bad = "400.1 Bad Request Content";

    let r = env
        .send(
            Method::PATCH,
            &format!("/v2024/identity-profiles/{id}"),
            Some(&env.pat),
            Some(("application/json", "[]".to_string())),
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "application/json-patch+json");

    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = env
        .patch(
            &id,
            json!([{"op": "replace", "path": "/description", "value": "People"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["description"], "People");
    assert_eq!(r.body["identityRefreshRequired"], false);
    assert_ne!(r.body["modified"], p["modified"]);
    assert_eq!(r.body["created"], p["created"]);
    let after_description = r.body.clone();

    for field in [
        "id",
        "created",
        "modified",
        "identityCount",
        "identityRefreshRequired",
    ] {
        let r = env
            .patch(
                &id,
                json!([{"op": "replace", "path": format!("/{field}"), "value": 1}]),
            )
            .await;
        r.assert_error(
            StatusCode::BAD_REQUEST,
            bad,
            &format!("'/{field}' is read-only"),
        );
    }
    let r = env
        .patch(
            &id,
            json!([{"op": "move", "from": "/id", "path": "/description"}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "'/id' is read-only");

    let r = env
        .patch(
            &id,
            json!([
                {"op": "replace", "path": "/authoritativeSource/id", "value": CONTRACTORS},
                {"op": "replace", "path": "/identityAttributeConfig/enabled", "value": true}
            ]),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        bad,
        "'authoritativeSource' and 'identityAttributeConfig'",
    );

    // A failing test op makes the whole patch fail, atomically.
    let r = env
        .patch(
            &id,
            json!([
                {"op": "replace", "path": "/description", "value": "changed"},
                {"op": "test", "path": "/priority", "value": 99}
            ]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "did not match");
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{id}"))
            .await
            .body,
        after_description
    );

    let r = env
        .patch(
            &id,
            json!([{"op": "replace", "path": "/priority", "value": "high"}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "not a valid IdentityProfile");
    let r = env
        .patch(
            &id,
            json!([{"op": "remove", "path": "/authoritativeSource"}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "not a valid IdentityProfile");
    let r = env
        .patch(
            &id,
            json!([{"op": "replace", "path": "/name", "value": "TAKEN"}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "already exists");
    let r = env
        .patch(
            &id,
            json!([{"op": "replace", "path": "/nosuch/deep", "value": 1}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "could not be applied");
    let r = env
        .send(
            Method::PATCH,
            &format!("/v2024/identity-profiles/{id}"),
            Some(&env.pat),
            Some((PATCH_JSON, "[{\"op\": ".to_string())),
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "Malformed JSON");
    let r = env.patch(&id, json!({"op": "add"})).await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "JSON Patch array");
    let r = env
        .patch(&id, json!([{"op": "frobnicate", "path": "/x"}]))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "invalid JSON Patch document");

    // A patch that changes nothing leaves `modified` alone.
    let r = env
        .patch(
            &id,
            json!([{"op": "test", "path": "/description", "value": "People"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, after_description);

    let r = env
        .patch(
            &id,
            json!([{"op": "add", "path": "/identityAttributeConfig/attributeTransforms/-", "value": {
                "identityAttributeName": "email",
                "transformDefinition": {"type": "accountAttribute", "attributes": {"attributeName": "email", "sourceName": "HR Employees", "sourceId": EMPLOYEES}}
            }}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["identityRefreshRequired"], true);
    assert_eq!(
        r.body["identityAttributeConfig"]["attributeTransforms"][0]["identityAttributeName"],
        "email"
    );

    let r = env
        .patch(&id, json!([{"op": "replace", "path": "/authoritativeSource", "value": {"id": CONTRACTORS}}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["identityCount"], 100);
    assert_eq!(
        r.body["authoritativeSource"],
        json!({"type": "SOURCE", "id": CONTRACTORS, "name": "HR Contractors"})
    );
    let r = env
        .patch(&id, json!([{"op": "replace", "path": "/authoritativeSource/id", "value": "ffffffffffffffffffffffffffffffff"}]))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "authoritativeSource.id");

    env.patch("ffffffffffffffffffffffffffffffff", json!([]))
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "404 Not found",
            "ffffffffffffffffffffffffffffffff",
        );
}
