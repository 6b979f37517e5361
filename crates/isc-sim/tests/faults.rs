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

async fn token_call(env: &Env) -> reqwest::Response {
    env.http
        .post(format!("{}/oauth/token", env.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn hostile_answers_a_client_must_survive() {
    let env = start().await;
    let fault = |body: Value| env.admin_request(Method::POST, "/__sim/faults", Some(body));

    // Retry-After at u64::MAX, and as text that overflows any integer.
    let r =
        fault(json!({"path": "/v2024/identity-profiles", "status": 429, "retryAfter": u64::MAX}))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = env.get("/v2024/identity-profiles").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "18446744073709551615");
    fault(json!({"path": "/v2024/identity-profiles", "status": 503, "retryAfter": "99999999999999999999999999"})).await;
    let r = env.get("/v2024/identity-profiles").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers["retry-after"], "99999999999999999999999999");

    // A token response with a huge expires_in still carries a working token.
    fault(json!({"path": "/oauth/token", "expiresIn": u64::MAX})).await;
    let body: Value = token_call(&env).await.json().await.unwrap();
    assert_eq!(body["expires_in"], json!(u64::MAX));
    let token = body["access_token"].as_str().unwrap();
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    fault(json!({"path": "/oauth/token", "expiresIn": 1e300})).await;
    let body: Value = token_call(&env).await.json().await.unwrap();
    assert_eq!(body["expires_in"], json!(1e300));

    // 429 "forever" on the token endpoint: until the fault is cleared.
    fault(json!({"path": "/oauth/token", "count": u32::MAX, "status": 429, "retryAfter": 1})).await;
    for _ in 0..5 {
        let r = token_call(&env).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "1");
    }
    let listed = env.admin_request(Method::GET, "/__sim/faults", None).await;
    assert_eq!(listed.body[0]["count"], u32::MAX - 5);
    env.admin_request(Method::DELETE, "/__sim/faults", None)
        .await;
    assert_eq!(token_call(&env).await.status(), StatusCode::OK);

    // A list that ignores offset: every page is the first one; the journal keeps the offset.
    for name in ["A", "B", "C"] {
        env.create_profile(name, EMPLOYEES, 1).await;
    }
    fault(json!({"method": "GET", "path": "/v2024/identity-profiles", "count": 3, "ignoreOffset": true})).await;
    for offset in [0, 1, 2] {
        let r = env
            .get(&format!(
                "/v2024/identity-profiles?limit=1&offset={offset}&sorters=name"
            ))
            .await;
        assert_eq!(names(&r.body), ["A"], "offset {offset}");
    }
    let r = env
        .get("/v2024/identity-profiles?limit=1&offset=2&sorters=name")
        .await;
    assert_eq!(names(&r.body), ["C"]);
    let journal = env.admin.journal().await;
    let ignored: Vec<&Value> = journal
        .iter()
        .filter(|e| e.flags.fault && e.query.contains_key("limit"))
        .map(|e| &e.query["offset"])
        .collect();
    assert_eq!(ignored, [&json!("0"), &json!("1"), &json!("2")]);

    // A 10 MB error body: valid JSON of the error shape; the journal keeps the short form.
    let ten_mb = 10 * 1024 * 1024;
    fault(json!({"path": "/v2024/identity-profiles", "status": 500, "bodyBytes": ten_mb})).await;
    let r = env.get("/v2024/identity-profiles").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(serde_json::to_vec(&r.body).unwrap().len() >= ten_mb);
    assert!(r.text().starts_with("Injected fault: 500"));
    let last = env.admin.journal().await.pop().unwrap();
    assert_eq!(last.status, 500);
    assert!(last.response_body.to_string().len() < 1024);

    // A redirect on the token endpoint: nothing handled, nothing issued.
    fault(json!({"path": "/oauth/token", "location": "http://127.0.0.1:9/steal"})).await;
    let r = token_call(&env).await;
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(r.headers()["location"], "http://127.0.0.1:9/steal");
    assert!(r.bytes().await.unwrap().is_empty());
    fault(json!({"path": "/v2024/*", "status": 308, "location": "/elsewhere"})).await;
    let r = env.get("/v2024/identity-profiles").await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers["location"], "/elsewhere");

    // Faults that could not be honoured are refused.
    for (bad, needle) in [
        (
            json!({"path": "/x", "location": "/y", "status": 500}),
            "3xx",
        ),
        (json!({"path": "/x", "bodyBytes": 10}), "bodyBytes"),
        (
            json!({"path": "/x", "status": 500, "bodyBytes": 1u64 << 40}),
            "bodyBytes",
        ),
        (
            json!({"path": "/x", "status": 429, "retryAfter": "a\nb"}),
            "retryAfter",
        ),
        (
            json!({"path": "/x", "ignoreOffset": false}),
            "one of status",
        ),
    ] {
        fault(bad)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", needle);
    }
}

#[tokio::test]
async fn wire_overrides_serve_a_damaged_profile() {
    let env = start().await;
    let damaged = env.create_profile("Damaged", EMPLOYEES, 1).await;
    let healthy = env.create_profile("Healthy", CONTRACTORS, 2).await;
    let id = damaged["id"].as_str().unwrap();
    let path = format!("/__sim/identity-profiles/{id}/wire-overrides");
    let overrides =
        json!({"authoritativeSource": null, "identityAttributeConfig": "oops", "priority": "high"});
    let r = env
        .admin_request(Method::POST, &path, Some(overrides))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["authoritativeSource"], Value::Null);

    let list = env.get("/v2024/identity-profiles?sorters=name").await;
    assert_eq!(list.body[0]["authoritativeSource"], Value::Null);
    assert_eq!(list.body[0]["identityAttributeConfig"], "oops");
    assert_eq!(list.body[0]["priority"], "high");
    assert_eq!(
        list.body[1]["authoritativeSource"],
        healthy["authoritativeSource"]
    );
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{id}"))
            .await
            .body["priority"],
        "high"
    );
    let export = env
        .get("/v2024/identity-profiles/export?sorters=name")
        .await;
    assert_eq!(export.body[0]["object"]["authoritativeSource"], Value::Null);
    // Filters still see the stored profile.
    let r = env
        .get(&format!(
            "/v2024/identity-profiles?filters={}",
            urlencode("priority eq 1")
        ))
        .await;
    assert_eq!(names(&r.body), ["Damaged"]);

    let r = env.admin_request(Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = env.get(&format!("/v2024/identity-profiles/{id}")).await;
    assert_eq!(r.body["priority"], 1);
    assert_eq!(
        env.admin_request(Method::DELETE, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    let missing = "/__sim/identity-profiles/ffffffffffffffffffffffffffffffff/wire-overrides";
    let r = env
        .admin_request(Method::POST, missing, Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = env
        .admin_request(Method::POST, &path, Some(json!([1])))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
