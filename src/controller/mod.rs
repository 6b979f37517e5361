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
//! - `IdentityAttribute`, `Transform`, `LifecycleState` in [`managed`] (one generic pipeline,
//!   per-kind plans and calls, a resync sweep per kind);
//! - shared: [`context`] (clients, tenant pool, Events, backoff), [`error`] (one error type,
//!   classified into a reason and a retry policy), [`status`] (condition and reason constants,
//!   the one status-write helper), [`tenant_pool`], [`profile_cache`], [`resync`] (the periodic
//!   drift sweep, one list per tenant), [`metrics`], [`watch_cache`] (what the watch caches
//!   keep of each object).

pub mod context;
pub mod error;
pub mod finalizers;
pub mod kstatus;
pub mod managed;
pub mod metrics;
pub mod pause;
pub mod processing;
pub mod profile;
pub mod profile_cache;
pub mod references;
pub mod refusal;
pub mod resync;
pub mod status;
pub mod tenant;
pub mod tenant_policy;
pub mod tenant_pool;
pub mod watch_cache;

use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use kube::runtime::controller::{self, Action, Controller};
use kube::{Client, Resource};

use crate::api::{ProcessingRequest, Tenant};
use crate::runtime::health::{HEARTBEAT_INTERVAL, HealthState};
use context::Context;
use error::{ReconcileError, Requeue};
use watch_cache::{
    reflected, reflected_names, reflected_profiles, reflected_secrets, strip_unread,
};

/// How long an object whose error needs a user change waits before being looked at again
/// (a fix in a Secret is not an event for the object; the resync sweep also retries objects
/// that are not Ready).
const AFTER_CHANGE_RECHECK: std::time::Duration = std::time::Duration::from_secs(300);

/// Most reconciles of one kind in flight at once. Without a bound, a start with thousands of
/// objects opens a Kubernetes request per object at the same moment (measured: 1.4 GiB RSS
/// and 504s from the API server with 10 000 + 10 000 objects); a steady reconcile makes no
/// Kubernetes or tenant call and finishes at once, so the bound delays nothing in steady
/// state. Large enough for a creation wave to gather many members (a waiting member holds a
/// slot).
pub const RECONCILE_CONCURRENCY: u16 = 128;

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
        ReconcileError::Waiting(what) | ReconcileError::WaitingForDependencies(what) => {
            tracing::debug!(%what, "waiting")
        }
        // Not a failure: a pause switch holds the write (the object shows `Suspended`).
        ReconcileError::WritesHeld(hold) => tracing::debug!(reason = hold.reason, "writes held"),
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
    /// How long a finished `ProcessingRequest` is remembered so a recreated copy does not run
    /// again (`--completed-run-retention`; zero: not remembered).
    pub completed_run_retention: std::time::Duration,
}

impl Settings {
    /// Settings for one namespace (or all) under `tenant_policy`, with the default ceilings.
    pub fn new(namespace: Option<String>, tenant_policy: tenant_policy::TenantPolicy) -> Self {
        Settings {
            namespace,
            instance: None,
            tenant_policy,
            max_identities_ceiling: processing::rules::DEFAULT_MAX_IDENTITIES_CEILING,
            completed_run_retention: processing::completed::DEFAULT_RETENTION,
        }
    }
}

/// Runs the Tenant, IdentityProfile and ProcessingRequest controllers and the resync sweep
/// ([`resync`]) until `shutdown` resolves (a graceful stop: in-flight reconciles finish;
/// dropping the future cancels them instead); every Tenant is checked against the settings'
/// policy (where credentials may be sent). Reports to `health` once every watch cache has
/// synced, and each loop's progress.
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
        completed_run_retention,
    } = settings;
    let shutdown = Box::pin(shutdown).shared();
    let (profile_cache, profile_events) = reflected_profiles(&client, &namespace);
    let profile_store = profile_cache.store.clone();
    let (tenant_store, tenant_events) = reflected::<Tenant>(&client, &namespace, strip_unread);
    let (processing_store, processing_events) =
        reflected_names::<ProcessingRequest>(&client, &namespace);
    let (secret_store, secret_events) = reflected_secrets(&client, &namespace);
    let mut identity_model = managed::run::IdentityModelWatches::new(&client, &namespace);
    let (sweep_trigger, swept) = futures::channel::mpsc::unbounded();
    let bounded = || controller::Config::default().concurrency(RECONCILE_CONCURRENCY);
    let profile_controller = Controller::for_stream(profile_events, profile_store.clone())
        .with_config(bounded())
        .reconcile_on(swept);
    // Profiles waiting for an IdentityAttribute or Transform wake when it changes.
    let waiting = profile_store.clone();
    let profile_controller =
        profile_controller.reconcile_on(identity_model.dependency_changes().flat_map(
            move |changed| {
                futures::stream::iter(profile::dependencies::dependants_of(&waiting, &changed))
            },
        ));
    let tenant_controller =
        Controller::for_stream(tenant_events, tenant_store.clone()).with_config(bounded());
    let processing_controller =
        Controller::for_stream(processing_events, processing_store.clone()).with_config(bounded());
    let stores = (
        profile_store.clone(),
        tenant_store.clone(),
        processing_store,
    );
    let synced = report_synced(
        futures::future::try_join3(
            stores.0.wait_until_ready(),
            stores.1.wait_until_ready(),
            stores.2.wait_until_ready(),
        ),
        &health,
    );
    let context = Context::new(client.clone(), profile_cache, instance, metrics);
    let mut context = identity_model
        .stores_into(context)
        .with_tenant_store(tenant_store)
        .with_secret_store(secret_store)
        .with_tenant_policy(policy)
        .with_max_identities_ceiling(max_identities_ceiling);
    context.processing.completed_run_retention = completed_run_retention;
    let ctx = Arc::new(context);
    let profile_results = profile_controller
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
    let tenant_results = tenant_controller
        .graceful_shutdown_on(shutdown.clone())
        .run(
            |obj, ctx| contained(tenant::reconcile(obj, ctx)),
            error_policy,
            Arc::clone(&ctx),
        );
    let secrets = secret_events
        .take_until(shutdown.clone())
        .for_each(|_| futures::future::ready(()));
    let identity_model = identity_model.run(Arc::clone(&ctx), shutdown.clone(), &health);
    let sweeps = resync::run_sweeps(Arc::clone(&ctx), sweep_trigger, shutdown);
    futures::join!(
        drain_with_heartbeat(profile_results, "IdentityProfile", &health),
        drain_with_heartbeat(tenant_results, "Tenant", &health),
        drain_with_heartbeat(processing_results, "ProcessingRequest", &health),
        synced,
        secrets,
        sweeps,
        identity_model,
    );
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
