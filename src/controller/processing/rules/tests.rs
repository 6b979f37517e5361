//! Unit tests of the pure planning rules.

use super::*;
use crate::api::processing_request::IdentityAttribute;
use proptest::prelude::*;

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("id{i:05}")).collect()
}

fn with_states(states: &[SubmissionState]) -> Vec<Submission> {
    states
        .iter()
        .map(|s| {
            let mut sub = Submission::pending(vec!["a".into()], None);
            sub.state = *s;
            sub
        })
        .collect()
}

#[test]
fn six_hundred_ids_make_three_chunks() {
    let plan = plan_submissions(
        ProcessingAction::ProcessIdentities,
        &Target::Identities(ids(600)),
    )
    .unwrap();
    let sizes: Vec<usize> = plan.iter().map(|s| s.identity_ids.len()).collect();
    assert_eq!(sizes, vec![250, 250, 100]);
    assert!(plan.iter().all(|s| s.state == SubmissionState::Pending));
    let flat: Vec<String> = plan.into_iter().flat_map(|s| s.identity_ids).collect();
    assert_eq!(flat, ids(600));
}

#[test]
fn sync_is_one_call_per_identity_and_bounded() {
    let plan = plan_submissions(
        ProcessingAction::SynchronizeAttributes,
        &Target::Identities(ids(3)),
    )
    .unwrap();
    assert_eq!(plan.len(), 3);
    assert!(plan.iter().all(|s| s.identity_ids.len() == 1));
    let err = plan_submissions(
        ProcessingAction::SynchronizeAttributes,
        &Target::Identities(ids(MAX_SYNC_IDENTITIES + 1)),
    )
    .unwrap_err();
    assert_eq!(err.reason(), "TooManyIdentities");
}

#[test]
fn no_identities_is_an_error_not_an_empty_plan() {
    for action in [
        ProcessingAction::ProcessIdentities,
        ProcessingAction::SynchronizeAttributes,
        ProcessingAction::LegacyRefresh,
    ] {
        assert_eq!(
            plan_submissions(action, &Target::Identities(vec![])),
            Err(PlanError::NoMatchingIdentities)
        );
    }
}

#[test]
fn profile_and_full_refresh_are_single_calls() {
    let p = plan_submissions(
        ProcessingAction::ProcessProfile,
        &Target::Profile("p1".into()),
    )
    .unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].profile_id.as_deref(), Some("p1"));
    let f = plan_submissions(ProcessingAction::LegacyRefresh, &Target::FullRefresh).unwrap();
    assert_eq!(f.len(), 1);
    assert!(f[0].identity_ids.is_empty() && f[0].profile_id.is_none());
}

#[test]
fn legacy_filter_is_built_from_ids_only() {
    assert_eq!(
        legacy_filter(&["a1".into(), "b-2".into()]).unwrap(),
        r#"id == "a1" || id == "b-2""#
    );
    assert_eq!(legacy_filter(&[]), Err(PlanError::NoMatchingIdentities));
    for bad in [r#"x" || "1" == "1"#, "", "a b", "a\"", "é"] {
        assert!(legacy_filter(&[bad.to_string()]).is_err(), "{bad:?}");
    }
}

#[test]
fn api_filter_ands_conditions_and_escapes_values() {
    let conditions = vec![
        IdentityCondition {
            attribute: IdentityAttribute::Alias,
            operator: ConditionOperator::Sw,
            value: Some(r#"ad"a"#.into()),
            values: None,
        },
        IdentityCondition {
            attribute: IdentityAttribute::Id,
            operator: ConditionOperator::In,
            value: None,
            values: Some(vec!["x".into(), "y".into()]),
        },
        IdentityCondition {
            attribute: IdentityAttribute::CloudStatus,
            operator: ConditionOperator::Eq,
            value: Some("ACTIVE".into()),
            values: None,
        },
    ];
    let f = api_filter(&conditions).unwrap();
    assert_eq!(
        f.to_string(),
        r#"alias sw "ad\"a" and id in ("x","y") and cloudStatus eq "ACTIVE""#
    );
    assert_eq!(api_filter(&[]), None);
}

#[test]
fn restart_makes_in_flight_calls_unknown_unless_opted_in() {
    use SubmissionState::*;
    let mut subs = with_states(&[Running, Submitting, Pending]);
    assert_eq!(recover_in_flight(&mut subs, false, true), 1);
    assert_eq!(subs[1].state, Unknown);
    assert_eq!(skip_after_failure(&mut subs), 1);
    assert_eq!(subs[2].state, Skipped);
    assert_eq!(
        phase(&subs),
        Phase::Running,
        "the running task is still followed"
    );
    subs[0].state = Succeeded;
    assert_eq!(phase(&subs), Phase::Failed);
    assert_eq!(failure(&subs).unwrap().0, "SubmissionOutcomeUnknown");

    let mut subs = with_states(&[Submitting, Pending]);
    assert_eq!(recover_in_flight(&mut subs, true, true), 1);
    assert_eq!(subs[0].state, Pending);
    assert_eq!(skip_after_failure(&mut subs), 0);
    assert_eq!(phase(&subs), Phase::Running);
}

#[test]
fn restart_looks_for_the_task_of_a_call_with_a_recorded_submission_time() {
    use SubmissionState::*;
    let mut subs = with_states(&[Submitting, Pending]);
    subs[0].submitted_at = Some(crate::controller::status::now());
    assert_eq!(recover_in_flight(&mut subs, false, true), 1);
    assert_eq!(subs[0].state, Locating);
    assert_eq!(skip_after_failure(&mut subs), 0, "held, not skipped");
    assert_eq!(phase(&subs), Phase::Running);
    // An attribute sync creates no task to look for.
    let mut subs = with_states(&[Submitting]);
    subs[0].submitted_at = Some(crate::controller::status::now());
    recover_in_flight(&mut subs, false, false);
    assert_eq!(subs[0].state, Unknown);
}

#[test]
fn phase_follows_the_submissions() {
    use SubmissionState::*;
    assert_eq!(phase(&[]), Phase::Pending);
    assert_eq!(phase(&with_states(&[Pending])), Phase::Running);
    assert_eq!(phase(&with_states(&[Succeeded, Running])), Phase::Running);
    assert_eq!(
        phase(&with_states(&[Succeeded, Submitted])),
        Phase::Succeeded
    );
    let mut failed = with_states(&[Succeeded, Failed]);
    failed[1].task_id = Some("t".into());
    failed[1].tenant_status = Some("ERROR".into());
    assert_eq!(phase(&failed), Phase::Failed);
    assert_eq!(failure(&failed).unwrap().0, "TaskFailed");
    assert!(failure(&failed).unwrap().1.starts_with("call 2 of 2"));
    assert_eq!(
        failure(&with_states(&[Failed])).unwrap().0,
        "SubmissionRejected"
    );
    assert_eq!(failure(&with_states(&[Succeeded])), None);
}

#[test]
fn poll_delay_is_bounded() {
    assert_eq!(poll_delay(Duration::ZERO), Duration::from_secs(1));
    assert_eq!(poll_delay(Duration::from_secs(8)), Duration::from_secs(2));
    assert_eq!(
        poll_delay(Duration::from_secs(3600)),
        Duration::from_secs(5)
    );
}

#[test]
fn error_messages_name_the_problem() {
    let e = PlanError::IdentitiesNotFound(ids(12));
    let text = e.to_string();
    assert!(text.starts_with("12 of the listed identity ids do not exist"));
    assert!(text.contains("(2 more)"));
}

proptest! {
    #[test]
    fn chunks_cover_every_id_once_within_the_limit(n in 1usize..2000) {
        let all = ids(n);
        let plan = plan_submissions(ProcessingAction::ProcessIdentities, &Target::Identities(all.clone())).unwrap();
        prop_assert_eq!(plan.len(), n.div_ceil(CHUNK_SIZE));
        prop_assert!(plan.iter().all(|s| !s.identity_ids.is_empty() && s.identity_ids.len() <= CHUNK_SIZE));
        let flat: Vec<String> = plan.into_iter().flat_map(|s| s.identity_ids).collect();
        prop_assert_eq!(flat, all);
    }

    #[test]
    fn legacy_filter_never_lets_text_through(id in ".{0,40}") {
        match legacy_filter(std::slice::from_ref(&id)) {
            Ok(text) => {
                prop_assert!(is_valid_id(&id));
                prop_assert_eq!(text, format!("id == \"{id}\""));
            }
            Err(_) => prop_assert!(!is_valid_id(&id)),
        }
    }

    #[test]
    fn dedup_keeps_first_occurrences(v in prop::collection::vec(0u8..20, 0..60)) {
        let input: Vec<String> = v.iter().map(|i| i.to_string()).collect();
        let out = dedup(input.clone());
        let unique: HashSet<&String> = out.iter().collect();
        prop_assert_eq!(unique.len(), out.len());
        let expected: HashSet<&String> = input.iter().collect();
        prop_assert_eq!(unique, expected);
    }
}
