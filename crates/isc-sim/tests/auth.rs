//! The simulator over HTTP: the token endpoint, bearer checks and the gateway rate limiter.

pub mod common;

use common::*;

#[tokio::test]
async fn token_endpoint_and_bearer_checks() {
    let mut config = config();
    config.token_ttl = Duration::from_millis(400);
    let env = start_with(config).await;

    let r = env
        .http
        .post(format!("{}/oauth/token", env.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 0);
    assert_eq!(body["scope"], "sp:scopes:all");
    assert_eq!(body["user_id"], "");
    assert_eq!(body["identity_id"], "");
    assert!(body["jti"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(body["tenant_id"].as_str().is_some_and(is_hex32));

    // Query-string credentials work too, and a PAT carries a user.
    let r = env
        .http
        .post(format!(
            "{}/oauth/token?grant_type=client_credentials&client_id={PAT_ID}&client_secret={PAT_SECRET}",
            env.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert!(body["identity_id"].as_str().is_some_and(is_hex32));

    let r = env
        .http
        .post(format!("{}/oauth/token", env.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", PAT_ID),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "Bad credentials"})
    );

    let r = env
        .send(Method::GET, "/v2024/identity-profiles", None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({"error": "JWT validation failed: JWT is missing"})
    );

    let fresh = env.token(PAT_ID, PAT_SECRET).await;
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&fresh),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&fresh),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({"error": "JWT validation failed: JWT is expired"})
    );

    // The journal records token calls without the secret, and API calls without the bearer.
    let journal = env.admin.journal().await;
    let text = serde_json::to_string(&journal).unwrap();
    assert!(!text.contains(PAT_SECRET) && !text.contains(APP_SECRET));
    assert!(
        !text.contains(&fresh),
        "bearer tokens must not be journaled"
    );
    let token_calls: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some("token"))
        .collect();
    assert_eq!(token_calls.len(), 5);
    assert_eq!(token_calls[0].body["client_secret"], "<redacted>");
    assert_eq!(token_calls[0].client_id.as_deref(), Some(PAT_ID));
    assert_eq!(token_calls[2].query["client_secret"], "<redacted>");
    let expired = journal.last().unwrap();
    assert_eq!(expired.status, 401);
    assert_eq!(expired.client_id.as_deref(), Some(PAT_ID));
    assert!(expired.headers.get("authorization").is_none());
    env.sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_per_client_and_version() {
    let mut config = config();
    config.rate_limit = Some((5, Duration::from_secs(2)));
    let env = start_with(config).await;
    for _ in 0..5 {
        assert_eq!(
            env.get("/v2024/identity-profiles").await.status,
            StatusCode::OK
        );
    }
    let r = env.get("/v2024/identity-profiles").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body, json!({"message": "Rate Limit Exceeded"}));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");

    // Other API versions and other clients have their own budget; tokens are never limited.
    let r = env
        .send(
            Method::POST,
            "/cc/api/system/refreshIdentities",
            Some(&env.pat),
            Some((
                "application/json",
                json!({"filter": r#"uid == "ada.lovelace""#}).to_string(),
            )),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let app = env.token(APP_ID, APP_SECRET).await;
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&app),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let journal = env.admin.journal().await;
    assert_eq!(journal.iter().filter(|e| e.flags.rate_limited).count(), 1);

    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(
        env.get("/v2024/identity-profiles").await.status,
        StatusCode::OK
    );

    // Turned off at run time.
    let r = env
        .admin_request(
            Method::POST,
            "/__sim/config",
            Some(json!({"rateLimit": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["rateLimit"], Value::Null);
    for _ in 0..8 {
        assert_eq!(
            env.get("/v2024/identity-profiles").await.status,
            StatusCode::OK
        );
    }
}
