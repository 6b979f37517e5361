//! The kstatus conditions a GitOps tool reads (running → `Reconciling`, succeeded → `Ready`,
//! failed → `Stalled`, transient trouble → `Reconciling` with its reason) and the pause
//! switches (annotation, `Tenant.spec.suspend`): held requests send nothing, show
//! `Suspended`, and run once the hold is lifted.

use std::time::Duration;

use isc_operator::api::Tenant;
use isc_operator::api::processing_request::{Phase, SubmissionState};
use isc_operator::controller::kstatus::condition as kcondition;
use isc_operator::controller::pause::{PAUSED, PAUSED_ANNOTATION, TENANT_SUSPENDED};
use isc_operator::controller::status::{FALSE, TRUE, find_condition, reason};
use reqwest::Method;
use serde_json::json;

use super::*;

/// Whether condition `type_` is absent.
fn absent(status: &ProcessingRequestStatus, type_: &str) -> bool {
    find_condition(&status.conditions, type_).is_none()
}

/// Every condition and the status describe generation 1.
fn observed(status: &ProcessingRequestStatus) {
    assert_eq!(status.observed_generation, Some(1));
    assert!(
        status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(1)),
        "{status:#?}"
    );
}

#[tokio::test]
async fn a_running_request_is_reconciling_and_a_succeeded_one_ready() {
    // Tasks take a while: the first reconcile leaves the request running.
    let env = TestEnv::with_config(|c| c.task_duration = Duration::from_secs(1)).await;
    env.put_request(&request("run", &process_ids(&[seed_id(0)])));
    reconcile(&env, "run").await.expect("reconcile succeeds");
    let running = status(&env, "run");
    assert_eq!(running.phase, Some(Phase::Running), "{running:#?}");
    assert_eq!(
        condition(&running, kcondition::RECONCILING),
        (TRUE.into(), "Running".into())
    );
    assert_eq!(
        condition(&running, kcondition::READY),
        (FALSE.into(), "Running".into())
    );
    assert!(absent(&running, kcondition::STALLED));
    observed(&running);
    let done = super::large::run_to_end(&env, "run").await;
    assert_eq!(done.phase, Some(Phase::Succeeded));
    assert_eq!(
        condition(&done, kcondition::READY),
        (TRUE.into(), reason::SUCCEEDED.into())
    );
    assert!(absent(&done, kcondition::RECONCILING) && absent(&done, kcondition::STALLED));
    assert_eq!(condition(&done, "Complete").0, TRUE, "kept");
    observed(&done);
}

#[tokio::test]
async fn a_failed_request_is_stalled_with_the_failures_reason() {
    let env = fast_env().await;
    let unknown = "2c9180857a1b4c2dffffffffffffffff".to_string();
    env.put_request(&request("missing", &process_ids(&[unknown])));
    reconcile(&env, "missing")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "missing");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    let stalled = find_condition(&failed.conditions, kcondition::STALLED).expect("Stalled");
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        (TRUE, reason::IDENTITIES_NOT_FOUND)
    );
    let failed_condition = find_condition(&failed.conditions, "Failed").unwrap();
    assert_eq!(stalled.message, failed_condition.message);
    assert_eq!(
        condition(&failed, kcondition::READY),
        (FALSE.into(), reason::IDENTITIES_NOT_FOUND.into())
    );
    assert!(absent(&failed, kcondition::RECONCILING));
    observed(&failed);
}

#[tokio::test]
async fn transient_trouble_is_reconciling_with_its_reason() {
    let env = fast_env().await;
    env.sim_admin(
        Method::POST,
        "faults",
        json!({"method": "POST", "path": "/v2024/identities/process", "status": 429, "retryAfter": 3600}),
    )
    .await;
    env.put_request(&request("slow", &process_ids(&[seed_id(0)])));
    reconcile(&env, "slow").await.expect_err("rate limited");
    let waiting = status(&env, "slow");
    assert_eq!(
        condition(&waiting, kcondition::RECONCILING),
        (TRUE.into(), reason::RATE_LIMITED.into())
    );
    assert!(absent(&waiting, kcondition::STALLED));
    reconcile(&env, "slow").await.expect("sent now");
    let done = status(&env, "slow");
    assert_eq!(condition(&done, kcondition::READY).0, TRUE);
}

/// `obj` with the pause annotation set to `value` (or removed), stored.
fn annotate(env: &TestEnv, name: &str, value: Option<&str>) {
    let mut obj = env.request(name).expect("request exists");
    let annotations = obj.metadata.annotations.get_or_insert_default();
    match value {
        Some(v) => annotations.insert(PAUSED_ANNOTATION.into(), v.into()),
        None => annotations.remove(PAUSED_ANNOTATION),
    };
    env.put_request(&obj);
}

#[tokio::test]
async fn a_paused_request_calls_nothing_and_runs_once_the_annotation_is_removed() {
    let env = fast_env().await;
    env.put_request(&request("held", &process_ids(&[seed_id(0)])));
    annotate(&env, "held", Some("true"));
    for _ in 0..2 {
        let action = reconcile(&env, "held").await.expect("held is no error");
        assert_eq!(action, Action::requeue(Duration::from_secs(30)));
    }
    assert!(
        env.journal().await.is_empty(),
        "no tenant call at all, not even a token"
    );
    let held = status(&env, "held");
    assert_eq!(held.phase, Some(Phase::Pending));
    assert_eq!(
        condition(&held, kcondition::SUSPENDED),
        (TRUE.into(), PAUSED.into())
    );
    assert_eq!(
        condition(&held, kcondition::READY),
        (FALSE.into(), PAUSED.into())
    );
    assert!(absent(&held, kcondition::RECONCILING) && absent(&held, kcondition::STALLED));
    observed(&held);
    let events = env.kube.events();
    assert_eq!(events.len(), 1, "one Event while held: {events:?}");
    assert_eq!(
        (events[0].0.as_str(), events[0].1.as_str()),
        ("Normal", PAUSED)
    );

    annotate(&env, "held", None);
    reconcile(&env, "held").await.expect("runs");
    let done = status(&env, "held");
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert!(absent(&done, kcondition::SUSPENDED));
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 1);
}

#[tokio::test]
async fn a_suspended_tenant_holds_further_calls_of_a_running_request() {
    let env = fast_env().await;
    let spec = process_ids(&[seed_id(0), seed_id(1)]);
    env.put_request(&resolved(
        &env,
        "midway",
        &spec,
        &[SubmissionState::Submitted, SubmissionState::Pending],
    ));
    let tenant: Tenant = env
        .kube
        .get(crate::env::NAMESPACE, crate::env::TENANT)
        .unwrap();
    let mut suspended = tenant.clone();
    suspended.spec.suspend = true;
    env.put_tenant(&suspended);
    let action = reconcile(&env, "midway").await.expect("held is no error");
    assert_eq!(action, Action::requeue(Duration::from_secs(30)));
    assert!(env.tenant_writes().await.is_empty(), "no tenant write");
    let held = status(&env, "midway");
    assert_eq!(held.phase, Some(Phase::Running));
    assert_eq!(held.submissions[1].state, SubmissionState::Pending);
    assert_eq!(
        condition(&held, kcondition::SUSPENDED),
        (TRUE.into(), TENANT_SUSPENDED.into())
    );
    assert_eq!(
        condition(&held, kcondition::READY),
        (FALSE.into(), TENANT_SUSPENDED.into())
    );
    assert!(absent(&held, kcondition::RECONCILING));
    assert_eq!(env.kube.event_reasons(), [TENANT_SUSPENDED]);

    env.put_tenant(&tenant);
    reconcile(&env, "midway").await.expect("runs");
    let done = status(&env, "midway");
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert!(absent(&done, kcondition::SUSPENDED));
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 1);
}
