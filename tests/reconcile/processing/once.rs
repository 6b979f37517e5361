//! At most once: a call whose outcome is unknown is not sent again (unless the manifest opts
//! in), a call the tenant certainly did not act on is sent later, and a racing writer keeps
//! the call from being sent at all.

use isc_operator::api::ProcessingRequest;
use isc_operator::api::processing_request::{Phase, SubmissionState};
use isc_operator::controller::error::Requeue;
use isc_operator::controller::status::{TRUE, condition as ctype, reason};
use reqwest::Method;
use serde_json::json;

use super::*;
use crate::env::NAMESPACE;

const OPT_IN: &str = "  retryUnknownSubmission: true\n";

async fn fault_on_process(env: &TestEnv, fault: serde_json::Value) {
    let mut fault = fault;
    fault["method"] = json!("POST");
    fault["path"] = json!("/v2024/identities/process");
    env.sim_admin(Method::POST, "faults", fault).await;
}

#[tokio::test]
async fn a_call_found_in_flight_is_not_sent_again() {
    let env = fast_env().await;
    // As left by an operator killed during the call.
    let spec = process_ids(&[seed_id(0), seed_id(1)]);
    let stored = resolved(
        &env,
        "in-flight",
        &spec,
        &[SubmissionState::Submitting, SubmissionState::Pending],
    );
    env.put_request(&stored);
    reconcile(&env, "in-flight")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "in-flight");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    assert_eq!(failed.submissions[0].state, SubmissionState::Unknown);
    assert_eq!(failed.submissions[1].state, SubmissionState::Skipped);
    assert_eq!(
        condition(&failed, ctype::SUBMISSION_OUTCOME_UNKNOWN),
        (TRUE.into(), reason::SUBMISSION_OUTCOME_UNKNOWN.into())
    );
    assert_eq!(
        condition(&failed, ctype::FAILED).1,
        reason::SUBMISSION_OUTCOME_UNKNOWN
    );
    // Recovery and failure share type and reason, so the recorder makes them one Event series.
    let events = env.kube.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "Warning");
    assert_eq!(events[0].1, reason::SUBMISSION_OUTCOME_UNKNOWN);
    assert!(events[0].2.contains("not sent again"), "{events:?}");
    assert!(
        calls(&env, "startIdentityProcessing").await.is_empty(),
        "not sent again"
    );
    assert_status_writes_guarded(&env);
}

#[tokio::test]
async fn with_the_opt_in_a_call_found_in_flight_is_sent_again() {
    let env = fast_env().await;
    let spec = format!("{}{OPT_IN}", process_ids(&[seed_id(0)]));
    env.put_request(&resolved(
        &env,
        "resend",
        &spec,
        &[SubmissionState::Submitting],
    ));
    reconcile(&env, "resend").await.expect("reconcile succeeds");
    let done = status(&env, "resend");
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 1);
    assert_eq!(
        env.kube.event_reasons()[0],
        reason::SUBMISSION_OUTCOME_UNKNOWN,
        "the resend is announced"
    );
}

#[tokio::test]
async fn a_server_error_on_the_call_makes_its_outcome_unknown() {
    let env = fast_env().await;
    fault_on_process(&env, json!({"status": 500})).await;
    env.put_request(&request("lost", &process_ids(&[seed_id(0)])));
    reconcile(&env, "lost")
        .await
        .expect("a call being located is no error");
    let locating = status(&env, "lost");
    assert_eq!(locating.phase, Some(Phase::Running), "{locating:#?}");
    assert_eq!(locating.submissions[0].state, SubmissionState::Locating);
    assert_eq!(
        condition(&locating, ctype::SUBMISSION_OUTCOME_UNKNOWN),
        (TRUE.into(), reason::LOCATING_TASK.into())
    );
    // The tenant refused before running it: no task is found, and after a bounded number of
    // lookups the outcome stays unknown.
    let started = std::time::Instant::now();
    while status(&env, "lost").phase == Some(Phase::Running) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "lookups are bounded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        reconcile(&env, "lost").await.expect("reconcile succeeds");
    }
    let failed = status(&env, "lost");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    assert_eq!(failed.submissions[0].state, SubmissionState::Unknown);
    assert!(
        failed.submissions[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("0 candidate tasks"),
        "{failed:#?}"
    );
    assert_eq!(
        condition(&failed, ctype::FAILED).1,
        reason::SUBMISSION_OUTCOME_UNKNOWN
    );
    reconcile(&env, "lost").await.expect("finished");
    assert_eq!(
        calls(&env, "startIdentityProcessing").await.len(),
        1,
        "not resent"
    );

    // With the opt-in it is sent again on the next reconcile.
    fault_on_process(&env, json!({"status": 503})).await;
    let spec = format!("{}{OPT_IN}", process_ids(&[seed_id(0)]));
    env.put_request(&request("lost-again", &spec));
    env.clear_calls().await;
    let error = reconcile(&env, "lost-again")
        .await
        .expect_err("retried later");
    assert_eq!(error.requeue(), Requeue::Backoff);
    assert_eq!(
        status(&env, "lost-again").submissions[0].state,
        SubmissionState::Pending
    );
    reconcile(&env, "lost-again")
        .await
        .expect("reconcile succeeds");
    assert_eq!(status(&env, "lost-again").phase, Some(Phase::Succeeded));
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 2);
}

#[tokio::test]
async fn a_rate_limited_call_is_not_sent_and_goes_out_later() {
    let env = fast_env().await;
    // A Retry-After beyond what the client waits out itself: handed back to the controller.
    fault_on_process(&env, json!({"status": 429, "retryAfter": 3600})).await;
    env.put_request(&request("slow", &process_ids(&[seed_id(0)])));
    let error = reconcile(&env, "slow").await.expect_err("rate limited");
    assert_eq!(error.reason(), reason::RATE_LIMITED);
    assert!(
        matches!(error.requeue(), Requeue::After(_)),
        "{:?}",
        error.requeue()
    );
    let waiting = status(&env, "slow");
    assert_eq!(waiting.phase, Some(Phase::Running));
    assert_eq!(waiting.submissions[0].state, SubmissionState::Pending);
    assert_eq!(waiting.submissions[0].submitted_at, None);

    reconcile(&env, "slow").await.expect("reconcile succeeds");
    assert_eq!(status(&env, "slow").phase, Some(Phase::Succeeded));
    let sent = calls(&env, "startIdentityProcessing").await;
    let statuses: Vec<u16> = sent.iter().map(|e| e.status).collect();
    assert_eq!(statuses, vec![429, 202], "processed exactly once");
}

#[tokio::test]
async fn a_racing_writer_keeps_the_call_from_being_sent() {
    let env = fast_env().await;
    let spec = process_ids(&[seed_id(0)]);
    env.put_request(&resolved(&env, "raced", &spec, &[SubmissionState::Pending]));
    // Another operator claims the submission between our read and our write.
    env.kube.race_next_status_write::<ProcessingRequest>(
        NAMESPACE,
        "raced",
        json!({"submissions": [{"state": "Submitting", "identityCount": 1}]}),
    );
    let error = reconcile(&env, "raced").await.expect_err("conflict");
    assert_eq!(error.reason(), reason::KUBERNETES_ERROR);
    assert!(
        error.to_string().contains("409") || error.to_string().contains("modified"),
        "{error}"
    );
    assert!(
        calls(&env, "startIdentityProcessing").await.is_empty(),
        "nothing sent"
    );
    assert_status_writes_guarded(&env);
}

#[tokio::test]
async fn a_conflict_from_a_metadata_edit_is_retried_and_the_call_sent_once() {
    let env = fast_env().await;
    let spec = process_ids(&[seed_id(0)]);
    env.put_request(&resolved(
        &env,
        "relabeled",
        &spec,
        &[SubmissionState::Pending],
    ));
    env.kube
        .conflict_next_status_write::<ProcessingRequest>(NAMESPACE, "relabeled");
    reconcile(&env, "relabeled")
        .await
        .expect("reconcile succeeds");
    assert_eq!(status(&env, "relabeled").phase, Some(Phase::Succeeded));
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 1);
    let submitting = env
        .kube
        .status_patches()
        .into_iter()
        .filter(|p| p["status"]["submissions"][0]["state"] == "Submitting")
        .count();
    assert_eq!(submitting, 2, "the Submitting write was retried once");
    assert_status_writes_guarded(&env);
}
