//! Lifecycle states of identity profiles: every operation through the tenant client and raw
//! requests, on success and on each rule of `routes/lifecycle_states.rs`, with every request
//! and response checked against the official v2024 document.

pub mod common;

use common::openapi::{check_journal, v2024};
use common::*;
use isc_client::models::{
    AccountAction, EmailNotificationOption, JsonPatchOperation, ProfileLifecycleState,
};
use isc_client::{ErrorClass, ListParams, TenantClient};

/// Operations whose 404 the official document does not declare; the simulator answers 404
/// for an unknown profile anyway (see the route module's docs).
const UNDECLARED_404: [&str; 2] = ["getLifecycleStates", "createLifecycleState"];

/// Checks the journal against the documents; the one tolerated difference is a 404 of a
/// collection operation on an unknown profile, whose body must still be an ErrorResponseDto.
async fn assert_journal_conforms(env: &Env) -> common::openapi::JournalCheck {
    let journal = env.admin.journal().await;
    let mut check = check_journal(&journal);
    check.failures.retain(|f| {
        !UNDECLARED_404
            .iter()
            .any(|op| *f == format!("{op}: status 404 is not declared by the spec"))
    });
    let not_found = v2024()
        .response_validator("getLifecycleState", 404)
        .unwrap();
    for entry in &journal {
        let op = entry.operation_id.as_deref().unwrap_or_default();
        if UNDECLARED_404.contains(&op) && entry.status == 404 {
            assert!(not_found.is_valid(&entry.response_body), "{entry:?}");
        }
    }
    assert!(
        check.failures.is_empty(),
        "{} conformance failures:\n{}",
        check.failures.len(),
        check.failures.join("\n")
    );
    check
}

fn states_path(profile: &str) -> String {
    format!("/v2024/identity-profiles/{profile}/lifecycle-states")
}

fn new_state(name: &str, technical_name: &str) -> ProfileLifecycleState {
    ProfileLifecycleState {
        name: name.to_string(),
        technical_name: technical_name.to_string(),
        ..Default::default()
    }
}

fn replace(path: &str, value: Value) -> JsonPatchOperation {
    JsonPatchOperation {
        op: "replace".into(),
        path: path.into(),
        value: Some(value),
        from: None,
    }
}

async fn profile_id(env: &Env, name: &str) -> String {
    let profile = env.create_profile(name, EMPLOYEES, 10).await;
    profile["id"].as_str().unwrap().to_string()
}

async fn patch_state(env: &Env, profile: &str, id: &str, ops: Value) -> Resp {
    env.send(
        Method::PATCH,
        &format!("{}/{id}", states_path(profile)),
        Some(&env.pat),
        Some((PATCH_JSON, ops.to_string())),
        &[],
    )
    .await
}

fn user(env: &Env) -> TenantClient {
    tenant_client(&env.sim, PAT_ID, PAT_SECRET)
}

#[tokio::test]
async fn every_operation_round_trips_through_the_client_and_conforms() {
    let env = start().await;
    let client = user(&env);
    let profile = profile_id(&env, "Employees").await;

    let mut active = new_state("Active", "active");
    active.enabled = true;
    active.description = Some("at work".into());
    active.access_profile_ids = vec!["ap1".into(), "ap2".into()];
    active.account_actions = vec![AccountAction {
        action: "ENABLE".into(),
        source_ids: vec![EMPLOYEES.into()],
        ..Default::default()
    }];
    active.email_notification_option = Some(EmailNotificationOption {
        notify_managers: true,
        ..Default::default()
    });
    let created = client
        .create_lifecycle_state(&profile, &active)
        .await
        .unwrap();
    let id = created.id.clone().expect("an id");
    assert!(is_hex32(&id));
    assert_eq!(created.technical_name, "active");
    assert!(created.created.is_some() && created.created == created.modified);
    // The seed's active employees are in state "active".
    assert!(created.identity_count.unwrap() > 100, "{created:?}");
    for technical_name in ["leaver", "inactive"] {
        client
            .create_lifecycle_state(&profile, &new_state(technical_name, technical_name))
            .await
            .unwrap();
    }

    // Two pages of two: the client follows offsets to the end.
    env.admin.clear_journal().await;
    let params = ListParams {
        limit: Some(2),
        sorters: Some("name".into()),
        ..Default::default()
    };
    let all = client
        .list_all_lifecycle_states(&profile, &params)
        .await
        .unwrap();
    let technical: Vec<_> = all.iter().map(|s| s.technical_name.as_str()).collect();
    assert_eq!(technical, ["active", "inactive", "leaver"]);
    assert_eq!(env.admin.api_calls().await.len(), 2);

    let got = client.get_lifecycle_state(&profile, &id).await.unwrap();
    assert_eq!(got, created);

    let updated = client
        .update_lifecycle_state(
            &profile,
            &id,
            &[
                replace("/description", json!("still at work")),
                replace("/enabled", json!(false)),
            ],
        )
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("still at work"));
    assert!(!updated.enabled);
    assert_eq!(updated.created, created.created);

    let deleted = client.delete_lifecycle_state(&profile, &id).await.unwrap();
    assert_eq!(deleted.kind.as_deref(), Some("LIFECYCLE_STATE"));
    assert_eq!(deleted.id.as_deref(), Some(id.as_str()));
    assert_eq!(deleted.name.as_deref(), Some("Active"));
    let gone = client.get_lifecycle_state(&profile, &id).await.unwrap_err();
    assert_eq!(gone.class(), ErrorClass::NotFound, "{gone}");

    // The whole run, from the start.
    env.admin.clear_journal().await;
    client
        .create_lifecycle_state(&profile, &active)
        .await
        .unwrap();
    let check = assert_journal_conforms(&env).await;
    assert_eq!(check.checked_requests, 1, "the create body was validated");
    env.sim.shutdown().await;
}

#[tokio::test]
async fn operation_coverage_of_the_journal_includes_every_lifecycle_operation() {
    let env = start().await;
    let client = user(&env);
    let profile = profile_id(&env, "Employees").await;
    let created = client
        .create_lifecycle_state(&profile, &new_state("Active", "active"))
        .await
        .unwrap();
    let id = created.id.unwrap();
    client
        .list_all_lifecycle_states(&profile, &ListParams::default())
        .await
        .unwrap();
    client.get_lifecycle_state(&profile, &id).await.unwrap();
    client
        .update_lifecycle_state(&profile, &id, &[replace("/name", json!("Working"))])
        .await
        .unwrap();
    client.delete_lifecycle_state(&profile, &id).await.unwrap();
    let check = assert_journal_conforms(&env).await;
    for (op, status) in [
        ("createLifecycleState", 201),
        ("getLifecycleStates", 200),
        ("getLifecycleState", 200),
        ("updateLifecycleStates", 200),
        ("deleteLifecycleState", 202),
    ] {
        assert!(
            check.covered.contains(&(op.to_string(), status)),
            "{op} {status} not seen"
        );
    }
    assert_eq!(
        check.checked_requests, 2,
        "create and PATCH bodies validated"
    );
    assert!(check.checked_responses >= 5);
    env.sim.shutdown().await;
}

#[tokio::test]
async fn technical_names_are_unique_within_a_profile_only() {
    let env = start().await;
    let employees = profile_id(&env, "Employees").await;
    let contractors = env.create_profile("Contractors", CONTRACTORS, 10).await;
    let contractors = contractors["id"].as_str().unwrap();
    let body = json!({"name": "Active", "technicalName": "active"});
    let first = env.post(&states_path(&employees), body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = env
        .post(
            &states_path(&employees),
            json!({"name": "Other", "technicalName": "ACTIVE"}),
        )
        .await;
    again.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "already has a lifecycle state 'ACTIVE'",
    );
    let elsewhere = env.post(&states_path(contractors), body).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.body);
    let listed = env.get(&states_path(&employees)).await;
    assert_eq!(names(&listed.body), ["Active"]);
    assert_journal_conforms(&env).await;
    env.sim.shutdown().await;
}

#[tokio::test]
async fn create_checks_required_fields_actions_and_sources_and_ignores_read_only_fields() {
    let env = start().await;
    let profile = profile_id(&env, "Employees").await;
    let path = states_path(&profile);
    for (body, needle) in [
        (json!({"name": "A"}), "'technicalName' is required"),
        (json!({"technicalName": "a"}), "'name' is required"),
        (
            json!({"name": "A", "technicalName": 7}),
            "'technicalName' must be a string",
        ),
        (
            json!({"name": " ", "technicalName": "a"}),
            "'name' must not be empty",
        ),
        (json!([]), "must be a JSON object"),
        (
            json!({"name": "A", "technicalName": "a", "accountActions": [{"action": "FREEZE", "sourceIds": []}]}),
            "'accountActions[0].action' must be one of ENABLE, DISABLE, DELETE",
        ),
        (
            json!({"name": "A", "technicalName": "a", "accountActions": [{"action": "DELETE", "sourceIds": ["nope"]}]}),
            "names 'nope', which is not a source of this tenant",
        ),
        (
            json!({"name": "A", "technicalName": "a", "accessProfileIds": ["x", "x"]}),
            "'accessProfileIds' must be unique",
        ),
        (
            json!({"name": "A", "technicalName": "a", "enabled": "yes"}),
            "Not a valid LifecycleState",
        ),
    ] {
        let r = env.post(&path, body.clone()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", needle);
    }
    let r = env
        .post(
            &path,
            json!({"id": "mine", "name": "A", "technicalName": "a", "identityCount": 99,
                   "created": "2020-01-01T00:00:00Z", "identityState": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_ne!(r.body["id"], "mine");
    assert_eq!(r.body["identityCount"], 0);
    assert_ne!(r.body["created"], "2020-01-01T00:00:00Z");
    assert_eq!(r.body["enabled"], false, "the schema default");
    assert_eq!(names(&env.get(&path).await.body), ["A"]);
    assert_journal_conforms(&env).await;
    env.sim.shutdown().await;
}

#[tokio::test]
async fn patch_cannot_change_the_technical_name_or_read_only_fields() {
    let env = start().await;
    let profile = profile_id(&env, "Employees").await;
    let created = env
        .post(
            &states_path(&profile),
            json!({"name": "Active", "technicalName": "active"}),
        )
        .await
        .body;
    let id = created["id"].as_str().unwrap();
    for (ops, needle) in [
        (
            json!([{"op": "replace", "path": "/technicalName", "value": "working"}]),
            "'/technicalName' cannot be changed",
        ),
        (
            json!([{"op": "remove", "path": "/technicalName"}]),
            "'/technicalName' cannot be changed",
        ),
        (
            json!([{"op": "replace", "path": "/id", "value": "x"}]),
            "'/id' is read-only",
        ),
        (
            json!([{"op": "replace", "path": "/identityCount", "value": 3}]),
            "'/identityCount' is read-only",
        ),
        (
            json!([{"op": "replace", "path": "/created", "value": "2020-01-01T00:00:00Z"}]),
            "'/created' is read-only",
        ),
        (
            json!([{"op": "replace", "path": "", "value": {}}]),
            "cannot be replaced",
        ),
        (
            json!([{"op": "replace", "path": "/accountActions", "value": [{"action": "ENABLE", "sourceIds": ["nope"]}]}]),
            "not a source of this tenant",
        ),
        (
            json!([{"op": "replace", "path": "/name", "value": ""}]),
            "'name' must not be empty",
        ),
        (
            json!([{"op": "replace", "path": "/nothing/here", "value": 1}]),
            "could not be applied",
        ),
        (json!({"op": "replace"}), "JSON Patch array"),
    ] {
        let r = patch_state(&env, &profile, id, ops.clone()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", needle);
    }
    // A failed PATCH changed nothing; a test-only PATCH keeps `modified`.
    let path = format!("{}/{id}", states_path(&profile));
    assert_eq!(env.get(&path).await.body, created);
    let unchanged = patch_state(
        &env,
        &profile,
        id,
        json!([{"op": "test", "path": "/name", "value": "Active"}]),
    )
    .await;
    assert_eq!(unchanged.status, StatusCode::OK);
    assert_eq!(unchanged.body["modified"], created["modified"]);
    // The documented fields, and the name, change.
    let ops = json!([
        {"op": "replace", "path": "/name", "value": "Working"},
        {"op": "add", "path": "/accountActions", "value": [{"action": "DISABLE", "sourceIds": [CONTRACTORS]}]},
        {"op": "replace", "path": "/emailNotificationOption", "value": {"notifyManagers": false, "notifyAllAdmins": true, "notifySpecificUsers": true, "emailAddressList": ["a@example.com"]}}
    ]);
    let changed = patch_state(&env, &profile, id, ops).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["name"], "Working");
    assert_eq!(changed.body["technicalName"], "active");
    assert_eq!(
        changed.body["accountActions"][0]["sourceIds"][0],
        CONTRACTORS
    );
    assert_eq!(
        changed.body["emailNotificationOption"]["emailAddressList"][0],
        "a@example.com"
    );
    assert_journal_conforms(&env).await;
    env.sim.shutdown().await;
}

#[tokio::test]
async fn unknown_profiles_and_states_answer_404() {
    let env = start().await;
    let client = user(&env);
    let profile = profile_id(&env, "Employees").await;
    let missing = "0123456789abcdef0123456789abcdef";
    let list = env.get(&states_path(missing)).await;
    list.assert_error(
        StatusCode::NOT_FOUND,
        "404 Not found",
        &format!("Identity profile '{missing}' was not found"),
    );
    let create = env
        .post(
            &states_path(missing),
            json!({"name": "A", "technicalName": "a"}),
        )
        .await;
    create.assert_error(StatusCode::NOT_FOUND, "404 Not found", "was not found");
    for result in [
        client.get_lifecycle_state(missing, "x").await.map(|_| ()),
        client
            .get_lifecycle_state(&profile, missing)
            .await
            .map(|_| ()),
        client
            .update_lifecycle_state(&profile, missing, &[replace("/enabled", json!(true))])
            .await
            .map(|_| ()),
        client
            .delete_lifecycle_state(&profile, missing)
            .await
            .map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.class(), ErrorClass::NotFound, "{err}");
    }
    let r = env
        .get(&format!("{}/{missing}", states_path(&profile)))
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "404 Not found", "Lifecycle state");
    // `filters` is not a parameter of the list.
    let r = env
        .get(&format!(
            "{}?filters=name%20eq%20%22a%22",
            states_path(&profile)
        ))
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "does not support filtering",
    );
    assert_journal_conforms(&env).await;
    env.sim.shutdown().await;
}

#[tokio::test]
async fn deleting_a_profile_deletes_its_states() {
    let env = start().await;
    let profile = profile_id(&env, "Employees").await;
    let r = env
        .post(
            &states_path(&profile),
            json!({"name": "Active", "technicalName": "active"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let task = env
        .send(
            Method::DELETE,
            &format!("/v2024/identity-profiles/{profile}"),
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(task.status, StatusCode::ACCEPTED);
    env.wait_task(task.body["id"].as_str().unwrap()).await;
    let r = env.get(&states_path(&profile)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A profile imported again under the same id starts without states.
    let again = env
        .admin
        .put_profile(json!({"id": profile, "name": "Employees",
            "authoritativeSource": {"type": "SOURCE", "id": EMPLOYEES, "name": "HR Employees"}}))
        .await;
    assert_eq!(again["id"], profile.as_str());
    let r = env.get(&states_path(&profile)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!([]));
    env.sim.shutdown().await;
}

#[tokio::test]
async fn admin_edits_act_as_the_ui_and_show_in_the_api() {
    let env = start().await;
    let client = user(&env);
    let profile = profile_id(&env, "Employees").await;
    // Made "in the UI" before the operator looks: the API lists it.
    let stored = env
        .admin
        .put_lifecycle_state(
            &profile,
            json!({"name": "Active", "technicalName": "active"}),
        )
        .await;
    let id = stored["id"].as_str().unwrap().to_string();
    let listed = client
        .list_all_lifecycle_states(&profile, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id.as_deref(), Some(id.as_str()));
    // Changed "in the UI" (drift), any field: the API shows the change; no API call made it.
    env.admin.clear_journal().await;
    let merged = env
        .admin
        .merge_lifecycle_state(
            &profile,
            &id,
            json!({"description": "edited", "enabled": true}),
        )
        .await;
    assert_eq!(merged["description"], "edited");
    assert!(env.admin.api_calls().await.is_empty());
    let got = client.get_lifecycle_state(&profile, &id).await.unwrap();
    assert_eq!(got.description.as_deref(), Some("edited"));
    assert!(got.enabled);
    let admin_view = env.admin.lifecycle_states(&profile).await;
    assert_eq!(admin_view.len(), 1);
    assert_eq!(admin_view[0]["description"], "edited");
    let r = env
        .admin_request(
            Method::PATCH,
            &format!("/__sim/identity-profiles/{profile}/lifecycle-states/nope"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_journal_conforms(&env).await;
    env.sim.shutdown().await;
}
