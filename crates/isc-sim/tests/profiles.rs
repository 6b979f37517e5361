//! The simulator over HTTP: identity-profile create, list (filters, sorters, paging), delete, export and import.

pub mod common;

use common::*;

#[tokio::test]
async fn profile_create_list_filters_sorters_paging() {
    let env = start().await;
    let hr = env
        .create_profile("HR Employees Profile", EMPLOYEES, 10)
        .await;
    assert!(is_hex32(hr["id"].as_str().unwrap()));
    assert_eq!(hr["identityCount"], 200);
    assert_eq!(hr["identityRefreshRequired"], false);
    assert_eq!(
        hr["authoritativeSource"],
        json!({"type": "SOURCE", "id": EMPLOYEES, "name": "HR Employees"})
    );
    assert_eq!(
        hr["identityAttributeConfig"],
        json!({"enabled": false, "attributeTransforms": []})
    );
    assert_eq!(hr["created"], hr["modified"]);
    env.create_profile("Contractors", CONTRACTORS, 20).await;

    // Read-only fields in a create body are ignored.
    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"id": "not-mine", "identityCount": 999, "identityRefreshRequired": true,
                   "name": "Alpha", "priority": 5, "authoritativeSource": {"id": CONTRACTORS}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_ne!(r.body["id"], "not-mine");
    assert_eq!(r.body["identityCount"], 100);
    assert_eq!(r.body["identityRefreshRequired"], false);

    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"name": "alpha", "authoritativeSource": {"id": EMPLOYEES}}),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", "name");
    assert!(r.text().contains("already exists"));
    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"name": "Nope", "authoritativeSource": {"id": "ffffffffffffffffffffffffffffffff"}}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "authoritativeSource.id",
    );
    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"authoritativeSource": {"id": EMPLOYEES}}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "'name' is required",
    );
    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"name": "P", "priority": "high", "authoritativeSource": {"id": EMPLOYEES}}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "IdentityProfile",
    );

    let r = env.get("/v2024/identity-profiles").await;
    assert_eq!(
        names(&r.body),
        ["HR Employees Profile", "Contractors", "Alpha"]
    );
    assert!(r.headers.get("x-total-count").is_none());

    let q = |f: &str| format!("/v2024/identity-profiles?filters={}", urlencode(f));
    assert_eq!(
        names(&env.get(&q(r#"name sw "hr""#)).await.body),
        ["HR Employees Profile"]
    );
    assert_eq!(
        names(&env.get(&q("priority eq 20")).await.body),
        ["Contractors"]
    );
    assert_eq!(
        names(&env.get(&q(r#"name in ("Alpha","Contractors")"#)).await.body),
        ["Contractors", "Alpha"]
    );
    assert_eq!(
        names(
            &env.get(&q(&format!(r#"id eq "{}""#, hr["id"].as_str().unwrap())))
                .await
                .body
        ),
        ["HR Employees Profile"]
    );
    env.get(&q(r#"name lt "B""#)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "operator 'lt' is not supported for field 'name'",
    );
    env.get(&q("priority gt 1")).await.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "operator 'gt' is not supported for field 'priority'",
    );
    env.get(&q(r#"description eq "x""#)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "field 'description'",
    );
    env.get(&q(r#"name EQ "x""#)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "lowercase",
    );

    let r = env.get("/v2024/identity-profiles?sorters=-priority").await;
    assert_eq!(
        names(&r.body),
        ["Contractors", "HR Employees Profile", "Alpha"]
    );
    let r = env.get("/v2024/identity-profiles?sorters=name").await;
    assert_eq!(
        names(&r.body),
        ["Alpha", "Contractors", "HR Employees Profile"]
    );
    env.get("/v2024/identity-profiles?sorters=description")
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "'description'",
        );

    let r = env
        .get("/v2024/identity-profiles?sorters=name&limit=2&offset=1&count=true")
        .await;
    assert_eq!(names(&r.body), ["Contractors", "HR Employees Profile"]);
    assert_eq!(r.headers["x-total-count"], "3");
    let r = env.get("/v2024/identity-profiles?limit=0&count=true").await;
    assert_eq!(r.body, json!([]));
    assert_eq!(r.headers["x-total-count"], "3");
    for bad in [
        "limit=251",
        "limit=-1",
        "limit=x",
        "offset=-1",
        "count=maybe",
    ] {
        let r = env.get(&format!("/v2024/identity-profiles?{bad}")).await;
        let param = bad.split('=').next().unwrap();
        r.assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", param);
    }

    let r = env
        .get(&format!(
            "/v2024/identity-profiles/{}",
            hr["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, hr);
    env.get("/v2024/identity-profiles/ffffffffffffffffffffffffffffffff")
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "404 Not found",
            "ffffffffffffffffffffffffffffffff",
        );
}

const TASK_STATUS_FIELDS: [&str; 16] = [
    "id",
    "type",
    "uniqueName",
    "description",
    "parentName",
    "launcher",
    "created",
    "modified",
    "launched",
    "completed",
    "completionStatus",
    "messages",
    "returns",
    "attributes",
    "progress",
    "percentComplete",
];

#[tokio::test]
async fn delete_runs_a_task_and_task_outcome_faults() {
    let env = start().await;
    let p = env.create_profile("Doomed", EMPLOYEES, 1).await;
    let id = p["id"].as_str().unwrap();

    let r = env
        .send(
            Method::DELETE,
            &format!("/v2024/identity-profiles/{id}"),
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let task_id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["launcher"], PAT_ID);
    assert!(r.body.get("completionStatus").is_none());
    assert!(r.body.get("completed").is_none());

    let pending = env.get(&format!("/v2024/task-status/{task_id}")).await;
    assert_eq!(pending.status, StatusCode::OK);
    for field in TASK_STATUS_FIELDS {
        assert!(
            pending.body.get(field).is_some(),
            "missing {field}: {}",
            pending.body
        );
    }
    assert_eq!(pending.body["type"], "QUEUED_TASK");
    assert_eq!(pending.body["completionStatus"], Value::Null);
    assert_eq!(pending.body["completed"], Value::Null);
    assert_eq!(pending.body["parentName"], Value::Null);
    // Still there while the task runs.
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{id}"))
            .await
            .status,
        StatusCode::OK
    );

    let done = env.wait_task(&task_id).await;
    assert_eq!(done["completionStatus"], "SUCCESS");
    assert_eq!(done["percentComplete"], 100);
    assert!(done["completed"].is_string());
    assert_eq!(done["messages"], json!([]));
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The spec declares this 404 without a body.
    let missing = env
        .get("/v2024/task-status/ffffffffffffffffffffffffffffffff")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body, Value::Null);

    // A taskOutcome fault: the request succeeds, the task fails, the profile stays.
    let keep = env.create_profile("Survivor", EMPLOYEES, 1).await;
    let keep_id = keep["id"].as_str().unwrap();
    let r = env
        .admin_request(
            Method::POST,
            "/__sim/faults",
            Some(json!({"method": "DELETE", "path": "/v2024/identity-profiles/*", "taskOutcome": "ERROR"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = env
        .send(
            Method::DELETE,
            &format!("/v2024/identity-profiles/{keep_id}"),
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let failed = env.wait_task(r.body["id"].as_str().unwrap()).await;
    assert_eq!(failed["completionStatus"], "ERROR");
    assert_eq!(failed["messages"][0]["type"], "ERROR");
    assert!(failed["messages"][0]["localizedText"]["message"].is_string());
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{keep_id}"))
            .await
            .status,
        StatusCode::OK
    );
    let journal = env.admin.journal().await;
    let faulted: Vec<&JournalEntry> = journal.iter().filter(|e| e.flags.fault).collect();
    assert_eq!(faulted.len(), 1);
    assert_eq!(
        faulted[0].operation_id.as_deref(),
        Some("deleteIdentityProfile")
    );

    // Bulk delete: unknown ids are skipped with a warning.
    let r = env
        .post(
            "/v2024/identity-profiles/bulk-delete",
            json!([keep_id, "ffffffffffffffffffffffffffffffff"]),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let done = env.wait_task(r.body["id"].as_str().unwrap()).await;
    assert_eq!(done["completionStatus"], "WARNING");
    assert_eq!(done["messages"][0]["type"], "WARN");
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{keep_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    env.post("/v2024/identity-profiles/bulk-delete", json!([1]))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "Element 0",
        );

    // Pending tasks are findable with `completionStatus isnull`.
    let r = env
        .get(&format!(
            "/v2024/task-status?filters={}&count=true",
            urlencode("completionStatus isnull")
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["x-total-count"], "0");
    let r = env
        .get(&format!(
            "/v2024/task-status?filters={}",
            urlencode(r#"completionStatus eq "Success""#)
        ))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn export_and_import_semantics() {
    let env = start().await;
    let alpha = env.create_profile("Alpha", EMPLOYEES, 1).await;
    let gamma = env.create_profile("Gamma", CONTRACTORS, 3).await;

    let r = env
        .get("/v2024/identity-profiles/export?sorters=-name")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body[0]["version"], 1);
    assert_eq!(
        r.body[0]["self"],
        json!({"type": "IDENTITY_PROFILE", "id": gamma["id"], "name": "Gamma"})
    );
    assert_eq!(r.body[0]["object"], gamma);
    let r = env
        .get(&format!(
            "/v2024/identity-profiles/export?filters={}",
            urlencode(r#"name eq "Alpha""#)
        ))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    env.get(&format!(
        "/v2024/identity-profiles/export?filters={}",
        urlencode(r#"name sw "A""#)
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", "'sw'");

    let mut alpha_changed = alpha.clone();
    alpha_changed["description"] = json!("by id");
    let import = json!([
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "id": alpha["id"], "name": "Alpha"}, "object": alpha_changed},
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "id": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Gamma"},
         "object": {"id": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Gamma", "description": "by name", "priority": 3,
                    "authoritativeSource": {"type": "SOURCE", "id": CONTRACTORS, "name": "HR Contractors"}}},
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "name": "Beta"},
         "object": {"name": "Beta", "authoritativeSource": {"id": EMPLOYEES}}},
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "name": "Lost"},
         "object": {"name": "Lost", "authoritativeSource": {"id": "dddddddddddddddddddddddddddddddd"}}}
    ]);
    let r = env
        .post("/v2024/identity-profiles/import", import.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["infos"], json!([]));
    assert_eq!(r.body["warnings"], json!([]));
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["errors"][0]["key"], "UNKNOWN_REFERENCE_RESOLVER");
    assert!(
        r.body["errors"][0]["text"]
            .as_str()
            .unwrap()
            .contains("dddddddddddddddddddddddddddddddd")
    );
    let imported = r.body["importedObjects"].as_array().unwrap();
    assert_eq!(imported.len(), 3);
    assert_eq!(
        imported[0],
        json!({"type": "IDENTITY_PROFILE", "id": alpha["id"], "name": "Alpha"})
    );
    assert_eq!(
        imported[1],
        json!({"type": "IDENTITY_PROFILE", "id": gamma["id"], "name": "Gamma"})
    );
    let beta_id = imported[2]["id"].as_str().unwrap();
    assert!(is_hex32(beta_id));

    let list = env.get("/v2024/identity-profiles?sorters=name").await.body;
    assert_eq!(names(&list), ["Alpha", "Beta", "Gamma"]);
    assert_eq!(list[0]["description"], "by id");
    assert_eq!(list[0]["identityRefreshRequired"], false);
    assert_eq!(list[1]["id"], beta_id);
    assert_eq!(list[1]["identityCount"], 200);
    assert_eq!(list[2]["description"], "by name");
    assert_eq!(list[2]["id"], gamma["id"]);

    // Import needs a user context.
    let app = env.token(APP_ID, APP_SECRET).await;
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles/import",
            Some(&app),
            Some(("application/json", import.to_string())),
            &[],
        )
        .await;
    r.assert_error(
        StatusCode::FORBIDDEN,
        "403 Forbidden",
        "personal access token",
    );
    let r = env
        .post(
            "/v2024/identity-profiles/import",
            json!({"not": "an array"}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "JSON array",
    );
}
