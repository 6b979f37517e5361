use super::*;
use crate::api::processing_request::Submission;
use crate::controller::kstatus::condition as kcondition;
use crate::controller::pause::{PAUSED, TENANT_SUSPENDED};
use crate::controller::status::{FALSE, TRUE, set_condition};

fn status(phase: Phase, states: &[SubmissionState]) -> ProcessingRequestStatus {
    ProcessingRequestStatus {
        phase: Some(phase),
        submissions: states
            .iter()
            .map(|state| {
                let mut s = Submission::pending(Some(1), None);
                s.state = *state;
                if *state != SubmissionState::Pending {
                    s.submitted_at = Some(crate::controller::status::now());
                }
                s
            })
            .collect(),
        ..Default::default()
    }
}

/// `(type, status, reason)` of every condition, sorted by type.
fn shown(status: &ProcessingRequestStatus) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = status
        .conditions
        .iter()
        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
        .collect();
    v.sort();
    v
}

fn row(t: &str, s: &str, r: &str) -> (String, String, String) {
    (t.into(), s.into(), r.into())
}

fn hold(reason: &'static str) -> WriteHold {
    WriteHold {
        reason,
        message: "held".into(),
    }
}

#[test]
fn a_request_under_way_is_reconciling() {
    let mut s = status(Phase::Pending, &[]);
    set_kstatus(&mut s, Some(1), None, None);
    assert_eq!(
        shown(&s),
        [
            row(kcondition::READY, FALSE, RESOLVING),
            row(kcondition::RECONCILING, TRUE, RESOLVING)
        ]
    );
    let mut s = status(
        Phase::Running,
        &[
            SubmissionState::Succeeded,
            SubmissionState::Running,
            SubmissionState::Pending,
        ],
    );
    set_kstatus(&mut s, Some(1), None, None);
    assert_eq!(
        shown(&s),
        [
            row(kcondition::READY, FALSE, RUNNING),
            row(kcondition::RECONCILING, TRUE, RUNNING)
        ]
    );
    let reconciling = find_condition(&s.conditions, kcondition::RECONCILING).unwrap();
    assert_eq!(
        reconciling.message,
        "2 of 3 tenant call(s) sent; 1 tenant task(s) being followed"
    );
    assert_eq!(s.observed_generation, Some(1));
    assert!(
        s.conditions
            .iter()
            .all(|c| c.observed_generation == Some(1))
    );
}

#[test]
fn trouble_is_reconciling_with_its_reason_or_stalled_when_a_person_must_act() {
    let mut s = status(Phase::Running, &[SubmissionState::Pending]);
    let transient = Trouble {
        reason: reason::RATE_LIMITED,
        message: "slow down".into(),
        stalls: false,
    };
    set_kstatus(&mut s, Some(2), Some(&transient), None);
    assert_eq!(
        shown(&s),
        [
            row(kcondition::READY, FALSE, reason::RATE_LIMITED),
            row(kcondition::RECONCILING, TRUE, reason::RATE_LIMITED)
        ]
    );
    let forbidden = Trouble::from(&ReconcileError::InvalidSpec("no".into()));
    assert!(forbidden.stalls);
    set_kstatus(&mut s, Some(2), Some(&forbidden), None);
    assert_eq!(
        shown(&s),
        [
            row(kcondition::READY, FALSE, reason::INVALID_SPEC),
            row(kcondition::STALLED, TRUE, reason::INVALID_SPEC)
        ]
    );
    let tenant_missing = Trouble::from(&ReconcileError::TenantNotFound("t".into()));
    assert!(!tenant_missing.stalls, "a GitOps apply may bring it");
}

#[test]
fn success_is_ready_and_failure_is_stalled_with_the_failure() {
    let mut s = status(Phase::Succeeded, &[SubmissionState::Succeeded]);
    set_condition(
        &mut s.conditions,
        condition::COMPLETE,
        TRUE,
        reason::SUCCEEDED,
        "1 tenant call(s) accepted",
        Some(1),
    );
    set_condition(
        &mut s.conditions,
        kcondition::RECONCILING,
        TRUE,
        RUNNING,
        "",
        Some(1),
    );
    set_kstatus(&mut s, Some(1), None, Some(&hold(PAUSED)));
    assert_eq!(
        shown(&s),
        [
            row(condition::COMPLETE, TRUE, reason::SUCCEEDED),
            row(kcondition::READY, TRUE, reason::SUCCEEDED)
        ],
        "finished: a hold has nothing left to hold"
    );
    let ready = find_condition(&s.conditions, kcondition::READY).unwrap();
    assert_eq!(ready.message, "1 tenant call(s) accepted");

    let mut s = status(Phase::Failed, &[SubmissionState::Failed]);
    set_condition(
        &mut s.conditions,
        condition::FAILED,
        TRUE,
        reason::TASK_FAILED,
        "call 1 of 1: the task failed",
        Some(1),
    );
    set_kstatus(&mut s, Some(1), None, None);
    assert_eq!(
        shown(&s),
        [
            row(condition::FAILED, TRUE, reason::TASK_FAILED),
            row(kcondition::READY, FALSE, reason::TASK_FAILED),
            row(kcondition::STALLED, TRUE, reason::TASK_FAILED)
        ]
    );
    let stalled = find_condition(&s.conditions, kcondition::STALLED).unwrap();
    assert_eq!(stalled.message, "call 1 of 1: the task failed");
}

#[test]
fn a_held_request_is_suspended_not_reconciling_and_resumes_when_lifted() {
    let mut s = status(Phase::Pending, &[]);
    set_kstatus(&mut s, Some(1), None, None);
    set_kstatus(&mut s, Some(1), None, Some(&hold(TENANT_SUSPENDED)));
    assert_eq!(
        shown(&s),
        [
            row(kcondition::READY, FALSE, TENANT_SUSPENDED),
            row(kcondition::SUSPENDED, TRUE, TENANT_SUSPENDED)
        ]
    );
    let transient = Trouble::from(&ReconcileError::TenantNotFound("t".into()));
    set_kstatus(&mut s, Some(1), Some(&transient), Some(&hold(PAUSED)));
    assert_eq!(
        shown(&s),
        [
            row(kcondition::READY, FALSE, reason::TENANT_NOT_FOUND),
            row(kcondition::RECONCILING, TRUE, reason::TENANT_NOT_FOUND),
            row(kcondition::SUSPENDED, TRUE, PAUSED)
        ],
        "a failed read shows beside the hold"
    );
    set_kstatus(&mut s, Some(1), None, Some(&hold(PAUSED)));
    assert_eq!(
        shown(&s),
        [
            row(kcondition::READY, FALSE, PAUSED),
            row(kcondition::SUSPENDED, TRUE, PAUSED)
        ]
    );
    set_kstatus(&mut s, Some(1), None, None);
    assert_eq!(
        shown(&s),
        [
            row(kcondition::READY, FALSE, RESOLVING),
            row(kcondition::RECONCILING, TRUE, RESOLVING)
        ]
    );
}
