//! `POST /v2024/identity-profiles/import`: the semantics the official documents leave open, as
//! the simulator pins them (see the `transfer` module's doc), and every import request and
//! answer validated against the official v2024 schemas.

pub mod common;

use common::openapi::v2024;
use common::*;

fn exported(name: &str, source: &str) -> Value {
    json!({"version": 1, "self": {"type": "IDENTITY_PROFILE", "name": name},
           "object": {"name": name, "authoritativeSource": {"type": "SOURCE", "id": source}}})
}

/// Lists every profile; asserts each name appears once, compared case-insensitively.
async fn names_once(env: &Env) -> Vec<String> {
    let list = env.get("/v2024/identity-profiles?sorters=name").await.body;
    let all = names(&list);
    let mut lower: Vec<String> = all.iter().map(|n| n.to_lowercase()).collect();
    lower.sort();
    lower.dedup();
    assert_eq!(lower.len(), all.len(), "a name appears twice: {all:?}");
    all
}

#[tokio::test]
async fn new_objects_are_created_in_request_order() {
    let env = start().await;
    let batch: Vec<Value> = (0..5)
        .map(|i| exported(&format!("P{i}"), EMPLOYEES))
        .collect();
    let r = env
        .post("/v2024/identity-profiles/import", Value::Array(batch))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let imported = r.body["importedObjects"].as_array().unwrap();
    let order: Vec<&str> = imported
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["P0", "P1", "P2", "P3", "P4"]);
    assert!(imported.iter().all(|o| o["type"] == "IDENTITY_PROFILE"));
    assert!(imported.iter().all(|o| is_hex32(o["id"].as_str().unwrap())));
    assert_eq!(r.body["errors"], json!([]));
    assert_eq!(names_once(&env).await.len(), 5);
}

#[tokio::test]
async fn a_name_matching_in_another_case_updates_that_profile_and_keeps_its_id() {
    let env = start().await;
    let alpha = env.create_profile("Alpha", EMPLOYEES, 1).await;
    let r = env
        .post(
            "/v2024/identity-profiles/import",
            json!([exported("ALPHA", CONTRACTORS)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["importedObjects"],
        json!([{"type": "IDENTITY_PROFILE", "id": alpha["id"], "name": "ALPHA"}])
    );
    assert_eq!(names_once(&env).await, ["ALPHA"], "renamed, not doubled");
    let stored = env
        .get(&format!(
            "/v2024/identity-profiles/{}",
            alpha["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored.body["authoritativeSource"]["id"], CONTRACTORS);
    assert_eq!(stored.body["identityRefreshRequired"], true);
}

#[tokio::test]
async fn errors_are_per_object_with_index_and_name_and_the_rest_is_imported() {
    let env = start().await;
    let unknown = "dddddddddddddddddddddddddddddddd";
    let batch = json!([
        exported("Good One", EMPLOYEES),
        exported("Lost", unknown),
        {"version": 1, "self": {"type": "SOURCE", "name": "Not A Profile"}, "object": {"name": "Not A Profile", "authoritativeSource": {"id": EMPLOYEES}}},
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "name": "Empty"}},
        exported("good one", EMPLOYEES),
        exported("Good Two", EMPLOYEES),
    ]);
    let r = env.post("/v2024/identity-profiles/import", batch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let errors = r.body["errors"].as_array().unwrap();
    let summary: Vec<(u64, &str, Option<&str>)> = errors
        .iter()
        .map(|e| {
            (
                e["details"]["index"].as_u64().unwrap(),
                e["key"].as_str().unwrap(),
                e["details"]["objectName"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "UNKNOWN_REFERENCE_RESOLVER", Some("Lost")),
            (2, "UNSUPPORTED_TYPE", Some("Not A Profile")),
            (3, "MISSING_OBJECT", Some("Empty")),
            (4, "DUPLICATE_NAME", Some("good one")),
        ]
    );
    assert!(errors[0]["text"].as_str().unwrap().contains(unknown));
    assert!(
        errors
            .iter()
            .all(|e| e["details"]["type"] == "IDENTITY_PROFILE")
    );
    let imported = names(&r.body["importedObjects"]);
    assert_eq!(imported, ["Good One", "Good Two"], "partial success");
    assert_eq!(names_once(&env).await, ["Good One", "Good Two"]);
}

#[tokio::test]
async fn the_whole_request_fails_only_when_it_is_not_an_array_of_exported_objects() {
    let env = start().await;
    env.post(
        "/v2024/identity-profiles/import",
        json!({"not": "an array"}),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "JSON array",
    );
    env.post(
        "/v2024/identity-profiles/import",
        json!([exported("Fine", EMPLOYEES), {"self": "not an object"}]),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "Element 1",
    );
    assert!(names_once(&env).await.is_empty(), "nothing imported");
    let app = env.token(APP_ID, APP_SECRET).await;
    let body = json!([exported("Fine", EMPLOYEES)]).to_string();
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles/import",
            Some(&app),
            Some(("application/json", body)),
            &[],
        )
        .await;
    r.assert_error(
        StatusCode::FORBIDDEN,
        "403 Forbidden",
        "personal access token",
    );
}

/// Drives imports of every kind, then checks each one the journal holds: status declared,
/// answer valid against its schema, and (for the requests a client sends) the body valid too.
#[tokio::test]
async fn every_import_request_and_answer_conforms_to_the_official_schema() {
    let env = start().await;
    env.create_profile("Existing", EMPLOYEES, 1).await;
    let valid_bodies = [
        json!([
            exported("New", EMPLOYEES),
            exported("existing", CONTRACTORS)
        ]),
        json!([
            exported("Lost", "dddddddddddddddddddddddddddddddd"),
            exported("new", EMPLOYEES)
        ]),
        json!([{"version": 1, "self": {"type": "IDENTITY_PROFILE", "name": "Empty"}}]),
        json!([]),
    ];
    for body in &valid_bodies {
        let r = env
            .post("/v2024/identity-profiles/import", body.clone())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    env.post(
        "/v2024/identity-profiles/import",
        json!({"not": "an array"}),
    )
    .await;
    let app = env.token(APP_ID, APP_SECRET).await;
    env.send(
        Method::POST,
        "/v2024/identity-profiles/import",
        Some(&app),
        Some(("application/json", valid_bodies[0].to_string())),
        &[],
    )
    .await;

    let doc = v2024();
    let declared = doc.declared_statuses("importIdentityProfiles");
    let request = doc
        .request_validator("importIdentityProfiles", "application/json")
        .expect("the request body has a schema");
    let mut seen = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    for entry in env.admin.journal().await {
        if entry.operation_id.as_deref() != Some("importIdentityProfiles") {
            continue;
        }
        *seen.entry(entry.status).or_insert(0) += 1;
        assert!(
            declared.contains(&entry.status.to_string()),
            "{}",
            entry.status
        );
        let answer = doc
            .response_validator("importIdentityProfiles", entry.status)
            .expect("every declared status has a body schema");
        for error in answer.iter_errors(&entry.response_body) {
            failures.push(format!(
                "{} answer: {error}; {}",
                entry.status, entry.response_body
            ));
        }
        if entry.status == 200 {
            for error in request.iter_errors(&entry.body) {
                failures.push(format!("request: {error}; {}", entry.body));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        seen,
        [(200, 4), (400, 1), (403, 1)].into_iter().collect(),
        "every kind of answer was checked"
    );
    // The validator is live: a result without `importedObjects` is not an ObjectImportResult.
    let ok = doc
        .response_validator("importIdentityProfiles", 200)
        .unwrap();
    assert!(!ok.is_valid(&json!({"infos": [], "warnings": [], "errors": []})));
    assert!(!request.is_valid(&json!({"not": "an array"})));
}
