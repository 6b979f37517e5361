//! GitOps and `ProcessingRequest` end to end (real kube-apiserver, kubectl, the operator
//! binary, the simulator): a request deleted by its TTL and applied again with `kubectl apply`
//! does not run again, also after an operator restart; a changed spec runs; the pause
//! annotation holds every tenant call until it is removed. Tenant calls are counted on the
//! simulator's journal.

pub mod support;

use std::time::Duration;

use isc_operator::api::ProcessingRequest;
use isc_operator::api::processing_request::Phase;
use isc_operator::controller::processing::completed::CONFIG_MAP_NAME;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use support::e2e::*;

/// The seed's identity ids (`Seed::builtin`: 300 identities).
fn seed_id(i: usize) -> String {
    format!("2c9180857a1b4c2d{i:016x}")
}

/// A `ProcessIdentities` request for `ids` with extra spec lines and metadata lines.
fn request_yaml(name: &str, ids: &[String], extra_spec: &str, extra_meta: &str) -> String {
    let ids: String = ids.iter().map(|id| format!("      - \"{id}\"\n")).collect();
    format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: ProcessingRequest\nmetadata:\n  name: {name}\n{extra_meta}spec:\n  tenantRef:\n    name: demo\n  action: ProcessIdentities\n  identities:\n    ids:\n{ids}{extra_spec}"
    )
}

async fn env(name: &str) -> Env {
    let env = Env::new(name).await;
    env.wait_processing_crd().await;
    env.apply_tenant(30).await;
    env
}

async fn process_calls(env: &Env) -> usize {
    env.admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.operation_id.as_deref() == Some("startIdentityProcessing"))
        .count()
}

/// The request as soon as it finished (before its TTL deletes it).
async fn finished(env: &Env, name: &str) -> ProcessingRequest {
    env.wait_request_finished(name).await
}

/// Waits until the TTL deleted the request.
async fn deleted(env: &Env, name: &str) {
    let api = env.requests();
    env.wait_for(
        &format!("{name} deleted by its TTL"),
        Duration::from_secs(60),
        || {
            let api = api.clone();
            async move { api.get_opt(name).await.ok()?.is_none().then_some(()) }
        },
    )
    .await;
}

/// `(status, reason)` of condition `type_`.
fn condition(r: &ProcessingRequest, type_: &str) -> Option<(String, String)> {
    r.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_deleted_by_its_ttl_and_applied_again_does_not_run_again() {
    let mut env = env("pr-repeat").await;
    let ttl = "  ttlSecondsAfterFinished: 3\n";
    let manifest = request_yaml("nightly", &[seed_id(0)], ttl, "");
    env.apply(&manifest).await;
    let first = finished(&env, "nightly").await;
    assert_eq!(first.status.as_ref().unwrap().phase, Some(Phase::Succeeded));
    deleted(&env, "nightly").await;
    assert_eq!(process_calls(&env).await, 1);
    let records: Api<ConfigMap> = Api::namespaced(env.kube.clone(), &env.ns);
    let record = records.get(CONFIG_MAP_NAME).await.expect("the record");
    assert!(
        record.data.unwrap_or_default().contains_key("nightly"),
        "recorded under the request's name"
    );

    // What Argo CD self-heal or Flux's next apply does: the same manifest again.
    env.apply(&manifest).await;
    let again = finished(&env, "nightly").await;
    let status = again.status.as_ref().unwrap();
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    assert_eq!(
        condition(&again, "Ready"),
        Some(("True".into(), "AlreadyCompleted".into()))
    );
    let previous = status.previous_run.as_ref().expect("status.previousRun");
    assert_eq!(Some(previous.uid.clone()), first.metadata.uid);
    assert_eq!(process_calls(&env).await, 1, "no second process call");
    deleted(&env, "nightly").await;

    // A new operator process finds the record in the cluster.
    env.kill_operator();
    env.start_operator();
    env.apply(&manifest).await;
    let after_restart = finished(&env, "nightly").await;
    assert_eq!(
        condition(&after_restart, "Ready"),
        Some(("True".into(), "AlreadyCompleted".into()))
    );
    assert_eq!(process_calls(&env).await, 1, "still no second process call");
    deleted(&env, "nightly").await;

    // A changed spec is another request: it runs.
    env.apply(&request_yaml("nightly", &[seed_id(1)], ttl, ""))
        .await;
    let changed = finished(&env, "nightly").await;
    assert_eq!(
        condition(&changed, "Ready").map(|c| c.1),
        Some("Succeeded".into())
    );
    assert!(changed.status.unwrap().previous_run.is_none());
    assert_eq!(process_calls(&env).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_request_calls_nothing_until_the_annotation_is_removed() {
    let env = env("pr-paused").await;
    let paused = "  annotations:\n    isc.identitynow.dev/paused: \"true\"\n";
    env.apply(&request_yaml("held", &[seed_id(2)], "", paused))
        .await;
    let api = env.requests();
    let held = env
        .wait_for("held shows Suspended", Duration::from_secs(60), || {
            let api = api.clone();
            async move {
                let r = api.get_opt("held").await.ok()??;
                (condition(&r, "Suspended") == Some(("True".into(), "Paused".into()))).then_some(r)
            }
        })
        .await;
    assert_eq!(
        condition(&held, "Ready"),
        Some(("False".into(), "Paused".into()))
    );
    assert_eq!(condition(&held, "Reconciling"), None);
    // Long enough for several reconciles had anything been sent.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let identity_calls: Vec<_> = env
        .admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.path.starts_with("/v2024/identities"))
        .collect();
    assert!(
        identity_calls.is_empty(),
        "neither resolved nor sent while paused: {identity_calls:?}"
    );

    let out = env
        .kubectl(&[
            "annotate",
            "processingrequest",
            "held",
            "isc.identitynow.dev/paused-",
        ])
        .await;
    assert_success(&out, "remove the pause annotation");
    let done = finished(&env, "held").await;
    assert_eq!(
        condition(&done, "Ready").map(|c| c.1),
        Some("Succeeded".into())
    );
    assert_eq!(condition(&done, "Suspended"), None);
    assert_eq!(process_calls(&env).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_tenant_holds_a_request_until_it_is_resumed() {
    let env = env("pr-suspend").await;
    let suspend = |on: bool| format!(r#"{{"spec":{{"suspend":{on}}}}}"#);
    let out = env
        .kubectl(&[
            "patch",
            "tenant",
            "demo",
            "--type=merge",
            "-p",
            &suspend(true),
        ])
        .await;
    assert_success(&out, "kubectl patch tenant suspend");
    env.wait_for("Tenant Suspended", Duration::from_secs(30), || async {
        let tenant = env.tenants().get("demo").await.ok()?;
        let conditions = tenant.status?.conditions;
        conditions
            .iter()
            .any(|c| c.type_ == "Suspended" && c.status == "True")
            .then_some(())
    })
    .await;
    env.apply(&request_yaml("waiting", &[seed_id(3)], "", ""))
        .await;
    let api = env.requests();
    let held = env
        .wait_for("waiting shows Suspended", Duration::from_secs(60), || {
            let api = api.clone();
            async move {
                let r = api.get_opt("waiting").await.ok()??;
                (condition(&r, "Suspended") == Some(("True".into(), "TenantSuspended".into())))
                    .then_some(r)
            }
        })
        .await;
    assert_eq!(held.status.as_ref().unwrap().phase, Some(Phase::Pending));
    assert_eq!(condition(&held, "Reconciling"), None);
    assert!(
        env.events_for("waiting")
            .await
            .iter()
            .any(|e| e.reason.as_deref() == Some("TenantSuspended")),
        "one Normal Event says why"
    );
    assert_eq!(process_calls(&env).await, 0, "nothing sent while suspended");

    let out = env
        .kubectl(&[
            "patch",
            "tenant",
            "demo",
            "--type=merge",
            "-p",
            &suspend(false),
        ])
        .await;
    assert_success(&out, "kubectl patch tenant resume");
    // A held request looks again every 30 s (the Tenant's change is no event for it).
    let done = finished(&env, "waiting").await;
    assert_eq!(
        condition(&done, "Ready").map(|c| c.1),
        Some("Succeeded".into())
    );
    assert_eq!(condition(&done, "Suspended"), None);
    assert_eq!(process_calls(&env).await, 1);
}
