//! The reconcilers and the loop that runs them (`isc-operator run`).
//!
//! Every reconcile flows one way (see `DESIGN.md`):
//!
//! ```text
//! dereference (Tenant, Secret, tenant state: reads only, from shared caches)
//!   ─▶ plan    (pure: desired spec × observed tenant object)
//!   ─▶ apply   (tenant calls; skipped under Observe; write-ahead marker first)
//!   ─▶ status  (computed from what was applied; written only when it changed)
//! ```
//!
//! - `IdentityProfile` in [`profile`], one file per step;
//! - `ProcessingRequest` in [`processing`];
//! - `Tenant` in [`tenant`] (the credential works);
//! - shared: [`context`] (clients, tenant pool, Events, backoff), [`error`] (one error type,
//!   classified into a reason and a retry policy), [`status`] (condition and reason constants,
//!   the one status-write helper), [`tenant_pool`], [`metrics`].

pub mod context;
pub mod error;
pub mod metrics;
pub mod processing;
pub mod profile;
pub mod profile_cache;
pub mod status;
pub mod tenant;
pub mod tenant_policy;
pub mod tenant_pool;

use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};

use crate::api::{IdentityProfile, ProcessingRequest, Tenant};
use crate::runtime::health::{HEARTBEAT_INTERVAL, HealthState};
use context::Context;
use error::{ReconcileError, Requeue};

/// How long an object whose error needs a user change waits before being looked at again
/// (Tenants and Secrets are not all watched, so a fix there is picked up by this).
const AFTER_CHANGE_RECHECK: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs one reconcile so that a panic in it (a bug) becomes [`ReconcileError::Panicked`] for
/// that object instead of unwinding through the controller loop and the process: every other
/// object, and every other tenant, carries on.
pub async fn contained<F>(reconcile: F) -> Result<Action, ReconcileError>
where
    F: std::future::Future<Output = Result<Action, ReconcileError>>,
{
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(reconcile).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %text, "a reconcile panicked; the object is retried with backoff");
            Err(ReconcileError::Panicked)
        }
    }
}

/// How long the controller waits after a failed reconcile: per the error's [`Requeue`]
/// (a user change, the tenant's `Retry-After`, or per-object exponential backoff).
pub fn error_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<K>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    // Results are logged here once; the controller streams are drained silently.
    match error {
        ReconcileError::Waiting(what) => tracing::debug!(%what, "waiting"),
        error => {
            tracing::warn!(%error, reason = error.reason(), "reconcile failed");
            ctx.metrics.reconcile_error(&K::kind(&()), error.reason());
        }
    }
    match error.requeue() {
        Requeue::AfterChange => Action::requeue(AFTER_CHANGE_RECHECK),
        Requeue::After(delay) => Action::requeue(delay.max(std::time::Duration::from_millis(100))),
        Requeue::Backoff => Action::requeue(ctx.next_backoff(obj.as_ref())),
    }
}

/// What the controllers of one process are told by their operator (flags, environment).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Watch only this namespace (`None`: all namespaces).
    pub namespace: Option<String>,
    /// This replica's name in Events.
    pub instance: Option<String>,
    /// Where Tenants may send credentials (`--allowed-tenant-hosts`, `--allow-insecure-http`).
    pub tenant_policy: tenant_policy::TenantPolicy,
    /// The most identities any one `ProcessingRequest` may raise its own limit to
    /// (`--max-identities-ceiling`): an admin's bound on deliberate large runs.
    pub max_identities_ceiling: usize,
}

impl Settings {
    /// Settings for one namespace (or all) under `tenant_policy`, with the default ceilings.
    pub fn new(namespace: Option<String>, tenant_policy: tenant_policy::TenantPolicy) -> Self {
        Settings {
            namespace,
            instance: None,
            tenant_policy,
            max_identities_ceiling: processing::rules::DEFAULT_MAX_IDENTITIES_CEILING,
        }
    }
}

/// Runs the Tenant, IdentityProfile and ProcessingRequest controllers until `shutdown` resolves
/// (a graceful stop: in-flight reconciles finish; dropping the future cancels them instead);
/// every Tenant is checked against the settings' policy (where credentials may be sent).
/// Reports to `health` once every watch cache has synced, and each loop's progress.
pub async fn run(
    client: Client,
    settings: Settings,
    metrics: Arc<metrics::Metrics>,
    health: Arc<HealthState>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let Settings {
        namespace,
        instance,
        tenant_policy: policy,
        max_identities_ceiling,
    } = settings;
    let tenants: Api<Tenant> = watched(&client, &namespace);
    let profile_controller = Controller::new(
        watched::<IdentityProfile>(&client, &namespace),
        watcher::Config::default().any_semantic(),
    );
    let tenant_controller =
        Controller::new(tenants.clone(), watcher::Config::default().any_semantic());
    let processing_controller = Controller::new(
        watched::<ProcessingRequest>(&client, &namespace),
        watcher::Config::default().any_semantic(),
    );
    let stores = (
        profile_controller.store(),
        tenant_controller.store(),
        processing_controller.store(),
    );
    let synced = report_synced(
        futures::future::try_join3(
            stores.0.wait_until_ready(),
            stores.1.wait_until_ready(),
            stores.2.wait_until_ready(),
        ),
        &health,
    );
    let ctx = Arc::new(
        Context::new(
            client.clone(),
            profile_controller.store(),
            instance,
            metrics,
        )
        .with_tenant_store(tenant_controller.store())
        .with_tenant_policy(policy)
        .with_max_identities_ceiling(max_identities_ceiling),
    );
    let shutdown = Box::pin(shutdown).shared();
    let profile_results = with_tenant_trigger(profile_controller, tenants)
        .graceful_shutdown_on(shutdown.clone())
        .run(
            |obj, ctx| contained(profile::reconcile(obj, ctx)),
            error_policy,
            Arc::clone(&ctx),
        );
    let processing_results = processing_controller
        .graceful_shutdown_on(shutdown.clone())
        .run(
            |obj, ctx| contained(processing::reconcile(obj, ctx)),
            error_policy,
            Arc::clone(&ctx),
        );
    let tenant_results = tenant_controller.graceful_shutdown_on(shutdown).run(
        |obj, ctx| contained(tenant::reconcile(obj, ctx)),
        error_policy,
        Arc::clone(&ctx),
    );
    futures::join!(
        drain_with_heartbeat(profile_results, "IdentityProfile", &health),
        drain_with_heartbeat(tenant_results, "Tenant", &health),
        drain_with_heartbeat(processing_results, "ProcessingRequest", &health),
        synced,
    );
}

/// The objects of kind `K` in `namespace`, or in all namespaces.
fn watched<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The profile controller, re-reconciling a Tenant's profiles when that Tenant changes
/// (credential, URL, rate limit).
fn with_tenant_trigger(
    profiles: Controller<IdentityProfile>,
    tenants: Api<Tenant>,
) -> Controller<IdentityProfile> {
    let store = profiles.store();
    profiles.watches(
        tenants,
        watcher::Config::default(),
        move |tenant: Tenant| {
            let ns = tenant.namespace();
            let name = tenant.name_any();
            store
                .state()
                .into_iter()
                .filter(|p| p.namespace() == ns && p.spec.tenant_ref.name == name)
                .map(|p| ObjectRef::from_obj(p.as_ref()))
                .collect::<Vec<_>>()
        },
    )
}

/// Marks `health` synced once every store is ready (never, if a controller goes away first).
async fn report_synced<T, E>(
    stores_ready: impl std::future::Future<Output = Result<T, E>>,
    health: &HealthState,
) {
    if stores_ready.await.is_ok() {
        tracing::info!("watch caches synced");
        health.mark_synced();
    }
}

/// Drains a controller's results (logged by [`error_policy`]), beating `health` for `name` on
/// every result and every [`HEARTBEAT_INTERVAL`]: the tick is polled by the same task as the
/// controller, so it stops when that task is blocked or the controller's stream has ended.
async fn drain_with_heartbeat<S: futures::Stream>(
    results: S,
    name: &'static str,
    health: &HealthState,
) {
    let mut results = std::pin::pin!(results);
    let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            result = results.next() => match result {
                Some(_) => health.beat(name),
                None => {
                    tracing::info!(controller = name, "controller stopped");
                    return;
                }
            },
            _ = tick.tick() => health.beat(name),
        }
    }
}

#[cfg(test)]
mod panic_tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_reconcile_is_an_error_for_its_object_only() {
        let panicked = contained(async { panic!("boom") }).await;
        assert!(matches!(panicked, Err(ReconcileError::Panicked)));
        assert_eq!(
            ReconcileError::Panicked.requeue(),
            error::Requeue::Backoff,
            "retried with backoff, not in a tight loop"
        );
        let fine = contained(async { Ok(Action::await_change()) }).await;
        assert!(fine.is_ok());
    }
}
