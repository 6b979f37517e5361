//! The resync sweep of the identity-model kinds: per kind, per Tenant that is due (every
//! `resyncIntervalSeconds`, jittered, and at once when the Tenant appears or changes), one
//! fresh list per scope (the Tenant, or each managed profile for lifecycle states), compared
//! with every object of the kind ([`needs_reconcile`]); only the objects that need a reconcile
//! are sent to the kind's controller (its `reconcile_on` trigger). A steady tenant costs the
//! lists and no write. The lists are [`CallPriority::Background`] calls, like the profile
//! sweep's pages.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::mpsc::UnboundedSender;
use isc_client::CallPriority;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::Tenant;
use crate::api::managed::ManagementPolicy;
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::pause::{shown_hold, writes_held};
use crate::controller::resync::SweepReason;
use crate::controller::status::{TRUE, condition, find_condition};
use crate::controller::tenant_pool::jittered;

use super::{ManagedKind, Place, find, shown_plan};

/// A Tenant by `(namespace, name)`.
type TenantKey = (String, String);
/// A Tenant's uid and generation: a new Tenant or spec is swept at once.
type TenantSeen = (Option<String>, Option<i64>);

/// How often the sweep looks for Tenants that are due (not a tenant call).
const WALK_INTERVAL: Duration = Duration::from_secs(1);

/// What needs no tenant list: an object whose status is behind, not Ready or unfinished.
/// `Some(None)` for an object being deleted: [`sweep_tenant`] reconciles it only when a pause
/// switch moved (its finalizer's reconcile and retries do the rest).
pub fn needs_reconcile_without_list<K: ManagedKind>(obj: &K) -> Option<Option<SweepReason>> {
    if obj.meta().deletion_timestamp.is_some() {
        return Some(None);
    }
    let Some(status) = obj.status() else {
        return Some(Some(SweepReason::NeverReconciled));
    };
    if status.observed_generation != obj.meta().generation {
        return Some(Some(SweepReason::GenerationLags));
    }
    let ready =
        find_condition(&status.conditions, condition::READY).is_some_and(|c| c.status == TRUE);
    if !ready {
        return Some(Some(SweepReason::NotReady));
    }
    if status.pending_create.is_some() {
        return Some(Some(SweepReason::Unfinished));
    }
    None
}

/// Whether a reconcile of `obj` would change anything, judged against `listed` (its scope's
/// fresh list) and the pause switches of `place`'s Tenant, and why.
pub async fn needs_reconcile<K: ManagedKind>(
    obj: &K,
    ctx: &Context,
    place: &Place,
    listed: &[K::Remote],
) -> Option<SweepReason> {
    if let Some(decided) = needs_reconcile_without_list(obj) {
        return decided;
    }
    let status = obj.status()?;
    if hold_outdated(obj, &place.tenant) {
        return Some(SweepReason::HoldChanged);
    }
    let hold = writes_held(obj, Some(&place.tenant));
    let Ok(desired) = obj.desired(ctx, place).await else {
        return Some(SweepReason::NotReady);
    };
    let found = find::<K>(listed, status.id.as_deref(), obj.key());
    let plan = K::plan(&desired, found);
    if obj.management_policy() == ManagementPolicy::Observe || hold.is_some() {
        if status.planned_change.as_ref() != Some(&shown_plan(&plan)) {
            return Some(SweepReason::ShownPlanChanged);
        }
    } else if found.is_none() {
        return Some(SweepReason::Missing);
    } else if !plan.is_nothing() {
        return Some(SweepReason::Drifted);
    }
    let found_id = found.and_then(|r| K::remote_id(r));
    (found.is_some() && found_id != status.id.as_deref())
        .then_some(SweepReason::TenantReportChanged)
}

/// Whether the object's status shows another hold than the pause switches in force with
/// `tenant` (objects never reconciled are left to their own reconcile).
fn hold_outdated<K: ManagedKind>(obj: &K, tenant: &Tenant) -> bool {
    let Some(status) = obj.status() else {
        return false;
    };
    let in_force = writes_held(obj, Some(tenant));
    shown_hold(&status.conditions) != in_force.as_ref().map(|h| h.reason)
}

/// Sweeps the objects of kind `K` of one Tenant: returns the ones that need a reconcile.
pub async fn sweep_tenant<K: ManagedKind>(
    ctx: &Context,
    tenant: &Arc<Tenant>,
) -> Result<Vec<(ObjectRef<K>, SweepReason)>, ReconcileError> {
    let namespace = tenant.namespace().unwrap_or_default();
    let name = tenant.name_any();
    let objects: Vec<Arc<K>> = K::store(ctx)
        .state()
        .into_iter()
        .filter(|o| o.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|o| o.tenant_name() == name)
        .collect();
    let mut due = Vec::new();
    // Objects that need no list are decided first; the rest are grouped by their scope.
    let mut scopes: BTreeMap<String, (Option<super::Parent>, Vec<Arc<K>>)> = BTreeMap::new();
    for obj in objects {
        match needs_reconcile_without_list(obj.as_ref()) {
            Some(Some(why)) => due.push((ObjectRef::from_obj(obj.as_ref()), why)),
            // Being deleted: reconciled when a pause switch moved (a held delete goes on once
            // the Tenant's suspend is lifted).
            Some(None) => {
                if hold_outdated(obj.as_ref(), tenant) {
                    due.push((ObjectRef::from_obj(obj.as_ref()), SweepReason::HoldChanged));
                }
            }
            None => match obj.parent(ctx) {
                Ok(parent) => {
                    let key = parent.as_ref().map(|p| p.id.clone()).unwrap_or_default();
                    scopes
                        .entry(key)
                        .or_insert((parent, Vec::new()))
                        .1
                        .push(obj);
                }
                // Its parent went away meanwhile: its reconcile says so.
                Err(_) => due.push((ObjectRef::from_obj(obj.as_ref()), SweepReason::NotReady)),
            },
        }
    }
    if scopes.is_empty() {
        return Ok(due);
    }
    let (tenant, handle) = ctx.tenants.resolve(&ctx.client, &namespace, &name).await?;
    for (_, (parent, members)) in scopes {
        let place = Place {
            namespace: namespace.clone(),
            tenant: Arc::clone(&tenant),
            handle: Arc::clone(&handle),
            parent,
        };
        let list_key = place.list_key();
        let refreshed = K::lists(ctx).refresh(&list_key, || K::list(&place));
        let listed = match CallPriority::Background.scope(refreshed).await {
            Ok(listed) => listed,
            Err(error) => {
                tracing::warn!(%error, kind = %K::kind(&()), "resync: a list failed; its objects are reconciled");
                for obj in &members {
                    due.push((ObjectRef::from_obj(obj.as_ref()), SweepReason::Missing));
                }
                continue;
            }
        };
        for obj in &members {
            if let Some(why) = needs_reconcile(obj.as_ref(), ctx, &place, &listed).await {
                due.push((ObjectRef::from_obj(obj.as_ref()), why));
            }
        }
    }
    Ok(due)
}

/// Runs the sweeps of kind `K` for every Tenant until `shutdown` resolves, sending the objects
/// that need a reconcile to `trigger`. On the first walk (the controller reconciles every
/// object on start anyway) Tenants are first swept one interval later.
pub async fn run_sweeps<K: ManagedKind>(
    ctx: Arc<Context>,
    trigger: UnboundedSender<ObjectRef<K>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let stores_ready = async {
        let _ = ctx.tenants_store().wait_until_ready().await;
        let _ = K::store(&ctx).wait_until_ready().await;
    };
    tokio::select! {
        _ = stores_ready => {}
        _ = &mut shutdown => return,
    }
    let mut schedule: HashMap<TenantKey, (TenantSeen, Instant)> = HashMap::new();
    let mut walk = tokio::time::interval(WALK_INTERVAL);
    walk.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut first_walk = true;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = walk.tick() => {}
        }
        let now = Instant::now();
        let tenants = ctx.tenants_store().state();
        let present = |ns: &String, name: &String| {
            tenants
                .iter()
                .any(|t| &t.name_any() == name && t.namespace().as_ref() == Some(ns))
        };
        // The lists of Tenants that are gone are freed.
        K::lists(&ctx).retain(|(ns, name, _)| present(ns, name));
        schedule.retain(|(ns, name), _| present(ns, name));
        for tenant in tenants {
            let key = (tenant.namespace().unwrap_or_default(), tenant.name_any());
            let seen = (tenant.uid(), tenant.metadata.generation);
            let resync = Duration::from_secs(tenant.spec.resync_interval_seconds.max(1).into());
            let first_due = if first_walk {
                now + jittered(resync)
            } else {
                now
            };
            let entry = schedule.entry(key).or_insert((seen.clone(), first_due));
            if entry.0 != seen {
                *entry = (seen, now);
            }
            if entry.1 > now {
                continue;
            }
            entry.1 = now + jittered(resync);
            let sweep = sweep_tenant::<K>(&ctx, &tenant);
            let result = tokio::select! {
                _ = &mut shutdown => return,
                result = sweep => result,
            };
            match result {
                Ok(due) => {
                    for (obj, why) in due {
                        tracing::debug!(object = %obj, reason = ?why, "resync: reconcile");
                        let _ = trigger.unbounded_send(obj);
                    }
                }
                Err(error) => {
                    tracing::warn!(tenant = %tenant.name_any(), %error, kind = %K::kind(&()), "resync: the tenant could not be listed");
                }
            }
        }
        first_walk = false;
    }
}
