//! Apply: the tenant writes of one reconcile under `managementPolicy: Manage`.
//!
//! - Create: the `pendingCreate` marker is written to status first (write-ahead), then the
//!   profile joins the tenant's creation wave (`wave`), whose one fresh list decides whether the
//!   name exists (adopted) or is created (import or POST). A crash or a cancelled wave leaves
//!   the marker: the next attempt's wave looks the name up again, never creating it twice.
//! - Patch: planned again against a fresh GET (the shared list may be up to half a resync old),
//!   then sent step by step; the source step before the attribute-config step.
//! - `refreshPolicy: OnChange`: identities are processed once per generation the operator wrote;
//!   the `pendingProcessing` marker is written first (write-ahead), and a marker found at the
//!   start of a reconcile means the outcome is unknown: the call is never sent again.
//! - A refused write is recorded (`lastRefusal`) and holds back the object's writes for this
//!   generation for one resync interval (see `refusal.rs`).
//!
//! - A pause switch (`Tenant.spec.suspend`, the object's `isc.identitynow.dev/paused`) holds
//!   every write before it starts: no wave is joined, no PATCH or processing call is sent; the
//!   plan is left for status (`plannedChange`).
//!
//! The markers also show `Reconciling=True` (the kstatus conventions) while the work runs, at
//! no extra Kubernetes write. They are written with a `resourceVersion` precondition, so an old leader working from
//! a stale object cannot claim a write.
//!
//! Every created or patched profile is put into the tenant's shared list, so lookups of other
//! objects see it before the next list call.

use crate::api::identity_profile::{
    AttributePreview, PendingCreate, PendingProcessing, RefreshPolicy, Refusal,
};
use crate::api::{IdentityProfile, IdentityProfileStatus};
use crate::controller::error::ReconcileError;
use crate::controller::kstatus::{Progress, set_progress};
use crate::controller::pause::WriteHold;
use crate::controller::status::{now, reason};
use crate::controller::tenant_pool::TenantHandle;
use isc_client::SubmissionOutcome;
use isc_client::models::IdentityProfile as TenantProfile;

use super::StoredStatus;
use super::diff::{ProfilePlan, ValidProfile};
use super::observe::Observation;
use super::refusal::{self, operation};
use super::status::changed_generation;
use super::wave::WaveOutcome;

/// What a reconcile did; after an error, what it did before the error. The status is computed
/// from it (see `status.rs`).
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// No other object manages the same tenant profile.
    pub conflict_free: bool,
    /// The tenant profile as last seen (after the writes, if any).
    pub tenant_profile: Option<TenantProfile>,
    /// The plan left unsent (`managementPolicy: Observe`); `None` when everything was applied.
    pub unapplied: Option<ProfilePlan>,
    /// An existing tenant profile was taken over.
    pub adopted: bool,
    /// The tenant profile was created.
    pub created: bool,
    /// PATCH calls sent.
    pub patch_calls: usize,
    /// Every planned write was sent (at least one): the tenant reflects this generation.
    pub wrote_changes: bool,
    /// The tenant profile was found or created: a `pendingCreate` marker is obsolete.
    pub create_resolved: bool,
    /// Identity processing was started.
    pub processing_started: bool,
    /// The generation whose `OnChange` processing call has an unknown outcome (a marker found
    /// at the start, or a call without an answer): it is never sent again.
    pub processing_unknown: Option<i64>,
    /// The processing call was certainly not acted on: its marker is cleared.
    pub processing_not_sent: bool,
    /// The write the tenant refused in this reconcile.
    pub refusal: Option<Refusal>,
    /// The pause switch that holds the object's tenant writes (see `pause`); the plan is then
    /// left in [`Outcome::unapplied`].
    pub hold: Option<WriteHold>,
    /// `status.attributePreview` (`managementPolicy: Observe` only; see `identity_preview`).
    pub attribute_preview: Option<AttributePreview>,
    /// What the names in the spec resolved to (`status.resolvedReferences`); `None` when the
    /// reconcile stopped before resolving them (the stored ones are kept).
    pub resolved_references: Option<crate::controller::references::ResolvedReferences>,
}

/// Makes the tenant match `plan`, recording progress in `outcome` as it goes.
pub(super) async fn apply(
    obj: &IdentityProfile,
    desired: ValidProfile<'_>,
    plan: ProfilePlan,
    observation: Observation,
    stored: &mut StoredStatus<'_>,
    outcome: &mut Outcome,
) -> Result<(), ReconcileError> {
    let tenant = observation.tenant;
    let mut current = observation.tenant_profile;
    if observation.hold.is_some() {
        // Held before any write (the wave is not joined): the plan is shown, nothing is sent.
        outcome.tenant_profile = current;
        outcome.unapplied = Some(plan);
        return Ok(());
    }
    if plan != ProfilePlan::Nothing {
        if let Some(held) = refusal::held_back(obj, stored.current(), &now()) {
            return Err(held);
        }
    }
    let plan = match plan {
        ProfilePlan::Create(body) => {
            write_pending_create_marker(obj, stored, &desired.desired().name).await?;
            match tenant.waves.create(&tenant, *body).await {
                Ok(WaveOutcome::Created(created)) => {
                    outcome.created = true;
                    outcome.wrote_changes = true;
                    current = Some(created);
                    ProfilePlan::Nothing
                }
                Ok(WaveOutcome::Exists(found)) => {
                    // The wave's fresh list holds it: taken over, then made to match.
                    outcome.adopted = true;
                    let plan = desired.plan(Some(&found));
                    current = Some(found);
                    plan
                }
                Err(error) => {
                    // Refused: nothing was created, the marker is obsolete. Otherwise it stays
                    // and the next attempt's fresh list decides.
                    outcome.create_resolved =
                        is_refused(obj, stored, &tenant, operation::CREATE, &error, outcome);
                    return Err(error);
                }
            }
        }
        plan => plan,
    };
    if let ProfilePlan::Patch(_) = plan {
        let id = current
            .as_ref()
            .and_then(|p| p.id.clone())
            .ok_or_else(|| ReconcileError::InvalidSpec("tenant profile has no id".into()))?;
        current = match patch(desired, &tenant, &id, outcome).await {
            Ok(patched) => Some(patched),
            Err(error) => {
                is_refused(obj, stored, &tenant, operation::PATCH, &error, outcome);
                return Err(error);
            }
        };
    }
    outcome.create_resolved = true;
    outcome.tenant_profile = current;
    start_processing_if_needed(obj, &tenant, stored, outcome).await
}

/// Records in `outcome` the refusal `error` is, if it is one; true when it is.
fn is_refused(
    obj: &IdentityProfile,
    stored: &StoredStatus<'_>,
    tenant: &TenantHandle,
    write: &'static str,
    error: &ReconcileError,
    outcome: &mut Outcome,
) -> bool {
    outcome.refusal = refusal::record(obj, stored.current(), write, error, tenant.resync, now());
    outcome.refusal.is_some()
}

/// Records the create-pending marker before the POST, so a crash cannot cause a duplicate.
/// The same write shows `Reconciling` (reason `Creating`) while the create is under way.
async fn write_pending_create_marker(
    obj: &IdentityProfile,
    stored: &mut StoredStatus<'_>,
    name: &str,
) -> Result<(), ReconcileError> {
    let mut marked = stored.current().clone();
    marked.pending_create = Some(Box::new(PendingCreate {
        name: name.to_string(),
        since: now(),
    }));
    let message = format!("creating tenant profile {name:?}");
    working(obj, &mut marked, reason::CREATING, &message);
    stored.write_guarded(&marked).await?;
    Ok(())
}

/// `status` as a write-ahead marker shows it: `Reconciling=True` for this generation, so the
/// work under way is visible at no extra Kubernetes write.
pub(super) fn working(
    obj: &IdentityProfile,
    status: &mut IdentityProfileStatus,
    reason: &str,
    message: &str,
) {
    let generation = obj.metadata.generation;
    status.observed_generation = generation;
    let progress = Progress::Reconciling { reason, message };
    set_progress(&mut status.conditions, generation, progress);
}

/// Plans again against a fresh GET and sends the PATCH calls in order; returns the profile as
/// the tenant answered the last call.
async fn patch(
    desired: ValidProfile<'_>,
    tenant: &TenantHandle,
    id: &str,
    outcome: &mut Outcome,
) -> Result<TenantProfile, ReconcileError> {
    let mut current = tenant.client.get_identity_profile(id).await?;
    if let ProfilePlan::Patch(steps) = desired.plan(Some(&current)) {
        for step in &steps {
            current = tenant.client.update_identity_profile(id, step).await?;
            tenant.profiles.upsert(&current).await;
            outcome.patch_calls += 1;
        }
        outcome.wrote_changes = true;
    }
    Ok(current)
}

/// Under `refreshPolicy: OnChange`, processes the profile's identities when the tenant asks for
/// it and the operator wrote a change that was not processed yet.
async fn start_processing_if_needed(
    obj: &IdentityProfile,
    tenant: &TenantHandle,
    stored: &mut StoredStatus<'_>,
    outcome: &mut Outcome,
) -> Result<(), ReconcileError> {
    let changed = changed_generation(obj, stored.current(), outcome);
    let profile = outcome.tenant_profile.as_ref();
    let wanted = obj.spec.refresh_policy == RefreshPolicy::OnChange
        && profile.is_some_and(|p| p.identity_refresh_required)
        && stored.current().processed_generation != changed
        && stored.current().pending_processing.is_none()
        && outcome.processing_unknown.is_none();
    let (Some(generation), Some(id)) = (
        changed.filter(|_| wanted),
        profile.and_then(|p| p.id.clone()),
    ) else {
        return Ok(());
    };
    if let Some(held) = refusal::held_back(obj, stored.current(), &now()) {
        return Err(held);
    }
    // Write-ahead: with the marker stored, a crash or a lost answer never leads to a second call.
    let mut marked = stored.current().clone();
    marked.pending_processing = Some(Box::new(PendingProcessing {
        generation,
        since: now(),
    }));
    let message = "starting the processing of the profile's identities";
    working(obj, &mut marked, reason::PROCESSING, message);
    stored.write_guarded(&marked).await?;
    match tenant.client.process_identity_profile(&id).await {
        Ok(_) => {
            outcome.processing_started = true;
            Ok(())
        }
        Err(e) => {
            match e.submission_outcome() {
                SubmissionOutcome::NotSent | SubmissionOutcome::Rejected => {
                    outcome.processing_not_sent = true;
                }
                SubmissionOutcome::AcceptedUnreadable => outcome.processing_started = true,
                SubmissionOutcome::Unknown => outcome.processing_unknown = Some(generation),
            }
            let error = ReconcileError::from(e);
            is_refused(obj, stored, tenant, operation::PROCESS, &error, outcome);
            Err(error)
        }
    }
}
