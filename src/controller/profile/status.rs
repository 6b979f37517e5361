//! Status: the new `IdentityProfile` status and the Events to publish, computed from what the
//! reconcile did, by the kstatus conventions ([`crate::controller::kstatus`]): `Ready` always,
//! `Stalled` or `Reconciling` after an error (by [`ReconcileError::progress`]), `Suspended`
//! while a pause switch holds the writes (then a pending write shows `Ready=False` with the
//! hold's reason, neither `Stalled` nor `Reconciling`), every condition for this generation. Pure: no I/O and no clock (the caller passes the time), so the reconcile
//! writes the status and publishes the Events in one place each.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::runtime::events::EventType;

use crate::api::identity_profile::{
    ManagementPolicy, PlannedChange, PlannedOperation, RefreshPolicy,
};
use crate::api::{IdentityProfile, IdentityProfileStatus};
use crate::controller::error::{ReconcileError, truncated};
use crate::controller::kstatus::{Progress, set_progress, set_suspended, stamp_generation};
use crate::controller::pause::WriteHold;
use crate::controller::status::{
    FALSE, TRUE, condition, find_condition, reason, remove_condition, set_condition,
};

use super::apply::Outcome;
use super::diff::ProfilePlan;

/// An Event to publish on the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProfileEvent {
    /// Normal or Warning.
    pub type_: EventType,
    /// CamelCase reason (a constant of [`reason`]).
    pub reason: &'static str,
    /// What the operator did (`Create`, `Patch`, ...).
    pub action: &'static str,
    /// Human-readable note.
    pub note: String,
}

impl ProfileEvent {
    fn normal(reason: &'static str, action: &'static str, note: String) -> Self {
        ProfileEvent {
            type_: EventType::Normal,
            reason,
            action,
            note,
        }
    }
}

/// The generation the tenant profile was last written for: this one when the reconcile wrote
/// every planned change, else the recorded one.
pub(super) fn changed_generation(
    obj: &IdentityProfile,
    stored: &IdentityProfileStatus,
    outcome: &Outcome,
) -> Option<i64> {
    if outcome.wrote_changes {
        obj.metadata.generation
    } else {
        stored.changed_generation
    }
}

/// The stored status plus what the reconcile got done, whether or not it finished.
fn with_progress(
    obj: &IdentityProfile,
    stored: &IdentityProfileStatus,
    outcome: &Outcome,
) -> IdentityProfileStatus {
    let mut status = stored.clone();
    status.observed_generation = obj.metadata.generation;
    if outcome.conflict_free {
        remove_condition(&mut status.conditions, condition::CONFLICT);
    }
    if outcome.create_resolved {
        status.pending_create = None;
    }
    status.changed_generation = changed_generation(obj, stored, outcome);
    if outcome.processing_started {
        status.processed_generation = status.changed_generation;
        status.pending_processing = None;
        remove_condition(
            &mut status.conditions,
            condition::SUBMISSION_OUTCOME_UNKNOWN,
        );
    }
    if outcome.processing_not_sent {
        status.pending_processing = None;
    }
    if let Some(generation) = outcome.processing_unknown {
        status.processed_generation = Some(generation);
        status.pending_processing = None;
        let message = format!(
            "the outcome of the identity processing started for generation {generation} is unknown (no answer was recorded); it is not started again: check the tenant, or start it with a ProcessingRequest"
        );
        set_condition(
            &mut status.conditions,
            condition::SUBMISSION_OUTCOME_UNKNOWN,
            TRUE,
            reason::PROCESSING_OUTCOME_UNKNOWN,
            message,
            obj.metadata.generation,
        );
    }
    if let Some(refusal) = &outcome.refusal {
        status.last_refusal = Some(Box::new(refusal.clone()));
    }
    if let Some(resolved) = &outcome.resolved_references {
        status.resolved_references.clone_from(resolved);
    }
    set_suspended(
        &mut status.conditions,
        obj.metadata.generation,
        outcome.hold.as_ref(),
    );
    status
}

/// After a successful reconcile: the tenant profile's id and count, `Synced`, `Ready`,
/// `RefreshRequired`, the plan under `Observe` or under a pause switch, and the Events for what
/// was done (one for a newly held write).
pub(super) fn synced(
    obj: &IdentityProfile,
    stored: &IdentityProfileStatus,
    outcome: &Outcome,
) -> (IdentityProfileStatus, Vec<ProfileEvent>) {
    let generation = obj.metadata.generation;
    let observe_only = obj.spec.management_policy == ManagementPolicy::Observe;
    let mut status = with_progress(obj, stored, outcome);
    let profile = outcome.tenant_profile.as_ref();
    status.id = profile.and_then(|p| p.id.clone()).or(status.id.take());
    status.identity_count = profile.and_then(|p| p.identity_count);
    let unapplied = outcome.unapplied.as_ref().unwrap_or(&ProfilePlan::Nothing);
    let converged = *unapplied == ProfilePlan::Nothing;
    status.planned_change =
        (observe_only || !converged).then(|| Box::new(planned_change(unapplied)));
    status.attribute_preview = outcome.attribute_preview.clone().map(Box::new);
    // A write is pending and a pause switch holds it (Observe writes nothing anyway).
    let held = outcome
        .hold
        .as_ref()
        .filter(|_| !observe_only && !converged);
    if held.is_none() {
        // Every write went through: an earlier refusal no longer holds anything back.
        status.last_refusal = None;
    }
    let conditions = &mut status.conditions;
    remove_condition(conditions, condition::WAITING_FOR_DEPENDENCIES);
    let synced_message = set_synced(conditions, generation, observe_only, unapplied, held);
    set_refresh_required(obj, conditions, outcome);
    // Every condition was judged again for this generation (the kept ones still hold).
    stamp_generation(conditions, generation);
    let mut events = events(obj, outcome);
    if let Some(hold) = held
        && newly_held(stored, &status, hold)
    {
        events.push(ProfileEvent::normal(hold.reason, "Hold", synced_message));
    }
    (status, events)
}

/// `Synced` and the kstatus progress (`Ready`, held or not) of a successful reconcile that left
/// `unapplied` unsent; returns `Synced`'s message.
fn set_synced(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    observe_only: bool,
    unapplied: &ProfilePlan,
    held: Option<&WriteHold>,
) -> String {
    let calls = unapplied.write_calls();
    let converged = *unapplied == ProfilePlan::Nothing;
    let (synced, synced_reason, message) = match held {
        _ if converged => (TRUE, reason::SYNCED, SYNCED_MESSAGE.to_string()),
        Some(hold) => (
            FALSE,
            hold.reason,
            format!(
                "{calls} planned call(s) held: {}; see status.plannedChange",
                hold.message
            ),
        ),
        None => (
            FALSE,
            reason::OBSERVE_ONLY,
            format!(
                "managementPolicy is Observe: {calls} planned call(s) not sent; see status.plannedChange"
            ),
        ),
    };
    set_condition(
        conditions,
        condition::SYNCED,
        synced,
        synced_reason,
        message.clone(),
        generation,
    );
    let progress = match held {
        Some(hold) => Progress::Held {
            reason: hold.reason,
            message: &message,
        },
        None if observe_only => Progress::Ready {
            reason: reason::OBSERVED,
            message: "observed the tenant profile; no changes are made under managementPolicy Observe",
        },
        None => Progress::Ready {
            reason: reason::SYNCED,
            message: SYNCED_MESSAGE,
        },
    };
    set_progress(conditions, generation, progress);
    message
}

/// `Synced` and `Ready` when the tenant profile matches the spec.
const SYNCED_MESSAGE: &str = "the tenant profile matches the spec";

/// Whether `status` shows a held write that `stored` did not show yet (another hold or another
/// plan): the one Event of a held write.
fn newly_held(
    stored: &IdentityProfileStatus,
    status: &IdentityProfileStatus,
    hold: &WriteHold,
) -> bool {
    let shown = find_condition(&stored.conditions, condition::READY)
        .is_some_and(|c| c.status == FALSE && c.reason == hold.reason);
    !shown || stored.planned_change != status.planned_change
}

fn set_refresh_required(obj: &IdentityProfile, conditions: &mut Vec<Condition>, outcome: &Outcome) {
    let generation = obj.metadata.generation;
    let refresh_required = outcome
        .tenant_profile
        .as_ref()
        .map(|p| p.identity_refresh_required);
    if refresh_required != Some(true) {
        let message = "no identity processing is pending";
        set_condition(
            conditions,
            condition::REFRESH_REQUIRED,
            FALSE,
            reason::UP_TO_DATE,
            message,
            generation,
        );
        return;
    }
    let (why, message) = if outcome.processing_started {
        (
            reason::PROCESSING_STARTED,
            "the tenant asked for identity processing; the operator started it (refreshPolicy OnChange)",
        )
    } else if obj.spec.refresh_policy == RefreshPolicy::OnChange {
        (
            reason::TENANT_FLAG_SET,
            "identities of this profile need processing; already started for this generation, or the change was not made by the operator",
        )
    } else {
        (
            reason::TENANT_FLAG_SET,
            "identities of this profile need processing (refreshPolicy Manual: start it in ISC or with a ProcessingRequest)",
        )
    };
    set_condition(
        conditions,
        condition::REFRESH_REQUIRED,
        TRUE,
        why,
        message,
        generation,
    );
}

/// The Events of a successful reconcile, in the order things happened.
fn events(obj: &IdentityProfile, outcome: &Outcome) -> Vec<ProfileEvent> {
    let name = &obj.spec.name;
    let mut events = Vec::new();
    if outcome.adopted {
        let note = format!("adopted existing tenant profile {name:?}");
        events.push(ProfileEvent::normal(reason::ADOPTED, "Adopt", note));
    }
    if outcome.created {
        let note = format!("created tenant profile {name:?}");
        events.push(ProfileEvent::normal(reason::CREATED, "Create", note));
    }
    if outcome.patch_calls > 0 {
        // The spec did not change since the last status: the tenant did.
        let drift =
            obj.status.as_ref().and_then(|s| s.observed_generation) == obj.metadata.generation;
        let calls = outcome.patch_calls;
        events.push(if drift {
            let note = format!("corrected a change made in the tenant with {calls} PATCH call(s)");
            ProfileEvent::normal(reason::DRIFT_CORRECTED, "Patch", note)
        } else {
            let note = format!("updated the tenant profile with {calls} PATCH call(s)");
            ProfileEvent::normal(reason::PATCHED, "Patch", note)
        });
    }
    if outcome.processing_started {
        let note = "started processing of the profile's identities".to_string();
        events.push(ProfileEvent::normal(
            reason::PROCESSING_STARTED,
            "Process",
            note,
        ));
    }
    events
}

/// The tenant's delete task was started.
pub(super) fn deleting_event(obj: &IdentityProfile, task_id: &str) -> ProfileEvent {
    let note = format!(
        "deleting tenant profile {:?} (task {task_id})",
        obj.spec.name
    );
    ProfileEvent::normal(reason::DELETING, "Delete", note)
}

/// The tenant's delete task finished.
pub(super) fn deleted_event(obj: &IdentityProfile) -> ProfileEvent {
    let note = format!("deleted tenant profile {:?}", obj.spec.name);
    ProfileEvent::normal(reason::DELETED, "Delete", note)
}

/// After a failed reconcile: what got done before the error, `Ready` False with the error's
/// reason and `Stalled` or `Reconciling` as [`ReconcileError::progress`] says (and `Conflict`
/// True for a conflict), and one Warning Event.
pub(super) fn failed(
    obj: &IdentityProfile,
    stored: &IdentityProfileStatus,
    outcome: &Outcome,
    error: &ReconcileError,
) -> (IdentityProfileStatus, Vec<ProfileEvent>) {
    let generation = obj.metadata.generation;
    let mut status = with_progress(obj, stored, outcome);
    let conditions = &mut status.conditions;
    let message = truncated(&error.message());
    set_progress(conditions, generation, error.progress(&message));
    if let ReconcileError::Conflict(message) = error {
        set_condition(
            conditions,
            condition::CONFLICT,
            TRUE,
            reason::CONFLICT,
            message.clone(),
            generation,
        );
    }
    set_waiting(conditions, generation, error, &message);
    let reported = stored
        .conditions
        .iter()
        .any(|c| c.type_ == condition::READY && c.status == FALSE && c.message == message);
    if matches!(error, ReconcileError::RefusedBefore { .. })
        || (matches!(
            error,
            ReconcileError::Conflict(_) | ReconcileError::WaitingForDependencies(_)
        ) && reported)
    {
        // Held back, nothing sent, nothing new: the Event was published when it happened.
        return (status, vec![]);
    }
    let warning = ProfileEvent {
        type_: EventType::Warning,
        reason: error.reason(),
        action: "Reconcile",
        note: message,
    };
    (status, vec![warning])
}

/// `WaitingForDependencies` True while the profile waits for the attributes and transforms it
/// names (see `dependencies`), removed after any other outcome.
fn set_waiting(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    error: &ReconcileError,
    message: &str,
) {
    if let ReconcileError::WaitingForDependencies(_) = error {
        set_condition(
            conditions,
            condition::WAITING_FOR_DEPENDENCIES,
            TRUE,
            reason::WAITING_FOR_DEPENDENCIES,
            message,
            generation,
        );
    } else {
        remove_condition(conditions, condition::WAITING_FOR_DEPENDENCIES);
    }
}

/// `new` with `lastSyncTime`: kept when nothing else changed (steady state writes nothing),
/// else `now`.
pub(super) fn with_sync_time(
    stored: &IdentityProfileStatus,
    mut new: IdentityProfileStatus,
    now: Time,
) -> IdentityProfileStatus {
    new.last_sync_time = stored.last_sync_time.clone();
    if new != *stored {
        new.last_sync_time = Some(now);
    }
    new
}

/// The plan as shown in `status.plannedChange`.
pub(super) fn planned_change(plan: &ProfilePlan) -> PlannedChange {
    match plan {
        ProfilePlan::Nothing => PlannedChange {
            action: "None".into(),
            patches: vec![],
        },
        ProfilePlan::Create(body) => PlannedChange {
            action: "Create".into(),
            patches: vec![vec![PlannedOperation {
                op: "add".into(),
                path: "".into(),
                value: serde_json::to_value(body).ok(),
            }]],
        },
        ProfilePlan::Patch(steps) => PlannedChange {
            action: "Patch".into(),
            patches: steps
                .iter()
                .map(|step| {
                    step.iter()
                        .map(|o| PlannedOperation {
                            op: o.op.clone(),
                            path: o.path.clone(),
                            value: o.value.clone(),
                        })
                        .collect()
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests;
