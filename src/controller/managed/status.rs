//! Status of the identity-model kinds: computed from what the reconcile did (pure: no I/O),
//! by the kstatus conventions the other kinds follow ([`crate::controller::kstatus`]): `Ready`
//! always; `Reconciling` or `Stalled` after an error (by [`ReconcileError::progress`]);
//! `Suspended` while a pause switch holds the writes; `Synced`; `WaitingForDependencies` while
//! the parent is not on the tenant; every condition for this generation.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::runtime::events::EventType;

use crate::api::managed::{ManagementPolicy, TenantObjectStatus};
use crate::controller::context::Context;
use crate::controller::error::{ReconcileError, truncated};
use crate::controller::kstatus::{Progress, set_progress, set_suspended, stamp_generation};
use crate::controller::pause::WriteHold;
use crate::controller::status::{
    FALSE, TRUE, condition, find_condition, reason, remove_condition, set_condition,
};

use super::ManagedKind;
use super::apply::Outcome;

/// An Event to publish on the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedEvent {
    /// Normal or Warning.
    pub type_: EventType,
    /// CamelCase reason.
    pub reason: &'static str,
    /// What the operator did (`Create`, `Update`, ...).
    pub action: &'static str,
    /// Human-readable note.
    pub note: String,
}

impl ManagedEvent {
    /// A Normal Event.
    pub fn normal(reason: &'static str, action: &'static str, note: String) -> Self {
        ManagedEvent {
            type_: EventType::Normal,
            reason,
            action,
            note,
        }
    }
}

/// Publishes the Events (the one place the controllers of these kinds do).
pub(super) async fn publish<K: ManagedKind>(ctx: &Context, obj: &K, events: &[ManagedEvent]) {
    for e in events {
        ctx.publish(obj, e.type_, e.reason, e.action, &e.note).await;
    }
}

/// The stored status plus what the reconcile got done, whether or not it finished.
fn with_progress<K: ManagedKind>(
    obj: &K,
    stored: &TenantObjectStatus,
    outcome: &Outcome<K::Remote>,
) -> TenantObjectStatus {
    let generation = obj.meta().generation;
    let mut status = stored.clone();
    status.observed_generation = generation;
    if outcome.conflict_free {
        remove_condition(&mut status.conditions, condition::CONFLICT);
    }
    if outcome.dependencies_ready {
        remove_condition(&mut status.conditions, condition::WAITING_FOR_DEPENDENCIES);
        status.resolved_references = outcome.references.iter().cloned().collect();
    }
    if outcome.create_resolved {
        status.pending_create = None;
    }
    if let Some(remote) = &outcome.remote {
        status.id = K::remote_id(remote)
            .map(str::to_string)
            .or(status.id.take());
    }
    if outcome.created || outcome.updated {
        status.changed_generation = generation;
    }
    if let Some(refusal) = &outcome.refusal {
        status.last_refusal = Some(refusal.clone());
    }
    set_suspended(&mut status.conditions, generation, outcome.hold.as_ref());
    status
}

/// After a successful reconcile: id, `Synced`, `Ready` (or held), the plan under `Observe` or
/// a pause switch, and the Events for what was done.
pub(super) fn synced<K: ManagedKind>(
    obj: &K,
    stored: &TenantObjectStatus,
    outcome: &Outcome<K::Remote>,
) -> (TenantObjectStatus, Vec<ManagedEvent>) {
    let generation = obj.meta().generation;
    let observe_only = obj.management_policy() == ManagementPolicy::Observe;
    let mut status = with_progress(obj, stored, outcome);
    let (shown, calls) = outcome.unapplied.clone().unwrap_or_else(|| {
        let nothing = super::shown_plan::<K::Remote>(&super::TenantObjectPlan::Nothing);
        (nothing, 0)
    });
    let converged = shown.action == "None";
    let held = outcome
        .hold
        .as_ref()
        .filter(|_| !observe_only && !converged);
    status.planned_change = (observe_only || !converged).then_some(shown);
    if held.is_none() {
        status.last_refusal = None;
    }
    let conditions = &mut status.conditions;
    let message = set_synced::<K>(conditions, generation, observe_only, converged, calls, held);
    stamp_generation(&mut status.conditions, generation);
    let mut events = events(obj, outcome);
    if let Some(hold) = held {
        let shown_before = find_condition(&stored.conditions, condition::READY)
            .is_some_and(|c| c.status == FALSE && c.reason == hold.reason);
        if !shown_before || stored.planned_change != status.planned_change {
            events.push(ManagedEvent::normal(hold.reason, "Hold", message));
        }
    }
    (status, events)
}

/// `Synced` and the kstatus progress of a successful reconcile; returns `Synced`'s message.
fn set_synced<K: ManagedKind>(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    observe_only: bool,
    converged: bool,
    calls: usize,
    held: Option<&WriteHold>,
) -> String {
    let matches = format!("the tenant's {} matches the spec", K::NOUN);
    let (synced, synced_reason, message) = match held {
        _ if converged => (TRUE, reason::SYNCED, matches.clone()),
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
    let observed = format!(
        "observed the tenant's {}; no changes are made under managementPolicy Observe",
        K::NOUN
    );
    let progress = match held {
        Some(hold) => Progress::Held {
            reason: hold.reason,
            message: &message,
        },
        None if observe_only => Progress::Ready {
            reason: reason::OBSERVED,
            message: &observed,
        },
        None => Progress::Ready {
            reason: reason::SYNCED,
            message: &matches,
        },
    };
    set_progress(conditions, generation, progress);
    message
}

/// The Events of a successful reconcile, in the order things happened.
fn events<K: ManagedKind>(obj: &K, outcome: &Outcome<K::Remote>) -> Vec<ManagedEvent> {
    let (noun, key) = (K::NOUN, obj.key());
    let mut events = Vec::new();
    if outcome.adopted {
        let note = format!("adopted the existing {noun} {key:?}");
        events.push(ManagedEvent::normal(reason::ADOPTED, "Adopt", note));
    }
    if outcome.created {
        let note = format!("created {noun} {key:?}");
        events.push(ManagedEvent::normal(reason::CREATED, "Create", note));
    }
    if outcome.updated {
        let generation = obj.meta().generation;
        let drift = obj.status().and_then(|s| s.observed_generation) == generation;
        events.push(if drift {
            let note = format!("corrected a change made in the tenant to {noun} {key:?}");
            ManagedEvent::normal(reason::DRIFT_CORRECTED, "Update", note)
        } else {
            let note = format!("updated {noun} {key:?}");
            ManagedEvent::normal(reason::UPDATED, "Update", note)
        });
    }
    events
}

/// After a failed reconcile: what got done before the error, `Ready=False` with the error's
/// reason and `Stalled` or `Reconciling`, `Conflict` or `WaitingForDependencies` when that is
/// the error, and one Warning Event (none for a write held back or a wait).
pub(super) fn failed<K: ManagedKind>(
    obj: &K,
    stored: &TenantObjectStatus,
    outcome: &Outcome<K::Remote>,
    error: &ReconcileError,
) -> (TenantObjectStatus, Vec<ManagedEvent>) {
    let generation = obj.meta().generation;
    let mut status = with_progress(obj, stored, outcome);
    let conditions = &mut status.conditions;
    let message = truncated(&error.message());
    set_progress(conditions, generation, error.progress(&message));
    let extra = match error {
        ReconcileError::Conflict(_) => Some((condition::CONFLICT, reason::CONFLICT)),
        ReconcileError::WaitingForDependencies(_) => Some((
            condition::WAITING_FOR_DEPENDENCIES,
            reason::WAITING_FOR_DEPENDENCIES,
        )),
        _ => None,
    };
    if let Some((type_, why)) = extra {
        set_condition(conditions, type_, TRUE, why, message.clone(), generation);
    }
    let reported = find_condition(&stored.conditions, condition::READY)
        .is_some_and(|c| c.status == FALSE && c.message == message);
    let quiet = matches!(error, ReconcileError::RefusedBefore { .. })
        || (reported && (extra.is_some() || matches!(error, ReconcileError::WritesHeld(_))));
    if quiet {
        return (status, vec![]);
    }
    let warning = ManagedEvent {
        type_: if matches!(error, ReconcileError::WaitingForDependencies(_)) {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason: error.reason(),
        action: "Reconcile",
        note: message,
    };
    (status, vec![warning])
}

/// `new` with `lastSyncTime`: kept when nothing else changed (steady state writes nothing),
/// else `now`.
pub(super) fn with_sync_time(
    stored: &TenantObjectStatus,
    mut new: TenantObjectStatus,
    now: Time,
) -> TenantObjectStatus {
    new.last_sync_time = stored.last_sync_time.clone();
    if new != *stored {
        new.last_sync_time = Some(now);
    }
    new
}
