//! Each action kind from Pending to Succeeded, and what exactly reaches the tenant.

use std::time::Duration;

use isc_operator::api::IdentityProfile;
use isc_operator::api::processing_request::{IdentityCondition, Phase, SubmissionState};
use isc_operator::controller::processing::rules;
use isc_operator::controller::status::{FALSE, TRUE, condition as ctype, reason};
use isc_sim::legacy_filter::LegacyFilter;
use isc_sim::query::FilterExt;
use kube::runtime::controller::Action;
use proptest::prelude::*;
use reqwest::Method;
use serde_json::json;

use super::*;
use crate::env::{NAMESPACE, SOURCE_EMPLOYEES, TestEnv, profile as profile_manifest};

#[tokio::test]
async fn identities_are_resolved_sent_once_and_followed_to_success() {
    let env = TestEnv::new().await;
    let ids = [seed_id(0), seed_id(1)];
    env.put_request(&request("two", &process_ids(&ids)));
    let action = reconcile(&env, "two").await.expect("reconcile succeeds");
    assert_ne!(
        action,
        Action::await_change(),
        "a running request looks again"
    );

    // Resolved (Running) before anything is sent, then Submitting, then the accepted call.
    let patches = env.kube.status_patches();
    assert_eq!(patches.len(), 3, "{patches:#?}");
    assert_eq!(patches[0]["status"]["phase"], "Running");
    assert_eq!(
        patches[1]["status"]["submissions"][0]["state"],
        "Submitting"
    );
    assert_eq!(patches[2]["status"]["submissions"][0]["state"], "Running");
    assert_status_writes_guarded(&env);
    let running = status(&env, "two");
    assert_eq!(running.phase, Some(Phase::Running));
    assert_eq!(running.identity_count, Some(2));
    assert_eq!(
        condition(&running, ctype::RESOLVED),
        (TRUE.into(), reason::RESOLVED.into())
    );
    assert_eq!(
        env.kube.event_reasons(),
        vec![reason::RESOLVED, reason::SUBMITTED]
    );
    let sent = calls(&env, "startIdentityProcessing").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["identityIds"], json!(ids));

    // The task ends; the next poll (after the backoff) finds it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.kube.clear_requests();
    let action = reconcile(&env, "two").await.expect("reconcile succeeds");
    assert_eq!(action, Action::await_change(), "kept forever without a TTL");
    let done = status(&env, "two");
    assert_eq!(done.phase, Some(Phase::Succeeded));
    assert_eq!(done.submissions[0].state, SubmissionState::Succeeded);
    assert!(done.completion_time.is_some());
    assert_eq!(
        condition(&done, ctype::COMPLETE),
        (TRUE.into(), reason::SUCCEEDED.into())
    );
    assert_eq!(condition(&done, ctype::FAILED).0, FALSE);
    assert_eq!(env.kube.event_reasons(), vec![reason::SUCCEEDED]);
    assert_eq!(
        calls(&env, "startIdentityProcessing").await.len(),
        1,
        "sent once"
    );

    // Finished: nothing more is written or sent.
    env.clear_calls().await;
    reconcile(&env, "two").await.expect("reconcile succeeds");
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());
    assert!(env.tenant_writes().await.is_empty());
}

#[tokio::test]
async fn a_profile_request_waits_for_its_profile_then_processes_it_once() {
    let mut env = fast_env().await;
    let spec =
        "  action: ProcessProfile\n  profile:\n    identityProfileRef:\n      name: employees\n";
    env.put_request(&request("by-ref", spec));

    // No IdentityProfile object yet: Pending, Blocked, looked at again soon; nothing sent.
    let action = reconcile(&env, "by-ref")
        .await
        .expect("waiting is no error");
    assert_ne!(action, Action::await_change());
    let waiting = status(&env, "by-ref");
    assert_eq!(waiting.phase, Some(Phase::Pending));
    assert_eq!(
        condition(&waiting, ctype::BLOCKED),
        (TRUE.into(), reason::PROFILE_NOT_FOUND.into())
    );

    // The object exists but has no tenant id yet.
    env.put_profile(&profile_manifest("employees", "Employees", ""));
    reconcile(&env, "by-ref")
        .await
        .expect("waiting is no error");
    let waiting = status(&env, "by-ref");
    assert_eq!(waiting.phase, Some(Phase::Pending));
    assert_eq!(
        condition(&waiting, ctype::BLOCKED).1,
        reason::PROFILE_NOT_READY
    );
    assert_eq!(
        env.kube.event_reasons(),
        vec![reason::PROFILE_NOT_FOUND, reason::PROFILE_NOT_READY]
    );
    assert!(env.tenant_writes().await.is_empty());

    // On the tenant now: processed with one call, done once accepted.
    env.sim_admin(
        Method::POST,
        "identity-profiles",
        json!({"id": "prof1", "name": "Employees",
               "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"}}),
    )
    .await;
    let mut profile: IdentityProfile = env.kube.get(NAMESPACE, "employees").unwrap();
    profile.status = Some(serde_json::from_value(json!({"id": "prof1"})).unwrap());
    env.put_profile(&profile);
    reconcile(&env, "by-ref").await.expect("reconcile succeeds");
    let done = status(&env, "by-ref");
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(done.submissions[0].profile_id.as_deref(), Some("prof1"));
    assert_eq!(done.submissions[0].state, SubmissionState::Submitted);
    assert!(find_condition(&done.conditions, ctype::BLOCKED).is_none());
    assert_eq!(calls(&env, "syncIdentityProfile").await.len(), 1);
    assert_status_writes_guarded(&env);
}

#[tokio::test]
async fn attribute_syncs_are_one_call_per_identity_spaced_across_requests() {
    let env = fast_env().await;
    let ids = [seed_id(0), seed_id(1)];
    let spec = format!(
        "  action: SynchronizeAttributes\n  identities:\n    ids: [{}]\n",
        quoted(&ids)
    );
    env.put_request(&request("sync", &spec));
    reconcile(&env, "sync").await.expect("reconcile succeeds");
    let done = status(&env, "sync");
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert!(done.submissions.iter().all(|s| s.job_id.is_some()));
    let sent = calls(&env, "synchronizeAttributesForIdentity").await;
    assert_eq!(sent.len(), 2, "one call per identity");

    // Another request for the same identity right away: held back by the gate, not sent.
    env.put_request(&request("again", &spec));
    let action = reconcile(&env, "again").await.expect("waiting is no error");
    assert_ne!(action, Action::await_change());
    let waiting = status(&env, "again");
    assert_eq!(waiting.phase, Some(Phase::Running));
    assert!(
        waiting
            .submissions
            .iter()
            .all(|s| s.state == SubmissionState::Pending)
    );
    assert_eq!(
        calls(&env, "synchronizeAttributesForIdentity").await.len(),
        2
    );
}

#[tokio::test]
async fn a_legacy_refresh_sends_a_filter_of_exactly_the_resolved_ids() {
    let env = fast_env().await;
    let ids = [seed_id(3), seed_id(4)];
    let spec = format!(
        "  action: LegacyRefresh\n  refreshArgs:\n    promoteAttributes: true\n  identities:\n    filter:\n      - attribute: id\n        operator: in\n        values: [{}]\n",
        quoted(&ids)
    );
    env.put_request(&request("legacy", &spec));
    reconcile(&env, "legacy").await.expect("reconcile succeeds");
    let sent = calls(&env, "refreshIdentities").await;
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].flags.full_refresh, "{:?}", sent[0]);
    let filter = sent[0].body["filter"].as_str().expect("a filter was sent");
    assert_eq!(filter, rules::legacy_filter(&ids).unwrap());
    assert_eq!(sent[0].body["refreshArgs"]["promoteAttributes"], true);
    assert_eq!(sent[0].body["refreshArgs"]["provision"], false);
    let done = status(&env, "legacy");
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
}

#[tokio::test]
async fn the_legacy_refresh_never_runs_on_every_identity_unless_asked() {
    let env = fast_env().await;
    let args = "  refreshArgs:\n    promoteAttributes: true\n";
    // A filter matching nobody: failed before anything is sent.
    let spec = format!(
        "  action: LegacyRefresh\n{args}  identities:\n    filter:\n      - attribute: alias\n        operator: eq\n        value: nobody.at.all\n"
    );
    env.put_request(&request("nobody", &spec));
    reconcile(&env, "nobody")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "nobody");
    assert_eq!(failed.phase, Some(Phase::Failed));
    assert_eq!(
        condition(&failed, ctype::FAILED).1,
        reason::NO_MATCHING_IDENTITIES
    );
    assert_eq!(condition(&failed, ctype::RESOLVED).0, FALSE);

    // A submission without ids (say, an edited status) but no fullRefresh: refused locally.
    let spec = format!("  action: LegacyRefresh\n{args}  identities:\n    ids: [\"x\"]\n");
    let mut tampered = resolved(&env, "tampered", &spec, &[SubmissionState::Pending]);
    tampered.status.as_mut().unwrap().submissions[0].identity_count = None;
    env.put_request(&tampered);
    reconcile(&env, "tampered")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "tampered");
    assert_eq!(failed.phase, Some(Phase::Failed));
    assert_eq!(
        condition(&failed, ctype::FAILED).1,
        reason::SUBMISSION_REJECTED
    );
    assert!(
        calls(&env, "refreshIdentities").await.is_empty(),
        "nothing sent"
    );

    // Explicitly asked for: one call without a filter.
    let spec = format!("  action: LegacyRefresh\n{args}  fullRefresh: true\n");
    env.put_request(&request("everyone", &spec));
    reconcile(&env, "everyone")
        .await
        .expect("reconcile succeeds");
    let sent = calls(&env, "refreshIdentities").await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].flags.full_refresh);
    assert!(
        env.kube
            .events()
            .iter()
            .any(|(_, r, note)| r == reason::RESOLVED && note.contains("FULL refresh"))
    );
}

#[test]
fn the_api_filter_reads_back_as_built() {
    let conditions: Vec<IdentityCondition> = serde_yaml_ng::from_str(
        "- {attribute: alias, operator: sw, value: 'ad\"a'}\n- {attribute: id, operator: in, values: [x, y]}\n",
    )
    .unwrap();
    let built = rules::api_filter(&conditions).unwrap();
    assert_eq!(
        isc_client::Filter::parse(&built.to_string()).unwrap(),
        built
    );
}

proptest! {
    /// The tenant's reading of the legacy filter matches exactly the ids it was built from.
    #[test]
    fn the_legacy_filter_matches_exactly_its_ids(n in 1usize..30) {
        let all: Vec<String> = (0..n).map(|i| format!("id{i:05}")).collect();
        let text = rules::legacy_filter(&all).unwrap();
        let parsed = LegacyFilter::parse(&text).unwrap();
        for i in 0..n + 5 {
            let candidate = format!("id{i:05}");
            let hit = parsed.matches(&|attr: &str| (attr == "id").then(|| candidate.clone()));
            prop_assert_eq!(hit, i < n);
        }
    }
}

#[tokio::test]
async fn ids_the_tenant_confirmed_recently_are_not_looked_up_again() {
    let env = fast_env().await;
    let known = [seed_id(0), seed_id(1)];
    env.put_request(&request("first", &process_ids(&known)));
    reconcile(&env, "first").await.expect("reconcile succeeds");
    assert_eq!(calls(&env, "listIdentities").await.len(), 1);

    // The same ids again: no lookup, straight to the processing call.
    env.clear_calls().await;
    env.put_request(&request("second", &process_ids(&known)));
    reconcile(&env, "second").await.expect("reconcile succeeds");
    assert!(calls(&env, "listIdentities").await.is_empty());
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 1);

    // One known id and one unknown: only the unknown one is asked about, and still fails.
    env.clear_calls().await;
    let unknown = "2c9180857a1b4c2dffffffffffffffff".to_string();
    env.put_request(&request(
        "mixed",
        &process_ids(&[seed_id(0), unknown.clone()]),
    ));
    reconcile(&env, "mixed")
        .await
        .expect("a failed request is no error");
    let lookups = calls(&env, "listIdentities").await;
    assert_eq!(lookups.len(), 1, "{lookups:#?}");
    let filter = lookups[0].query["filters"].as_str().unwrap_or_default();
    assert!(
        filter.contains(&unknown) && !filter.contains(&seed_id(0)),
        "{filter}"
    );
    let failed = status(&env, "mixed");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    assert!(calls(&env, "startIdentityProcessing").await.is_empty());
}
