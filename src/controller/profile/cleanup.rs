//! Cleanup: what happens to the tenant profile when the object is deleted.
//!
//! `deletionPolicy: Orphan` (the default), `managementPolicy: Observe`, a conflicting object
//! and an object that never recorded an id leave the tenant alone. `deletionPolicy: Delete`
//! starts the tenant's delete task, records its id in `status.deleteTaskId` and keeps the
//! finalizer (by answering [`ReconcileError::Waiting`]) until the task has ended.

use kube::ResourceExt;
use kube::runtime::controller::Action;

use crate::api::IdentityProfile;
use crate::api::identity_profile::{DeletionPolicy, ManagementPolicy};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::status::{condition, is_true};
use crate::controller::tenant_pool::TenantHandle;
use isc_client::models::TaskOutcome;

use super::StoredStatus;
use super::observe::get_by_id;
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
    let Some(id) = status.id.clone().filter(|_| deletes) else {
        return Ok(Action::await_change());
    };
    let namespace = obj.namespace().unwrap_or_default();
    let (_tenant, handle) = ctx
        .tenants
        .resolve(&ctx.client, &namespace, &obj.spec.tenant_ref.name)
        .await?;
    match status.delete_task_id {
        None => start_delete(obj, &handle, &id, stored, events).await,
        Some(task_id) => follow_delete_task(obj, &handle, &id, &task_id, stored, events).await,
    }
}

/// Starts the tenant's delete task and records its id; a profile already gone is done.
async fn start_delete(
    obj: &IdentityProfile,
    handle: &TenantHandle,
    id: &str,
    stored: &mut StoredStatus<'_>,
    events: &mut Vec<ProfileEvent>,
) -> Result<Action, ReconcileError> {
    match handle.client.delete_identity_profile(id).await {
        Ok(task) => {
            let task_id = task.id.unwrap_or_default();
            let mut recorded = stored.current().clone();
            recorded.delete_task_id = Some(task_id.clone());
            stored.write(&recorded).await?;
            events.push(deleting_event(obj, &task_id));
            // An error keeps the finalizer until the task has ended.
            Err(ReconcileError::Waiting(format!("delete task {task_id}")))
        }
        Err(e) if e.is_not_found() => {
            handle.profiles.remove(id).await;
            Ok(Action::await_change())
        }
        Err(e) => Err(e.into()),
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
        Err(e) if e.is_not_found() => {
            // The task is gone; the profile's absence is what matters.
            return match get_by_id(handle, id).await? {
                None => Ok(Action::await_change()),
                Some(_) => Err(ReconcileError::Waiting(format!("deletion of {id}"))),
            };
        }
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
            stored.write(&cleared).await?;
            Err(ReconcileError::TenantTaskFailed(message))
        }
    }
}
