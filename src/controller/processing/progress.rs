//! Pure: the kstatus conditions of a request (`Ready`, `Reconciling`, `Stalled`, `Suspended`)
//! from its phase, the trouble of this reconcile and a write hold, set on every status write
//! so no write can leave them stale.
//!
//! - Pending or Running: `Reconciling=True` (reason `Resolving`, `Running`, or the reason of
//!   the trouble being waited out), `Ready=False` with the same reason; a trouble that needs a
//!   person (`ReconcileError::stalls`) is `Stalled=True` instead;
//! - held by `Tenant.spec.suspend` or the `isc.identitynow.dev/paused` annotation (and not
//!   finished): `Suspended=True`, `Ready=False` with the hold's reason, neither `Reconciling`
//!   nor `Stalled`; a trouble of this reconcile (a read that failed) still shows as above, with
//!   `Suspended=True` beside it (as for every kind);
//! - Succeeded: `Ready=True` (reason `Succeeded`, or `AlreadyCompleted` when an earlier run was
//!   not repeated);
//! - Failed: `Stalled=True` and `Ready=False` with the failure's reason and message.

use crate::api::ProcessingRequestStatus;
use crate::api::processing_request::{Phase, SubmissionState};
use crate::controller::error::ReconcileError;
use crate::controller::kstatus::{self, Progress};
use crate::controller::pause::WriteHold;
use crate::controller::status::{condition, find_condition, reason};

/// `Reconciling` reason before the target is resolved.
pub(super) const RESOLVING: &str = "Resolving";
/// `Reconciling` reason while calls are sent and tasks followed.
pub(super) const RUNNING: &str = "Running";
/// `Ready` reason of a request that found an earlier run of itself and did not repeat it.
pub const ALREADY_COMPLETED: &str = "AlreadyCompleted";

/// What keeps this reconcile from progressing: waited out (`Reconciling`) or needing a person
/// (`Stalled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Trouble {
    /// CamelCase reason.
    pub reason: &'static str,
    /// What is wrong.
    pub message: String,
    /// Whether only a person can clear it.
    pub stalls: bool,
}

impl Trouble {
    /// Something awaited that clears by itself (e.g. the profile is not on the tenant yet).
    pub fn waiting(reason: &'static str, message: impl Into<String>) -> Self {
        Trouble {
            reason,
            message: message.into(),
            stalls: false,
        }
    }
}

impl From<&ReconcileError> for Trouble {
    fn from(error: &ReconcileError) -> Self {
        Trouble {
            reason: error.reason(),
            message: error.message(),
            stalls: error.stalls(),
        }
    }
}

/// Sets `Ready`, `Reconciling`, `Stalled` and `Suspended` (each with `generation`) and the
/// status-level `observedGeneration`.
pub(super) fn set_kstatus(
    status: &mut ProcessingRequestStatus,
    generation: Option<i64>,
    trouble: Option<&Trouble>,
    hold: Option<&WriteHold>,
) {
    status.observed_generation = generation;
    let conditions = &mut status.conditions;
    match status.phase {
        Some(Phase::Succeeded) => {
            let (reason, message) = reason_and_message(conditions, condition::COMPLETE)
                .unwrap_or((reason::SUCCEEDED.into(), String::new()));
            let progress = Progress::Ready {
                reason: &reason,
                message: &message,
            };
            kstatus::set_progress(conditions, generation, progress);
            kstatus::set_suspended(conditions, generation, None);
        }
        Some(Phase::Failed) => {
            let (reason, message) = reason_and_message(conditions, condition::FAILED)
                .unwrap_or((reason::FAILED.into(), "the request failed".into()));
            let progress = Progress::Stalled {
                reason: &reason,
                message: &message,
            };
            kstatus::set_progress(conditions, generation, progress);
            kstatus::set_suspended(conditions, generation, None);
        }
        Some(Phase::Pending | Phase::Running) | None => {
            kstatus::set_suspended(conditions, generation, hold);
            let message;
            let progress = match (trouble, hold) {
                (Some(t), _) if t.stalls => Progress::Stalled {
                    reason: t.reason,
                    message: &t.message,
                },
                (Some(t), _) => Progress::Reconciling {
                    reason: t.reason,
                    message: &t.message,
                },
                (None, Some(hold)) => Progress::Held {
                    reason: hold.reason,
                    message: &hold.message,
                },
                (None, None) => {
                    message = working_message(status.phase, &status.submissions);
                    Progress::Reconciling {
                        reason: working_reason(status.phase),
                        message: &message,
                    }
                }
            };
            kstatus::set_progress(&mut status.conditions, generation, progress);
        }
    }
    // The spec is immutable, so this only matters for conditions written by an older
    // operator: every condition describes the generation just observed.
    for c in &mut status.conditions {
        c.observed_generation = generation;
    }
}

fn reason_and_message(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<(String, String)> {
    find_condition(conditions, type_).map(|c| (c.reason.clone(), c.message.clone()))
}

fn working_reason(phase: Option<Phase>) -> &'static str {
    match phase {
        Some(Phase::Running) => RUNNING,
        _ => RESOLVING,
    }
}

/// What a request that is under way is doing, in words.
fn working_message(
    phase: Option<Phase>,
    submissions: &[crate::api::processing_request::Submission],
) -> String {
    if phase != Some(Phase::Running) {
        return "resolving the request's target on the tenant".to_string();
    }
    let sent = submissions
        .iter()
        .filter(|s| s.submitted_at.is_some())
        .count();
    let followed = submissions
        .iter()
        .filter(|s| {
            matches!(
                s.state,
                SubmissionState::Running | SubmissionState::Locating
            )
        })
        .count();
    format!(
        "{sent} of {} tenant call(s) sent; {followed} tenant task(s) being followed",
        submissions.len()
    )
}

#[cfg(test)]
mod tests;
