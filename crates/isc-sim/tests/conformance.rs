//! Conformance: every response the simulator gives, and every request body the tenant client
//! sends, is validated against the official OpenAPI documents (see `isc_sim::testing::api_docs_dir`) with the
//! `jsonschema` crate. The test drives every operation the operator uses, on success and error
//! paths, then checks the simulator's journal entry by entry.

pub mod common;

use std::time::Duration;

use common::openapi::{JournalCheck, check_journal};
use common::tenant_client;
use isc_client::filter::Filter;
use isc_client::models::*;
use isc_client::{IdentityDefaultFilter, ListParams, TenantClient};
use isc_sim::testing::{
    APP_CLIENT_ID, APP_CLIENT_SECRET, SimAdmin, USER_CLIENT_ID, USER_CLIENT_SECRET, sim_config,
    start_sim,
};
use serde_json::json;

/// Every operation of NOTES.md's table that the operator uses, plus the legacy refresh.
const OPERATIONS: &[&str] = &[
    "listIdentityProfiles",
    "createIdentityProfile",
    "getIdentityProfile",
    "updateIdentityProfile",
    "deleteIdentityProfile",
    "deleteIdentityProfiles",
    "exportIdentityProfiles",
    "importIdentityProfiles",
    "syncIdentityProfile",
    "generateIdentityPreview",
    "getDefaultIdentityAttributeConfig",
    "listIdentities",
    "getIdentity",
    "startIdentityProcessing",
    "synchronizeAttributesForIdentity",
    "getTaskStatus",
    "getTaskStatusList",
    "getPendingTasks",
    "getPendingTaskHeaders",
    "refreshIdentities",
];

/// Error statuses the test provokes, each at least once.
const ERROR_CASES: &[(&str, u16)] = &[
    ("getIdentityProfile", 404),
    ("updateIdentityProfile", 400),
    ("createIdentityProfile", 400),
    ("listIdentities", 403),
    ("listIdentityProfiles", 401),
    ("listIdentityProfiles", 429),
    ("synchronizeAttributesForIdentity", 429),
    ("startIdentityProcessing", 400),
    ("getTaskStatus", 404),
    ("getTaskStatusList", 400),
];

const RAW_AGENT: &str = "conformance-raw";

async fn wait_for_task(client: &isc_client::TenantClient, id: &str) -> TaskStatus {
    for _ in 0..100 {
        let status = client.get_task_status(id).await.expect("task status");
        if status.outcome() != TaskOutcome::Running {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} did not finish");
}

/// The task-status lists, raw (with every documented parameter), while `task_id` runs and
/// after it completed; the journal then holds non-empty pages of both lists to validate.
async fn drive_task_lists(sim: &isc_sim::RunningSimulator, user: &TenantClient, task_id: &str) {
    use secrecy::ExposeSecret;
    let http = reqwest::Client::builder()
        .user_agent(RAW_AGENT)
        .build()
        .unwrap();
    let base = sim.base_url();
    let token = user.access_token().await.unwrap();
    let get = |method: reqwest::Method, path: String| {
        let request = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token.expose_secret());
        async move { request.send().await.unwrap() }
    };
    let pending = get(
        reqwest::Method::GET,
        "/v2024/task-status/pending-tasks?limit=10&offset=0&count=true".into(),
    )
    .await;
    assert_eq!(pending.status(), 200);
    let pending: Vec<TaskStatus> = pending.json().await.unwrap();
    assert!(pending.iter().any(|t| t.id == task_id), "{pending:?}");
    let head = get(
        reqwest::Method::HEAD,
        "/v2024/task-status/pending-tasks?count=true".into(),
    )
    .await;
    assert_eq!(head.status(), 200);
    let running = "/v2024/task-status?filters=completionStatus%20isnull&sorters=-created&limit=5&offset=0&count=true".to_string();
    assert_eq!(get(reqwest::Method::GET, running).await.status(), 200);
    wait_for_task(user, task_id).await;
    let done = format!(
        "/v2024/task-status?filters=id%20eq%20%22{task_id}%22%20and%20type%20in%20(%22QUEUED_TASK%22)&sorters=created"
    );
    let done: Vec<TaskStatus> = get(reqwest::Method::GET, done).await.json().await.unwrap();
    assert_eq!(done.len(), 1);
    let refused = get(
        reqwest::Method::GET,
        "/v2024/task-status?sorters=launcher".into(),
    )
    .await;
    assert_eq!(refused.status(), 400);
}

async fn drive_every_operation(sim: &isc_sim::RunningSimulator, admin: &SimAdmin) {
    let user = tenant_client(sim, USER_CLIENT_ID, USER_CLIENT_SECRET);
    let app = tenant_client(sim, APP_CLIENT_ID, APP_CLIENT_SECRET);
    let seed = isc_sim::Seed::builtin();
    let source = |i: usize| ObjectRef {
        kind: Some("SOURCE".into()),
        id: Some(seed.sources[i].id.clone()),
        name: Some(seed.sources[i].name.clone()),
    };

    // Profiles: create, read, list, patch (both kinds, separately), export, import.
    let mut desired = IdentityProfile {
        name: "Employees".into(),
        description: Some("HR employees".into()),
        priority: Some(10),
        authoritative_source: source(0),
        owner: None,
        identity_attribute_config: Some(IdentityAttributeConfig {
            enabled: true,
            attribute_transforms: vec![IdentityAttributeTransform {
                identity_attribute_name: Some("email".into()),
                transform_definition: Some(TransformDefinition {
                    kind: Some("accountAttribute".into()),
                    attributes: Some(
                        json!({"attributeName": "email", "sourceName": seed.sources[0].name, "sourceId": seed.sources[0].id})
                            .as_object()
                            .unwrap()
                            .clone(),
                    ),
                }),
            }],
        }),
        ..Default::default()
    };
    let created = user
        .create_identity_profile(&desired)
        .await
        .expect("create");
    let id = created.id.clone().expect("created profile has an id");
    user.get_identity_profile(&id).await.expect("get");
    user.list_identity_profiles(&ListParams {
        filter: Some(Filter::eq("name", "Employees")),
        sorters: Some("-priority,name".into()),
        limit: Some(10),
        offset: Some(0),
        count: true,
    })
    .await
    .expect("list");
    user.update_identity_profile(
        &id,
        &[JsonPatchOperation {
            op: "replace".into(),
            path: "/description".into(),
            value: Some(json!("changed")),
            from: None,
        }],
    )
    .await
    .expect("patch description");
    user.update_identity_profile(
        &id,
        &[JsonPatchOperation {
            op: "replace".into(),
            path: "/authoritativeSource".into(),
            value: Some(serde_json::to_value(source(1)).unwrap()),
            from: None,
        }],
    )
    .await
    .expect("patch source");
    let exported = user
        .export_identity_profiles(&ListParams::default())
        .await
        .expect("export");
    assert_eq!(exported.len(), 1);
    desired.name = "Contractors".into();
    let mut import = exported.clone();
    import.push(IdentityProfileExportedObject {
        version: Some(1),
        self_ref: Some(ObjectRef {
            kind: Some("IDENTITY_PROFILE".into()),
            id: None,
            name: Some("Contractors".into()),
        }),
        object: Some(desired.clone()),
    });
    let result = user
        .import_identity_profiles(&import)
        .await
        .expect("import");
    assert_eq!(result.imported_objects.len(), 2, "{result:?}");
    user.default_identity_attribute_config(&id)
        .await
        .expect("default config");
    let identity_id = user
        .list_identities(
            &ListParams {
                limit: Some(3),
                ..Default::default()
            },
            IdentityDefaultFilter::CorrelatedOnly,
        )
        .await
        .expect("list identities")
        .items[0]
        .id
        .clone()
        .unwrap();
    user.get_identity(&identity_id).await.expect("get identity");
    user.identity_preview(&IdentityPreviewRequest {
        identity_id: Some(identity_id.clone()),
        identity_attribute_config: desired.identity_attribute_config.clone(),
    })
    .await
    .expect("preview");
    user.process_identity_profile(&id)
        .await
        .expect("process profile");

    // Identity processing and its task, to success and to error. The task runs long enough to
    // be seen on the pending lists (the client's limiter spreads its first calls).
    admin.configure(json!({"taskDurationMs": 4000})).await;
    let task = user
        .process_identities(std::slice::from_ref(&identity_id))
        .await
        .expect("process identities");
    let task_id = task.id.expect("task id");
    user.get_task_status(&task_id)
        .await
        .expect("pending task status");
    let pending = user
        .list_pending_tasks(&ListParams {
            limit: Some(10),
            count: true,
            ..Default::default()
        })
        .await
        .expect("client: pending tasks");
    assert!(pending.iter().any(|t| t.id == task_id), "{pending:?}");
    let running = user
        .list_task_status(&ListParams {
            filter: Some(Filter::IsNull("completionStatus".into())),
            sorters: Some("-created".into()),
            ..Default::default()
        })
        .await
        .expect("client: running tasks");
    assert!(running.iter().any(|t| t.id == task_id), "{running:?}");
    drive_task_lists(sim, &user, &task_id).await;
    admin.configure(json!({"taskDurationMs": 300})).await;
    assert_eq!(
        wait_for_task(&user, &task_id).await.outcome(),
        TaskOutcome::Succeeded
    );
    admin
        .add_fault(
            json!({"method": "POST", "path": "/v2024/identities/process", "taskOutcome": "ERROR"}),
        )
        .await;
    let failing = user
        .process_identities(std::slice::from_ref(&identity_id))
        .await
        .expect("process identities");
    let failed = wait_for_task(&user, &failing.id.unwrap()).await;
    assert_eq!(failed.outcome(), TaskOutcome::Failed);
    user.synchronize_identity_attributes(&identity_id)
        .await
        .expect("sync");

    // Legacy refresh with a filter that matches one identity.
    let alias = user
        .get_identity(&identity_id)
        .await
        .unwrap()
        .alias
        .unwrap();
    user.legacy_refresh_identities(
        &format!("alias == \"{alias}\""),
        RefreshArgs {
            promote_attributes: true,
            ..Default::default()
        },
    )
    .await
    .expect("legacy refresh");

    // Deletes, each followed to completion.
    let deleted = user.delete_identity_profile(&id).await.expect("delete");
    wait_for_task(&user, &deleted.id.unwrap()).await;
    let rest: Vec<String> = user
        .list_all_identity_profiles(&ListParams::default())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| p.id)
        .collect();
    assert_eq!(rest.len(), 1, "the imported Contractors profile remains");
    let bulk = user
        .bulk_delete_identity_profiles(&rest)
        .await
        .expect("bulk delete");
    wait_for_task(&user, &bulk.id.unwrap()).await;

    // Error paths through the client.
    assert_eq!(
        user.get_identity_profile("0123456789abcdef0123456789abcdef")
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    assert_eq!(
        user.get_task_status("0123456789abcdef0123456789abcdef")
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    let created = user
        .create_identity_profile(&desired)
        .await
        .expect("create again");
    assert_eq!(
        user.create_identity_profile(&desired)
            .await
            .unwrap_err()
            .status(),
        Some(400)
    );
    let err = user
        .update_identity_profile(
            created.id.as_deref().unwrap(),
            &[JsonPatchOperation {
                op: "replace".into(),
                path: "/identityCount".into(),
                value: Some(json!(5)),
                from: None,
            }],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(
        app.list_identities(&ListParams::default(), IdentityDefaultFilter::None)
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
    // The tenant's window is 10 s; make it longer than the client's longest Retry-After wait so
    // the 429 reaches the caller instead of being waited out.
    admin
        .configure(json!({"syncAttributesWindowMs": 120000}))
        .await;
    let err = user
        .synchronize_identity_attributes(&identity_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429), "second sync within 10 s: {err}");

    // Raw requests the client would never send.
    let http = reqwest::Client::builder()
        .user_agent(RAW_AGENT)
        .build()
        .unwrap();
    let base = sim.base_url();
    let r = http
        .get(format!("{base}/v2024/identity-profiles"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let token = user.access_token().await.unwrap();
    use secrecy::ExposeSecret;
    let ids: Vec<String> = (0..251).map(|i| format!("{i:032x}")).collect();
    let r = http
        .post(format!("{base}/v2024/identities/process"))
        .bearer_auth(token.expose_secret())
        .header("X-SailPoint-Experimental", "true")
        .json(&json!({"identityIds": ids}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    admin
        .configure(json!({"rateLimit": {"requests": 2, "windowMs": 60000}}))
        .await;
    let mut saw_429 = false;
    for _ in 0..3 {
        let r = http
            .get(format!("{base}/v2024/identity-profiles"))
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .unwrap();
        saw_429 |= r.status() == 429;
    }
    assert!(saw_429, "the rate limit answered 429");
    admin.configure(json!({"rateLimit": null})).await;
}

#[tokio::test]
async fn every_response_and_client_request_conforms_to_the_official_schemas() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    drive_every_operation(&sim, &admin).await;

    let journal = admin.journal().await;
    let JournalCheck {
        covered,
        failures,
        checked_requests,
        checked_responses,
    } = check_journal(&journal);
    assert!(
        failures.is_empty(),
        "{} conformance failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let missing_ops: Vec<_> = OPERATIONS
        .iter()
        .filter(|op| !covered.iter().any(|(o, s)| o == *op && *s < 300))
        .collect();
    assert!(
        missing_ops.is_empty(),
        "operations never exercised successfully: {missing_ops:?}"
    );
    let missing_errors: Vec<_> = ERROR_CASES
        .iter()
        .filter(|(op, s)| !covered.contains(&(op.to_string(), *s)))
        .collect();
    assert!(
        missing_errors.is_empty(),
        "error cases never seen: {missing_errors:?}"
    );
    assert!(
        checked_responses >= 40,
        "checked only {checked_responses} responses"
    );
    assert!(
        checked_requests >= 8,
        "checked only {checked_requests} request bodies"
    );
    println!(
        "conformance: {checked_responses} responses and {checked_requests} request bodies valid"
    );
    sim.shutdown().await;
}

#[test]
fn the_schema_check_rejects_a_wrong_body() {
    // Proves the validator is live: a TaskStatus missing required fields and an IdentityProfile
    // with a wrong type must both fail.
    let doc = common::openapi::v2024();
    let task = doc.response_validator("getTaskStatus", 200).unwrap();
    assert!(!task.is_valid(&json!({"id": "x"})));
    let profile = doc.response_validator("getIdentityProfile", 200).unwrap();
    assert!(
        !profile.is_valid(&json!({"name": "x", "authoritativeSource": {"type": "NOT_A_SOURCE"}}))
    );
    assert!(profile.is_valid(&json!({"name": "x", "authoritativeSource": {"type": "SOURCE", "id": "1", "name": "s"}, "description": null, "owner": null})));
    let patch = doc
        .request_validator("updateIdentityProfile", "application/json-patch+json")
        .unwrap();
    assert!(!patch.is_valid(&json!([{"op": "frobnicate", "path": "/x"}])));
    let not_found = doc.response_validator("getIdentityProfile", 404).unwrap();
    assert!(not_found.is_valid(&json!({"detailCode": "404 Not found", "trackingId": "t", "messages": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": "gone"}]})));
    assert!(!not_found.is_valid(&json!({"messages": "not an array"})));
}
