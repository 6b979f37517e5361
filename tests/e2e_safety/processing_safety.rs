//! `ProcessingRequest` safety end to end: an unknown outcome is resolved through the tenant's
//! task lists (never by sending again), and task polling keeps to its share of the tenant's
//! rate budget while drift correction goes on.

use std::time::Duration;

use isc_operator::api::ProcessingRequest;
use isc_operator::api::processing_request::{Phase, SubmissionState};
use isc_sim::JournalEntry;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde_json::json;

use crate::support::e2e::*;

const LONG: Duration = Duration::from_secs(120);

/// The seed's identity ids (`Seed::builtin`: 300 identities).
fn seed_id(i: usize) -> String {
    format!("2c9180857a1b4c2d{i:016x}")
}

fn request_yaml(name: &str, ids: &[String]) -> String {
    let mut out = format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: ProcessingRequest\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: demo\n  action: ProcessIdentities\n  identities:\n    ids:\n"
    );
    for id in ids {
        out.push_str(&format!("      - \"{id}\"\n"));
    }
    out
}

async fn calls(env: &Env, operation: &str) -> Vec<JournalEntry> {
    env.admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.operation_id.as_deref() == Some(operation))
        .collect()
}

fn condition(r: &ProcessingRequest, type_: &str) -> Option<Condition> {
    r.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .cloned()
}

async fn env(name: &str, config: isc_sim::SimConfig) -> Env {
    let env = Env::with_sim(name, "127.0.0.1:0", config).await;
    env.wait_processing_crd().await;
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_right_after_a_submission_ends_with_the_tasks_real_outcome() {
    let mut env = env("pr-kill", isc_sim::testing::sim_config()).await;
    env.apply_tenant(30).await;
    // The tenant runs the call and holds its response while the operator is killed.
    env.admin
        .add_fault(
            json!({"method": "POST", "path": "/v2024/identities/process", "delayAfterMs": 30000}),
        )
        .await;
    env.apply(&request_yaml("killed", &[seed_id(5), seed_id(6)]))
        .await;
    env.wait_for("the call reached the tenant", LONG, || async {
        (!calls(&env, "startIdentityProcessing").await.is_empty()).then_some(())
    })
    .await;
    env.kill_operator();
    env.start_operator();
    let done = env.wait_request_finished("killed").await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    let s = &status.submissions[0];
    assert_eq!(s.state, SubmissionState::Succeeded);
    let task = s.task_id.clone().expect("the found task is recorded");
    let outcome = condition(&done, "SubmissionOutcomeUnknown").expect("condition");
    assert_eq!(
        (outcome.status.as_str(), outcome.reason.as_str()),
        ("False", "TaskFound")
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let submitted = calls(&env, "startIdentityProcessing").await;
    assert_eq!(submitted.len(), 1, "one submission in the journal");
    let polled = calls(&env, "getTaskStatus").await;
    assert!(polled.iter().all(|e| e.path.ends_with(&task)) || polled.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_ids_poll_within_their_share_while_drift_is_corrected() {
    let mut config = isc_sim::testing::sim_config();
    // 3000 identities: twelve processing calls whose tasks run for a minute.
    let template = config.seed.identities[0].clone();
    let extra: Vec<_> = (0..2700)
        .map(|i| {
            let mut identity = template.clone();
            identity.id = Some(format!("3c9180857a1b4c2d{i:016x}"));
            identity.name = format!("bulk {i}");
            identity.alias = Some(format!("bulk.{i}"));
            identity.email = Some(format!("bulk.{i}@example.com"));
            identity
        })
        .collect();
    config.seed.identities.extend(extra);
    config.task_duration = Duration::from_secs(60);
    let env = env("pr-budget", config).await;
    env.apply_tenant(10).await;
    env.apply(&profile_yaml(
        "drifting",
        "Drifting",
        &format!("  description: steady\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    env.wait_ready("drifting").await;
    let ids: Vec<String> = (0..300)
        .map(seed_id)
        .chain((0..2700).map(|i| format!("3c9180857a1b4c2d{i:016x}")))
        .collect();
    env.admin.clear_journal().await;
    env.apply(&request_yaml("bulk", &ids)).await;
    env.wait_for("every call sent", LONG, || async {
        (calls(&env, "startIdentityProcessing").await.len() == 12).then_some(())
    })
    .await;
    // A drift made on the tenant while the tasks are polled.
    let id = env
        .profiles()
        .get("drifting")
        .await
        .unwrap()
        .status
        .unwrap()
        .id
        .unwrap();
    env.admin
        .merge_profile(
            &id,
            json!({"description": "changed behind the operator's back"}),
        )
        .await;
    let drift_at = std::time::Instant::now();
    env.wait_for("the drift corrected", Duration::from_secs(25), || async {
        let profiles = env.tenant_profiles().await;
        profiles
            .iter()
            .any(|p| {
                p["id"] == json!(id)
                    && p["description"] != json!("changed behind the operator's back")
            })
            .then_some(())
    })
    .await;
    assert!(
        drift_at.elapsed() <= Duration::from_secs(22),
        "within one resync (10 s) and its jitter"
    );
    // Polling goes on while the tasks run (a count, not a time: a loaded machine polls later).
    let polls: Vec<k8s_openapi::jiff::Timestamp> = env
        .wait_for("ten task polls", Duration::from_secs(60), || async {
            let polls: Vec<k8s_openapi::jiff::Timestamp> = env
                .admin
                .api_calls()
                .await
                .into_iter()
                .filter(|e| e.method == "GET" && e.path.starts_with("/v2024/task-status"))
                .map(|e| e.time.parse().expect("journal time"))
                .collect();
            (polls.len() >= 10).then_some(polls)
        })
        .await;
    let share = isc_client::RateLimit::default().requests
        * isc_operator::controller::processing::budget::POLL_SHARE_PERCENT
        / 100;
    let window = k8s_openapi::jiff::SignedDuration::from_secs(10);
    for (i, first) in polls.iter().enumerate() {
        let in_window = polls[i..]
            .iter()
            .take_while(|t| t.duration_since(*first) < window)
            .count();
        assert!(
            in_window <= share as usize,
            "{in_window} task polls in 10 s (share {share})"
        );
    }
}
