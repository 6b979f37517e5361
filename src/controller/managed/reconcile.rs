//! The entry point of the identity-model controllers: the finalizer (only under
//! `deletionPolicy: Delete`), then dereference and plan; [`super::apply`] writes, and
//! [`super::status`] computes the status and Events, published and written here once each.

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as FinalizerEvent};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};

use crate::api::managed::{DeletionPolicy, ManagementPolicy};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::finalizers::{finalizer_outcome, remove_finalizer};
use crate::controller::pause::{WriteHold, writes_held};
use crate::controller::status::now;

use super::apply::{self, Outcome};
use super::stored::StoredStatus;
use super::{ManagedKind, Place, cleanup, find, shared_list, shown_plan, status};
use crate::controller::refusal;

pub use crate::controller::finalizers::FINALIZER;

/// Controller entry point for one object of an identity-model kind.
///
/// An object that is not being deleted and is not under `deletionPolicy: Delete` is reconciled
/// without the finalizer (one left from an earlier `Delete` policy is removed first); otherwise
/// kube's finalizer helper adds it before any tenant write and runs the cleanup at deletion.
pub async fn reconcile<K: ManagedKind>(
    object: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let deleting = object.meta().deletion_timestamp.is_some();
    if !deleting && object.deletion_policy() != DeletionPolicy::Delete {
        if object.finalizers().iter().any(|f| f == FINALIZER) {
            remove_finalizer(&api, object.as_ref()).await?;
            return Ok(Action::await_change());
        }
        return reconcile_spec(object.as_ref(), &ctx, &api).await;
    }
    let result = finalizer::finalizer(&api, FINALIZER, object, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => reconcile_spec(obj.as_ref(), &ctx, &api).await,
            FinalizerEvent::Cleanup(obj) => {
                let mut stored = StoredStatus::new(&api, obj.as_ref());
                let result = cleanup::cleanup(obj.as_ref(), &ctx, &mut stored).await;
                if result.is_ok() {
                    ctx.forget_failures(obj.as_ref());
                }
                result
            }
        }
    })
    .await;
    finalizer_outcome(result)
}

/// Makes the tenant match the spec and records the result in status and Events.
async fn reconcile_spec<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
    api: &Api<K>,
) -> Result<Action, ReconcileError> {
    let mut stored = StoredStatus::new(api, obj);
    let mut outcome = Outcome::default();
    let result = dereference_plan_apply(obj, ctx, &mut stored, &mut outcome).await;
    let (new_status, events) = match &result {
        Ok(()) => status::synced(obj, stored.current(), &outcome),
        Err(error) => status::failed(obj, stored.current(), &outcome, error),
    };
    status::publish(ctx, obj, &events).await;
    let new_status = status::with_sync_time(stored.current(), new_status, now());
    match result {
        Ok(()) => {
            stored.write(&new_status).await?;
            ctx.forget_failures(obj);
            Ok(Action::await_change())
        }
        Err(error) => {
            if let Err(e) = stored.write(&new_status).await {
                tracing::warn!(error = %e, "could not record the failure in status");
            }
            Err(error)
        }
    }
}

/// The pause switch holding the object's writes as known from the watch caches alone.
pub(super) fn cached_hold<K: ManagedKind>(obj: &K, ctx: &Context) -> Option<WriteHold> {
    let key = ObjectRef::new(obj.tenant_name()).within(&obj.namespace()?);
    writes_held(obj, ctx.tenants_store().get(&key).as_deref())
}

/// Resolves the Tenant (and the parent) into a [`Place`].
pub(super) async fn place_of<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
) -> Result<Place, ReconcileError> {
    let parent = obj.parent(ctx)?;
    let namespace = obj.namespace().unwrap_or_default();
    let (tenant, handle) = ctx
        .tenants
        .resolve(&ctx.client, &namespace, obj.tenant_name())
        .await?;
    Ok(Place {
        namespace,
        tenant,
        handle,
        parent,
    })
}

/// Dereference, plan, and (under `Manage`, without a hold) apply.
async fn dereference_plan_apply<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
    stored: &mut StoredStatus<'_, K>,
    outcome: &mut Outcome<K::Remote>,
) -> Result<(), ReconcileError> {
    outcome.hold = cached_hold(obj, ctx);
    if let Some(conflict) = super::ownership::find_conflict(obj, ctx) {
        return Err(ReconcileError::Conflict(conflict));
    }
    outcome.conflict_free = true;
    let place = place_of(obj, ctx).await?;
    outcome.dependencies_ready = true;
    outcome.hold = writes_held(obj, Some(&place.tenant));
    let desired = obj.desired(ctx, &place).await?;
    outcome.references = K::references(&desired);
    if let Some(parent) = &place.parent {
        outcome
            .references
            .push((parent.reference.clone(), parent.id.clone()));
    }
    let manage = obj.management_policy() == ManagementPolicy::Manage;
    if manage && outcome.hold.is_none() {
        let generation = obj.meta().generation;
        if let Some(held) =
            refusal::held_back(generation, stored.current().last_refusal.as_ref(), &now())
        {
            return Err(held);
        }
    }
    let listed = shared_list::<K>(ctx, &place).await?;
    let recorded = stored.current().id.clone();
    let found = find::<K>(&listed, recorded.as_deref(), obj.key()).cloned();
    drop(listed);
    outcome.adopted = found.is_some() && recorded.is_none();
    let plan = K::plan(&desired, found.as_ref());
    if !manage || outcome.hold.is_some() {
        outcome.remote = found;
        outcome.unapplied = Some((shown_plan(&plan), plan.write_calls()));
        return Ok(());
    }
    apply::apply(obj, ctx, &place, &desired, plan, found, stored, outcome).await
}
