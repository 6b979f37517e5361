//! `ProcessingRequest` end to end: real kube-apiserver (admission, CEL, kubectl), the operator
//! binary, and the simulator as the tenant. Every claim about tenant calls is checked on the
//! simulator's journal, with exact counts.

pub mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use isc_operator::api::ProcessingRequest;
use isc_operator::api::processing_request::{Phase, SubmissionState};
use isc_sim::JournalEntry;
use serde_json::json;
use support::e2e::*;

const LONG: Duration = Duration::from_secs(90);

/// The seed's identity ids (`Seed::builtin`: 300 identities).
fn seed_id(i: usize) -> String {
    format!("2c9180857a1b4c2d{i:016x}")
}

async fn env(name: &str) -> Env {
    let env = Env::new(name).await;
    env.wait_processing_crd().await;
    env.apply_tenant(30).await;
    env
}

/// A ProcessingRequest manifest; `spec` lines are indented by two spaces.
fn request_yaml(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: ProcessingRequest\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: demo\n{spec}"
    )
}

fn ids_yaml(ids: &[String]) -> String {
    let mut out = String::from("  identities:\n    ids:\n");
    for id in ids {
        out.push_str(&format!("      - \"{id}\"\n"));
    }
    out
}

async fn wait_phase(env: &Env, name: &str, phase: Phase) -> ProcessingRequest {
    let api = env.requests();
    env.wait_for(&format!("{name} phase {phase:?}"), LONG, || {
        let api = api.clone();
        async move {
            let r = api.get_opt(name).await.ok()??;
            let p = r.status.as_ref()?.phase?;
            if p.is_finished() && p != phase {
                panic!(
                    "{name} finished as {p:?}, expected {phase:?}: {:#?}",
                    r.status
                );
            }
            (p == phase).then_some(r)
        }
    })
    .await
}

fn condition<'a>(
    r: &'a ProcessingRequest,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    r.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .unwrap_or_else(|| panic!("condition {type_} missing: {:#?}", r.status))
}

async fn calls(env: &Env, operation: &str) -> Vec<JournalEntry> {
    env.admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.operation_id.as_deref() == Some(operation))
        .collect()
}

/// The task ids a task-status list call asked about (its `id in (...)` filter).
fn task_ids_asked(list: &JournalEntry) -> Vec<String> {
    let filter = list.query["filters"].as_str().unwrap_or_default();
    filter
        .strip_prefix("id in (")
        .and_then(|f| f.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not an id filter: {filter}"))
        .split(',')
        .map(|id| id.trim().trim_matches('"').to_string())
        .collect()
}

/// The tenant never ran a full refresh, and never answered an attribute sync with 429.
async fn assert_tenant_safe(env: &Env) {
    let journal = env.admin.journal().await;
    let full: Vec<&JournalEntry> = journal.iter().filter(|e| e.flags.full_refresh).collect();
    assert!(full.is_empty(), "a full refresh happened: {full:?}");
    let early: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.flags.sync_within_window)
        .collect();
    assert!(
        early.is_empty(),
        "an attribute sync came too early: {early:?}"
    );
}

/// Adds identities `bulk-NNN` (alias `bulk.NNN`) to the simulator; returns their ids.
async fn add_identities(env: &Env, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = format!("b0b0b0b0b0b0b0b0{i:016x}");
        env.admin
            .put_identity(json!({
                    "id": id,
                    "name": format!("Bulk {i:03}"),
                    "alias": format!("bulk.{i:03}"),
                    "email": format!("bulk.{i:03}@example.com"),
                    "sourceId": SOURCE_EMPLOYEES,
            }))
            .await;
        ids.push(id);
    }
    ids
}

fn body_ids(entry: &JournalEntry) -> Vec<String> {
    entry.body["identityIds"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

async fn has_event(env: &Env, name: &str, reason: &str) -> bool {
    env.events_for(name)
        .await
        .iter()
        .any(|e| e.reason.as_deref() == Some(reason))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_ids_are_verified_then_sent_in_three_chunks_and_followed_to_success() {
    let env = env("pr-chunks").await;
    let mut ids: Vec<String> = (0..300).map(seed_id).collect();
    ids.extend(add_identities(&env, 300).await);
    env.admin.clear_journal().await;
    env.apply(&request_yaml(
        "six-hundred",
        &format!("  action: ProcessIdentities\n{}", ids_yaml(&ids)),
    ))
    .await;
    let done = wait_phase(&env, "six-hundred", Phase::Succeeded).await;
    let status = done.status.clone().unwrap();
    assert_eq!(status.identity_count, Some(600));
    assert_eq!(status.submissions.len(), 3);
    for s in &status.submissions {
        assert_eq!(s.state, SubmissionState::Succeeded, "{s:?}");
        assert!(s.task_id.is_some());
        assert_eq!(s.tenant_status.as_deref(), Some("SUCCESS"));
    }
    assert!(status.start_time.is_some() && status.completion_time.is_some());
    assert_eq!(condition(&done, "Complete").status, "True");

    let posts = calls(&env, "startIdentityProcessing").await;
    assert_eq!(posts.len(), 3, "{posts:?}");
    let sizes: Vec<usize> = posts.iter().map(|p| body_ids(p).len()).collect();
    assert_eq!(sizes, vec![250, 250, 100]);
    let sent: Vec<String> = posts.iter().flat_map(body_ids).collect();
    assert_eq!(sent, ids, "every id exactly once, in order");
    assert!(posts.iter().all(|p| p.status == 202));
    // Verification: `id in (...)` over all identities, 100 ids per lookup.
    let lookups = calls(&env, "listIdentities").await;
    assert_eq!(lookups.len(), 6, "{lookups:?}");
    assert!(lookups.iter().all(|l| {
        l.query["defaultFilter"] == "NONE"
            && l.query["filters"].as_str().unwrap().starts_with("id in (")
    }));
    // Each task was followed in list form (`id in (...)` on the task-status list) until it
    // completed; no task needed a GET of its own.
    let polled: BTreeSet<String> = calls(&env, "getTaskStatusList")
        .await
        .iter()
        .flat_map(task_ids_asked)
        .collect();
    let tasks: BTreeSet<String> = status
        .submissions
        .iter()
        .filter_map(|s| s.task_id.clone())
        .collect();
    assert_eq!(polled, tasks);
    assert!(calls(&env, "getTaskStatus").await.is_empty());

    // Printer columns.
    let out = env.kubectl(&["get", "processingrequests"]).await;
    let table = String::from_utf8_lossy(&out.stdout);
    let header = table.lines().next().unwrap_or_default();
    for column in ["ACTION", "PHASE", "IDENTITIES", "AGE"] {
        assert!(header.contains(column), "{table}");
    }
    assert!(
        table.contains("ProcessIdentities") && table.contains("Succeeded") && table.contains("600"),
        "{table}"
    );
    assert!(has_event(&env, "six-hundred", "Succeeded").await);
    assert_tenant_safe(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_is_resolved_across_pages_and_an_empty_match_sends_nothing() {
    let env = env("pr-filter").await;
    let bulk = add_identities(&env, 300).await;
    env.admin.clear_journal().await;
    env.apply(&request_yaml(
        "bulk",
        "  action: ProcessIdentities\n  identities:\n    filter:\n      - attribute: alias\n        operator: sw\n        value: bulk.\n",
    ))
    .await;
    let done = wait_phase(&env, "bulk", Phase::Succeeded).await;
    assert_eq!(done.status.as_ref().unwrap().identity_count, Some(300));
    let lists = calls(&env, "listIdentities").await;
    assert_eq!(lists.len(), 2, "two pages: {lists:?}");
    let offsets: Vec<&str> = lists
        .iter()
        .map(|l| l.query["offset"].as_str().unwrap())
        .collect();
    assert_eq!(offsets, vec!["0", "250"]);
    assert!(
        lists
            .iter()
            .all(|l| l.query["filters"] == r#"alias sw "bulk.""# && l.query["limit"] == "250")
    );
    let posts = calls(&env, "startIdentityProcessing").await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    let sent: BTreeSet<String> = posts.iter().flat_map(body_ids).collect();
    assert_eq!(sent, bulk.iter().cloned().collect::<BTreeSet<_>>());

    // Zero matches: Failed with the reason, no tenant write at all, for every action.
    env.admin.clear_journal().await;
    let nobody = "  identities:\n    filter:\n      - attribute: alias\n        operator: eq\n        value: nobody.here\n";
    env.apply(
        &[
            request_yaml(
                "none-process",
                &format!("  action: ProcessIdentities\n{nobody}"),
            ),
            request_yaml(
                "none-sync",
                &format!("  action: SynchronizeAttributes\n{nobody}"),
            ),
            request_yaml(
                "none-legacy",
                &format!(
                    "  action: LegacyRefresh\n  refreshArgs:\n    promoteAttributes: true\n{nobody}"
                ),
            ),
        ]
        .join("---\n"),
    )
    .await;
    for name in ["none-process", "none-sync", "none-legacy"] {
        let failed = wait_phase(&env, name, Phase::Failed).await;
        let c = condition(&failed, "Failed");
        assert_eq!(c.status, "True");
        assert_eq!(c.reason, "NoMatchingIdentities");
        assert!(c.message.contains("matched no identity"), "{}", c.message);
        assert!(failed.status.as_ref().unwrap().submissions.is_empty());
        assert!(has_event(&env, name, "NoMatchingIdentities").await);
    }
    assert_eq!(calls(&env, "listIdentities").await.len(), 3);
    let writes = env.tenant_writes().await;
    assert!(writes.is_empty(), "no POST for an empty match: {writes:?}");
    assert_tenant_safe(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_refresh_gets_a_filter_built_from_verified_ids_never_user_text() {
    let env = env("pr-legacy").await;
    env.apply(&request_yaml(
        "legacy-ada",
        "  action: LegacyRefresh\n  refreshArgs:\n    correlateEntitlements: true\n    promoteAttributes: true\n  identities:\n    filter:\n      - attribute: alias\n        operator: sw\n        value: ada.\n",
    ))
    .await;
    let done = wait_phase(&env, "legacy-ada", Phase::Succeeded).await;
    let status = done.status.clone().unwrap();
    // Seed: "Ada" is every 20th identity (15 of them), one of which is uncorrelated.
    let expected: Vec<String> = (0..15)
        .map(|k| k * 20)
        .filter(|i| i % 25 != 24)
        .map(seed_id)
        .collect();
    assert_eq!(status.identity_count, Some(expected.len() as i64));
    let refreshes = calls(&env, "refreshIdentities").await;
    assert_eq!(refreshes.len(), 1, "{refreshes:?}");
    let body = &refreshes[0].body;
    let filter = body["filter"].as_str().unwrap();
    let mut in_filter: Vec<String> = filter
        .split(" || ")
        .map(|part| {
            part.strip_prefix("id == \"")
                .and_then(|p| p.strip_suffix('"'))
                .unwrap_or_else(|| panic!("not an id clause: {part}"))
                .to_string()
        })
        .collect();
    in_filter.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(in_filter, expected_sorted);
    assert_eq!(
        body["refreshArgs"],
        json!({"correlateEntitlements": true, "promoteAttributes": true, "refreshManagerStatus": false,
               "synchronizeAttributes": false, "pruneIdentities": false, "provision": false})
    );
    assert_eq!(refreshes[0].response_body["identityCount"], expected.len());
    assert_eq!(status.submissions[0].state, SubmissionState::Succeeded);

    // Listed ids that do not all exist: Failed, nothing sent.
    env.admin.clear_journal().await;
    env.apply(&request_yaml(
        "legacy-unknown",
        &format!(
            "  action: LegacyRefresh\n  refreshArgs:\n    promoteAttributes: true\n{}",
            ids_yaml(&[seed_id(0), "doesnotexist0000".to_string()])
        ),
    ))
    .await;
    let failed = wait_phase(&env, "legacy-unknown", Phase::Failed).await;
    let c = condition(&failed, "Failed");
    assert_eq!(c.reason, "IdentitiesNotFound");
    assert!(c.message.contains("doesnotexist0000"), "{}", c.message);
    assert_eq!(calls(&env, "refreshIdentities").await.len(), 0);
    assert!(env.tenant_writes().await.is_empty());
    assert_tenant_safe(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_is_processed_by_reference_or_by_id_once() {
    let env = env("pr-profile").await;
    // A profile made in the ISC UI, known only by id.
    let made = env
        .admin
        .post(
            "/__sim/identity-profiles",
            json!({"name": "Made In UI", "authoritativeSource": {"type": "SOURCE", "id": SOURCE_CONTRACTORS, "name": "HR Contractors"}}),
        )
        .await;
    let ui_id = made["id"].as_str().unwrap().to_string();
    env.apply(&profile_yaml(
        "employees",
        "Employees",
        &format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    let profile = env.wait_ready("employees").await;
    let managed_id = profile.status.unwrap().id.unwrap();
    env.admin.clear_journal().await;
    env.apply(&[
        request_yaml(
            "by-id",
            &format!("  action: ProcessProfile\n  profile:\n    id: {ui_id}\n"),
        ),
        request_yaml(
            "by-ref",
            "  action: ProcessProfile\n  profile:\n    identityProfileRef:\n      name: employees\n",
        ),
        request_yaml(
            "unknown-id",
            "  action: ProcessProfile\n  profile:\n    id: ffffffffffffffffffffffffffffffff\n",
        ),
    ]
    .join("---\n"))
    .await;
    for (name, id) in [("by-id", &ui_id), ("by-ref", &managed_id)] {
        let done = wait_phase(&env, name, Phase::Succeeded).await;
        let s = &done.status.as_ref().unwrap().submissions;
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].profile_id.as_ref(), Some(id));
        assert_eq!(s[0].state, SubmissionState::Submitted);
        assert!(
            s[0].message.as_deref().unwrap().contains("no task"),
            "{s:?}"
        );
        assert!(done.status.as_ref().unwrap().identity_count.is_some());
    }
    let failed = wait_phase(&env, "unknown-id", Phase::Failed).await;
    assert_eq!(condition(&failed, "Failed").reason, "ProfileNotFound");
    let posts = calls(&env, "syncIdentityProfile").await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    let paths: BTreeSet<String> = posts.iter().map(|p| p.path.clone()).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            format!("/v2024/identity-profiles/{ui_id}/process-identities"),
            format!("/v2024/identity-profiles/{managed_id}/process-identities"),
        ])
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        calls(&env, "syncIdentityProfile").await.len(),
        2,
        "never resubmitted"
    );
    assert_tenant_safe(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_syncs_from_two_requests_respect_the_ten_second_rule() {
    let env = env("pr-sync").await;
    let ids = vec![seed_id(3), seed_id(4)];
    env.admin.clear_journal().await;
    env.apply(
        &[
            request_yaml(
                "sync-a",
                &format!("  action: SynchronizeAttributes\n{}", ids_yaml(&ids)),
            ),
            request_yaml(
                "sync-b",
                &format!("  action: SynchronizeAttributes\n{}", ids_yaml(&ids)),
            ),
        ]
        .join("---\n"),
    )
    .await;
    for name in ["sync-a", "sync-b"] {
        let done = wait_phase(&env, name, Phase::Succeeded).await;
        let s = &done.status.as_ref().unwrap().submissions;
        assert_eq!(s.len(), 2);
        for sub in s {
            assert_eq!(sub.state, SubmissionState::Submitted);
            assert!(sub.job_id.is_some());
            assert_eq!(sub.tenant_status.as_deref(), Some("QUEUED"));
        }
    }
    let syncs = calls(&env, "synchronizeAttributesForIdentity").await;
    assert_eq!(syncs.len(), 4, "{syncs:?}");
    assert!(syncs.iter().all(|e| e.status == 202), "no 429: {syncs:?}");
    for id in &ids {
        let times: Vec<chrono::DateTime<chrono::FixedOffset>> = syncs
            .iter()
            .filter(|e| e.path.contains(id.as_str()))
            .map(|e| chrono::DateTime::parse_from_rfc3339(&e.time).unwrap())
            .collect();
        assert_eq!(times.len(), 2, "{id}");
        let gap = (times[1] - times[0]).num_milliseconds();
        assert!(gap >= 10_000, "{id}: calls only {gap} ms apart");
    }
    assert_tenant_safe(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_fails_the_request() {
    let env = env("pr-taskfail").await;
    env.admin
        .add_fault(
            json!({"method": "POST", "path": "/v2024/identities/process", "taskOutcome": "ERROR"}),
        )
        .await;
    env.admin.clear_journal().await;
    env.apply(&request_yaml(
        "doomed",
        &format!(
            "  action: ProcessIdentities\n{}",
            ids_yaml(&[seed_id(1), seed_id(2)])
        ),
    ))
    .await;
    let failed = wait_phase(&env, "doomed", Phase::Failed).await;
    let c = condition(&failed, "Failed");
    assert_eq!(c.reason, "TaskFailed");
    assert!(c.message.contains("ERROR"), "{}", c.message);
    let s = &failed.status.as_ref().unwrap().submissions[0];
    assert_eq!(s.state, SubmissionState::Failed);
    assert_eq!(s.tenant_status.as_deref(), Some("ERROR"));
    assert_eq!(condition(&failed, "Complete").status, "False");
    assert!(has_event(&env, "doomed", "TaskFailed").await);
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 1);
    assert_tenant_safe(&env).await;
}

/// Kills the operator while the tenant holds the response to the one processing call, restarts
/// it, and returns once the request finished.
async fn kill_during_submission(env: &mut Env, name: &str, extra_spec: &str) -> ProcessingRequest {
    env.admin
        .add_fault(
            json!({"method": "POST", "path": "/v2024/identities/process", "delayAfterMs": 30000}),
        )
        .await;
    let before = calls(env, "startIdentityProcessing").await.len();
    env.apply(&request_yaml(
        name,
        &format!(
            "  action: ProcessIdentities\n{extra_spec}{}",
            ids_yaml(&[seed_id(5), seed_id(6)])
        ),
    ))
    .await;
    // The tenant has handled the call (journaled, task started) but holds the response.
    env.wait_for("the call reached the tenant", LONG, || async {
        (calls(env, "startIdentityProcessing").await.len() > before).then_some(())
    })
    .await;
    let api = env.requests();
    let r = api.get(name).await.unwrap();
    assert_eq!(
        r.status.unwrap().submissions[0].state,
        SubmissionState::Submitting
    );
    env.kill_operator();
    env.start_operator();
    env.wait_request_finished(name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_a_submission_never_resubmits_unless_opted_in() {
    let mut env = env("pr-restart").await;
    env.admin.clear_journal().await;
    let r = kill_during_submission(&mut env, "once", "").await;
    // The restarted operator does not resend: it finds the task the lost call created on the
    // tenant's task lists and ends with that task's real outcome.
    let status = r.status.as_ref().unwrap();
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    assert!(
        status.submissions[0].task_id.is_some(),
        "the found task is recorded: {status:#?}"
    );
    let c = condition(&r, "SubmissionOutcomeUnknown");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "TaskFound")
    );
    assert!(has_event(&env, "once", "TaskFound").await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        calls(&env, "startIdentityProcessing").await.len(),
        1,
        "no second submission after the restart"
    );

    // With the explicit opt-in, the restarted operator submits once more.
    env.admin.clear_journal().await;
    let r = kill_during_submission(&mut env, "retry", "  retryUnknownSubmission: true\n").await;
    assert_eq!(
        r.status.as_ref().unwrap().phase,
        Some(Phase::Succeeded),
        "{:#?}",
        r.status
    );
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 2);
    assert_tenant_safe(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_rejected_naming_the_field() {
    let env = env("pr-admission").await;
    let ids = "  identities:\n    ids: [\"a1\"]\n";
    let args = "  refreshArgs:\n    promoteAttributes: true\n";
    let cases: Vec<(&str, String, &str)> = vec![
        ("no-identities", "  action: ProcessIdentities\n".into(), "spec.identities"),
        (
            "ids-and-filter",
            "  action: ProcessIdentities\n  identities:\n    ids: [\"a1\"]\n    filter:\n      - {attribute: alias, operator: eq, value: x}\n".into(),
            "exactly one of spec.identities.ids or spec.identities.filter",
        ),
        ("empty-ids", "  action: ProcessIdentities\n  identities:\n    ids: []\n".into(), "spec.identities.ids"),
        ("bad-id", "  action: ProcessIdentities\n  identities:\n    ids: [\"a\\\" || x\"]\n".into(), "spec.identities.ids[0]"),
        ("profile-with-ids", format!("  action: ProcessProfile\n  profile:\n    id: p1\n{ids}"), "spec.identities"),
        ("process-with-profile", format!("  action: ProcessIdentities\n{ids}  profile:\n    id: p1\n"), "spec.profile"),
        ("profile-missing", "  action: ProcessProfile\n".into(), "spec.profile"),
        ("profile-both", "  action: ProcessProfile\n  profile:\n    id: p1\n    identityProfileRef: {name: x}\n".into(), "spec.profile"),
        ("legacy-no-args", format!("  action: LegacyRefresh\n{ids}"), "spec.refreshArgs"),
        ("legacy-unknown-arg", format!("  action: LegacyRefresh\n{ids}  refreshArgs:\n    refreshLinks: true\n"), "spec.refreshArgs.refreshLinks"),
        ("legacy-no-selector", format!("  action: LegacyRefresh\n{args}"), "spec.identities"),
        ("legacy-full-and-ids", format!("  action: LegacyRefresh\n{args}  fullRefresh: true\n{ids}"), "spec.identities"),
        ("full-not-legacy", format!("  action: ProcessIdentities\n{ids}  fullRefresh: true\n"), "spec.fullRefresh"),
        ("args-not-legacy", format!("  action: ProcessIdentities\n{ids}{args}"), "spec.refreshArgs"),
        ("bad-action", format!("  action: Refresh\n{ids}"), "spec.action"),
        (
            "in-on-alias",
            "  action: ProcessIdentities\n  identities:\n    filter:\n      - {attribute: alias, operator: in, values: [a]}\n".into(),
            "spec.identities.filter[0].operator",
        ),
        (
            "sw-without-value",
            "  action: ProcessIdentities\n  identities:\n    filter:\n      - {attribute: alias, operator: sw}\n".into(),
            "spec.identities.filter[0]",
        ),
        ("negative-ttl", format!("  action: ProcessIdentities\n{ids}  ttlSecondsAfterFinished: -1\n"), "spec.ttlSecondsAfterFinished"),
        ("zero-max-identities", format!("  action: ProcessIdentities\n{ids}  maxIdentities: 0\n"), "spec.maxIdentities"),
        ("max-identities-on-profile", "  action: ProcessProfile\n  profile:\n    id: p1\n  maxIdentities: 10\n".into(), "spec.maxIdentities"),
        ("max-identities-raising-sync", format!("  action: SynchronizeAttributes\n{ids}  maxIdentities: 251\n"), "spec.maxIdentities"),
    ];
    for (name, spec, field) in &cases {
        let out = env.try_apply(&request_yaml(name, spec)).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(
            stderr.contains(field),
            "{name}: expected {field:?} in: {stderr}"
        );
    }
    let list = env.requests().list(&Default::default()).await.unwrap();
    assert!(list.items.is_empty(), "nothing was created");
    assert!(env.tenant_writes().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_spec_cannot_change_and_finished_requests_expire_after_their_ttl() {
    let env = env("pr-ttl").await;
    let spec = |value: &str, ttl: &str| {
        format!(
            "  action: ProcessIdentities\n  identities:\n    filter:\n      - attribute: alias\n        operator: eq\n        value: {value}\n{ttl}"
        )
    };
    env.apply(&request_yaml("keep", &spec("ada.lovelace", "")))
        .await;
    env.apply(&request_yaml(
        "expire",
        &spec("alan.lovelace", "  ttlSecondsAfterFinished: 3\n"),
    ))
    .await;
    wait_phase(&env, "keep", Phase::Succeeded).await;
    let out = env
        .try_apply(&request_yaml("keep", &spec("grace.hopper", "")))
        .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("spec is immutable"), "{stderr}");
    // Labels are not spec: still allowed.
    let out = env
        .kubectl(&["label", "processingrequest", "keep", "team=iam"])
        .await;
    assert_success(&out, "label a finished request");

    wait_phase(&env, "expire", Phase::Succeeded).await;
    let api = env.requests();
    env.wait_for(
        "expire deleted after its TTL",
        Duration::from_secs(30),
        || {
            let api = api.clone();
            async move {
                api.get_opt("expire")
                    .await
                    .ok()
                    .and_then(|r| r.is_none().then_some(()))
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(api.get_opt("keep").await.unwrap().is_some(), "no TTL: kept");
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 2);
    assert_tenant_safe(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_processing_examples_succeed_on_the_seed() {
    let env = env("pr-examples").await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples");
    // The Tenant is this test's (apply_tenant); the profile-ref example needs `employees`,
    // whose costCenter mapping needs the attribute and transform examples.
    let mut names = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let f = p.file_name().unwrap().to_str().unwrap();
            f.starts_with("processing-")
                || [
                    "employees.yaml",
                    "identity-attribute.yaml",
                    "transform.yaml",
                ]
                .contains(&f)
        })
        .collect();
    files.sort();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if text.contains("kind: ProcessingRequest") {
            let name = text
                .lines()
                .skip_while(|l| !l.starts_with("metadata:"))
                .find_map(|l| l.trim().strip_prefix("name: "))
                .unwrap()
                .to_string();
            names.push(name);
        }
        let out = env.kubectl(&["apply", "-f", f.to_str().unwrap()]).await;
        assert_success(&out, &format!("kubectl apply -f {}", f.display()));
    }
    assert!(names.len() >= 4, "{names:?}");
    for name in &names {
        wait_phase(&env, name, Phase::Succeeded).await;
    }
    assert_tenant_safe(&env).await;
}
