//! Following tasks in list form: the due tasks of a request are asked about together, one
//! `GET /v2024/task-status?filters=id in (...)` per 50 tasks; a task is asked about on its own
//! (`GET /v2024/task-status/{id}`) only when it stays missing from the list answers, or when
//! the tenant refuses the list.

use std::collections::BTreeSet;
use std::time::Duration;

use isc_operator::api::processing_request::{Phase, SubmissionState};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::json;

use super::large::{bulk_env, bulk_spec, run_to_end};
use super::*;

/// The task-status list calls so far.
async fn task_lists(env: &TestEnv) -> Vec<JournalEntry> {
    calls(env, "getTaskStatusList").await
}

/// The task ids a task-status list call asked about (its `id in (...)` filter).
fn asked_about(list: &JournalEntry) -> Vec<String> {
    let filter = list.query["filters"].as_str().unwrap_or_default();
    let inner = filter
        .strip_prefix("id in (")
        .and_then(|f| f.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not an id filter: {filter}"));
    inner
        .split(',')
        .map(|id| id.trim().trim_matches('"').to_string())
        .collect()
}

/// A running submission whose task the tenant does not know, accepted `ago` ago.
fn unknown_task(env: &TestEnv, name: &str, ago: Duration) -> ProcessingRequest {
    let mut obj = resolved(
        env,
        name,
        &process_ids(&[seed_id(0)]),
        &[SubmissionState::Running],
    );
    let s = &mut obj.status.as_mut().unwrap().submissions[0];
    s.task_id = Some("0000000000000000000000000000dead".into());
    let at = Timestamp::now() - SignedDuration::try_from(ago).unwrap();
    s.submitted_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at));
    obj
}

#[tokio::test]
async fn six_hundred_identities_cost_three_lists_three_calls_and_one_task_list() {
    let env = bulk_env(600).await;
    env.put_request(&request("listed", &bulk_spec("")));
    let done = run_to_end(&env, "listed").await;
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(calls(&env, "listIdentities").await.len(), 3);
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 3);
    // Tasks done at once: one list call settles all three.
    let lists = task_lists(&env).await;
    assert_eq!(lists.len(), 1, "{lists:#?}");
    let tasks: BTreeSet<String> = done
        .submissions
        .iter()
        .map(|s| s.task_id.clone().expect("task id"))
        .collect();
    let asked: BTreeSet<String> = asked_about(&lists[0]).into_iter().collect();
    assert_eq!(asked, tasks);
    assert_eq!(lists[0].query["limit"], "3");
    assert!(
        calls(&env, "getTaskStatus").await.is_empty(),
        "no GET per task"
    );
    assert!(done.submissions.iter().all(|s| {
        s.state == SubmissionState::Succeeded && s.tenant_status.as_deref() == Some("SUCCESS")
    }));
}

#[tokio::test]
async fn running_tasks_are_asked_about_again_in_list_form_only() {
    // Tasks run 1.5 s; a task is asked about at most once a second.
    let env = TestEnv::with_config(|c| c.task_duration = Duration::from_millis(1500)).await;
    let ids: Vec<String> = (0..3).map(seed_id).collect();
    env.put_request(&resolved(
        &env,
        "running",
        &process_ids(&ids),
        &[SubmissionState::Pending; 3],
    ));
    let done = run_to_end_slowly(&env, "running").await;
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 3);
    let lists = task_lists(&env).await;
    // Rounds at least a second apart: the third finds every 1.5 s task done.
    assert!((1..=3).contains(&lists.len()), "{lists:#?}");
    assert!(lists.iter().all(|l| asked_about(l).len() == 3));
    assert!(
        calls(&env, "getTaskStatus").await.is_empty(),
        "no GET per task"
    );
}

/// Reconciles (every 200 ms) until finished, like the controller's requeues.
async fn run_to_end_slowly(env: &TestEnv, name: &str) -> ProcessingRequestStatus {
    for _ in 0..100 {
        reconcile(env, name).await.expect("reconcile succeeds");
        let current = status(env, name);
        if current.phase.is_some_and(Phase::is_finished) {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("not finished: {:#?}", status(env, name));
}

#[tokio::test]
async fn sixty_tasks_are_followed_fifty_per_list_call() {
    let env = fast_env().await;
    let ids: Vec<String> = (0..60).map(seed_id).collect();
    env.put_request(&resolved(
        &env,
        "sixty",
        &process_ids(&ids),
        &[SubmissionState::Pending; 60],
    ));
    reconcile(&env, "sixty").await.expect("reconcile succeeds");
    let done = status(&env, "sixty");
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 60);
    let lists = task_lists(&env).await;
    let sizes: Vec<usize> = lists.iter().map(|l| asked_about(l).len()).collect();
    assert_eq!(sizes, vec![50, 10]);
    let limits: Vec<&str> = lists
        .iter()
        .map(|l| l.query["limit"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(limits, vec!["50", "10"]);
    let asked: Vec<String> = lists.iter().flat_map(asked_about).collect();
    let tasks: Vec<String> = done
        .submissions
        .iter()
        .map(|s| s.task_id.clone().expect("task id"))
        .collect();
    assert_eq!(asked, tasks, "every task once, in order");
    assert!(
        calls(&env, "getTaskStatus").await.is_empty(),
        "no GET per task"
    );
}

#[tokio::test]
async fn a_task_missing_from_the_list_is_asked_about_alone_only_once_old() {
    let env = fast_env().await;
    // Young: taken as still running, no GET of its own.
    env.put_request(&unknown_task(&env, "young", Duration::from_secs(2)));
    reconcile(&env, "young").await.expect("reconcile succeeds");
    let young = status(&env, "young");
    assert_eq!(young.submissions[0].state, SubmissionState::Running);
    let message = young.submissions[0].message.clone().unwrap_or_default();
    assert!(message.contains("not in the tenant's list"), "{message}");
    assert_eq!(task_lists(&env).await.len(), 1);
    assert!(calls(&env, "getTaskStatus").await.is_empty());

    // Missing for a minute: asked about alone; the tenant does not know it (404).
    env.clear_calls().await;
    env.put_request(&unknown_task(&env, "old", Duration::from_secs(60)));
    reconcile(&env, "old").await.expect("reconcile succeeds");
    let old = status(&env, "old");
    assert_eq!(old.submissions[0].state, SubmissionState::Submitted);
    assert!(
        old.submissions[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("reports no status"),
        "{old:#?}"
    );
    assert_eq!(old.phase, Some(Phase::Succeeded));
    assert_eq!(task_lists(&env).await.len(), 1);
    let gets = calls(&env, "getTaskStatus").await;
    assert_eq!(gets.len(), 1, "{gets:#?}");
    assert_eq!(gets[0].status, 404);
}

#[tokio::test]
async fn a_refused_task_list_falls_back_to_one_get_per_task() {
    let env = fast_env().await;
    env.sim_admin(
        Method::POST,
        "faults",
        json!({"method": "GET", "path": "/v2024/task-status", "status": 400}),
    )
    .await;
    let ids: Vec<String> = (0..2).map(seed_id).collect();
    env.put_request(&resolved(
        &env,
        "refused",
        &process_ids(&ids),
        &[SubmissionState::Pending; 2],
    ));
    reconcile(&env, "refused")
        .await
        .expect("reconcile succeeds");
    let done = status(&env, "refused");
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(task_lists(&env).await.len(), 1);
    assert_eq!(calls(&env, "getTaskStatus").await.len(), 2);
}

#[tokio::test]
async fn one_task_list_call_settles_the_tasks_of_many_requests() {
    // Tasks run 3 s: the requests' first rounds find them running.
    let env = TestEnv::with_config(|c| c.task_duration = Duration::from_secs(3)).await;
    let names: Vec<String> = (0..20).map(|i| format!("small-{i:02}")).collect();
    for (i, name) in names.iter().enumerate() {
        env.put_request(&resolved(
            &env,
            name,
            &process_ids(&[seed_id(i)]),
            &[SubmissionState::Pending],
        ));
        reconcile(&env, name).await.expect("reconcile succeeds");
        assert_eq!(
            status(&env, name).submissions[0].state,
            SubmissionState::Running
        );
    }
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 20);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    env.clear_calls().await;

    // The first request's list call asks about every task still waiting; the other 19
    // requests find their answers on the task board and call nothing. (Polled one request
    // at a time, each would need a call of its own, and the poll budget, 19 per 10 s with
    // a burst of 4, would leave most of them running.) No call at all when the first round
    // ran past the tasks' end on a slow machine: its later calls then settled the rest.
    for name in &names {
        reconcile(&env, name).await.expect("reconcile succeeds");
        let done = status(&env, name);
        assert_eq!(done.phase, Some(Phase::Succeeded), "{name}: {done:#?}");
        assert_eq!(
            done.submissions[0].tenant_status.as_deref(),
            Some("SUCCESS")
        );
    }
    let lists = task_lists(&env).await;
    assert!(lists.len() <= 1, "{lists:#?}");
    let tasks: BTreeSet<String> = names
        .iter()
        .map(|n| {
            status(&env, n).submissions[0]
                .task_id
                .clone()
                .expect("task id")
        })
        .collect();
    for list in &lists {
        let asked: BTreeSet<String> = asked_about(list).into_iter().collect();
        assert!(asked.is_subset(&tasks), "{asked:?}");
    }
    assert!(calls(&env, "getTaskStatus").await.is_empty());
}
