//! The runtime around the controllers: `/readyz` waits for the watch caches, `/healthz` stays
//! up while the loops make progress, and a leader that loses its Lease makes no tenant write
//! afterwards (its in-flight reconciles are cancelled, not awaited).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use isc_sim::JournalEntry;
use serde_json::json;

use crate::support::e2e::*;

/// Everything the operator needs in one namespace except ProcessingRequests, whose watch
/// therefore cannot sync until [`PROCESSING_ROLE`] is bound too.
const BASE_ROLE: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: op-base
rules:
  - apiGroups: ["isc.identitynow.dev"]
    resources: ["tenants", "identityprofiles"]
    verbs: ["get", "list", "watch", "patch"]
  - apiGroups: ["isc.identitynow.dev"]
    resources: ["tenants/status", "identityprofiles/status"]
    verbs: ["get", "patch"]
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get"]
  - apiGroups: ["events.k8s.io"]
    resources: ["events"]
    verbs: ["create", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: op-base
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: op-base}
subjects:
  - {kind: ServiceAccount, name: op}
"#;

/// The ProcessingRequest permissions that complete [`BASE_ROLE`].
const PROCESSING_ROLE: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: op-processing
rules:
  - apiGroups: ["isc.identitynow.dev"]
    resources: ["processingrequests"]
    verbs: ["get", "list", "watch", "delete"]
  - apiGroups: ["isc.identitynow.dev"]
    resources: ["processingrequests/status"]
    verbs: ["get", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: op-processing
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: op-processing}
subjects:
  - {kind: ServiceAccount, name: op}
"#;

/// A kubeconfig for the ServiceAccount `op` of the test namespace.
async fn service_account_kubeconfig(env: &Env) -> PathBuf {
    assert_success(
        &env.kubectl(&["create", "serviceaccount", "op"]).await,
        "create the ServiceAccount",
    );
    let out = env
        .kubectl(&["create", "token", "op", "--duration=1h"])
        .await;
    assert_success(&out, "create a ServiceAccount token");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let path = env.cp.dir().join(format!("{}-op.kubeconfig", env.ns));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: op\n  user:\n    token: {token}\ncontexts:\n- name: op\n  context: {{cluster: test, user: op}}\ncurrent-context: op\n",
            env.cp.server_url(),
            env.cp.ca_cert_path().display()
        ),
    )
    .unwrap();
    path
}

/// Waits until `operator` answers `path` at all and returns that answer.
async fn first_answer(env: &Env, operator: &Operator, path: &str) -> (u16, String) {
    env.wait_for(&format!("{path} answers"), Duration::from_secs(30), || {
        operator.probe(path)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_waits_for_the_watch_caches_and_healthz_is_up_meanwhile() {
    let mut env = Env::new("readyz").await;
    env.kill_operator();
    env.apply(BASE_ROLE).await;
    let kubeconfig = service_account_kubeconfig(&env).await;
    env.operator = Some(env.spawn_operator_as(&kubeconfig, &[]));
    let operator = env.operator.as_ref().unwrap();

    // The ProcessingRequest watch is refused, so the caches cannot sync: not ready, but alive.
    assert_eq!(
        first_answer(&env, operator, "/readyz").await,
        (503, "watch caches not synced".to_string())
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(operator.probe("/readyz").await.unwrap().0, 503);
    assert_eq!(
        operator.probe("/healthz").await,
        Some((200, "ok".to_string()))
    );

    // Once the watch is allowed, its retry syncs the cache and the replica becomes ready.
    env.apply(PROCESSING_ROLE).await;
    env.wait_for("/readyz 200", Duration::from_secs(60), || async {
        (operator.probe("/readyz").await? == (200, "ok".to_string())).then_some(())
    })
    .await;

    // Steady state: a profile converges and the loops stay healthy.
    env.apply_tenant(2).await;
    env.apply(&profile_yaml(
        "staff",
        "Staff",
        &format!("  description: healthy\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    env.wait_ready("staff").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        operator.probe("/healthz").await,
        Some((200, "ok".to_string()))
    );
    assert_eq!(
        operator.probe("/readyz").await,
        Some((200, "ok".to_string()))
    );
}

/// The identity-profile creates in the journal (through import, the default).
fn creates(entries: &[JournalEntry]) -> Vec<&JournalEntry> {
    entries
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/v2024/identity-profiles/import")
        .collect()
}

/// Hands the Lease to a holder that is not running, renewed now for `secs` seconds.
async fn steal_lease(env: &Env, secs: u32) {
    let now = k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ");
    let patch = json!({"spec": {
        "holderIdentity": "thief",
        "renewTime": now.to_string(),
        "leaseDurationSeconds": secs,
    }});
    let out = env
        .kubectl(&[
            "patch",
            "lease",
            "isc-operator-leader",
            "--type=merge",
            "-p",
            &patch.to_string(),
        ])
        .await;
    assert_success(&out, "take the Lease away");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_loses_its_lease_makes_no_tenant_write_afterwards() {
    let mut env = Env::new("lease-loss").await;
    env.kill_operator();
    let ns = env.ns.clone();
    let election = [
        "--leader-election-namespace",
        ns.as_str(),
        "--lease-duration-secs",
        "4",
    ];
    let first = env.spawn_operator(&election);
    env.wait_for("the first leader", Duration::from_secs(30), || async {
        first.log().contains("became the leader").then_some(())
    })
    .await;
    let second = env.spawn_operator(&election);
    env.wait_for("a standby", Duration::from_secs(30), || async {
        (second.probe("/readyz").await? == (200, "standby".to_string())).then_some(())
    })
    .await;
    env.wait_for("a ready leader", Duration::from_secs(30), || async {
        (first.probe("/readyz").await? == (200, "leader".to_string())).then_some(())
    })
    .await;
    assert!(
        !second.log().contains("became the leader"),
        "{}",
        second.log()
    );

    // The leader's create is refused with a 10 s Retry-After: its reconcile sleeps, then would
    // POST again.
    env.apply_tenant(2).await;
    env.admin
        .add_fault(json!({
            "method": "POST",
            "path": "/v2024/identity-profiles/import",
            "status": 429,
            "retryAfter": 10,
        }))
        .await;
    env.apply(&profile_yaml(
        "staff",
        "Staff",
        &format!("  description: one writer\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    env.wait_for("the refused create", Duration::from_secs(30), || async {
        let calls = env.admin.api_calls().await;
        creates(&calls)
            .iter()
            .any(|e| e.status == 429)
            .then_some(())
    })
    .await;
    let refused_at = Instant::now();

    // The Lease changes hands while the leader sleeps on Retry-After.
    steal_lease(&env, 6).await;
    env.wait_for(
        "the old leader notices",
        Duration::from_secs(10),
        || async { first.log().contains("lost the leader lease").then_some(()) },
    )
    .await;
    assert!(
        refused_at.elapsed() < Duration::from_secs(9),
        "noticed too late to prove anything"
    );

    // The standby takes over once the stolen Lease expires and creates the profile once.
    env.operator = Some(second);
    env.wait_ready("staff").await;
    let wake_up = Duration::from_secs(13).saturating_sub(refused_at.elapsed());
    tokio::time::sleep(wake_up).await;
    let calls = env.admin.api_calls().await;
    let posts = creates(&calls);
    assert_eq!(
        posts.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![429, 200],
        "the old leader wrote after losing the Lease: {posts:#?}"
    );
    assert_eq!(env.tenant_profiles().await.len(), 1);
    let log = first.log();
    assert!(log.contains("cancelled in-flight reconciles"), "{log}");
}

/// The value of the metric line starting with `series` (`name{labels}`), 0 when absent.
fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|rest| rest.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Successful resync sweeps of the demo Tenant so far.
async fn sweeps(env: &Env, operator: &Operator) -> u64 {
    let series = format!(
        "isc_operator_resync_sweeps_total{{tenant=\"{}/demo\",result=\"ok\"}}",
        env.ns
    );
    metric(&operator.metrics().await, &series)
}

/// Objects the resync sweeps of the demo Tenant sent to their reconciler so far.
async fn enqueued(env: &Env, operator: &Operator) -> u64 {
    let series = format!(
        "isc_operator_resync_enqueued_total{{tenant=\"{}/demo\"}}",
        env.ns
    );
    metric(&operator.metrics().await, &series)
}

/// Waits until one more sweep than `after` has finished; returns the new count.
async fn next_sweep(env: &Env, after: u64) -> u64 {
    let operator = env.operator.as_ref().expect("operator");
    env.wait_for("a resync sweep", Duration::from_secs(60), || async {
        let now = sweeps(env, operator).await;
        (now > after).then_some(now)
    })
    .await
}

/// The `resourceVersion` of every IdentityProfile, by name.
async fn versions(env: &Env) -> Vec<(String, Option<String>)> {
    let mut list: Vec<_> = env
        .profiles()
        .list(&Default::default())
        .await
        .expect("list IdentityProfiles")
        .items
        .into_iter()
        .map(|p| {
            (
                p.metadata.name.unwrap_or_default(),
                p.metadata.resource_version,
            )
        })
        .collect();
    list.sort();
    list
}

/// The profile list calls among `entries`.
fn list_calls(entries: &[JournalEntry]) -> Vec<&JournalEntry> {
    entries
        .iter()
        .filter(|e| e.method == "GET" && e.path == "/v2024/identity-profiles")
        .collect()
}

/// 300 converged profiles (more than one page): every resync costs ⌈300/250⌉ = 2 list calls
/// and writes nothing, neither to the tenant nor to Kubernetes; an edit made while a sweep's
/// listing hangs is applied before that sweep ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_resync_lists_at_the_floor_and_an_edit_does_not_wait_for_it() {
    const N: usize = 300;
    let env = Env::new("resync-floor").await;
    let mut manifests = Vec::new();
    for i in 0..N {
        let name = format!("Floor {i:03}");
        env.admin
            .put_profile(json!({"name": name, "description": "steady",
                "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"}}))
            .await;
        manifests.push(profile_yaml(
            &format!("floor-{i:03}"),
            &name,
            &format!("  description: steady\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
        ));
    }
    env.apply_tenant(4).await;
    env.apply(&manifests.join("---\n")).await;
    env.wait_for("every profile Ready", Duration::from_secs(180), || async {
        let list = env.profiles().list(&Default::default()).await.ok()?;
        let ready = list
            .items
            .iter()
            .filter(|p| {
                p.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                })
            })
            .count();
        (ready == N).then_some(())
    })
    .await;
    let operator = env.operator.as_ref().unwrap();

    // Converged: a sweep that sends nothing.
    let mut done = sweeps(&env, operator).await;
    loop {
        let before = enqueued(&env, operator).await;
        done = next_sweep(&env, done).await;
        if enqueued(&env, operator).await == before {
            break;
        }
    }
    for round in 0..2 {
        let before = versions(&env).await;
        env.admin.clear_journal().await;
        done = next_sweep(&env, done).await;
        let calls = env.admin.api_calls().await;
        let lists: Vec<_> = list_calls(&calls)
            .iter()
            .map(|e| e.query["offset"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(lists, ["0", "250"], "round {round}: {calls:#?}");
        let others: Vec<_> = calls
            .iter()
            .filter(|e| !(e.method == "GET" && e.path == "/v2024/identity-profiles"))
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        assert!(others.is_empty(), "round {round}: {others:?}");
        assert_eq!(
            versions(&env).await,
            before,
            "round {round}: no Kubernetes write"
        );
    }

    // The next sweep's first page is answered only after 20 s: edit meanwhile.
    env.admin.clear_journal().await;
    env.admin
        .add_fault(json!({"method": "GET", "path": "/v2024/identity-profiles",
            "count": 1, "delayAfterMs": 20_000}))
        .await;
    env.wait_for("a sweep listing", Duration::from_secs(30), || async {
        (!list_calls(&env.admin.api_calls().await).is_empty()).then_some(())
    })
    .await;
    let sweeping = sweeps(&env, operator).await;
    env.apply(&profile_yaml(
        "floor-007",
        "Floor 007",
        &format!("  description: edited\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    let patch = env
        .wait_for("the edit's PATCH", Duration::from_secs(60), || async {
            let writes = env.tenant_writes().await;
            writes.into_iter().find(|e| e.method == "PATCH")
        })
        .await;
    assert_eq!(
        sweeps(&env, operator).await,
        sweeping,
        "the edit reached the tenant while the sweep's listing was still in flight"
    );
    assert_eq!(
        patch.body,
        json!([{"op": "replace", "path": "/description", "value": "edited"}])
    );
    next_sweep(&env, sweeping).await;
    let writes: Vec<_> = env
        .tenant_writes()
        .await
        .into_iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert_eq!(writes.len(), 1, "one PATCH, nothing else: {writes:?}");
}
