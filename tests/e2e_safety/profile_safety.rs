//! IdentityProfile safety toward a production tenant, end to end: a refused create is not
//! retried blindly, a case-only name difference is adopted without a refused POST, one
//! `IdentityProfile` in the cluster owns a tenant profile, an `OnChange` processing call is made
//! at most once across a kill -9, and a `Delete` profile whose Tenant and Secret are gone says so
//! and is released by switching to `Orphan`. Every claim is checked on the simulator's journal
//! and on the Kubernetes objects and Events.

use std::time::Duration;

use isc_operator::api::IdentityProfile;
use isc_sim::JournalEntry;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use crate::support::e2e::*;
use crate::support::{USER_CLIENT_ID, USER_CLIENT_SECRET};

const LONG: Duration = Duration::from_secs(90);
/// A source id the tenant does not know: a create naming it is refused with 400.
const UNKNOWN_SOURCE: &str = "2c9180835d2e5168015d32f890ca9999";

/// Journal entries of one OpenAPI operation.
fn of_operation<'a>(entries: &'a [JournalEntry], operation: &str) -> Vec<&'a JournalEntry> {
    entries
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some(operation))
        .collect()
}

/// The `Ready` condition's (status, reason, message), if any.
fn ready(p: &IdentityProfile) -> Option<(String, String, String)> {
    p.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Warning Events with `reason` among `events`.
fn warnings<'a>(events: &'a [Event], reason: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some(reason))
        .collect()
}

fn tenant_profile<'a>(profiles: &'a [Value], name: &str) -> Option<&'a Value> {
    profiles.iter().find(|p| p["name"] == name)
}

/// Waits until `name` in `namespace` has Ready with `status` and `reason` (any generation).
async fn wait_ready_reason(
    env: &Env,
    namespace: &str,
    name: &str,
    status: &str,
    reason: &str,
) -> IdentityProfile {
    let api: Api<IdentityProfile> = Api::namespaced(env.kube.clone(), namespace);
    env.wait_for(
        &format!("{namespace}/{name} Ready={status} ({reason})"),
        LONG,
        || {
            let api = api.clone();
            async move {
                let p = api.get_opt(name).await.ok()??;
                let (s, r, _) = ready(&p)?;
                (s == status && r == reason).then_some(p)
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_create_is_sent_at_most_once_per_resync_interval() {
    let env = Env::new("refused").await;
    env.apply_tenant(40).await;
    env.apply(&profile_yaml(
        "refused",
        "Refused",
        &format!("  authoritativeSource:\n    id: {UNKNOWN_SOURCE}\n"),
    ))
    .await;
    let started = std::time::Instant::now();
    let p = wait_ready_reason(&env, &env.ns, "refused", "False", "TenantRejected").await;
    let (_, _, message) = ready(&p).unwrap();
    assert!(
        message.contains("UNKNOWN_REFERENCE_RESOLVER") && message.contains(UNKNOWN_SOURCE),
        "the condition carries the tenant's import error (key and text): {message}"
    );
    let status = p.status.clone().unwrap();
    let refusal = status.last_refusal.expect("status.lastRefusal recorded");
    assert_eq!(refusal.operation, "Create");
    assert_eq!(refusal.generation, p.metadata.generation);
    assert!(status.pending_create.is_none(), "nothing was created");
    let events = env.events_for("refused").await;
    let rejected = warnings(&events, "TenantRejected");
    assert!(!rejected.is_empty(), "{events:?}");
    assert!(
        rejected.iter().all(|e| e
            .note
            .as_deref()
            .is_some_and(|n| n.contains("UNKNOWN_REFERENCE_RESOLVER"))),
        "the Event carries the tenant's message: {rejected:?}"
    );

    // Over 60 s (one resync of 40 s may retry once): at most two imports, each answered with
    // the object in `errors` (creates go through import by default).
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(started.elapsed())).await;
    let calls = env.admin.api_calls().await;
    let imports = of_operation(&calls, "importIdentityProfiles");
    assert!(!imports.is_empty(), "the create was tried");
    assert!(imports.iter().all(|e| e.status == 200), "{imports:?}");
    assert!(
        imports.len() <= 2,
        "{} refused imports: {imports:?}",
        imports.len()
    );
    assert!(
        of_operation(&calls, "createIdentityProfile").is_empty(),
        "no POST besides the import"
    );
    assert!(
        env.tenant_profiles()
            .await
            .iter()
            .all(|t| t["name"] != "Refused"),
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_only_name_difference_is_adopted_and_corrected_by_one_patch() {
    let env = Env::new("case").await;
    let existing = env
        .admin
        .put_profile(json!({
            "name": "Employees Case",
            "description": "made in the UI",
            "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"},
        }))
        .await;
    let id = existing["id"].as_str().expect("profile id").to_string();
    env.apply_tenant(2).await;
    env.apply(&profile_yaml(
        "employees",
        "employees case",
        &format!(
            "  description: made in the UI\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"
        ),
    ))
    .await;
    let p = env.wait_ready("employees").await;
    assert_eq!(p.status.as_ref().unwrap().id.as_deref(), Some(id.as_str()));
    // A few resyncs more: the steady state costs nothing.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let writes = env.tenant_writes().await;
    assert!(
        of_operation(&writes, "createIdentityProfile").is_empty(),
        "zero POSTs: {writes:?}"
    );
    assert_eq!(writes.len(), 1, "one PATCH: {writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(writes[0].status, 200, "{writes:?}");
    assert!(
        writes[0].body.as_array().is_some_and(|ops| ops
            .contains(&json!({"op": "replace", "path": "/name", "value": "employees case"}))),
        "{:?}",
        writes[0].body
    );
    let profiles = env.tenant_profiles().await;
    assert_eq!(profiles.len(), 1, "{profiles:?}");
    assert_eq!(profiles[0]["name"], "employees case");
    assert_eq!(profiles[0]["id"], id.as_str());
    let events = env.events_for("employees").await;
    assert!(
        events
            .iter()
            .any(|e| e.reason.as_deref() == Some("Adopted")),
        "{events:?}"
    );
}

/// A labelled Secret `creds` and a Tenant `tenant_name` for `base_url` (2 s resync).
fn tenant_with_secret(tenant_name: &str, base_url: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: creds
  labels:
    isc.identitynow.dev/credentials: "true"
type: Opaque
stringData:
  client_id: {USER_CLIENT_ID}
  client_secret: {USER_CLIENT_SECRET}
---
apiVersion: isc.identitynow.dev/v1alpha1
kind: Tenant
metadata:
  name: {tenant_name}
spec:
  baseUrl: {base_url}
  credentialsSecretRef:
    name: creds
  resyncIntervalSeconds: 2
"#
    )
}

/// Profile `name` of Tenant `tenant` declaring tenant profile "Payroll" with `description`.
fn payroll(name: &str, tenant: &str, description: &str) -> String {
    format!(
        r#"apiVersion: isc.identitynow.dev/v1alpha1
kind: IdentityProfile
metadata:
  name: {name}
spec:
  tenantRef:
    name: {tenant}
  name: Payroll
  description: {description}
  authoritativeSource:
    id: {SOURCE_EMPLOYEES}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_namespaces_on_one_tenant_have_one_owner_and_a_clean_handover() {
    // The operator watches every namespace, so this test has a control plane of its own.
    let env = Env::cluster_wide("owner").await;
    let (team_a, team_b) = (env.ns.clone(), format!("{}-b", env.ns));
    create_namespace(&env.kube, &team_b).await;
    let url = env.sim.base_url();
    env.apply_in(&team_a, &tenant_with_secret("isc-a", &url))
        .await;
    env.apply_in(&team_b, &tenant_with_secret("isc-b", &url))
        .await;

    env.apply_in(&team_a, &payroll("payroll", "isc-a", "from-team-a"))
        .await;
    wait_ready_reason(&env, &team_a, "payroll", "True", "Synced").await;
    // Creation times have second resolution: the second claimant is strictly younger.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.admin.clear_journal().await;
    env.apply_in(&team_b, &payroll("payroll-b", "isc-b", "from-team-b"))
        .await;
    let loser = wait_ready_reason(&env, &team_b, "payroll-b", "False", "Conflict").await;
    let (_, _, message) = ready(&loser).unwrap();
    assert!(
        message.contains(&format!("{team_a}/payroll")),
        "the Conflict names the owner: {message}"
    );
    let conflict = loser
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .any(|c| c.type_ == "Conflict" && c.status == "True");
    assert!(conflict, "{:?}", loser.status);

    // Several resyncs (2 s) later: the owner is still Ready, and nobody wrote anything.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let owner: Api<IdentityProfile> = Api::namespaced(env.kube.clone(), &team_a);
    let (status, _, _) = ready(&owner.get("payroll").await.unwrap()).unwrap();
    assert_eq!(status, "True");
    let (status, reason, _) = ready(
        &Api::<IdentityProfile>::namespaced(env.kube.clone(), &team_b)
            .get("payroll-b")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Conflict"));
    let writes = env.tenant_writes().await;
    assert!(writes.is_empty(), "zero writes from the loser: {writes:?}");
    let profiles = env.tenant_profiles().await;
    assert_eq!(profiles.len(), 1, "{profiles:?}");
    assert_eq!(profiles[0]["description"], "from-team-a");

    // The owner goes (Orphan): the other takes over and applies its description.
    let out = env
        .cp
        .kubectl_async(&[
            "-n",
            &team_a,
            "delete",
            "identityprofile",
            "payroll",
            "--wait=true",
            "--timeout=60s",
        ])
        .await;
    assert_success(&out, "delete the owner");
    wait_ready_reason(&env, &team_b, "payroll-b", "True", "Synced").await;
    let profiles = env.tenant_profiles().await;
    assert_eq!(profiles.len(), 1, "{profiles:?}");
    assert_eq!(profiles[0]["description"], "from-team-b");
    let calls = env.admin.api_calls().await;
    assert!(
        of_operation(&calls, "createIdentityProfile").is_empty(),
        "taken over, not created: {calls:?}"
    );
    let patches = of_operation(&calls, "updateIdentityProfile");
    assert_eq!(patches.len(), 1, "{patches:?}");
}

/// An `OnChange` spec whose transform reads attribute `attr`: changing it makes the tenant ask
/// for processing.
fn on_change(attr: &str) -> String {
    format!(
        "  refreshPolicy: OnChange\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: {attr}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_on_change_processing_never_processes_twice() {
    let mut env = Env::new("onchange-kill").await;
    env.apply_tenant(2).await;
    env.apply(&profile_yaml("staff", "Staff", &on_change("email")))
        .await;
    env.wait_ready("staff").await;
    // The tenant processes, then holds its answer; the operator dies meanwhile.
    env.admin
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles/*/process-identities", "count": 1, "delayAfterMs": 20000}))
        .await;
    env.admin.clear_journal().await;
    env.apply(&profile_yaml("staff", "Staff", &on_change("mail")))
        .await;
    env.wait_for("the processing call", LONG, || async {
        let calls = env.admin.api_calls().await;
        (!of_operation(&calls, "syncIdentityProfile").is_empty()).then_some(())
    })
    .await;
    let p = env.profiles().get("staff").await.unwrap();
    assert!(
        p.status.as_ref().unwrap().pending_processing.is_some(),
        "the processing marker was written before the call: {:?}",
        p.status
    );
    env.kill_operator();

    env.start_operator();
    let p = env
        .wait_condition("staff", "SubmissionOutcomeUnknown", "True")
        .await;
    let status = p.status.clone().unwrap();
    assert!(status.pending_processing.is_none(), "{status:?}");
    assert_eq!(status.processed_generation, p.metadata.generation);
    // Several resyncs later, and after the held answer would have come: still one call.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let calls = env.admin.api_calls().await;
    let processing = of_operation(&calls, "syncIdentityProfile");
    assert_eq!(processing.len(), 1, "{processing:?}");
    let (status, _, _) = ready(&env.profiles().get("staff").await.unwrap()).unwrap();
    assert_eq!(status, "True", "the profile itself is in sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_profile_without_its_tenant_says_so_and_orphan_releases_it() {
    let env = Env::new("blocked").await;
    env.apply_tenant(2).await;
    env.apply(&profile_yaml(
        "doomed",
        "Doomed",
        &format!("  deletionPolicy: Delete\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    env.wait_ready("doomed").await;
    env.admin.clear_journal().await;

    // As a namespace deletion would: the Tenant and its Secret go first, then the profile.
    for (kind, name) in [("tenant", "demo"), ("secret", "isc-demo-credentials")] {
        let out = env.kubectl(&["delete", kind, name, "--wait=true"]).await;
        assert_success(&out, "delete the Tenant and its Secret");
    }
    let out = env
        .kubectl(&["delete", "identityprofile", "doomed", "--wait=false"])
        .await;
    assert_success(&out, "delete the profile");
    let p = wait_ready_reason(&env, &env.ns, "doomed", "False", "DeletionBlocked").await;
    assert!(p.metadata.deletion_timestamp.is_some());
    let (_, _, message) = ready(&p).unwrap();
    assert!(message.contains("Orphan"), "says what to do: {message}");
    let events = env.events_for("doomed").await;
    let blocked = warnings(&events, "DeletionBlocked");
    assert!(!blocked.is_empty(), "{events:?}");
    // It stays (the finalizer holds) and nothing is sent anywhere.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(env.profiles().get_opt("doomed").await.unwrap().is_some());

    let out = env
        .kubectl(&[
            "patch",
            "identityprofile",
            "doomed",
            "--type=merge",
            "-p",
            r#"{"spec":{"deletionPolicy":"Orphan"}}"#,
        ])
        .await;
    assert_success(&out, "switch to Orphan");
    env.wait_for("the object is gone", LONG, || async {
        env.profiles()
            .get_opt("doomed")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        tenant_profile(&env.tenant_profiles().await, "Doomed").is_some(),
        "the tenant profile stays"
    );
    let writes = env.tenant_writes().await;
    assert!(writes.is_empty(), "{writes:?}");
    let profiles: Api<IdentityProfile> = env.profiles();
    assert!(
        profiles
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
