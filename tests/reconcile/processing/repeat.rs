//! No repeat of a finished run: a request recreated with the same namespace, name and spec
//! (as a GitOps tool restores one its TTL deleted) ends at once as `AlreadyCompleted` without
//! a tenant call; a changed spec or a new name runs; the record lives in a ConfigMap, so a new
//! operator instance honours it, and it is forgotten after the retention window.

use std::collections::BTreeMap;
use std::sync::Arc;

use isc_operator::api::processing_request::Phase;
use isc_operator::controller::context::Context;
use isc_operator::controller::kstatus::condition as kcondition;
use isc_operator::controller::metrics::Metrics;
use isc_operator::controller::processing::completed::{
    CONFIG_MAP_NAME, CompletedRun, CompletedRuns, MANAGED_BY, MANAGED_BY_LABEL, spec_hash,
};
use isc_operator::controller::processing::progress::ALREADY_COMPLETED;
use isc_operator::controller::status::{TRUE, find_condition};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ObjectMeta};
use kube::{Api, ResourceExt};

use super::*;
use crate::env::{NAMESPACE, test_policy};

/// The records as stored now.
fn records(env: &TestEnv) -> CompletedRuns {
    let stored: Option<ConfigMap> = env.kube.get(NAMESPACE, CONFIG_MAP_NAME);
    CompletedRuns::from_data(stored.as_ref().and_then(|c| c.data.as_ref()))
}

/// Deletes the request (as its TTL or a person would).
async fn delete(env: &TestEnv, name: &str) {
    let api: Api<ProcessingRequest> = Api::namespaced(env.kube.client(), NAMESPACE);
    api.delete(name, &DeleteParams::default())
        .await
        .expect("deleted");
}

/// The manifest `spec` under `name` again, as a new object (another uid).
fn recreate(env: &TestEnv, name: &str, spec: &str, uid: &str) {
    let mut obj = request(name, spec);
    obj.metadata.uid = Some(uid.into());
    env.put_request(&obj);
}

/// Runs `name` (tasks done at once) to its end and deletes it.
async fn run_and_delete(env: &TestEnv, name: &str, spec: &str) -> ProcessingRequestStatus {
    env.put_request(&request(name, spec));
    let done = super::large::run_to_end(env, name).await;
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    delete(env, name).await;
    assert!(env.request(name).is_none());
    done
}

#[tokio::test]
async fn a_recreated_request_with_the_same_spec_does_not_run_again() {
    let env = fast_env().await;
    let spec = process_ids(&[seed_id(0)]);
    let first = run_and_delete(&env, "nightly", &spec).await;
    let record = records(&env).get("nightly").cloned().expect("recorded");
    assert_eq!(record.outcome, Phase::Succeeded);
    assert_eq!(Some(&record.completed_at), first.completion_time.as_ref());
    let stored: ConfigMap = env.kube.get(NAMESPACE, CONFIG_MAP_NAME).unwrap();
    assert_eq!(
        stored.labels().get(MANAGED_BY_LABEL).map(String::as_str),
        Some(MANAGED_BY)
    );

    env.clear_calls().await;
    recreate(&env, "nightly", &spec, "uid-second");
    reconcile(&env, "nightly")
        .await
        .expect("reconcile succeeds");
    assert!(env.journal().await.is_empty(), "no tenant call at all");
    let again = status(&env, "nightly");
    assert_eq!(again.phase, Some(Phase::Succeeded), "{again:#?}");
    let previous = again.previous_run.clone().expect("status.previousRun");
    assert_eq!(
        (
            previous.outcome,
            previous.completed_at,
            previous.uid.as_str()
        ),
        (
            Phase::Succeeded,
            record.completed_at.clone(),
            record.uid.as_str()
        )
    );
    let ready = find_condition(&again.conditions, kcondition::READY).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        (TRUE, ALREADY_COMPLETED)
    );
    assert!(ready.message.contains("succeeded at"), "{}", ready.message);
    assert!(find_condition(&again.conditions, kcondition::RECONCILING).is_none());
    assert!(again.submissions.is_empty());
    assert_eq!(env.kube.event_reasons(), [ALREADY_COMPLETED]);
    assert_eq!(
        records(&env).get("nightly"),
        Some(&record),
        "the window still counts from the run itself"
    );
}

#[tokio::test]
async fn a_changed_spec_or_a_new_name_runs() {
    let env = fast_env().await;
    run_and_delete(&env, "nightly", &process_ids(&[seed_id(0)])).await;
    env.clear_calls().await;
    recreate(&env, "nightly", &process_ids(&[seed_id(1)]), "uid-changed");
    let changed = super::large::run_to_end(&env, "nightly").await;
    assert!(changed.previous_run.is_none());
    env.put_request(&request("other", &process_ids(&[seed_id(0)])));
    let renamed = super::large::run_to_end(&env, "other").await;
    assert!(renamed.previous_run.is_none());
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 2);
    let runs = records(&env);
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs.get("nightly").unwrap().uid,
        "uid-changed",
        "the latest run"
    );
}

#[tokio::test]
async fn the_ttl_deletes_a_request_only_after_its_run_is_recorded() {
    let env = fast_env().await;
    let spec = format!(
        "{}  ttlSecondsAfterFinished: 0\n",
        process_ids(&[seed_id(0)])
    );
    env.put_request(&request("expiring", &spec));
    reconcile(&env, "expiring")
        .await
        .expect("reconcile succeeds");
    assert!(env.request("expiring").is_none(), "deleted by its TTL");
    let record = records(&env).get("expiring").cloned().expect("recorded");
    let writes: Vec<_> = env
        .kube
        .writes()
        .into_iter()
        .filter(|r| !r.is_event())
        .map(|r| {
            (
                r.method.to_string(),
                r.path.rsplit('/').next().unwrap().to_string(),
            )
        })
        .collect();
    let recorded = writes
        .iter()
        .position(|(_, p)| p == "configmaps" || p == CONFIG_MAP_NAME)
        .expect("a record write");
    let finished = writes.iter().rposition(|(m, _)| m == "PATCH").unwrap();
    assert!(
        recorded < finished,
        "recorded before the finished status: {writes:?}"
    );

    env.clear_calls().await;
    recreate(&env, "expiring", &spec, "uid-again");
    reconcile(&env, "expiring")
        .await
        .expect("reconcile succeeds");
    assert!(env.journal().await.is_empty(), "no tenant call");
    assert!(
        env.request("expiring").is_none(),
        "its TTL deleted it again"
    );
    let last_status = env.kube.status_patches().pop().unwrap();
    assert_eq!(last_status["status"]["phase"], "Succeeded", "{last_status}");
    assert_eq!(
        last_status["status"]["previousRun"]["uid"],
        record.uid.as_str()
    );
}

#[tokio::test]
async fn the_record_holds_for_a_new_operator_instance() {
    let env = fast_env().await;
    let spec = process_ids(&[seed_id(0)]);
    run_and_delete(&env, "nightly", &spec).await;
    env.clear_calls().await;
    recreate(&env, "nightly", &spec, "uid-after-restart");
    // A new process: nothing in memory, the same cluster.
    let mut restarted = Context::new(
        env.kube.client(),
        isc_operator::controller::profile::claims::profile_cache().0,
        None,
        Arc::new(Metrics::default()),
    )
    .with_tenant_policy(test_policy());
    restarted.backoff = env.ctx.backoff;
    let obj = env.request("nightly").unwrap();
    processing::reconcile(Arc::new(obj), Arc::new(restarted))
        .await
        .expect("reconcile succeeds");
    assert!(env.journal().await.is_empty(), "no tenant call");
    let again = status(&env, "nightly");
    assert_eq!(condition(&again, kcondition::READY).1, ALREADY_COMPLETED);
}

#[tokio::test]
async fn a_record_older_than_the_window_is_forgotten() {
    let env = fast_env().await;
    let spec = process_ids(&[seed_id(0)]);
    let obj = request("monthly", &spec);
    let eight_days_ago =
        k8s_openapi::jiff::Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_hours(8 * 24);
    let old = CompletedRun {
        spec_hash: spec_hash(&obj.spec),
        outcome: Phase::Succeeded,
        completed_at: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(eight_days_ago),
        uid: "uid-long-ago".into(),
    };
    let mut data = BTreeMap::new();
    data.insert("monthly".to_string(), serde_json::to_string(&old).unwrap());
    env.kube.insert(&ConfigMap {
        metadata: ObjectMeta {
            name: Some(CONFIG_MAP_NAME.into()),
            namespace: Some(NAMESPACE.into()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    });
    env.put_request(&obj);
    let done = super::large::run_to_end(&env, "monthly").await;
    assert!(done.previous_run.is_none(), "ran again: {done:#?}");
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 1);
    assert_ne!(
        records(&env).get("monthly").unwrap().uid,
        "uid-long-ago",
        "replaced by the new run"
    );
}

#[tokio::test]
async fn a_record_write_that_loses_a_race_reads_again_and_keeps_both_entries() {
    let env = fast_env().await;
    run_and_delete(&env, "first", &process_ids(&[seed_id(0)])).await;
    // Another reconcile records its run between this one's read and its write.
    let theirs = CompletedRun {
        spec_hash: "h".into(),
        outcome: Phase::Failed,
        completed_at: isc_operator::controller::status::now(),
        uid: "uid-theirs".into(),
    };
    env.kube.race_next_write::<ConfigMap>(
        NAMESPACE,
        CONFIG_MAP_NAME,
        serde_json::json!({"data": {"theirs": serde_json::to_string(&theirs).unwrap()}}),
    );
    env.clear_calls().await;
    env.put_request(&request("second", &process_ids(&[seed_id(1)])));
    super::large::run_to_end(&env, "second").await;
    let record_patches = env
        .kube
        .writes()
        .into_iter()
        .filter(|r| r.path.ends_with(CONFIG_MAP_NAME))
        .count();
    assert_eq!(record_patches, 2, "the first write lost the race");
    let runs = records(&env);
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(runs.get("theirs").map(|r| &r.uid), Some(&theirs.uid));
    assert!(runs.get("first").is_some() && runs.get("second").is_some());
}

#[tokio::test]
async fn the_record_is_read_once_per_namespace_not_per_request() {
    let env = fast_env().await;
    for i in 0..5 {
        run_and_delete(&env, &format!("run-{i}"), &process_ids(&[seed_id(i)])).await;
    }
    let reads = env
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.method == reqwest::Method::GET && r.path.ends_with(CONFIG_MAP_NAME))
        .count();
    // Each request looks for an earlier run, records its own, and checks the record before
    // its deletion: fifteen reads if each went to the API server.
    assert_eq!(
        reads, 1,
        "the first look finds no ConfigMap; then it is known"
    );
    let writes = env
        .kube
        .writes()
        .into_iter()
        .filter(|r| r.path.ends_with(CONFIG_MAP_NAME) || r.path.ends_with("/configmaps"))
        .count();
    assert_eq!(writes, 5, "one record write per request");
    assert_eq!(records(&env).len(), 5);
}
