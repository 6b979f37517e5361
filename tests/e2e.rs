//! End to end on a real kube-apiserver: `kubectl apply` of real manifests, the operator binary,
//! and the simulator as the tenant. Every claim is checked on the simulator's journal.

pub mod support;

use std::time::Duration;

use isc_sim::JournalEntry;
use serde_json::{Value, json};
use support::e2e::*;

fn ops(entry: &JournalEntry) -> Vec<(String, String)> {
    entry
        .body
        .as_array()
        .map(|ops| {
            ops.iter()
                .map(|o| {
                    (
                        o["op"].as_str().unwrap_or_default().to_string(),
                        o["path"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn count_op(entries: &[JournalEntry], operation: &str) -> usize {
    entries
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some(operation))
        .count()
}

/// Profiles the tenant created: objects of successful imports plus successful POSTs (creates
/// go through import by default, one POST each without user context).
fn created_profiles(entries: &[JournalEntry]) -> usize {
    let imported: usize = entries
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some("importIdentityProfiles") && e.status == 200)
        .map(|e| e.body.as_array().map_or(0, Vec::len))
        .sum();
    let posted = entries
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some("createIdentityProfile") && e.status == 201)
        .count();
    imported + posted
}

fn tenant_profile<'a>(profiles: &'a [Value], name: &str) -> Option<&'a Value> {
    profiles.iter().find(|p| p["name"] == name)
}

const TRANSFORMS: &str = r#"  identityAttributeConfig:
    enabled: true
    attributeTransforms:
      - identityAttributeName: email
        transformDefinition:
          type: accountAttribute
          attributes:
            attributeName: email
            sourceId: 2c9180835d2e5168015d32f890ca1581
"#;

fn employees(description: &str) -> String {
    format!(
        "  description: {description}\n  priority: 5\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n{TRANSFORMS}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_become_ready_and_exist_in_the_tenant() {
    // deploy/examples/tenant.yaml points at 127.0.0.1:18085, so this test's simulator listens there.
    // It also accepts the examples' credentials (deploy/examples/tenant.yaml).
    let mut config = support::sim_config();
    config.clients.push(isc_sim::SimClient {
        id: "demo-client".into(),
        secret: "demo-secret".into(),
        user_context: true,
    });
    let env = Env::with_sim("examples", "127.0.0.1:18085", config).await;
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples");
    let out = env.kubectl(&["apply", "-f", examples]).await;
    assert_success(&out, "kubectl apply -f deploy/examples/");
    for name in ["employees", "contractors", "directory-observed"] {
        env.wait_ready(name).await;
    }
    let out = env
        .kubectl(&[
            "wait",
            "--for=condition=Ready",
            "identityattributes,transforms,lifecyclestates",
            "--all",
            "--timeout=60s",
        ])
        .await;
    assert_success(
        &out,
        "kubectl wait --for=condition=Ready (identity-model examples)",
    );
    // Named, not given by id: the resolved ids are shown.
    let employees_object = env.profiles().get("employees").await.unwrap();
    let resolved = employees_object.status.unwrap().resolved_references;
    assert_eq!(
        resolved.get("source/HR Employees").map(String::as_str),
        Some(SOURCE_EMPLOYEES),
        "{resolved:?}"
    );
    let tenant = env.tenant_profiles().await;
    let employees = tenant_profile(&tenant, "Employees").expect("Employees created");
    assert_eq!(employees["description"], "Permanent staff from HR");
    assert_eq!(employees["priority"], 10);
    assert_eq!(employees["authoritativeSource"]["id"], SOURCE_EMPLOYEES);
    let transforms = employees["identityAttributeConfig"]["attributeTransforms"]
        .as_array()
        .unwrap();
    let mut names: Vec<_> = transforms
        .iter()
        .map(|t| t["identityAttributeName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["costCenter", "department", "email"]);
    // A mapping applied together with the attribute and transform it uses: never refused.
    let refused: Vec<_> = env
        .admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.status >= 400 && !matches!(e.status, 404 | 429))
        .map(|e| format!("{} {} {}", e.method, e.path, e.status))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    let contractors = tenant_profile(&tenant, "Contractors").expect("Contractors created");
    assert_eq!(contractors["authoritativeSource"]["id"], SOURCE_CONTRACTORS);
    assert!(
        tenant_profile(&tenant, "Directory Accounts").is_none(),
        "Observe never creates"
    );
    let observed = env.profiles().get("directory-observed").await.unwrap();
    let plan = observed.status.unwrap().planned_change.unwrap();
    assert_eq!(plan.action, "Create");
    let writes = env.tenant_writes().await;
    assert_eq!(created_profiles(&writes), 2, "{writes:?}");

    // Printer columns.
    let out = env.kubectl(&["get", "identityprofiles"]).await;
    let table = String::from_utf8_lossy(&out.stdout);
    let header = table.lines().next().unwrap_or_default();
    for column in ["TENANT ID", "READY", "SYNCED", "AGE"] {
        assert!(header.contains(column), "{table}");
    }
    let id = employees["id"].as_str().unwrap();
    assert!(table.contains(id), "{table}");

    // Every call is counted: the operator's metrics agree with the tenant's journal (compared
    // at a quiet moment, when the journal did not move while the metrics were read).
    let operator = env.operator.as_ref().unwrap();
    let metrics = env
        .wait_for(
            "metrics equal to the journal",
            Duration::from_secs(20),
            || async {
                let before = env.admin.journal().await.len() as u64;
                let metrics = operator.metrics().await;
                let after = env.admin.journal().await.len() as u64;
                let counted: u64 = metrics
                    .lines()
                    .filter(|l| l.starts_with("isc_operator_tenant_requests_total{"))
                    .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
                    .sum();
                (before == after && counted == after).then_some(metrics)
            },
        )
        .await;
    assert!(
        metrics.contains(r#"route="/v2024/identity-profiles/import",status="200"}"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_profile_is_adopted_without_a_create() {
    let env = Env::new("adopt").await;
    env.apply_tenant(2).await;
    let existing = env
        .admin
        .put_profile(json!({"name": "Adopted", "description": "made in the UI",
                   "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"}}))
        .await;
    let id = existing["id"]
        .as_str()
        .expect("admin insert returns the profile")
        .to_string();
    env.apply(&profile_yaml(
        "adopted",
        "Adopted",
        &format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    let p = env.wait_ready("adopted").await;
    assert_eq!(p.status.unwrap().id.as_deref(), Some(id.as_str()));
    let writes = env.tenant_writes().await;
    assert_eq!(
        writes.len(),
        0,
        "adoption of a matching profile writes nothing: {writes:?}"
    );
    assert_eq!(env.tenant_profiles().await.len(), 1);
    let events = env.events_for("adopted").await;
    assert!(
        events
            .iter()
            .any(|e| e.reason.as_deref() == Some("Adopted")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_edits_cause_minimal_patches_and_steady_state_costs_nothing() {
    let env = Env::new("edits").await;
    env.apply_tenant(2).await;
    env.apply(&profile_yaml("staff", "Staff", &employees("first")))
        .await;
    env.wait_ready("staff").await;
    let writes = env.tenant_writes().await;
    assert_eq!(created_profiles(&writes), 1);
    assert_eq!(writes.len(), 1, "{writes:?}");

    // One field changes: one PATCH with one operation.
    env.admin.clear_journal().await;
    env.apply(&profile_yaml("staff", "Staff", &employees("second")))
        .await;
    env.wait_for("the description patch", Duration::from_secs(30), || async {
        let p = env.profiles().get("staff").await.ok()?;
        (p.status?.observed_generation == Some(2)).then_some(())
    })
    .await;
    env.wait_ready("staff").await;
    let writes = env.tenant_writes().await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0].operation_id.as_deref(),
        Some("updateIdentityProfile")
    );
    assert_eq!(
        writes[0].body,
        json!([{"op": "replace", "path": "/description", "value": "second"}])
    );

    // Source and attribute config together: two PATCH calls, source first.
    env.admin.clear_journal().await;
    let both = format!(
        "  description: second\n  priority: 5\n  authoritativeSource:\n    id: {SOURCE_CONTRACTORS}\n{TRANSFORMS}      - identityAttributeName: department\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: department\n"
    );
    env.apply(&profile_yaml("staff", "Staff", &both)).await;
    env.wait_for("generation 3 synced", Duration::from_secs(30), || async {
        let p = env.profiles().get("staff").await.ok()?;
        (p.status?.observed_generation == Some(3)).then_some(())
    })
    .await;
    env.wait_ready("staff").await;
    let writes = env.tenant_writes().await;
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(
        ops(&writes[0]),
        vec![("replace".into(), "/authoritativeSource".into())]
    );
    assert!(
        ops(&writes[1])
            .iter()
            .all(|(_, p)| p.starts_with("/identityAttributeConfig")),
        "{:?}",
        writes[1]
    );
    assert!(writes.iter().all(|w| w.status == 200), "{writes:?}");
    let tenant = env.tenant_profiles().await;
    assert_eq!(tenant[0]["authoritativeSource"]["id"], SOURCE_CONTRACTORS);

    // Converged: several resyncs (2 s each) cost no writes and one shared list per resync, and
    // the object itself is not rewritten (status is patched only when it changes).
    env.admin.clear_journal().await;
    let version = env
        .profiles()
        .get("staff")
        .await
        .unwrap()
        .metadata
        .resource_version;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let after = env
        .profiles()
        .get("staff")
        .await
        .unwrap()
        .metadata
        .resource_version;
    assert_eq!(version, after, "no status write in steady state");
    let calls = env.admin.api_calls().await;
    let writes: Vec<_> = calls.iter().filter(|e| e.method != "GET").collect();
    assert!(writes.is_empty(), "steady state wrote: {writes:?}");
    let lists = count_op(&calls, "listIdentityProfiles");
    assert!(
        (2..=5).contains(&lists),
        "one list per resync, got {lists}: {calls:?}"
    );
    assert_eq!(
        count_op(&calls, "getIdentityProfile"),
        0,
        "no per-object GET: {calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_in_the_tenant_is_corrected_at_the_next_resync() {
    let env = Env::new("drift").await;
    env.apply_tenant(2).await;
    env.apply(&profile_yaml("staff", "Staff", &employees("from git")))
        .await;
    let p = env.wait_ready("staff").await;
    let id = p.status.unwrap().id.unwrap();
    env.admin.clear_journal().await;
    let http = reqwest::Client::new();
    let r = http
        .patch(format!(
            "{}/__sim/identity-profiles/{id}",
            env.sim.base_url()
        ))
        .json(&json!({"description": "changed in the UI"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    env.wait_for("drift corrected", Duration::from_secs(30), || async {
        let t = env.tenant_profiles().await;
        (tenant_profile(&t, "Staff")?["description"] == "from git").then_some(())
    })
    .await;
    let writes = env.tenant_writes().await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0].body,
        json!([{"op": "replace", "path": "/description", "value": "from git"}])
    );
    env.wait_for("DriftCorrected event", Duration::from_secs(10), || async {
        let events = env.events_for("staff").await;
        events
            .iter()
            .any(|e| e.reason.as_deref() == Some("DriftCorrected"))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_shows_the_plan_and_never_writes() {
    let env = Env::new("observe").await;
    env.apply_tenant(2).await;
    env.admin
        .put_profile(json!({"name": "Watched", "description": "old",
                   "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"}}))
        .await;
    env.admin.clear_journal().await;
    env.apply(&profile_yaml(
        "watched",
        "Watched",
        &format!("  description: new\n  managementPolicy: Observe\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    let p = env.wait_ready("watched").await;
    let status = p.status.unwrap();
    let plan = status.planned_change.unwrap();
    assert_eq!(plan.action, "Patch");
    assert_eq!(plan.patches.len(), 1);
    assert_eq!(plan.patches[0][0].path, "/description");
    assert_eq!(plan.patches[0][0].value, Some(json!("new")));
    let synced = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Synced")
        .unwrap();
    assert_eq!(synced.status, "False");
    assert_eq!(synced.reason, "ObserveOnly");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(env.tenant_writes().await.is_empty());
    assert_eq!(
        tenant_profile(&env.tenant_profiles().await, "Watched").unwrap()["description"],
        "old"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_leaves_the_tenant_profile_and_delete_removes_it_after_its_task() {
    let env = Env::new("deletion").await;
    env.apply_tenant(2).await;
    env.apply(&profile_yaml("kept", "Kept", &employees("kept")))
        .await;
    env.apply(&profile_yaml(
        "removed",
        "Removed",
        &format!("{}  deletionPolicy: Delete\n", employees("removed")),
    ))
    .await;
    env.wait_ready("kept").await;
    env.wait_ready("removed").await;
    env.admin.clear_journal().await;

    let out = env
        .kubectl(&[
            "delete",
            "identityprofile",
            "kept",
            "--wait=true",
            "--timeout=30s",
        ])
        .await;
    assert_success(&out, "delete kept");
    assert!(tenant_profile(&env.tenant_profiles().await, "Kept").is_some());
    assert!(env.tenant_writes().await.is_empty(), "Orphan makes no call");

    let out = env
        .kubectl(&[
            "delete",
            "identityprofile",
            "removed",
            "--wait=true",
            "--timeout=60s",
        ])
        .await;
    assert_success(&out, "delete removed");
    let writes = env.tenant_writes().await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0].operation_id.as_deref(),
        Some("deleteIdentityProfile")
    );
    let calls = env.admin.api_calls().await;
    assert!(
        count_op(&calls, "getTaskStatus") >= 1,
        "the delete task was followed: {calls:?}"
    );
    assert!(tenant_profile(&env.tenant_profiles().await, "Removed").is_none());
    assert!(tenant_profile(&env.tenant_profiles().await, "Kept").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_on_change_processes_identities_once_per_change() {
    let env = Env::new("refresh").await;
    env.apply_tenant(2).await;
    let spec = |attr: &str| {
        format!(
            "  refreshPolicy: OnChange\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: {attr}\n"
        )
    };
    env.apply(&profile_yaml("staff", "Staff", &spec("email")))
        .await;
    env.wait_ready("staff").await;
    env.admin.clear_journal().await;
    env.apply(&profile_yaml("staff", "Staff", &spec("mail")))
        .await;
    env.wait_for("one processing call", Duration::from_secs(30), || async {
        let calls = env.admin.api_calls().await;
        (count_op(&calls, "syncIdentityProfile") == 1).then_some(())
    })
    .await;
    // Several resyncs later, still exactly one.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let calls = env.admin.api_calls().await;
    assert_eq!(count_op(&calls, "syncIdentityProfile"), 1, "{calls:?}");
    assert_eq!(count_op(&calls, "updateIdentityProfile"), 1, "{calls:?}");

    // The next change processes once more.
    env.apply(&profile_yaml("staff", "Staff", &spec("userPrincipalName")))
        .await;
    env.wait_for(
        "second processing call",
        Duration::from_secs(30),
        || async {
            let calls = env.admin.api_calls().await;
            (count_op(&calls, "syncIdentityProfile") == 2).then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        count_op(&env.admin.api_calls().await, "syncIdentityProfile"),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_manifests_are_rejected_naming_the_field() {
    let cp = control_plane().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e_manifests/malformed");
    let index: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/index.json")).unwrap())
            .unwrap();
    assert!(index.len() >= 15);
    let mut failures = Vec::new();
    for case in &index {
        let file = format!("{dir}/{}", case["file"].as_str().unwrap());
        let field = case["field"].as_str().unwrap();
        let out = cp
            .kubectl_async(&["apply", "--dry-run=server", "-n", "default", "-f", &file])
            .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !stderr.contains(field) {
            failures.push(format!(
                "{file}: exit {:?}, expected {field:?} in: {stderr}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // tenantRef cannot change after creation.
    let env = Env::new("immutable").await;
    env.apply(&profile_yaml(
        "p",
        "P",
        &format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    let moved = profile_yaml(
        "p",
        "P",
        &format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    )
    .replace("name: demo", "name: other");
    let out = env.try_apply(&moved).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("spec.tenantRef") && stderr.contains("immutable"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_still_converge_without_duplicates() {
    let env = Env::new("faults").await;
    env.admin
        .add_fault(json!({"method": "GET", "path": "/v2024/identity-profiles*", "count": 2, "status": 429, "retryAfter": 1}))
        .await;
    env.admin
        .add_fault(json!({"method": "GET", "path": "/v2024/identity-profiles*", "count": 6, "status": 503}))
        .await;
    env.admin
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles/import", "count": 2, "status": 502}))
        .await;
    env.apply_tenant(2).await;
    env.apply(&profile_yaml("staff", "Staff", &employees("resilient")))
        .await;
    env.wait_ready("staff").await;
    let tenant = env.tenant_profiles().await;
    assert_eq!(
        tenant.iter().filter(|p| p["name"] == "Staff").count(),
        1,
        "{tenant:?}"
    );
    let calls = env.admin.api_calls().await;
    assert!(calls.iter().any(|e| e.status == 429), "429s were served");
    assert!(calls.iter().any(|e| e.status == 503), "503s were served");
    let creates: Vec<_> = calls
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some("importIdentityProfiles"))
        .collect();
    assert_eq!(
        creates.iter().filter(|e| e.status == 200).count(),
        1,
        "{creates:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_create_and_status_write_leaves_one_profile() {
    let mut env = Env::new("crash").await;
    env.apply_tenant(2).await;
    // The tenant creates the profile, then holds the answer; the operator dies meanwhile.
    env.admin
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles/import", "count": 1, "delayAfterMs": 5000}))
        .await;
    env.apply(&profile_yaml("staff", "Staff", &employees("once")))
        .await;
    env.wait_for(
        "the profile exists in the tenant",
        Duration::from_secs(30),
        || async { tenant_profile(&env.tenant_profiles().await, "Staff").map(|_| ()) },
    )
    .await;
    env.kill_operator();
    let p = env.profiles().get("staff").await.unwrap();
    let status = p.status.unwrap_or_default();
    assert!(status.id.is_none(), "the id was never recorded");
    assert!(
        status.pending_create.is_some(),
        "the create-pending marker was recorded first"
    );

    env.start_operator();
    let p = env.wait_ready("staff").await;
    let tenant = env.tenant_profiles().await;
    assert_eq!(
        tenant.iter().filter(|t| t["name"] == "Staff").count(),
        1,
        "{tenant:?}"
    );
    let id = tenant_profile(&tenant, "Staff").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(p.status.unwrap().id, Some(id));
    let calls = env.admin.api_calls().await;
    assert_eq!(count_op(&calls, "importIdentityProfiles"), 1, "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_manifest_for_the_same_profile_gets_a_conflict_and_writes_nothing() {
    let env = Env::new("conflict").await;
    env.apply_tenant(2).await;
    env.apply(&profile_yaml("first", "Shared", &employees("first")))
        .await;
    env.wait_ready("first").await;
    env.admin.clear_journal().await;
    env.apply(&profile_yaml("second", "Shared", &employees("second")))
        .await;
    let p = env.wait_condition("second", "Conflict", "True").await;
    let ready = p
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason, "Conflict");
    // kstatus: a Conflict needs a person (Stalled, reason Conflict), it is not work under way.
    let conditions = env
        .profiles()
        .get("second")
        .await
        .unwrap()
        .status
        .unwrap()
        .conditions;
    let stalled = conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .expect("Stalled");
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "Conflict")
    );
    assert!(
        !conditions.iter().any(|c| c.type_ == "Reconciling"),
        "{conditions:?}"
    );
    // The owner is named as namespace/name (ownership is cluster-wide).
    assert!(ready.message.contains("/first"), "{}", ready.message);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(env.tenant_writes().await.is_empty());
    assert_eq!(
        tenant_profile(&env.tenant_profiles().await, "Shared").unwrap()["description"],
        "first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_and_secret_problems_are_conditions_and_rotation_needs_no_restart() {
    let env = Env::new("credentials").await;
    env.apply(&profile_yaml("staff", "Staff", &employees("x")))
        .await;
    let p = env.wait_condition("staff", "Ready", "False").await;
    // kstatus: a Tenant not there yet may still come (applied with the profile): Reconciling.
    let conditions = &p.status.as_ref().unwrap().conditions;
    let reconciling = conditions.iter().find(|c| c.type_ == "Reconciling");
    assert_eq!(
        reconciling.map(|c| c.reason.as_str()),
        Some("TenantNotFound")
    );
    let ready = p
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason, "TenantNotFound");

    // A wrong secret: authentication fails, the message does not leak the secret.
    let wrong = tenant_yaml(&env.sim.base_url(), 2)
        .replace(support::USER_CLIENT_SECRET, "wrong-Secret-123");
    env.apply(&wrong).await;
    let p = env
        .wait_for("AuthenticationFailed", Duration::from_secs(60), || async {
            let p = env.profiles().get("staff").await.ok()?;
            let c = p
                .status
                .as_ref()?
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready")?
                .clone();
            (c.reason == "AuthenticationFailed").then_some(c)
        })
        .await;
    assert!(!p.message.contains("wrong-Secret-123"), "{}", p.message);
    assert!(env.tenant_profiles().await.is_empty());

    // Rotating the Secret fixes it without restarting the operator.
    env.apply_tenant(2).await;
    env.wait_ready("staff").await;
    assert!(tenant_profile(&env.tenant_profiles().await, "Staff").is_some());
    // The Tenant reports the working credential too.
    env.wait_for("Tenant Ready", Duration::from_secs(30), || async {
        let tenant = env.tenants().get("demo").await.ok()?;
        let ready = tenant
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        (ready.status == "True" && ready.reason == "TokenObtained").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_works_with_the_least_privilege_service_account() {
    // Install the kustomize base (CRDs, namespace, RBAC, Deployment) on the real API server.
    let cp = control_plane().await;
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/base");
    assert_success(
        &cp.kubectl_async(&["apply", "-k", base]).await,
        "kubectl apply -k deploy/base",
    );
    let out = cp
        .kubectl_async(&[
            "-n",
            "isc-operator-system",
            "create",
            "token",
            "isc-operator",
            "--duration=1h",
        ])
        .await;
    assert_success(&out, "create a ServiceAccount token");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let kubeconfig = cp
        .dir()
        .join(format!("sa-{}.kubeconfig", uuid::Uuid::new_v4().simple()));
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: operator\n  user:\n    token: {token}\ncontexts:\n- name: operator\n  context: {{cluster: test, user: operator}}\ncurrent-context: operator\n",
            cp.server_url(),
            cp.ca_cert_path().display()
        ),
    )
    .unwrap();
    // Secrets: read only (the operator watches the ones labelled as credentials; RBAC cannot
    // select by label), never written.
    for (verb, allowed) in [("watch", "yes"), ("update", "no"), ("delete", "no")] {
        let out = cp
            .kubectl_async(&[
                "auth",
                "can-i",
                verb,
                "secrets",
                "--as=system:serviceaccount:isc-operator-system:isc-operator",
            ])
            .await;
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            allowed,
            "may the operator {verb} secrets?"
        );
    }

    let mut env = Env::build(
        "rbac",
        "127.0.0.1:0",
        support::sim_config(),
        Some(kubeconfig),
    )
    .await;
    // Run it as the Deployment does: with leader election in the operator's namespace.
    env.kill_operator();
    env.operator = Some(env.spawn_operator(&[
        "--leader-election-namespace",
        "isc-operator-system",
        "--lease-duration-secs",
        "5",
    ]));
    env.apply_tenant(2).await;
    env.apply(&profile_yaml(
        "staff",
        "Staff",
        &format!("{}  deletionPolicy: Delete\n", employees("least privilege")),
    ))
    .await;
    env.wait_ready("staff").await;
    env.wait_for(
        "an Event from the operator",
        Duration::from_secs(10),
        || async { (!env.events_for("staff").await.is_empty()).then_some(()) },
    )
    .await;
    let out = env
        .kubectl(&[
            "delete",
            "identityprofile",
            "staff",
            "--wait=true",
            "--timeout=60s",
        ])
        .await;
    assert_success(&out, "delete with the finalizer");
    assert!(tenant_profile(&env.tenant_profiles().await, "Staff").is_none());
    // No watch or write of the operator was refused by RBAC.
    let log = env.operator.as_ref().unwrap().log();
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "RBAC refused something:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_leader_election_only_the_leader_writes_and_a_standby_takes_over() {
    let mut env = Env::new("leader").await;
    env.kill_operator();
    let ns = env.ns.clone();
    let election = [
        "--leader-election-namespace",
        ns.as_str(),
        "--lease-duration-secs",
        "3",
    ];
    let first = env.spawn_operator(&election);
    env.apply_tenant(2).await;
    env.apply(&profile_yaml("staff", "Staff", &employees("one leader")))
        .await;
    env.wait_ready("staff").await;
    let second = env.spawn_operator(&election);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        second.log().contains("waiting to become the leader"),
        "{}",
        second.log()
    );
    assert!(
        !second.log().contains("became the leader"),
        "{}",
        second.log()
    );

    // The leader dies without releasing the Lease; the standby takes over after it expires.
    first.kill();
    env.admin.clear_journal().await;
    env.apply(&profile_yaml("staff", "Staff", &employees("new leader")))
        .await;
    env.wait_for(
        "the standby corrects the tenant",
        Duration::from_secs(60),
        || async {
            let t = env.tenant_profiles().await;
            (tenant_profile(&t, "Staff")?["description"] == "new leader").then_some(())
        },
    )
    .await;
    assert!(
        second.log().contains("became the leader"),
        "{}",
        second.log()
    );
    let writes = env.tenant_writes().await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(env.tenant_profiles().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_manifests_are_adopted_without_a_single_write() {
    let env = Env::new("export").await;
    env.apply_tenant(2).await;
    let user = user_client(&env);
    user.create_identity_attribute(&isc_client::models::IdentityAttribute {
        name: "costCenter".into(),
        display_name: Some("Cost Center".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let upper = user
        .create_transform(&isc_client::models::Transform {
            name: "Upper Department".into(),
            kind: "upper".into(),
            attributes: json!({"input": {"type": "accountAttribute",
                "attributes": {"attributeName": "department", "sourceId": SOURCE_EMPLOYEES}}})
            .as_object()
            .cloned(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut profile_ids = Vec::new();
    for (name, source) in [
        ("HR Staff (EU)", SOURCE_EMPLOYEES),
        ("Contractors #2", SOURCE_CONTRACTORS),
    ] {
        let made = env.admin
            .put_profile(json!({"name": name, "description": "made in the UI", "priority": 3,
                       "owner": {"type": "IDENTITY", "id": "2c9180857a1b4c2d0000000000000001", "name": "Owner"},
                       "authoritativeSource": {"type": "SOURCE", "id": source, "name": "src"},
                       "identityAttributeConfig": {"enabled": true, "attributeTransforms": [
                           {"identityAttributeName": "email", "transformDefinition": {"type": "accountAttribute",
                            "attributes": {"attributeName": "email", "sourceId": source}}},
                           {"identityAttributeName": "costCenter", "transformDefinition": {"type": "reference",
                            "attributes": {"id": upper.name}}}]}}))
            .await;
        profile_ids.push(made["id"].as_str().unwrap().to_string());
    }
    user.create_lifecycle_state(
        &profile_ids[0],
        &isc_client::models::ProfileLifecycleState {
            name: "Leaver".into(),
            technical_name: "leaver".into(),
            enabled: true,
            identity_state: Some("INACTIVE_LONG_TERM".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isc-operator"))
        .args([
            "export",
            "--base-url",
            &env.sim.base_url(),
            "--client-id",
            support::USER_CLIENT_ID,
            "--tenant-ref",
            "demo",
        ])
        .env("ISC_CLIENT_SECRET", support::USER_CLIENT_SECRET)
        .env("ISC_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert_eq!(yaml.matches("kind: IdentityProfile").count(), 2, "{yaml}");
    assert_eq!(yaml.matches("kind: Transform").count(), 1, "{yaml}");
    assert_eq!(yaml.matches("kind: LifecycleState").count(), 1, "{yaml}");
    assert!(yaml.contains("name: costCenter"), "{yaml}");
    env.admin.clear_journal().await;
    env.apply(&yaml).await;
    // Every exported object of every kind becomes Ready: adopted, in sync.
    let out = env
        .kubectl(&[
            "wait",
            "--for=condition=Ready",
            "identityattributes,transforms,identityprofiles,lifecyclestates",
            "--all",
            "--timeout=120s",
        ])
        .await;
    assert_success(
        &out,
        "kubectl wait --for=condition=Ready (every exported object)",
    );
    let ready = String::from_utf8_lossy(&out.stdout);
    assert!(
        ready.contains("transform.isc.identitynow.dev/upper-department condition met"),
        "{ready}"
    );
    assert!(
        ready.contains("lifecyclestate.isc.identitynow.dev/hr-staff-eu-leaver condition met"),
        "{ready}"
    );
    assert!(
        ready.contains("identityattribute.isc.identitynow.dev/costcenter condition met"),
        "{ready}"
    );
    let writes = env.tenant_writes().await;
    assert!(
        writes.is_empty(),
        "adopting exported manifests writes nothing: {writes:?}"
    );
    for name in ["hr-staff-eu", "contractors-2"] {
        let p = env.profiles().get(name).await.unwrap();
        let synced = p
            .status
            .unwrap()
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Synced")
            .unwrap();
        assert_eq!(synced.status, "True", "{name}");
    }
}

/// A tenant client with the user-context credential, for making tenant objects as an admin
/// would in the UI.
fn user_client(env: &Env) -> isc_client::TenantClient {
    let mut config = isc_client::TenantClientConfig::new(
        &env.sim.base_url(),
        support::USER_CLIENT_ID,
        secrecy::SecretString::from(support::USER_CLIENT_SECRET.to_string()),
    )
    .unwrap();
    config.allow_insecure_http = true;
    isc_client::TenantClient::new(config).unwrap()
}
