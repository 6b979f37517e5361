//! Cleanup: what happens on the tenant when an object under `deletionPolicy: Delete` is
//! deleted (only those carry the finalizer). `Orphan` (also set while the object is being
//! deleted), `Observe` and an object that never recorded an id nor started a create leave the
//! tenant alone. A pause switch holds the delete (`Suspended`; the finalizer stays until it is
//! lifted). A refused delete (a standard attribute, a transform still in use) is recorded and
//! keeps the finalizer: set `deletionPolicy: Orphan` to release the object.

use kube::runtime::controller::Action;

use crate::api::managed::{DeletionPolicy, ManagementPolicy};
use crate::controller::context::Context;
use crate::controller::error::{ReconcileError, truncated};
use crate::controller::kstatus::{set_progress, set_suspended};
use crate::controller::pause::writes_held;
use crate::controller::status::{now, reason};

use super::reconcile::place_of;
use super::status::{ManagedEvent, publish};
use super::stored::StoredStatus;
use super::{ManagedKind, Parent, find, fresh_list};
use crate::controller::refusal::{self, operation};

/// Runs the deletion policy for `obj`; an error keeps the finalizer.
pub(super) async fn cleanup<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
    stored: &mut StoredStatus<'_, K>,
) -> Result<Action, ReconcileError> {
    let status = stored.current().clone();
    if obj.deletion_policy() != DeletionPolicy::Delete
        || obj.management_policy() == ManagementPolicy::Observe
        || (status.id.is_none() && status.pending_create.is_none())
    {
        return Ok(Action::await_change());
    }
    let result = delete_on_tenant(obj, ctx, stored).await;
    if let Err(error) = &result {
        show_failure(obj, ctx, stored, error).await;
    }
    result
}

async fn delete_on_tenant<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
    stored: &mut StoredStatus<'_, K>,
) -> Result<Action, ReconcileError> {
    let generation = obj.meta().generation;
    if let Some(held) =
        refusal::held_back(generation, stored.current().last_refusal.as_ref(), &now())
    {
        return Err(held);
    }
    let place = match place_of(obj, ctx).await {
        Ok(place) => place,
        // The parent object is gone: its tenant id is the one recorded when it was resolved.
        Err(ReconcileError::WaitingForDependencies(_)) => {
            let place = place_of_recorded(obj, ctx).await?;
            match place {
                Some(place) => place,
                None => return Ok(Action::await_change()),
            }
        }
        Err(e) => return Err(e),
    };
    if let Some(hold) = writes_held(obj, Some(&place.tenant)) {
        return Err(ReconcileError::WritesHeld(hold));
    }
    let listed = match fresh_list::<K>(ctx, &place).await {
        Ok(listed) => listed,
        // The parent is gone from the tenant, and with it everything under it.
        Err(ReconcileError::Tenant(e)) if e.is_not_found() => return Ok(Action::await_change()),
        Err(e) => return Err(e),
    };
    let Some(remote) = find::<K>(&listed, stored.current().id.as_deref(), obj.key()).cloned()
    else {
        return Ok(Action::await_change());
    };
    drop(listed);
    match K::delete(&place, &remote).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            let error = K::write_error(e);
            let resync = place.handle.resync;
            let refused = refusal::record(
                generation,
                stored.current().last_refusal.as_ref(),
                operation::DELETE,
                &error,
                resync,
                now(),
            );
            if let Some(refused) = refused {
                let mut recorded = stored.current().clone();
                recorded.last_refusal = Some(refused);
                stored.write(&recorded).await?;
            }
            return Err(error);
        }
    }
    let key = obj.key().to_string();
    K::lists(ctx).remove(&place.list_key(), |r| K::remote_key(r) == key);
    let note = format!("deleted {} {:?} from the tenant", K::NOUN, obj.key());
    let deleted = ManagedEvent::normal(reason::DELETED, "Delete", note);
    publish(ctx, obj, &[deleted]).await;
    Ok(Action::await_change())
}

/// The place with the parent id recorded in `status.resolvedReferences` (its object is
/// gone); `None` when none was recorded (nothing was created under it by this object).
async fn place_of_recorded<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
) -> Result<Option<super::Place>, ReconcileError> {
    let recorded = obj.status().and_then(|s| {
        s.resolved_references
            .iter()
            .find(|(k, _)| k.starts_with(super::PARENT_REFERENCE_PREFIX))
            .map(|(k, v)| Parent {
                reference: k.clone(),
                id: v.clone(),
            })
    });
    let Some(parent) = recorded else {
        return Ok(None);
    };
    let namespace = kube::ResourceExt::namespace(obj).unwrap_or_default();
    let (tenant, handle) = ctx
        .tenants
        .resolve(&ctx.client, &namespace, obj.tenant_name())
        .await?;
    Ok(Some(super::Place {
        namespace,
        tenant,
        handle,
        parent: Some(parent),
    }))
}

/// Shows why the delete has not happened: held (`Suspended`), refused or blocked (`Stalled`),
/// or transient (`Reconciling`); one Event when the message is new.
async fn show_failure<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
    stored: &mut StoredStatus<'_, K>,
    error: &ReconcileError,
) {
    let generation = obj.meta().generation;
    let message = match error {
        ReconcileError::WritesHeld(hold) => format!(
            "deletionPolicy is Delete: the tenant's {} {:?} is deleted once the hold is lifted ({})",
            K::NOUN,
            obj.key(),
            hold.message
        ),
        e => truncated(&format!(
            "deletionPolicy is Delete but the tenant's {} {:?} could not be deleted: {}. Set deletionPolicy: Orphan to leave it on the tenant and release this object",
            K::NOUN,
            obj.key(),
            e.message()
        )),
    };
    let mut status = stored.current().clone();
    let known = status
        .conditions
        .iter()
        .any(|c| c.type_ == crate::controller::status::condition::READY && c.message == message);
    status.observed_generation = generation;
    set_progress(&mut status.conditions, generation, error.progress(&message));
    let hold = match error {
        ReconcileError::WritesHeld(hold) => Some(hold),
        _ => None,
    };
    set_suspended(&mut status.conditions, generation, hold);
    if let Err(e) = stored.write(&status).await {
        tracing::warn!(error = %e, "could not record the deletion's state in status");
    }
    if !known && !matches!(error, ReconcileError::RefusedBefore { .. }) {
        let event = match hold {
            Some(hold) => ManagedEvent::normal(hold.reason, "Hold", message),
            None => ManagedEvent {
                type_: kube::runtime::events::EventType::Warning,
                reason: error.reason(),
                action: "Delete",
                note: message,
            },
        };
        publish(ctx, obj, &[event]).await;
    }
}
