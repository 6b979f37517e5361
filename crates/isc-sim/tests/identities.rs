//! The simulator over HTTP: identity list and get, and the user-context rule.

pub mod common;

use common::*;

#[tokio::test]
async fn identities_list_get_and_user_context() {
    let env = start().await;
    let r = env.get("/v2024/identities?count=true&limit=10").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 10);
    assert_eq!(r.headers["x-total-count"], "288");
    let r = env
        .get("/v2024/identities?defaultFilter=NONE&count=true&limit=1")
        .await;
    assert_eq!(r.headers["x-total-count"], "300");
    let r = env
        .get(&format!(
            "/v2024/identities?defaultFilter=NONE&count=true&filters={}",
            urlencode("correlated eq false")
        ))
        .await;
    assert_eq!(r.headers["x-total-count"], "12");
    let r = env
        .get(&format!(
            "/v2024/identities?filters={}",
            urlencode(r#"email eq "ada.lovelace@example.com""#)
        ))
        .await;
    assert_eq!(names(&r.body), ["Ada Lovelace"]);
    let ada = r.body[0].clone();
    assert_eq!(ada["alias"], "ada.lovelace");
    assert_eq!(ada["attributes"]["department"], "Engineering");
    let r = env
        .get(&format!(
            "/v2024/identities?sorters=-name&filters={}",
            urlencode(r#"firstname sw "ad" and lastname eq "Turing""#)
        ))
        .await;
    assert_eq!(names(&r.body), ["Ada Turing"]);
    let r = env
        .get(&format!(
            "/v2024/identities?filters={}",
            urlencode(&format!(
                r#"id in ("{}","nope")"#,
                ada["id"].as_str().unwrap()
            ))
        ))
        .await;
    assert_eq!(names(&r.body), ["Ada Lovelace"]);
    let r = env.get("/v2024/identities?sorters=-name&limit=1").await;
    // "Yukihiro Wirth" sorts first but is uncorrelated, so hidden by default.
    assert_eq!(names(&r.body), ["Yukihiro Turing"]);
    env.get(&format!(
        "/v2024/identities?filters={}",
        urlencode(r#"department eq "x""#)
    ))
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "'department'",
    );
    env.get(&format!(
        "/v2024/identities?filters={}",
        urlencode(r#"name co "x""#)
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", "'co'");
    env.get("/v2024/identities?sorters=email")
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "'email'",
        );
    env.get("/v2024/identities?defaultFilter=SOME")
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "defaultFilter",
        );

    let r = env
        .get(&format!(
            "/v2024/identities/{}",
            ada["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, ada);
    env.get("/v2024/identities/ffffffffffffffffffffffffffffffff")
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "404 Not found",
            "ffffffffffffffffffffffffffffffff",
        );

    let app = env.token(APP_ID, APP_SECRET).await;
    for path in [
        "/v2024/identities".to_string(),
        format!("/v2024/identities/{}", ada["id"].as_str().unwrap()),
    ] {
        let r = env.send(Method::GET, &path, Some(&app), None, &[]).await;
        r.assert_error(
            StatusCode::FORBIDDEN,
            "403 Forbidden",
            "personal access token",
        );
    }
    // Other operations are fine without a user.
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
}
