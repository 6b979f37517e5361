//! The `IdentityProfile` reconciler. One pass flows one way:
//!
//! 1. **dereference** ([`observe`]): validate the spec once, check that no other object in the
//!    cluster owns the same tenant profile ([`ownership`]), wait for the identity attributes and
//!    transforms it names ([`dependencies`]: no tenant call before they are on the tenant),
//!    resolve the Tenant, find the tenant profile, resolve the names in the spec to the
//!    tenant's ids ([`crate::controller::references`]) (reads only);
//! 2. **plan** ([`diff`], pure): desired × observed → `Create | Patch[steps] | Nothing`;
//! 3. **apply** ([`apply`]): the tenant writes, skipped under `managementPolicy: Observe`, and
//!    held back after a refusal ([`refusal`]);
//! 4. **status** ([`status`], pure): the new status and the Events, computed from what was
//!    done; this module publishes the Events and writes the status, each in one place.
//!
//! A successful reconcile waits for the next change of the object (`Action::await_change`):
//! drift in the tenant is found by the Tenant's resync sweep ([`crate::controller::resync`]),
//! which enqueues only the objects that need a reconcile. Errors keep their own retries.
//!
//! Deletion runs behind a finalizer ([`cleanup`]), which only `deletionPolicy: Delete` objects
//! carry ([`wants_finalizer`]). Every status write goes through
//! [`crate::controller::status::patch_status`] against the status the server holds after the
//! previous write, so one reconcile's last write also clears the markers of its earlier ones.

mod apply;
pub mod claims;
mod cleanup;
pub mod dependencies;
pub mod diff;
pub mod identity_preview;
mod observe;
mod ownership;
mod refusal;
mod status;
pub mod wave;

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as FinalizerEvent};
use kube::{Api, ResourceExt};

use crate::api::identity_profile::{DeletionPolicy, ManagementPolicy, PlannedChange};
use crate::api::{IdentityProfile, IdentityProfileStatus};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::finalizers::{finalizer_outcome, has_finalizer, remove_finalizer};
use crate::controller::status::{WriteGuard, now, patch_status};
use apply::Outcome;
use diff::ProfilePlan;
use status::ProfileEvent;

pub use crate::controller::finalizers::FINALIZER;

/// The plan as `status.plannedChange` shows it (what the resync sweep compares).
pub fn shown_plan(plan: &ProfilePlan) -> PlannedChange {
    status::planned_change(plan)
}

/// Whether the object must carry [`FINALIZER`]: only a `Delete` policy has tenant work to do
/// when the object is deleted.
pub fn wants_finalizer(obj: &IdentityProfile) -> bool {
    obj.spec.deletion_policy == DeletionPolicy::Delete
}

/// Controller entry point for one object.
///
/// An object that is not being deleted and does not want the finalizer (`Orphan`) is reconciled
/// without one; a finalizer left from a `Delete` policy is removed first (its own write, whose
/// watch event brings the next reconcile). Otherwise kube's finalizer helper adds the finalizer
/// before any tenant write and runs the cleanup at deletion.
pub async fn reconcile(
    object: Arc<IdentityProfile>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<IdentityProfile> = Api::namespaced(ctx.client.clone(), &namespace);
    let deleting = object.metadata.deletion_timestamp.is_some();
    if !deleting && !wants_finalizer(&object) {
        let delete_task_running = object
            .status
            .as_ref()
            .is_some_and(|s| s.delete_task_id.is_some());
        if has_finalizer(object.as_ref()) && !delete_task_running {
            remove_finalizer(&api, &object).await?;
            return Ok(Action::await_change());
        }
        return reconcile_spec(&object, &ctx, &api).await;
    }
    let result = finalizer::finalizer(&api, FINALIZER, object, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => reconcile_spec(&obj, &ctx, &api).await,
            FinalizerEvent::Cleanup(obj) => clean_up(&obj, &ctx, &api).await,
        }
    })
    .await;
    finalizer_outcome(result)
}

/// The object's status as the API server holds it, replaced by the server's answer after each
/// write, so the next write is the exact difference.
struct StoredStatus<'a> {
    api: &'a Api<IdentityProfile>,
    name: String,
    current: IdentityProfileStatus,
    resource_version: Option<String>,
}

impl<'a> StoredStatus<'a> {
    fn new(api: &'a Api<IdentityProfile>, obj: &IdentityProfile) -> Self {
        StoredStatus {
            api,
            name: obj.name_any(),
            current: obj.status.clone().unwrap_or_default(),
            resource_version: obj.metadata.resource_version.clone(),
        }
    }

    /// The status the server holds.
    fn current(&self) -> &IdentityProfileStatus {
        &self.current
    }

    /// Writes `new` (nothing when it equals what the server holds).
    async fn write(&mut self, new: &IdentityProfileStatus) -> Result<(), kube::Error> {
        self.write_with(new, WriteGuard::None).await
    }

    /// Writes `new` only if the object is still the one this reconcile read (or last wrote):
    /// for the markers that guard tenant writes, so an old leader working from a stale object
    /// fails with 409 instead of claiming a write.
    async fn write_guarded(&mut self, new: &IdentityProfileStatus) -> Result<(), kube::Error> {
        let guard = WriteGuard::ResourceVersion(self.resource_version.clone());
        self.write_with(new, guard).await
    }

    async fn write_with(
        &mut self,
        new: &IdentityProfileStatus,
        guard: WriteGuard,
    ) -> Result<(), kube::Error> {
        let updated = patch_status(self.api, &self.name, Some(&self.current), new, guard).await?;
        if let Some(updated) = updated {
            self.resource_version = updated.metadata.resource_version.clone();
            self.current = updated.status.unwrap_or_default();
        }
        Ok(())
    }
}

/// Makes the tenant match the spec and records the result in status and Events.
async fn reconcile_spec(
    obj: &IdentityProfile,
    ctx: &Context,
    api: &Api<IdentityProfile>,
) -> Result<Action, ReconcileError> {
    let mut stored = StoredStatus::new(api, obj);
    let mut outcome = Outcome::default();
    let result = dereference_plan_apply(obj, ctx, &mut stored, &mut outcome).await;
    let (new_status, events) = match &result {
        Ok(_) => status::synced(obj, stored.current(), &outcome),
        Err(error) => status::failed(obj, stored.current(), &outcome, error),
    };
    publish(ctx, obj, &events).await;
    let new_status = status::with_sync_time(stored.current(), new_status, now());
    match result {
        Ok(()) => {
            stored.write(&new_status).await?;
            ctx.forget_failures(obj);
            // The resync sweep finds drift and enqueues this object when it needs a reconcile.
            Ok(Action::await_change())
        }
        Err(error) => {
            // A status write failure must not hide the original error.
            if let Err(e) = stored.write(&new_status).await {
                tracing::warn!(error = %e, "could not record the failure in status");
            }
            Err(error)
        }
    }
}

/// Steps 1–3 of the pipeline.
async fn dereference_plan_apply(
    obj: &IdentityProfile,
    ctx: &Context,
    stored: &mut StoredStatus<'_>,
    outcome: &mut Outcome,
) -> Result<(), ReconcileError> {
    // A pause switch holds every tenant write (see `pause`); reads and the plan go on.
    outcome.hold = observe::cached_hold(obj, ctx);
    // What needs no tenant id is checked before anything is read (names are resolved below).
    obj.spec
        .desired()
        .validate_keys()
        .map_err(|e| ReconcileError::InvalidSpec(e.to_string()))?;
    if let Some(conflict) = ownership::find_conflict(obj, ctx) {
        return Err(ReconcileError::Conflict(conflict));
    }
    outcome.conflict_free = true;
    if let Some(marker) = &stored.current().pending_processing {
        // A processing call was started and its answer never recorded: never sent again.
        outcome.processing_unknown = Some(marker.generation);
    }
    let manage = obj.spec.management_policy == ManagementPolicy::Manage;
    if manage && outcome.hold.is_none() {
        // Held back after a refusal: no tenant call at all until the retry time.
        if let Some(held) = refusal::held_back(obj, stored.current(), &now()) {
            return Err(held);
        }
    }
    // Ordering: no tenant call before the attributes and transforms it names are there.
    dependencies::wait_for(obj, ctx)?;
    let observation = observe::observe(
        obj,
        ctx,
        stored.current().id.as_deref(),
        stored.current().pending_create.is_some(),
        manage,
    )
    .await?;
    outcome.adopted = observation.adopted;
    outcome.hold.clone_from(&observation.hold);
    let (desired, resolved) = observe::resolve_names(obj, ctx, &observation.tenant).await?;
    outcome.resolved_references = Some(resolved);
    let desired = desired
        .validated()
        .map_err(|e| ReconcileError::InvalidSpec(e.to_string()))?;
    let plan = desired.plan(observation.tenant_profile.as_ref());
    if manage {
        apply::apply(obj, desired, plan, observation, stored, outcome).await?;
    } else {
        outcome.attribute_preview = identity_preview::observe_preview(
            obj,
            &observation.tenant.client,
            observation.tenant_profile.as_ref(),
            &plan,
            stored.current().attribute_preview.as_deref(),
        )
        .await;
        outcome.tenant_profile = observation.tenant_profile;
        outcome.unapplied = Some(plan);
    }
    Ok(())
}

/// Runs the deletion policy and publishes what it did.
async fn clean_up(
    obj: &IdentityProfile,
    ctx: &Context,
    api: &Api<IdentityProfile>,
) -> Result<Action, ReconcileError> {
    let mut stored = StoredStatus::new(api, obj);
    let mut events = Vec::new();
    let result = cleanup::cleanup(obj, ctx, &mut stored, &mut events).await;
    publish(ctx, obj, &events).await;
    if result.is_ok() {
        ctx.forget_failures(obj);
    }
    result
}

/// The one place the reconciler publishes Events.
async fn publish(ctx: &Context, obj: &IdentityProfile, events: &[ProfileEvent]) {
    for event in events {
        ctx.publish(obj, event.type_, event.reason, event.action, &event.note)
            .await;
    }
}
