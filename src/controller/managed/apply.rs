//! Apply: the tenant writes of one reconcile under `managementPolicy: Manage`, no pause switch
//! holding them, no refusal in force.
//!
//! - Create: the `pendingCreate` marker is written first (write-ahead, guarded by the object's
//!   `resourceVersion`), then the name is looked up in a fresh list: found, it is adopted (and
//!   made to match); else it is created. A crash after the create call leaves the marker, and
//!   the next attempt's fresh list finds what was created: a create is sent at most once.
//! - Update: one call (`PUT` of the whole object, or a JSON Patch of the changed fields).
//! - A write the tenant refused as invalid is recorded (`lastRefusal`, see [`super::refusal`]).
//!
//! Every created or updated object is put into the kind's shared list.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::managed::{PendingCreate, PlannedChange, Refusal};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::kstatus::{Progress, set_progress};
use crate::controller::pause::WriteHold;
use crate::controller::status::{now, reason};
use isc_client::SubmissionOutcome;

use super::stored::StoredStatus;
use super::{ManagedKind, Place, TenantObjectPlan, find, fresh_list};
use crate::controller::refusal::{self, operation};

/// What a reconcile did; after an error, what it did before the error.
#[derive(Debug)]
pub(super) struct Outcome<R> {
    /// No other object manages the same tenant object.
    pub conflict_free: bool,
    /// The parent (if any) and the Tenant were found: not waiting for dependencies.
    pub dependencies_ready: bool,
    /// The tenant object as last seen (after the writes, if any).
    pub remote: Option<R>,
    /// The plan left unsent (Observe, or held by a pause switch) and its number of calls.
    pub unapplied: Option<(PlannedChange, usize)>,
    /// An existing tenant object was taken over.
    pub adopted: bool,
    /// The tenant object was created.
    pub created: bool,
    /// The tenant object was updated.
    pub updated: bool,
    /// The tenant object was found or created (or certainly not created): a `pendingCreate`
    /// marker is obsolete.
    pub create_resolved: bool,
    /// The write the tenant refused in this reconcile.
    pub refusal: Option<Refusal>,
    /// The pause switch holding the object's writes.
    pub hold: Option<WriteHold>,
    /// Tenant ids the spec's names resolved to.
    pub references: Vec<(String, String)>,
}

impl<R> Default for Outcome<R> {
    fn default() -> Self {
        Outcome {
            conflict_free: false,
            dependencies_ready: false,
            remote: None,
            unapplied: None,
            adopted: false,
            created: false,
            updated: false,
            create_resolved: false,
            refusal: None,
            hold: None,
            references: Vec::new(),
        }
    }
}

/// Makes the tenant match `plan`, recording progress in `outcome` as it goes.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
    place: &Place,
    desired: &K::Desired,
    plan: TenantObjectPlan<K::Remote>,
    found: Option<K::Remote>,
    stored: &mut StoredStatus<'_, K>,
    outcome: &mut Outcome<K::Remote>,
) -> Result<(), ReconcileError> {
    let mut current = found;
    let plan = match plan {
        TenantObjectPlan::Create(body) => {
            write_pending_create_marker(obj, stored).await?;
            let listed = fresh_list::<K>(ctx, place).await?;
            match find::<K>(&listed, None, obj.key()).cloned() {
                Some(existing) => {
                    outcome.adopted = true;
                    let plan = K::plan(desired, Some(&existing));
                    current = Some(existing);
                    plan
                }
                None => match K::create(place, &body).await {
                    Ok(created) => {
                        remember::<K>(ctx, place, obj, &created);
                        outcome.created = true;
                        current = Some(created);
                        TenantObjectPlan::Nothing
                    }
                    Err(e) => {
                        let not_created = matches!(
                            e.submission_outcome(),
                            SubmissionOutcome::NotSent | SubmissionOutcome::Rejected
                        );
                        let error = K::write_error(e);
                        record_refusal(obj, stored, place, operation::CREATE, &error, outcome);
                        outcome.create_resolved = not_created;
                        return Err(error);
                    }
                },
            }
        }
        plan => plan,
    };
    match plan {
        TenantObjectPlan::Update { body, changes } => {
            let Some(existing) = current.as_ref() else {
                return Err(ReconcileError::InvalidSpec(format!(
                    "internal: an update of a {} that was not found",
                    K::NOUN
                )));
            };
            match K::update(place, existing, &body, &changes).await {
                Ok(updated) => {
                    remember::<K>(ctx, place, obj, &updated);
                    outcome.updated = true;
                    current = Some(updated);
                }
                Err(e) => {
                    let error = K::write_error(e);
                    record_refusal(obj, stored, place, operation::UPDATE, &error, outcome);
                    outcome.create_resolved = true;
                    outcome.remote = current;
                    return Err(error);
                }
            }
        }
        TenantObjectPlan::Immutable(message) => {
            outcome.create_resolved = true;
            outcome.remote = current;
            return Err(ReconcileError::InvalidSpec(message));
        }
        TenantObjectPlan::Nothing | TenantObjectPlan::Create(_) => {}
    }
    outcome.create_resolved = true;
    outcome.remote = current;
    Ok(())
}

/// Puts a created or updated tenant object into the kind's shared list.
fn remember<K: ManagedKind>(ctx: &Context, place: &Place, obj: &K, remote: &K::Remote) {
    let key = obj.key().to_string();
    K::lists(ctx).upsert(&place.list_key(), remote.clone(), move |r| {
        K::remote_key(r) == key
    });
}

/// Records in `outcome` the refusal `error` is, if it is one.
fn record_refusal<K: ManagedKind>(
    obj: &K,
    stored: &StoredStatus<'_, K>,
    place: &Place,
    write: &'static str,
    error: &ReconcileError,
    outcome: &mut Outcome<K::Remote>,
) {
    let generation = obj.meta().generation;
    let resync = place.handle.resync;
    outcome.refusal = refusal::record(
        generation,
        stored.current().last_refusal.as_ref(),
        write,
        error,
        resync,
        now(),
    );
}

/// The create-pending marker, written before the create (with `Reconciling`, reason
/// `Creating`), guarded so that a stale reconcile cannot claim the create.
async fn write_pending_create_marker<K: ManagedKind>(
    obj: &K,
    stored: &mut StoredStatus<'_, K>,
) -> Result<(), ReconcileError> {
    let generation = obj.meta().generation;
    let mut marked = stored.current().clone();
    let since: Time = now();
    marked.pending_create = Some(PendingCreate {
        name: obj.key().to_string(),
        since,
    });
    marked.observed_generation = generation;
    let message = format!("creating {} {:?} on the tenant", K::NOUN, obj.key());
    let progress = Progress::Reconciling {
        reason: reason::CREATING,
        message: &message,
    };
    set_progress(&mut marked.conditions, generation, progress);
    stored.write_guarded(&marked).await?;
    Ok(())
}
