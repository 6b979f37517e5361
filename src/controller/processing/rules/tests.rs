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
            let mut sub = Submission::pending(Some(1), None);
            sub.state = *s;
            sub
        })
        .collect()
}

/// Every call the chunker makes of `ids`, the last one included, and the per-call counts.
fn chunk_all(
    per_call: usize,
    limit: usize,
    ids: Vec<String>,
) -> Result<(Vec<Vec<String>>, Vec<u32>), PlanError> {
    let mut chunker = CallChunker::new(per_call, limit);
    let mut calls = Vec::new();
    for page in ids.chunks(7) {
        calls.extend(chunker.push(page.to_vec())?);
    }
    let (last, counts) = chunker.finish();
    calls.extend(last);
    Ok((calls, counts))
}

fn store() -> ResolvedIdsRef {
    ResolvedIdsRef {
        config_map_prefix: "r-ids-0".into(),
        calls_per_config_map: 20,
    }
}

#[test]
fn six_hundred_ids_make_three_calls() {
    let (calls, counts) = chunk_all(CHUNK_SIZE, MAX_IDENTITIES, ids(600)).unwrap();
    assert_eq!(counts, vec![250, 250, 100]);
    assert_eq!(calls.concat(), ids(600));
    let plan = plan_submissions(&Target::Identities(ResolvedIds {
        calls: counts,
        store: store(),
    }))
    .unwrap();
    let sizes: Vec<Option<u32>> = plan.iter().map(|s| s.identity_count).collect();
    assert_eq!(sizes, vec![Some(250), Some(250), Some(100)]);
    assert!(plan.iter().all(|s| s.state == SubmissionState::Pending));
}

#[test]
fn repeats_are_dropped_and_the_limit_counts_distinct_ids() {
    let mut input = ids(10);
    input.extend(ids(10));
    let (calls, counts) = chunk_all(4, 10, input).unwrap();
    assert_eq!(counts, vec![4, 4, 2]);
    assert_eq!(calls.concat(), ids(10));
    let err = chunk_all(4, 10, ids(11)).unwrap_err();
    assert_eq!(
        err,
        PlanError::TooManyIdentities {
            found: 11,
            limit: 10
        }
    );
}

#[test]
fn the_limit_is_the_requests_own_within_the_ceiling() {
    use ProcessingAction::*;
    let ceiling = DEFAULT_MAX_IDENTITIES_CEILING;
    assert_eq!(
        identity_limit(ProcessIdentities, None, ceiling),
        Ok(MAX_IDENTITIES)
    );
    assert_eq!(
        identity_limit(ProcessIdentities, Some(50_000), ceiling),
        Ok(50_000)
    );
    assert_eq!(identity_limit(LegacyRefresh, Some(10), ceiling), Ok(10));
    assert_eq!(
        identity_limit(ProcessIdentities, Some(100_000), ceiling),
        Ok(100_000)
    );
    let err = identity_limit(ProcessIdentities, Some(100_001), ceiling).unwrap_err();
    assert_eq!(err.reason(), "MaxIdentitiesAboveCeiling");
    let text = err.to_string();
    assert!(
        text.contains("100001")
            && text.contains("100000")
            && text.contains("--max-identities-ceiling"),
        "{text}"
    );
    // A low ceiling lowers the default too.
    assert_eq!(identity_limit(ProcessIdentities, None, 1000), Ok(1000));
    // Attribute syncs keep their own limit.
    assert_eq!(
        identity_limit(SynchronizeAttributes, None, ceiling),
        Ok(MAX_SYNC_IDENTITIES)
    );
    assert_eq!(
        identity_limit(SynchronizeAttributes, Some(5000), ceiling),
        Ok(MAX_SYNC_IDENTITIES)
    );
    assert_eq!(ids_per_call(SynchronizeAttributes), 1);
    assert_eq!(ids_per_call(ProcessIdentities), CHUNK_SIZE);
}

#[test]
fn no_identities_is_an_error_not_an_empty_plan() {
    assert_eq!(
        plan_submissions(&Target::Identities(ResolvedIds {
            calls: vec![],
            store: store(),
        })),
        Err(PlanError::NoMatchingIdentities)
    );
}

#[test]
fn profile_and_full_refresh_are_single_calls() {
    let p = plan_submissions(&Target::Profile("p1".into())).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].profile_id.as_deref(), Some("p1"));
    let f = plan_submissions(&Target::FullRefresh).unwrap();
    assert_eq!(f.len(), 1);
    assert!(f[0].identity_count.is_none() && f[0].profile_id.is_none());
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
fn a_task_missing_from_the_lists_is_asked_about_alone_rarely() {
    assert_eq!(lone_poll_delay(Duration::ZERO), Duration::from_secs(30));
    assert_eq!(
        lone_poll_delay(Duration::from_secs(120)),
        Duration::from_secs(60)
    );
    assert_eq!(
        lone_poll_delay(Duration::from_secs(86_400)),
        Duration::from_secs(600)
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
    fn chunks_cover_every_id_once_within_the_limit(n in 1usize..2000, per in 1usize..300) {
        let all = ids(n);
        let (calls, counts) = chunk_all(per, n, all.clone()).unwrap();
        prop_assert_eq!(calls.len(), n.div_ceil(per));
        prop_assert!(calls.iter().all(|c| !c.is_empty() && c.len() <= per));
        let sizes: Vec<u32> = calls.iter().map(|c| c.len() as u32).collect();
        prop_assert_eq!(sizes, counts);
        prop_assert_eq!(calls.concat(), all);
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
