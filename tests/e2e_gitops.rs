//! GitOps health end to end: objects the operator wrote on a real API server, read with
//! `kubectl get -o json` as a GitOps tool reads them, judged by kstatus
//! (`sigs.k8s.io/cli-utils`, what Flux's `wait`/`healthChecks` use) and by the Argo CD health
//! scripts of `deploy/argocd/` (run with gopher-lua as Argo CD runs them), both in the Go test
//! tool `tests/tools/kstatus/`. Each test records every version of an object it sees and
//! asserts the stages it went through, in order.
//!
//! A stage that lasts only a moment is made to last with the simulator (a delayed create, a
//! long task), so it is seen without relying on timing. Captured objects are kept under the
//! control plane's temporary directory (`<ns>/captured/`) for a failure's post-mortem.

pub mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use support::e2e::*;
use support::gitops::{Verdict, argocd_health, kstatus};

/// How long one object may take to reach its final stage.
const LONG: Duration = Duration::from_secs(90);

/// One version of an object and what both judges said about it.
#[derive(Debug, Clone)]
struct Judged {
    obj: Value,
    kstatus: Verdict,
    health: Verdict,
    file: PathBuf,
}

impl Judged {
    /// `kstatus/ArgoCD`, e.g. `InProgress/Progressing`.
    fn stage(&self) -> String {
        format!("{}/{}", self.kstatus.status, self.health.status)
    }

    fn has_status(&self) -> bool {
        self.obj
            .get("status")
            .is_some_and(|s| s.get("conditions").is_some())
    }

    /// The condition of `type_`, if present.
    fn condition(&self, type_: &str) -> Option<&Value> {
        self.obj["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)
    }

    fn phase(&self) -> Option<&str> {
        self.obj["status"]["phase"].as_str()
    }
}

/// Reads `resource/name` with kubectl (`None` while it does not exist), keeps a copy, and
/// judges it.
async fn judge(env: &Env, resource: &str, name: &str) -> Option<Judged> {
    let out = env
        .kubectl(&[
            "get",
            &format!("{resource}.isc.identitynow.dev"),
            name,
            "-o",
            "json",
        ])
        .await;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("NotFound"),
            "kubectl get {resource}/{name}: {err}"
        );
        return None;
    }
    let obj: Value = serde_json::from_slice(&out.stdout).expect("kubectl prints JSON");
    let dir = env.cp.dir().join(&env.ns).join("captured");
    std::fs::create_dir_all(&dir).unwrap();
    let version = obj["metadata"]["resourceVersion"].as_str().unwrap_or("0");
    let file = dir.join(format!("{resource}-{name}-{version}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&obj).unwrap()).unwrap();
    Some(Judged {
        kstatus: kstatus(&obj),
        health: argocd_health(&obj),
        obj,
        file,
    })
}

/// Every version of `resource/name` seen until `done` holds for one, that one last. Panics
/// with the stages seen and the operator's log tail after [`LONG`].
async fn follow(
    env: &Env,
    resource: &str,
    name: &str,
    done: impl Fn(&Judged) -> bool,
) -> Vec<Judged> {
    let deadline = std::time::Instant::now() + LONG;
    let mut seen: Vec<Judged> = Vec::new();
    loop {
        if let Some(j) = judge(env, resource, name).await {
            let version = &j.obj["metadata"]["resourceVersion"];
            let new = seen
                .last()
                .is_none_or(|last| &last.obj["metadata"]["resourceVersion"] != version);
            let finished = done(&j);
            if new {
                // Shown with a failure (or with --nocapture): the trail of verdicts.
                println!(
                    "{resource}/{name} v{version}: kstatus {:?}, Argo CD {:?}",
                    j.kstatus, j.health
                );
                seen.push(j);
            }
            if finished {
                return seen;
            }
        }
        if std::time::Instant::now() > deadline {
            let log = env.operator.as_ref().map(|o| o.log()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let last = seen.last().map(|j| j.file.display().to_string());
            panic!(
                "{resource}/{name} never reached its final stage; stages seen: {:?}, last \
                 version: {last:?}\noperator log tail:\n{}",
                stages(&seen),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The stages of the versions that carry conditions, consecutive repeats collapsed. Versions
/// without any (before the operator's first status write) are judged too: Argo CD says
/// Progressing; kstatus says Current there (its rule for an object without conditions), which
/// is why the operator's first reconcile must write a status at once.
fn stages(seen: &[Judged]) -> Vec<String> {
    for j in seen.iter().filter(|j| !j.has_status()) {
        assert_eq!(
            j.health.status,
            "Progressing",
            "no status yet: {}",
            j.file.display()
        );
    }
    let mut out: Vec<String> = Vec::new();
    for j in seen.iter().filter(|j| j.has_status()) {
        if out.last() != Some(&j.stage()) {
            out.push(j.stage());
        }
    }
    out
}

fn assert_stages(seen: &[Judged], expected: &[&str]) {
    let got = stages(seen);
    let files: Vec<String> = seen.iter().map(|j| j.file.display().to_string()).collect();
    assert_eq!(got, expected, "captured versions: {files:#?}");
}

/// Polls `resource/name` a few more times and asserts every version keeps `stage`.
async fn assert_stays(env: &Env, resource: &str, name: &str, stage: &str) {
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let j = judge(env, resource, name)
            .await
            .expect("object still there");
        assert_eq!(j.stage(), stage, "{}", j.file.display());
    }
}

fn is_current(j: &Judged) -> bool {
    j.kstatus.status == "Current" && j.has_status()
}

fn is_failed(j: &Judged) -> bool {
    j.kstatus.status == "Failed"
}

/// A world with the demo Tenant (30 s resync) applied and Ready.
async fn env(name: &str) -> Env {
    let env = Env::new(name).await;
    env.wait_processing_crd().await;
    env.apply_tenant(30).await;
    env
}

/// Holds the tenant's next profile create (import or POST) for `ms` before handling it.
async fn delay_next_create(env: &Env, ms: u64) {
    env.admin
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles*", "delayMs": ms}))
        .await;
}

fn employees_spec() -> String {
    format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_that_converges_goes_in_progress_then_current_and_healthy() {
    let env = env("gitops-converge").await;
    delay_next_create(&env, 4000).await;
    env.apply(&profile_yaml("staff", "Staff", &employees_spec()))
        .await;
    let seen = follow(&env, "identityprofiles", "staff", is_current).await;
    assert_stages(&seen, &["InProgress/Progressing", "Current/Healthy"]);
    // While the create was held the object said why: Reconciling=True, Ready=False.
    let creating = seen
        .iter()
        .find(|j| j.kstatus.status == "InProgress" && j.has_status())
        .unwrap();
    assert_eq!(
        creating
            .condition("Reconciling")
            .map(|c| c["status"].clone()),
        Some(json!("True")),
        "{}",
        creating.file.display()
    );
    assert_stays(&env, "identityprofiles", "staff", "Current/Healthy").await;

    // An edit: the new generation is InProgress until the operator has observed and applied it
    // (the PATCH is held a moment so that stage is seen).
    env.admin
        .add_fault(
            json!({"method": "PATCH", "path": "/v2024/identity-profiles/*", "delayMs": 3000}),
        )
        .await;
    env.apply(&profile_yaml(
        "staff",
        "Staff",
        &format!("{}  description: edited\n", employees_spec()),
    ))
    .await;
    let seen = follow(&env, "identityprofiles", "staff", |j| {
        is_current(j) && j.obj["metadata"]["generation"] == 2
    })
    .await;
    let after_edit: Vec<&Judged> = seen
        .iter()
        .filter(|j| j.obj["metadata"]["generation"] == 2)
        .collect();
    assert!(after_edit.len() >= 2, "the edit was seen in progress");
    for j in &after_edit[..after_edit.len() - 1] {
        assert_eq!(j.stage(), "InProgress/Progressing", "{}", j.file.display());
    }
    assert_eq!(after_edit.last().unwrap().stage(), "Current/Healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_the_tenant_refuses_goes_in_progress_then_failed_and_degraded() {
    let env = env("gitops-refused").await;
    // No such source: the tenant refuses the create, and will refuse it again.
    delay_next_create(&env, 4000).await;
    env.apply(&profile_yaml(
        "ghost",
        "Ghost",
        "  authoritativeSource:\n    id: 2c9180835d2e5168015d32f8ffffffff\n",
    ))
    .await;
    let seen = follow(&env, "identityprofiles", "ghost", is_failed).await;
    assert_stages(&seen, &["InProgress/Progressing", "Failed/Degraded"]);
    let failed = seen.last().unwrap();
    let stalled = failed.condition("Stalled").expect("Stalled condition");
    assert_eq!(stalled["status"], "True");
    assert_eq!(
        failed.health.message,
        stalled["message"].as_str().unwrap(),
        "Argo CD shows the Stalled message"
    );
    assert_eq!(failed.kstatus.message, stalled["message"].as_str().unwrap());
    assert_stays(&env, "identityprofiles", "ghost", "Failed/Degraded").await;

    // An edit the tenant refuses fails its own generation: Failed, not stuck InProgress.
    env.apply(&profile_yaml("staff", "Staff", &employees_spec()))
        .await;
    follow(&env, "identityprofiles", "staff", is_current).await;
    env.apply(&profile_yaml(
        "staff",
        "Staff",
        "  authoritativeSource:\n    id: 2c9180835d2e5168015d32f8ffffffff\n",
    ))
    .await;
    let seen = follow(&env, "identityprofiles", "staff", |j| {
        is_failed(j) && j.obj["metadata"]["generation"] == 2
    })
    .await;
    let failed = seen.last().unwrap();
    assert_eq!(
        failed.stage(),
        "Failed/Degraded",
        "{}",
        failed.file.display()
    );
    assert_eq!(failed.obj["status"]["observedGeneration"], 2);
    assert_stays(&env, "identityprofiles", "staff", "Failed/Degraded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_profile_is_failed_and_degraded_naming_the_owner() {
    let env = env("gitops-conflict").await;
    env.apply(&profile_yaml("first", "Shared", &employees_spec()))
        .await;
    follow(&env, "identityprofiles", "first", is_current).await;
    env.apply(&profile_yaml("second", "Shared", &employees_spec()))
        .await;
    let seen = follow(&env, "identityprofiles", "second", is_failed).await;
    let got = stages(&seen);
    assert_eq!(got.last().map(String::as_str), Some("Failed/Degraded"));
    assert!(
        got.iter().all(|s| s != "Current/Healthy"),
        "never Current on the way: {got:?}"
    );
    let failed = seen.last().unwrap();
    assert_eq!(failed.condition("Stalled").unwrap()["reason"], "Conflict");
    assert!(
        failed.health.message.contains("/first"),
        "{}",
        failed.health.message
    );
    // The owner stays healthy.
    let first = judge(&env, "identityprofiles", "first").await.unwrap();
    assert_eq!(first.stage(), "Current/Healthy");

    // Paused as well: still Degraded (a person must act), with Suspended=True shown too.
    let paused = profile_yaml("third", "Shared", &employees_spec()).replace(
        "metadata:\n  name: third\n",
        &format!("metadata:\n  name: third\n{PAUSED}"),
    );
    env.apply(&paused).await;
    let seen = follow(&env, "identityprofiles", "third", |j| {
        is_failed(j)
            && j.condition("Suspended")
                .is_some_and(|c| c["status"] == "True")
    })
    .await;
    let failed = seen.last().unwrap();
    assert_eq!(
        failed.stage(),
        "Failed/Degraded",
        "{}",
        failed.file.display()
    );
    assert_eq!(failed.condition("Stalled").unwrap()["reason"], "Conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_is_current_then_failed_with_a_refused_credential() {
    let env = env("gitops-tenant").await;
    let seen = follow(&env, "tenants", "demo", is_current).await;
    assert_eq!(seen.last().unwrap().stage(), "Current/Healthy");
    let wrong = tenant_yaml(&env.sim.base_url(), 30)
        .replace(support::USER_CLIENT_SECRET, "wrong-Secret-123");
    env.apply(&wrong).await;
    let seen = follow(&env, "tenants", "demo", is_failed).await;
    let failed = seen.last().unwrap();
    assert_eq!(
        failed.stage(),
        "Failed/Degraded",
        "{}",
        failed.file.display()
    );
    assert!(!failed.health.message.contains("wrong-Secret-123"));
    // Rotating the Secret back heals it.
    env.apply_tenant(30).await;
    let seen = follow(&env, "tenants", "demo", is_current).await;
    assert_eq!(seen.last().unwrap().stage(), "Current/Healthy");
}

/// A ProcessingRequest manifest; `spec` lines are indented by two spaces.
fn request_yaml(name: &str, spec: &str, annotations: &str) -> String {
    format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: ProcessingRequest\nmetadata:\n  name: {name}\n{annotations}spec:\n  tenantRef:\n    name: demo\n{spec}"
    )
}

/// `ProcessIdentities` of two seed identities.
fn process_two() -> String {
    "  action: ProcessIdentities\n  identities:\n    ids:\n      - \"2c9180857a1b4c2d0000000000000001\"\n      - \"2c9180857a1b4c2d0000000000000002\"\n".to_string()
}

/// Tenant tasks from now on run this long, so a request's running stage is seen.
async fn long_tasks(env: &Env, ms: u64) {
    env.admin.configure(json!({"taskDurationMs": ms})).await;
}

fn assert_ran_then(seen: &[Judged], last: &str) {
    assert_stages(seen, &["InProgress/Progressing", last]);
    let running = seen
        .iter()
        .filter(|j| j.kstatus.status == "InProgress" && j.phase() == Some("Running"))
        .count();
    assert!(running > 0, "seen while Running: {:#?}", stages(seen));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processing_request_is_in_progress_while_running_then_current_and_not_repeated() {
    let env = env("gitops-pr").await;
    long_tasks(&env, 8000).await;
    let manifest = request_yaml("refresh", &process_two(), "");
    env.apply(&manifest).await;
    let seen = follow(&env, "processingrequests", "refresh", is_current).await;
    assert_ran_then(&seen, "Current/Healthy");
    let done = seen.last().unwrap();
    assert_eq!(done.phase(), Some("Succeeded"));
    assert_stays(&env, "processingrequests", "refresh", "Current/Healthy").await;

    // Deleted (as a TTL would) and applied again: done at once, healthy, nothing sent.
    let out = env
        .kubectl(&[
            "delete",
            "processingrequests.isc.identitynow.dev",
            "refresh",
            "--wait",
        ])
        .await;
    assert_success(&out, "kubectl delete");
    env.admin.clear_journal().await;
    env.apply(&manifest).await;
    let seen = follow(&env, "processingrequests", "refresh", is_current).await;
    let again = seen.last().unwrap();
    assert_eq!(again.stage(), "Current/Healthy", "{}", again.file.display());
    assert_eq!(
        again.condition("Ready").unwrap()["reason"],
        "AlreadyCompleted"
    );
    let writes = env.tenant_writes().await;
    assert!(writes.is_empty(), "no tenant write: {writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_processing_request_is_in_progress_then_failed_and_degraded() {
    let env = env("gitops-pr-fail").await;
    long_tasks(&env, 8000).await;
    env.admin
        .add_fault(
            json!({"method": "POST", "path": "/v2024/identities/process", "taskOutcome": "ERROR"}),
        )
        .await;
    env.apply(&request_yaml("doomed", &process_two(), "")).await;
    let seen = follow(&env, "processingrequests", "doomed", is_failed).await;
    assert_ran_then(&seen, "Failed/Degraded");
    let failed = seen.last().unwrap();
    assert_eq!(failed.phase(), Some("Failed"));
    let stalled = failed.condition("Stalled").expect("Stalled condition");
    assert_eq!(stalled["reason"], "TaskFailed");
    assert!(
        failed
            .health
            .message
            .ends_with(stalled["message"].as_str().unwrap()),
        "{}",
        failed.health.message
    );
    assert_stays(&env, "processingrequests", "doomed", "Failed/Degraded").await;
}

const PAUSED: &str = "  annotations:\n    isc.identitynow.dev/paused: \"true\"\n";

/// Waits until `resource/name` shows `Suspended=True`; returns that version.
async fn wait_suspended(env: &Env, resource: &str, name: &str) -> Judged {
    let seen = follow(env, resource, name, |j| {
        j.condition("Suspended")
            .is_some_and(|c| c["status"] == "True")
    })
    .await;
    seen.last().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_objects_are_suspended_for_argocd_and_resume_when_unpaused() {
    let env = env("gitops-paused").await;
    follow(&env, "tenants", "demo", is_current).await;
    env.admin.clear_journal().await;
    let profile = profile_yaml("held", "Held", &employees_spec()).replace(
        "metadata:\n  name: held\n",
        &format!("metadata:\n  name: held\n{PAUSED}"),
    );
    env.apply(&profile).await;
    env.apply(&request_yaml("held-run", &process_two(), PAUSED))
        .await;
    // A create held: Suspended for Argo CD; kstatus has no word for it and says InProgress
    // (Ready=False reason Paused).
    let p = wait_suspended(&env, "identityprofiles", "held").await;
    assert_eq!(p.stage(), "InProgress/Suspended", "{}", p.file.display());
    assert_eq!(p.condition("Ready").unwrap()["reason"], "Paused");
    let r = wait_suspended(&env, "processingrequests", "held-run").await;
    assert_eq!(r.health.status, "Suspended", "{}", r.file.display());
    assert_eq!(r.kstatus.status, "InProgress", "{}", r.file.display());
    let writes = env.tenant_writes().await;
    assert!(
        writes.is_empty(),
        "nothing written while paused: {writes:?}"
    );

    for (resource, name) in [
        ("identityprofiles", "held"),
        ("processingrequests", "held-run"),
    ] {
        let out = env
            .kubectl(&[
                "annotate",
                &format!("{resource}.isc.identitynow.dev"),
                name,
                "isc.identitynow.dev/paused-",
            ])
            .await;
        assert_success(&out, "kubectl annotate paused-");
    }
    let seen = follow(&env, "identityprofiles", "held", is_current).await;
    assert_eq!(seen.last().unwrap().stage(), "Current/Healthy");
    let seen = follow(&env, "processingrequests", "held-run", is_current).await;
    assert_eq!(seen.last().unwrap().stage(), "Current/Healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_tenant_and_its_objects_are_suspended_for_argocd() {
    let env = env("gitops-suspend").await;
    follow(&env, "tenants", "demo", is_current).await;
    let suspended_tenant = tenant_yaml(&env.sim.base_url(), 30).replace(
        "  resyncIntervalSeconds: 30\n",
        "  resyncIntervalSeconds: 30\n  suspend: true\n",
    );
    env.apply(&suspended_tenant).await;
    // The Tenant itself still has its token: Ready (kstatus Current), Suspended for Argo CD.
    let t = wait_suspended(&env, "tenants", "demo").await;
    assert_eq!(t.stage(), "Current/Suspended", "{}", t.file.display());
    assert_eq!(
        t.condition("Suspended").unwrap()["reason"],
        "TenantSuspended"
    );
    env.admin.clear_journal().await;
    env.apply(&profile_yaml("later", "Later", &employees_spec()))
        .await;
    let p = wait_suspended(&env, "identityprofiles", "later").await;
    assert_eq!(p.stage(), "InProgress/Suspended", "{}", p.file.display());
    assert_eq!(p.condition("Ready").unwrap()["reason"], "TenantSuspended");
    let writes = env.tenant_writes().await;
    assert!(
        writes.is_empty(),
        "nothing written while suspended: {writes:?}"
    );

    env.apply_tenant(30).await;
    let seen = follow(&env, "identityprofiles", "later", is_current).await;
    assert_eq!(seen.last().unwrap().stage(), "Current/Healthy");
    let t = judge(&env, "tenants", "demo").await.unwrap();
    assert!(
        t.condition("Suspended")
            .is_none_or(|c| c["status"] != "True")
    );
}
