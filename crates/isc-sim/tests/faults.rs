//! The simulator over HTTP: injected faults, and the error shapes of bad input.

pub mod common;

use common::*;

#[tokio::test]
async fn injected_faults() {
    let env = start().await;
    let fault = |body: Value| env.admin_request(Method::POST, "/__sim/faults", Some(body));

    let r = fault(
        json!({"method": "GET", "path": "/v2024/identity-profiles*", "count": 2, "status": 503}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body["id"].is_string());
    let listed = env
        .admin_request(Method::GET, "/__sim/faults", None)
        .await
        .body;
    assert_eq!(listed[0]["count"], 2);
    for _ in 0..2 {
        env.get("/v2024/identity-profiles").await.assert_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Unavailable",
            "Injected",
        );
    }
    assert_eq!(
        env.get("/v2024/identity-profiles").await.status,
        StatusCode::OK
    );
    assert_eq!(
        env.admin_request(Method::GET, "/__sim/faults", None)
            .await
            .body,
        json!([])
    );

    fault(json!({"path": "/v2024/identities", "status": 429, "retryAfter": 7})).await;
    let r = env.get("/v2024/identities").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(r.body, json!({"message": "Rate Limit Exceeded"}));

    fault(json!({"method": "*", "path": "/v2024/task-status*", "drop": true})).await;
    let started = Instant::now();
    let err = env
        .http
        .get(format!("{}/v2024/task-status", env.base))
        .bearer_auth(&env.pat)
        .send()
        .await
        .expect_err("the connection is dropped without a response");
    assert!(!err.is_status(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(env.get("/v2024/task-status").await.status, StatusCode::OK);

    fault(json!({"path": "/v2024/identity-profiles", "delayMs": 300})).await;
    let started = Instant::now();
    assert_eq!(
        env.get("/v2024/identity-profiles").await.status,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    let r = fault(json!({"path": "/x"})).await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "one of status",
    );
    let r = fault(json!({"path": "/x", "status": 503, "color": "red"})).await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "color",
    );

    fault(json!({"path": "/nothing", "status": 500})).await;
    assert_eq!(
        env.admin_request(Method::DELETE, "/__sim/faults", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        env.admin_request(Method::GET, "/__sim/faults", None)
            .await
            .body,
        json!([])
    );

    let journal = env.admin.journal().await;
    let statuses: Vec<u16> = journal
        .iter()
        .filter(|e| e.flags.fault)
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [503, 503, 429, 0, 200]);
}

#[tokio::test]
async fn bad_input_gets_proper_error_shapes() {
    let env = start().await;
    let bad = "400.1 Bad Request Content";
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles",
            Some(&env.pat),
            Some(("application/json", "{\"name\": ".to_string())),
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "Malformed JSON request body");
    assert!(r.text().contains("line 1"), "{}", r.text());
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles",
            Some(&env.pat),
            Some(("text/plain", "{}".to_string())),
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "Content-Type 'text/plain'");
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles",
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "Content-Type");
    let r = env.post("/v2024/identity-profiles", json!([1, 2])).await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "JSON object");

    let r = env.get("/v2024/no-such-thing").await;
    r.assert_error(
        StatusCode::NOT_FOUND,
        "404 Not found",
        "/v2024/no-such-thing",
    );
    let r = env
        .send(
            Method::PUT,
            "/v2024/identity-profiles",
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body["errorName"], "NotSupportedException");
    assert!(
        r.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("GET, POST")
    );
    assert!(is_hex32(r.body["trackingId"].as_str().unwrap()));
    assert_eq!(r.headers["allow"], "GET, POST");

    // `/identity-profiles/export` is not a profile id, but DELETE on it is a (missing) profile.
    let r = env.get("/v2024/identity-profiles/export").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = env
        .send(
            Method::DELETE,
            "/v2024/identity-profiles/export",
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "404 Not found", "export");

    let journal = env.admin.journal().await;
    let unknown = journal
        .iter()
        .find(|e| e.path == "/v2024/no-such-thing")
        .unwrap();
    assert_eq!(unknown.route, None);
    assert_eq!(unknown.operation_id, None);
    assert_eq!(unknown.status, 404);
    let malformed = journal
        .iter()
        .find(|e| e.operation_id.as_deref() == Some("createIdentityProfile"))
        .unwrap();
    assert_eq!(malformed.body, "{\"name\": ");
}
