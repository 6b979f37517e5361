//! Cleanup: what happens to the tenant profile when the object is deleted.
//!
//! `deletionPolicy: Orphan` (the default), `managementPolicy: Observe`, a conflicting object
//! and an object that never recorded an id (nor started a create) leave the tenant alone.
//! `deletionPolicy: Delete` starts the tenant's delete task, records its id in
//! `status.deleteTaskId` and keeps the finalizer (by answering [`ReconcileError::Waiting`])
//! until the task has ended. It never hangs silently:
//! - the Tenant or its Secret gone (a namespace being deleted): `DeletionBlocked` condition and
//!   Warning Event saying what to do (restore them, or switch to `Orphan`, which releases);
//! - a delete accepted without a task id: confirmed by reading the profile (gone = done);
//! - deleted during the create window (`pendingCreate`, no id): the tenant profile is looked
//!   up by name and deleted;
//! - a pause switch (`Tenant.spec.suspend`, the object's `isc.identitynow.dev/paused`) holds
//!   the delete call: the object shows `Suspended` and waits with its finalizer
//!   ([`ReconcileError::WritesHeld`]) until the hold is lifted (a task already started is
//!   still followed: that only reads).
//!
//! Status written here follows the kstatus conventions: `Reconciling` (reason `Deleting`)
//! while the task runs, `Stalled` when the deletion cannot go on without a person.

use kube::ResourceExt;
use kube::runtime::controller::Action;

use crate::api::identity_profile::{DeletionPolicy, ManagementPolicy};
use crate::api::{IdentityProfile, IdentityProfileStatus};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::kstatus::condition::SUSPENDED;
use crate::controller::kstatus::{Progress, set_progress, set_suspended};
use crate::controller::pause::{WriteHold, writes_held};
use crate::controller::status::{condition, find_condition, is_true, now, reason};
use crate::controller::tenant_pool::TenantHandle;
use isc_client::models::TaskOutcome;

use super::StoredStatus;
use super::observe::{find_fresh, get_by_id};
use super::refusal::{self, operation};
use super::status::{ProfileEvent, deleted_event, deleting_event};

/// Runs the deletion policy; `Ok` lets the finalizer go. Events to publish go to `events`.
pub(super) async fn cleanup(
    obj: &IdentityProfile,
    ctx: &Context,
    stored: &mut StoredStatus<'_>,
    events: &mut Vec<ProfileEvent>,
) -> Result<Action, ReconcileError> {
    let status = stored.current().clone();
    let conflicting = is_true(&status.conditions, condition::CONFLICT);
    let deletes = obj.spec.deletion_policy == DeletionPolicy::Delete
        && obj.spec.management_policy == ManagementPolicy::Manage
        && !conflicting;
    let create_window = status
        .pending_create
        .clone()
        .filter(|_| status.id.is_none());
    if !deletes || (status.id.is_none() && create_window.is_none()) {
        return Ok(Action::await_change());
    }
    let namespace = obj.namespace().unwrap_or_default();
    let (tenant, handle) = match ctx
        .tenants
        .resolve(&ctx.client, &namespace, &obj.spec.tenant_ref.name)
        .await
    {
        Ok(resolved) => resolved,
        Err(
            e @ (ReconcileError::TenantNotFound(_)
            | ReconcileError::SecretNotFound(_)
            | ReconcileError::SecretKeyMissing { .. }),
        ) => return Err(blocked(obj, stored, &e, events).await),
        Err(e) => return Err(e),
    };
    let id = match (status.id, create_window) {
        (Some(id), _) => id,
        (None, Some(pending)) => {
            // The create may have happened: find it by name (as the tenant compares names).
            match find_fresh(&handle, None, &pending.name).await? {
                Some(profile) => profile.id.unwrap_or_default(),
                None => return Ok(Action::await_change()),
            }
        }
        (None, None) => return Ok(Action::await_change()),
    };
    match status.delete_task_id.as_deref() {
        None => match writes_held(obj, Some(&tenant)) {
            Some(hold) => Err(held(obj, stored, hold, events).await),
            None => start_delete(obj, &handle, &id, stored, events).await,
        },
        Some("") => confirm_gone(obj, &handle, &id, events).await,
        Some(task_id) => follow_delete_task(obj, &handle, &id, task_id, stored, events).await,
    }
}

/// Records why the delete cannot run and what to do; the error keeps the finalizer.
async fn blocked(
    obj: &IdentityProfile,
    stored: &mut StoredStatus<'_>,
    cause: &ReconcileError,
    events: &mut Vec<ProfileEvent>,
) -> ReconcileError {
    let message = format!(
        "deletionPolicy is Delete but the tenant profile {:?} cannot be deleted: {cause}. Restore the Tenant and its Secret, or set deletionPolicy: Orphan to leave the tenant profile and release this object",
        obj.spec.name
    );
    let mut status = stored.current().clone();
    let known = status
        .conditions
        .iter()
        .any(|c| c.type_ == condition::READY && c.message == message);
    let reason = reason::DELETION_BLOCKED;
    let progress = Progress::Stalled {
        reason,
        message: &message,
    };
    show(obj, &mut status, progress, None);
    if let Err(e) = stored.write(&status).await {
        tracing::warn!(error = %e, "could not record the blocked deletion in status");
    }
    if !known {
        events.push(ProfileEvent {
            type_: kube::runtime::events::EventType::Warning,
            reason: reason::DELETION_BLOCKED,
            action: "Delete",
            note: message.clone(),
        });
    }
    ReconcileError::DeletionBlocked(message)
}

/// A delete held by a pause switch: `Suspended` and `Ready=False` with the hold's reason (one
/// Normal Event when it starts to hold); the error keeps the finalizer until it is lifted.
async fn held(
    obj: &IdentityProfile,
    stored: &mut StoredStatus<'_>,
    hold: WriteHold,
    events: &mut Vec<ProfileEvent>,
) -> ReconcileError {
    let message = format!(
        "deletionPolicy is Delete: the tenant profile {:?} is deleted once the hold is lifted ({})",
        obj.spec.name, hold.message
    );
    let mut status = stored.current().clone();
    let known = is_true(&status.conditions, SUSPENDED)
        && find_condition(&status.conditions, condition::READY)
            .is_some_and(|c| c.message == message);
    let progress = Progress::Held {
        reason: hold.reason,
        message: &message,
    };
    show(obj, &mut status, progress, Some(&hold));
    if let Err(e) = stored.write(&status).await {
        tracing::warn!(error = %e, "could not record the held deletion in status");
    }
    if !known {
        events.push(ProfileEvent {
            type_: kube::runtime::events::EventType::Normal,
            reason: hold.reason,
            action: "Hold",
            note: message,
        });
    }
    ReconcileError::WritesHeld(hold)
}

/// `status` with `progress` and the hold (if any) for the object's generation.
fn show(
    obj: &IdentityProfile,
    status: &mut IdentityProfileStatus,
    progress: Progress,
    hold: Option<&WriteHold>,
) {
    let generation = obj.metadata.generation;
    status.observed_generation = generation;
    set_progress(&mut status.conditions, generation, progress);
    set_suspended(&mut status.conditions, generation, hold);
}

/// Starts the tenant's delete task and records its id (empty when the tenant gave none); a
/// profile already gone is done.
async fn start_delete(
    obj: &IdentityProfile,
    handle: &TenantHandle,
    id: &str,
    stored: &mut StoredStatus<'_>,
    events: &mut Vec<ProfileEvent>,
) -> Result<Action, ReconcileError> {
    if let Some(held) = refusal::held_back(obj, stored.current(), &now()) {
        return Err(held);
    }
    match handle.client.delete_identity_profile(id).await {
        Ok(task) => {
            let task_id = task.id.unwrap_or_default();
            let mut recorded = stored.current().clone();
            recorded.delete_task_id = Some(task_id.clone());
            recorded.id = Some(id.to_string());
            let message = format!("waiting for the tenant's delete task {task_id:?}");
            let reason = reason::DELETING;
            let progress = Progress::Reconciling {
                reason,
                message: &message,
            };
            show(obj, &mut recorded, progress, None);
            stored.write_guarded(&recorded).await?;
            events.push(deleting_event(obj, &task_id));
            // An error keeps the finalizer until the task has ended.
            Err(ReconcileError::Waiting(format!("delete task {task_id:?}")))
        }
        Err(e) if e.is_not_found() => {
            handle.profiles.remove(id).await;
            Ok(Action::await_change())
        }
        Err(e) => {
            let error = ReconcileError::from(e);
            let refused = refusal::record(
                obj,
                stored.current(),
                operation::DELETE,
                &error,
                handle.resync,
                now(),
            );
            if let Some(refused) = refused {
                let mut recorded = stored.current().clone();
                recorded.last_refusal = Some(Box::new(refused));
                stored.write(&recorded).await?;
            }
            Err(error)
        }
    }
}

/// A delete accepted without a task id: done once the profile is gone.
async fn confirm_gone(
    obj: &IdentityProfile,
    handle: &TenantHandle,
    id: &str,
    events: &mut Vec<ProfileEvent>,
) -> Result<Action, ReconcileError> {
    match get_by_id(handle, id).await? {
        None => {
            handle.profiles.remove(id).await;
            events.push(deleted_event(obj));
            Ok(Action::await_change())
        }
        Some(_) => Err(ReconcileError::Waiting(format!("deletion of {id}"))),
    }
}

/// Waits for the recorded delete task. A failed task clears `deleteTaskId` (the next attempt
/// starts a new one) and fails with [`ReconcileError::TenantTaskFailed`].
async fn follow_delete_task(
    obj: &IdentityProfile,
    handle: &TenantHandle,
    id: &str,
    task_id: &str,
    stored: &mut StoredStatus<'_>,
    events: &mut Vec<ProfileEvent>,
) -> Result<Action, ReconcileError> {
    let task = match handle.client.get_task_status(task_id).await {
        Ok(task) => task,
        // The task is gone; the profile's absence is what matters.
        Err(e) if e.is_not_found() => return confirm_gone(obj, handle, id, events).await,
        Err(e) => return Err(e.into()),
    };
    match task.outcome() {
        TaskOutcome::Running => Err(ReconcileError::Waiting(format!("delete task {task_id}"))),
        TaskOutcome::Succeeded => {
            handle.profiles.remove(id).await;
            events.push(deleted_event(obj));
            Ok(Action::await_change())
        }
        TaskOutcome::Failed => {
            let message = format!(
                "the tenant's delete task {task_id} ended with {}; set deletionPolicy: Orphan to release the object",
                task.completion_status.unwrap_or_default()
            );
            let mut cleared = stored.current().clone();
            cleared.delete_task_id = None;
            let error = ReconcileError::TenantTaskFailed(message);
            let message = error.message();
            show(obj, &mut cleared, error.progress(&message), None);
            stored.write_guarded(&cleared).await?;
            Err(error)
        }
    }
}
