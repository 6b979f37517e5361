//! Pure: what the submissions add up to (phase, completion time, conditions) and the Events
//! that go with it, so every transition is unit-tested without a tenant.

use kube::runtime::events::EventType;

use crate::api::ProcessingRequestStatus;
use crate::api::processing_request::{Phase, SubmissionState};
use crate::controller::status::{
    FALSE, TRUE, condition, find_condition, now, reason, remove_condition, set_condition,
};

use super::rules::{self, Target};

/// An Event to publish.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Note {
    /// Normal or Warning.
    pub type_: EventType,
    /// CamelCase reason.
    pub reason: &'static str,
    /// What happened.
    pub message: String,
}

/// Condition message while a call's outcome is unknown.
const OUTCOME_UNKNOWN_MESSAGE: &str = "a call was in flight when the operator stopped or its response was lost, and the tenant's task lists showed no single task that is its own; it is not sent again (see status.submissions)";
/// Condition message while the task of such a call is looked for.
const LOCATING_MESSAGE: &str = "a call was in flight when the operator stopped or its response was lost; its task is looked for on the tenant's task lists, and it is not sent again (see status.submissions)";
/// Condition message once every such task was found.
const TASK_FOUND_MESSAGE: &str =
    "the task of every call whose outcome was unknown was found on the tenant's task lists";

/// Sets phase, completion time and conditions from the submissions. Returns the Event to
/// publish when the request just finished (`was_finished`: it already was before).
pub(super) fn summarize(
    status: &mut ProcessingRequestStatus,
    was_finished: bool,
    generation: Option<i64>,
) -> Option<Note> {
    let phase = rules::phase(&status.submissions);
    status.phase = Some(phase);
    remove_condition(&mut status.conditions, condition::BLOCKED);
    set_outcome_condition(status, generation);
    let note = match phase {
        Phase::Succeeded => {
            let message = success_message(status);
            status.completion_time.get_or_insert_with(now);
            set_condition(
                &mut status.conditions,
                condition::COMPLETE,
                TRUE,
                reason::SUCCEEDED,
                &message,
                generation,
            );
            set_condition(
                &mut status.conditions,
                condition::FAILED,
                FALSE,
                reason::SUCCEEDED,
                "",
                generation,
            );
            Note {
                type_: EventType::Normal,
                reason: reason::SUCCEEDED,
                message,
            }
        }
        Phase::Failed => {
            let (reason, message) = rules::failure(&status.submissions)
                .unwrap_or((reason::FAILED, "the request failed".to_string()));
            status.completion_time.get_or_insert_with(now);
            mark_failed(status, reason, &message, generation);
            Note {
                type_: EventType::Warning,
                reason,
                message,
            }
        }
        Phase::Pending | Phase::Running => return None,
    };
    (!was_finished).then_some(note)
}

/// `SubmissionOutcomeUnknown`: True while a call's outcome is unknown (looked for, or given
/// up on), False once every such call's task was found (looked up); absent when no outcome
/// was unknown.
fn set_outcome_condition(status: &mut ProcessingRequestStatus, generation: Option<i64>) {
    let any = |state: SubmissionState| status.submissions.iter().any(|s| s.state == state);
    let (value, reason, message) = if any(SubmissionState::Unknown) {
        (
            TRUE,
            reason::SUBMISSION_OUTCOME_UNKNOWN,
            OUTCOME_UNKNOWN_MESSAGE,
        )
    } else if any(SubmissionState::Locating) {
        (TRUE, reason::LOCATING_TASK, LOCATING_MESSAGE)
    } else if status
        .submissions
        .iter()
        .any(|s| s.outcome_lookups.is_some())
        || find_condition(&status.conditions, condition::SUBMISSION_OUTCOME_UNKNOWN).is_some()
    {
        (FALSE, reason::TASK_FOUND, TASK_FOUND_MESSAGE)
    } else {
        return;
    };
    set_condition(
        &mut status.conditions,
        condition::SUBMISSION_OUTCOME_UNKNOWN,
        value,
        reason,
        message,
        generation,
    );
}

fn success_message(status: &ProcessingRequestStatus) -> String {
    let all_tasks = status
        .submissions
        .iter()
        .all(|s| s.state == SubmissionState::Succeeded);
    format!(
        "{} tenant call(s) accepted{}",
        status.submissions.len(),
        if all_tasks {
            " and every task succeeded"
        } else {
            "; calls without a tenant task count as done once submitted"
        }
    )
}

/// Sets the conditions of a failed request: `Failed` True and `Complete` False, with the reason.
pub(super) fn mark_failed(
    status: &mut ProcessingRequestStatus,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set_condition(
        &mut status.conditions,
        condition::FAILED,
        TRUE,
        reason,
        message,
        generation,
    );
    set_condition(
        &mut status.conditions,
        condition::COMPLETE,
        FALSE,
        reason,
        "the request failed",
        generation,
    );
}

/// The `Resolved` condition message: what the target is and how many calls it makes.
pub(super) fn resolved_message(target: &Target, count: Option<i64>, calls: usize) -> String {
    let what = match target {
        Target::Identities(resolved) => format!("{} identities", resolved.count()),
        Target::Profile(id) => format!(
            "identity profile {id} ({} identities)",
            count.unwrap_or_default()
        ),
        Target::FullRefresh => {
            "a FULL refresh of every identity (spec.fullRefresh: true)".to_string()
        }
    };
    format!("resolved {what} into {calls} tenant call(s)")
}

/// The Event note after a restart found `found` calls in flight.
pub(super) fn recovery_note(found: usize, retry_unknown: bool) -> String {
    if retry_unknown {
        format!(
            "{found} call(s) were in flight when the operator stopped; sending again (retryUnknownSubmission: true)"
        )
    } else {
        format!(
            "{found} call(s) were in flight when the operator stopped; the tenant may or may not have received them, so they are not sent again (their tasks are looked for on the tenant's task lists)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::processing_request::Submission;
    use crate::controller::status::is_true;

    fn status_with(states: &[SubmissionState]) -> ProcessingRequestStatus {
        ProcessingRequestStatus {
            phase: Some(Phase::Running),
            submissions: states
                .iter()
                .map(|state| {
                    let mut s = Submission::pending(Some(1), None);
                    s.state = *state;
                    s
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn running_submissions_keep_the_request_running_without_an_event() {
        let mut status = status_with(&[SubmissionState::Succeeded, SubmissionState::Running]);
        set_condition(
            &mut status.conditions,
            condition::BLOCKED,
            TRUE,
            reason::RATE_LIMITED,
            "x",
            None,
        );
        assert_eq!(summarize(&mut status, false, Some(1)), None);
        assert_eq!(status.phase, Some(Phase::Running));
        assert_eq!(status.completion_time, None);
        assert!(find_condition(&status.conditions, condition::BLOCKED).is_none());
    }

    #[test]
    fn success_completes_once() {
        let mut status = status_with(&[SubmissionState::Succeeded, SubmissionState::Submitted]);
        let note = summarize(&mut status, false, Some(1)).expect("an event");
        assert_eq!(
            (note.type_, note.reason),
            (EventType::Normal, reason::SUCCEEDED)
        );
        assert!(
            note.message.contains("calls without a tenant task"),
            "{}",
            note.message
        );
        assert_eq!(status.phase, Some(Phase::Succeeded));
        assert!(status.completion_time.is_some());
        assert!(is_true(&status.conditions, condition::COMPLETE));
        assert!(!is_true(&status.conditions, condition::FAILED));
        assert_eq!(
            summarize(&mut status, true, Some(1)),
            None,
            "already finished"
        );
    }

    #[test]
    fn failure_names_the_first_failing_call() {
        let mut status = status_with(&[SubmissionState::Succeeded, SubmissionState::Failed]);
        let note = summarize(&mut status, false, Some(1)).expect("an event");
        assert_eq!(
            (note.type_, note.reason),
            (EventType::Warning, reason::SUBMISSION_REJECTED)
        );
        assert!(note.message.starts_with("call 2 of 2"));
        let failed = find_condition(&status.conditions, condition::FAILED).unwrap();
        assert_eq!(
            (failed.status.as_str(), failed.reason.as_str()),
            (TRUE, reason::SUBMISSION_REJECTED)
        );
        let complete = find_condition(&status.conditions, condition::COMPLETE).unwrap();
        assert_eq!(complete.status, FALSE);
    }

    #[test]
    fn an_unknown_outcome_fails_with_its_own_condition() {
        let mut status = status_with(&[SubmissionState::Unknown, SubmissionState::Skipped]);
        let note = summarize(&mut status, false, None).expect("an event");
        assert_eq!(note.reason, reason::SUBMISSION_OUTCOME_UNKNOWN);
        assert_eq!(status.phase, Some(Phase::Failed));
        assert!(is_true(
            &status.conditions,
            condition::SUBMISSION_OUTCOME_UNKNOWN
        ));
        let failed = find_condition(&status.conditions, condition::FAILED).unwrap();
        assert_eq!(failed.reason, reason::SUBMISSION_OUTCOME_UNKNOWN);
    }

    #[test]
    fn a_call_being_located_keeps_the_request_running_and_a_found_task_clears_the_condition() {
        let mut status = status_with(&[SubmissionState::Locating, SubmissionState::Pending]);
        assert_eq!(summarize(&mut status, false, None), None);
        assert_eq!(status.phase, Some(Phase::Running));
        let c = find_condition(&status.conditions, condition::SUBMISSION_OUTCOME_UNKNOWN).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            (TRUE, reason::LOCATING_TASK)
        );
        status.submissions[0].state = SubmissionState::Succeeded;
        status.submissions[1].state = SubmissionState::Succeeded;
        let note = summarize(&mut status, false, None).expect("an event");
        assert_eq!(note.reason, reason::SUCCEEDED);
        let c = find_condition(&status.conditions, condition::SUBMISSION_OUTCOME_UNKNOWN).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            (FALSE, reason::TASK_FOUND)
        );
        let mut clean = status_with(&[SubmissionState::Succeeded]);
        summarize(&mut clean, false, None);
        assert!(find_condition(&clean.conditions, condition::SUBMISSION_OUTCOME_UNKNOWN).is_none());
    }

    #[test]
    fn messages_say_what_was_resolved_and_recovered() {
        assert_eq!(
            resolved_message(
                &Target::Identities(rules::ResolvedIds {
                    calls: vec![2],
                    store: crate::api::processing_request::ResolvedIdsRef {
                        config_map_prefix: "r-ids-1".into(),
                        calls_per_config_map: 20,
                    },
                }),
                Some(2),
                1
            ),
            "resolved 2 identities into 1 tenant call(s)"
        );
        assert_eq!(
            resolved_message(&Target::Profile("p1".into()), Some(7), 1),
            "resolved identity profile p1 (7 identities) into 1 tenant call(s)"
        );
        assert!(resolved_message(&Target::FullRefresh, None, 1).contains("FULL refresh"));
        assert!(recovery_note(1, true).contains("sending again"));
        assert!(recovery_note(2, false).contains("not sent again"));
    }
}
