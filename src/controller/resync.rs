//! The resync sweep: drift correction at ⌈N/250⌉ list calls per tenant per interval, whatever
//! the number of `IdentityProfile` objects, and without queueing a user's edit behind it.
//!
//! The sweep's pages are [`CallPriority::Background`] calls: when a reconcile's call (a user's
//! edit) and a page wait for the tenant's rate limiter together, the edit goes first.
//!
//! A successful `IdentityProfile` reconcile no longer requeues itself: it waits for a change
//! (`Action::await_change`). Instead one task per process walks the Tenants in the watch cache
//! and, for each Tenant that is due (every `resyncIntervalSeconds`, jittered ±10%, and at once
//! when the Tenant appears or its spec changes), refreshes the tenant's shared profile list
//! once ([`crate::controller::profile_cache::ProfileListCache::refresh`]) and compares every
//! `IdentityProfile` of that Tenant with it ([`needs_reconcile`], pure). Only objects that
//! need a reconcile are sent to the profile controller (its `reconcile_on` trigger), where
//! watch events (a user's edit) are handled as they come: a sweep never holds them up. A
//! steady tenant costs the one listing per interval and no write at all.
//!
//! Each sweep is recorded as metrics (`isc_operator_resync_*`, by tenant), not in the Tenant's
//! status, so a steady state makes no Kubernetes write either. The same walk prunes what was
//! kept for Tenants that no longer exist (their clients and profile lists).

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::channel::mpsc::UnboundedSender;
use futures::stream::FuturesUnordered;
use isc_client::CallPriority;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::identity_profile::ManagementPolicy;
use crate::api::{IdentityProfile, Tenant};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::pause::shown_hold_outdated;
use crate::controller::profile;
use crate::controller::profile_cache::TenantProfiles;
use crate::controller::references;
use crate::controller::status::{TRUE, condition, find_condition};
use crate::controller::tenant_pool::jittered;

/// How often the sweep task looks for Tenants that are due (not a tenant call).
const WALK_INTERVAL: Duration = Duration::from_secs(1);

/// Why the sweep sends an object to its reconciler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SweepReason {
    /// It has no status yet.
    NeverReconciled,
    /// Its status describes an older generation.
    GenerationLags,
    /// It is not `Ready` (its error's retry may be far off; the sweep retries with the list).
    NotReady,
    /// A create or a processing call was left unfinished (a marker is set).
    Unfinished,
    /// Its tenant profile is not in the list (deleted in the tenant, never created).
    Missing,
    /// Its tenant profile could not be decoded.
    Malformed,
    /// Its tenant profile differs from the spec (`managementPolicy: Manage`).
    Drifted,
    /// The plan shown in `status.plannedChange` would change (`managementPolicy: Observe`).
    ShownPlanChanged,
    /// What the status reports of the tenant profile (id, identity count, refresh flag) changed.
    TenantReportChanged,
    /// Its `Suspended` condition no longer matches the pause switches (the Tenant's
    /// `spec.suspend`, its own annotation); also for an object being deleted, whose delete
    /// call a lifted hold kept back. See [`crate::controller::pause::shown_hold_outdated`].
    HoldChanged,
}

/// Whether a reconcile of `obj` would change anything, judged against the tenant's `listed`
/// profiles, and why. Pure: no I/O, no clock. Objects being deleted are left to their
/// finalizer's reconcile and its retries.
pub fn needs_reconcile(obj: &IdentityProfile, listed: &TenantProfiles) -> Option<SweepReason> {
    if obj.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let Some(status) = &obj.status else {
        return Some(SweepReason::NeverReconciled);
    };
    if status.observed_generation != obj.metadata.generation {
        return Some(SweepReason::GenerationLags);
    }
    let ready =
        find_condition(&status.conditions, condition::READY).is_some_and(|c| c.status == TRUE);
    if !ready {
        return Some(SweepReason::NotReady);
    }
    if status.pending_create.is_some() || status.pending_processing.is_some() {
        return Some(SweepReason::Unfinished);
    }
    let found = match status.id.as_deref() {
        Some(id) => listed.by_id(id),
        None => listed.named(&obj.spec.name).into_iter().next(),
    };
    if found.is_none()
        && listed
            .malformed_matching(status.id.as_deref(), &obj.spec.name)
            .is_some()
    {
        return Some(SweepReason::Malformed);
    }
    // Names in the spec stand for the ids the last reconcile resolved them to (shown in
    // status); a reconcile resolves them again.
    let Ok(desired) = references::desired_profile(&obj.spec, &status.resolved_references) else {
        return Some(SweepReason::NotReady);
    };
    let Ok(valid) = desired.validated() else {
        // A Ready object whose spec no longer validates has a lagging generation; a spec
        // that never validated is not Ready. Either way its reconcile says why.
        return Some(SweepReason::NotReady);
    };
    let plan = valid.plan(found.map(|p| p.as_ref()));
    if obj.spec.management_policy == ManagementPolicy::Observe {
        if status.planned_change.as_deref() != Some(&profile::shown_plan(&plan)) {
            return Some(SweepReason::ShownPlanChanged);
        }
    } else if found.is_none() {
        return Some(SweepReason::Missing);
    } else if plan != profile::diff::ProfilePlan::Nothing {
        return Some(SweepReason::Drifted);
    }
    let found = found?;
    let refresh_shown = find_condition(&status.conditions, condition::REFRESH_REQUIRED)
        .is_some_and(|c| c.status == TRUE);
    let report_changed = status.id != found.id
        || status.identity_count != found.identity_count
        || refresh_shown != found.identity_refresh_required;
    report_changed.then_some(SweepReason::TenantReportChanged)
}

/// What one sweep of one Tenant found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Profiles in the tenant's list.
    pub listed: usize,
    /// `IdentityProfile` objects of this Tenant.
    pub objects: usize,
    /// The objects that need a reconcile, and why.
    pub due: Vec<(ObjectRef<IdentityProfile>, SweepReason)>,
}

/// Sweeps one Tenant: one fresh list (none when no object refers to the Tenant, whose held
/// list is then dropped), then the objects of that Tenant that need a reconcile. Sends
/// nothing: the caller enqueues `due`.
pub async fn sweep_tenant(ctx: &Context, tenant: &Tenant) -> Result<SweepOutcome, ReconcileError> {
    let namespace = tenant.namespace().unwrap_or_default();
    let name = tenant.name_any();
    let objects: Vec<Arc<IdentityProfile>> = ctx
        .profiles_store()
        .state()
        .into_iter()
        .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|p| p.spec.tenant_ref.name == name)
        .collect();
    if objects.is_empty() {
        // Nothing to compare: the tenant's list is not kept in memory for no object.
        if let Some(handle) = ctx.tenants.cached(&namespace, &name) {
            handle.profiles.forget();
        }
        return Ok(SweepOutcome::default());
    }
    let (_, handle) = ctx.tenants.resolve(&ctx.client, &namespace, &name).await?;
    // Background: a user's edit (its reconcile's calls) takes the limiter's next slot before
    // the sweep's next page; the listing still gets every fifth slot at least.
    let listed = CallPriority::Background
        .scope(handle.profiles.refresh(&handle.client))
        .await?;
    let due = objects
        .iter()
        .filter_map(|obj| {
            needs_reconcile(obj, &listed)
                .or_else(|| shown_hold_outdated(obj, tenant).then_some(SweepReason::HoldChanged))
                .map(|why| (ObjectRef::from_obj(obj.as_ref()), why))
        })
        .collect();
    Ok(SweepOutcome {
        listed: listed.len(),
        objects: objects.len(),
        due,
    })
}

/// When a Tenant is swept next, and what it looked like then.
struct TenantSchedule {
    /// uid and generation: a new Tenant or spec is swept at once.
    seen: (Option<String>, Option<i64>),
    due: Instant,
    running: bool,
    /// Due because the Tenant appeared or its spec changed (a pause switch, say): swept at
    /// once, never held back by creates.
    changed: bool,
}

/// Whether a Tenant whose sweep came `due` is swept `now`. A sweep that comes due while the
/// tenant's creation waves run waits for them, at most one `resync` interval: the waves' own
/// fresh lists already read the tenant, so the sweep's pages would only slow the creates
/// (both share the tenant's rate limit), and the objects being created are reconciled anyway.
/// Pure, so the bound is tested without a clock.
pub fn sweep_now(due: Instant, now: Instant, creates_in_progress: bool, resync: Duration) -> bool {
    due <= now && (!creates_in_progress || now >= due + resync)
}

type TenantKey = (String, String);

/// Runs the sweeps of every Tenant until `shutdown` resolves, sending the objects that need a
/// reconcile to `trigger` (the profile controller's `reconcile_on` stream). Sweeps of different
/// Tenants run concurrently, each Tenant's one at a time.
pub async fn run_sweeps(
    ctx: Arc<Context>,
    trigger: UnboundedSender<ObjectRef<IdentityProfile>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let stores_ready = async {
        let _ = ctx.tenants_store().wait_until_ready().await;
        let _ = ctx.profiles_store().wait_until_ready().await;
    };
    tokio::select! {
        _ = stores_ready => {}
        _ = &mut shutdown => return,
    }
    let mut schedule: HashMap<TenantKey, TenantSchedule> = HashMap::new();
    let mut running = FuturesUnordered::new();
    let mut walk = tokio::time::interval(WALK_INTERVAL);
    walk.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut first_walk = true;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            Some((key, resync)) = running.next(), if !running.is_empty() => {
                if let Some(entry) = schedule.get_mut(&key) {
                    entry.running = false;
                    // A Tenant change seen while this sweep ran is swept again at once.
                    if !entry.changed {
                        entry.due = Instant::now() + jittered(resync);
                    }
                }
            }
            _ = walk.tick() => {
                for tenant in due_tenants(&ctx, &mut schedule, first_walk) {
                    running.push(sweep_and_enqueue(Arc::clone(&ctx), tenant, trigger.clone()));
                }
                first_walk = false;
            }
        }
    }
}

/// The Tenants to sweep now (marked running); forgets the schedule and the tenant clients of
/// Tenants that are gone. On the first walk (the controller reconciles every object on start
/// anyway) Tenants are first swept one interval later; a Tenant that appears later, or whose
/// uid or generation changes, is swept at once.
fn due_tenants(
    ctx: &Context,
    schedule: &mut HashMap<TenantKey, TenantSchedule>,
    first_walk: bool,
) -> Vec<Arc<Tenant>> {
    let now = Instant::now();
    let tenants = ctx.tenants_store().state();
    let mut due = Vec::new();
    for tenant in &tenants {
        let (key_namespace, key_name) = (tenant.namespace().unwrap_or_default(), tenant.name_any());
        let key = (key_namespace.clone(), key_name.clone());
        let seen = (tenant.uid(), tenant.metadata.generation);
        let resync = resync_interval(tenant);
        let entry = schedule.entry(key).or_insert_with(|| TenantSchedule {
            seen: seen.clone(),
            due: if first_walk {
                now + jittered(resync)
            } else {
                now
            },
            running: false,
            changed: !first_walk,
        });
        if entry.seen != seen {
            entry.seen = seen;
            entry.due = now;
            entry.changed = true;
        }
        let creates = || {
            ctx.tenants
                .cached(&key_namespace, &key_name)
                .is_some_and(|handle| handle.waves.in_progress())
        };
        let due_now = match entry.changed {
            true => entry.due <= now,
            false => sweep_now(entry.due, now, creates(), resync),
        };
        if !entry.running && due_now {
            entry.running = true;
            entry.changed = false;
            due.push(Arc::clone(tenant));
        }
    }
    schedule.retain(|(namespace, name), entry| entry.running || present(&tenants, namespace, name));
    forget_deleted_tenants(ctx);
    due
}

fn present(tenants: &[Arc<Tenant>], namespace: &str, name: &str) -> bool {
    tenants
        .iter()
        .any(|t| t.name_any() == name && t.namespace().as_deref() == Some(namespace))
}

/// Frees the tenant clients and profile lists of Tenants no longer in the watch cache.
pub fn forget_deleted_tenants(ctx: &Context) {
    let tenants = ctx.tenants_store().state();
    ctx.tenants
        .retain(|namespace, name| present(&tenants, namespace, name));
}

/// The Tenant's resync interval (at least one second).
fn resync_interval(tenant: &Tenant) -> Duration {
    Duration::from_secs(tenant.spec.resync_interval_seconds.max(1).into())
}

/// Sweeps one Tenant, enqueues what needs a reconcile and records the sweep in the metrics;
/// returns the Tenant's key and interval for the next schedule.
async fn sweep_and_enqueue(
    ctx: Arc<Context>,
    tenant: Arc<Tenant>,
    trigger: UnboundedSender<ObjectRef<IdentityProfile>>,
) -> (TenantKey, Duration) {
    let namespace = tenant.namespace().unwrap_or_default();
    let name = tenant.name_any();
    let label = format!("{namespace}/{name}");
    match sweep_tenant(&ctx, &tenant).await {
        Ok(outcome) => {
            for (obj, why) in &outcome.due {
                tracing::debug!(object = %obj, reason = ?why, "resync: reconcile");
                let _ = trigger.unbounded_send(obj.clone());
            }
            if !outcome.due.is_empty() {
                tracing::info!(tenant = %label, objects = outcome.objects, due = outcome.due.len(), "resync: objects to reconcile");
            }
            ctx.metrics
                .resync_swept(&label, outcome.listed, outcome.due.len());
        }
        Err(error) => {
            tracing::warn!(tenant = %label, %error, "resync: the tenant could not be listed");
            ctx.metrics.resync_failed(&label);
        }
    }
    ((namespace, name), resync_interval(&tenant))
}
