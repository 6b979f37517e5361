//! Status: the new `IdentityProfile` status and the Events to publish, computed from what the
//! reconcile did. Pure: no I/O and no clock (the caller passes the time), so the reconcile
//! writes the status and publishes the Events in one place each.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::events::EventType;

use crate::api::identity_profile::{
    ManagementPolicy, PlannedChange, PlannedOperation, RefreshPolicy,
};
use crate::api::{IdentityProfile, IdentityProfileStatus};
use crate::controller::error::{ReconcileError, truncated};
use crate::controller::status::{FALSE, TRUE, condition, reason, remove_condition, set_condition};

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
        status.last_refusal = Some(refusal.clone());
    }
    status
}

/// After a successful reconcile: the tenant profile's id and count, `Synced`, `Ready`,
/// `RefreshRequired`, the plan under `Observe`, and the Events for what was done.
pub(super) fn synced(
    obj: &IdentityProfile,
    stored: &IdentityProfileStatus,
    outcome: &Outcome,
) -> (IdentityProfileStatus, Vec<ProfileEvent>) {
    let generation = obj.metadata.generation;
    let observe_only = obj.spec.management_policy == ManagementPolicy::Observe;
    let mut status = with_progress(obj, stored, outcome);
    // Every write went through: an earlier refusal no longer holds anything back.
    status.last_refusal = None;
    let profile = outcome.tenant_profile.as_ref();
    status.id = profile.and_then(|p| p.id.clone()).or(status.id.take());
    status.identity_count = profile.and_then(|p| p.identity_count);
    let unapplied = outcome.unapplied.as_ref().unwrap_or(&ProfilePlan::Nothing);
    let converged = *unapplied == ProfilePlan::Nothing;
    status.planned_change = (observe_only || !converged).then(|| planned_change(unapplied));
    let conditions = &mut status.conditions;
    if converged {
        let message = "the tenant profile matches the spec";
        set_condition(
            conditions,
            condition::SYNCED,
            TRUE,
            reason::SYNCED,
            message,
            generation,
        );
    } else {
        let message = format!(
            "managementPolicy is Observe: {} planned call(s) not sent; see status.plannedChange",
            unapplied.write_calls()
        );
        set_condition(
            conditions,
            condition::SYNCED,
            FALSE,
            reason::OBSERVE_ONLY,
            message,
            generation,
        );
    }
    let (ready_reason, ready_message) = if observe_only {
        (
            reason::OBSERVED,
            "observed the tenant profile; no changes are made under managementPolicy Observe",
        )
    } else {
        (reason::SYNCED, "the tenant profile matches the spec")
    };
    set_condition(
        conditions,
        condition::READY,
        TRUE,
        ready_reason,
        ready_message,
        generation,
    );
    set_refresh_required(obj, conditions, outcome);
    (status, events(obj, outcome))
}

fn set_refresh_required(
    obj: &IdentityProfile,
    conditions: &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    outcome: &Outcome,
) {
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
/// reason (and `Conflict` True for a conflict), and one Warning Event.
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
    set_condition(
        conditions,
        condition::READY,
        FALSE,
        error.reason(),
        message.clone(),
        generation,
    );
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
    let reported = stored
        .conditions
        .iter()
        .any(|c| c.type_ == condition::READY && c.status == FALSE && c.message == message);
    if matches!(error, ReconcileError::RefusedBefore { .. })
        || (matches!(error, ReconcileError::Conflict(_)) && reported)
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
