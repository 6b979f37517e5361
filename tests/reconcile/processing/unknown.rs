//! Unknown outcomes resolved through the tenant's task lists (never by sending again), and
//! task polling kept within the tenant's poll budget.

use std::time::{Duration, Instant};

use isc_client::{TenantClient, TenantClientConfig};
use isc_operator::api::processing_request::{Phase, SubmissionState};
use isc_operator::controller::processing::budget::{POLL_SHARE_PERCENT, PollAllowance};
use isc_operator::controller::status::{FALSE, TRUE, condition as ctype, now, reason};
use k8s_openapi::jiff::Timestamp;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use super::*;
use crate::env::{CLIENT_ID, CLIENT_SECRET};

/// A client with the operator's credential, standing in for the operator process that was
/// killed right after its call.
fn operator_client(env: &TestEnv) -> TenantClient {
    let mut config = TenantClientConfig::new(
        &env.sim.base_url(),
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
    )
    .expect("config");
    config.allow_insecure_http = true;
    TenantClient::new(config).expect("client")
}

/// A request left `Submitting` (with its submission time) by an operator killed after its call.
fn left_in_flight(env: &TestEnv, name: &str) {
    let mut stored = resolved(
        env,
        name,
        &process_ids(&[seed_id(0)]),
        &[SubmissionState::Submitting],
    );
    let status = stored.status.as_mut().expect("status");
    status.submissions[0].submitted_at = Some(now());
    env.put_request(&stored);
}

/// Reconciles until the request finished (at most `limit`), waiting between reconciles.
async fn until_finished(env: &TestEnv, name: &str, limit: Duration) -> ProcessingRequestStatus {
    let start = Instant::now();
    loop {
        reconcile(env, name).await.expect("reconcile succeeds");
        let current = status(env, name);
        if current.phase.is_some_and(Phase::is_finished) || start.elapsed() > limit {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_call_found_in_flight_ends_with_its_tasks_real_outcome() {
    let env = fast_env().await;
    // The killed operator's call reached the tenant, and its task failed.
    env.sim_admin(
        Method::POST,
        "faults",
        json!({"method": "POST", "path": "/v2024/identities/process", "taskOutcome": "ERROR"}),
    )
    .await;
    let task = operator_client(&env)
        .process_identities(&[seed_id(0)])
        .await
        .expect("accepted")
        .id
        .expect("a task id");
    left_in_flight(&env, "killed");
    let done = until_finished(&env, "killed", Duration::from_secs(10)).await;
    assert_eq!(done.phase, Some(Phase::Failed), "{done:#?}");
    let s = &done.submissions[0];
    assert_eq!(s.state, SubmissionState::Failed);
    assert_eq!(s.task_id.as_deref(), Some(task.as_str()));
    assert_eq!(s.tenant_status.as_deref(), Some("ERROR"));
    assert_eq!(condition(&done, ctype::FAILED).1, reason::TASK_FAILED);
    assert_eq!(
        condition(&done, ctype::SUBMISSION_OUTCOME_UNKNOWN),
        (FALSE.into(), reason::TASK_FOUND.into())
    );
    assert!(
        env.kube
            .event_reasons()
            .contains(&reason::TASK_FOUND.to_string())
    );
    assert_eq!(
        calls(&env, "startIdentityProcessing").await.len(),
        1,
        "never sent again"
    );
    assert_status_writes_guarded(&env);
}

#[tokio::test]
async fn several_candidate_tasks_leave_the_outcome_unknown_and_are_named() {
    let env = fast_env().await;
    let client = operator_client(&env);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let accepted = client
            .process_identities(&[seed_id(0)])
            .await
            .expect("accepted");
        tasks.push(accepted.id.expect("a task id"));
    }
    left_in_flight(&env, "ambiguous");
    let done = until_finished(&env, "ambiguous", Duration::from_secs(10)).await;
    assert_eq!(done.phase, Some(Phase::Failed), "{done:#?}");
    let s = &done.submissions[0];
    assert_eq!(s.state, SubmissionState::Unknown);
    assert_eq!(s.task_id, None, "none is followed");
    let message = s.message.clone().unwrap_or_default();
    assert!(message.contains("2 candidate tasks ("), "{message}");
    for task in &tasks {
        assert!(message.contains(task.as_str()), "{message}");
    }
    assert_eq!(
        condition(&done, ctype::SUBMISSION_OUTCOME_UNKNOWN),
        (TRUE.into(), reason::SUBMISSION_OUTCOME_UNKNOWN.into())
    );
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 2);
}

#[tokio::test]
async fn a_lost_response_ends_with_its_tasks_real_outcome() {
    let env = fast_env().await;
    // The tenant runs the call, then holds the answer past the client's 30 s timeout.
    env.sim_admin(
        Method::POST,
        "faults",
        json!({"method": "POST", "path": "/v2024/identities/process", "delayAfterMs": 32000}),
    )
    .await;
    env.put_request(&request("lost", &process_ids(&[seed_id(0)])));
    let done = until_finished(&env, "lost", Duration::from_secs(60)).await;
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    let s = &done.submissions[0];
    assert_eq!(s.state, SubmissionState::Succeeded);
    assert!(s.task_id.is_some());
    assert!(
        s.message
            .as_deref()
            .unwrap_or_default()
            .contains("response was lost"),
        "{s:?}"
    );
    assert_eq!(
        calls(&env, "startIdentityProcessing").await.len(),
        1,
        "one submission"
    );
}

#[tokio::test]
async fn polling_many_tasks_stays_within_the_budget() {
    // Tasks run long enough to be polled many times.
    let env = TestEnv::with_config(|c| c.task_duration = Duration::from_secs(60)).await;
    let names: Vec<String> = (0..12).map(|i| format!("many-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        env.put_request(&request(name, &process_ids(&[seed_id(i)])));
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(14) {
        for name in &names {
            reconcile(&env, name).await.expect("reconcile succeeds");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let polls: Vec<Timestamp> = env
        .journal()
        .await
        .into_iter()
        .filter(|e| e.method == "GET" && e.path.starts_with("/v2024/task-status"))
        .map(|e| e.time.parse().expect("journal time"))
        .collect();
    let allowance = PollAllowance::share_of(isc_client::RateLimit::default());
    assert_eq!(
        allowance.share,
        isc_client::RateLimit::default().requests * POLL_SHARE_PERCENT / 100
    );
    let window = k8s_openapi::jiff::SignedDuration::try_from(allowance.window).unwrap();
    for (i, first) in polls.iter().enumerate() {
        let in_window = polls[i..]
            .iter()
            .take_while(|t| t.duration_since(*first) < window)
            .count();
        assert!(
            in_window <= allowance.share as usize,
            "{in_window} task polls within one window (share {})",
            allowance.share
        );
    }
    // Polling went on (within its share) while demand was several times the budget.
    assert!(polls.len() >= 15, "{} polls", polls.len());
    assert!(
        names
            .iter()
            .all(|n| status(&env, n).submissions[0].state == SubmissionState::Running)
    );
}
