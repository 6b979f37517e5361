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

use futures::StreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};

use crate::api::{IdentityProfile, ProcessingRequest, Tenant};
use context::Context;
use error::{ReconcileError, Requeue};

/// How long an object whose error needs a user change waits before being looked at again
/// (Tenants and Secrets are not all watched, so a fix there is picked up by this).
const AFTER_CHANGE_RECHECK: std::time::Duration = std::time::Duration::from_secs(300);

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

/// Runs the Tenant, IdentityProfile and ProcessingRequest controllers until `shutdown` resolves.
pub async fn run(
    client: Client,
    namespace: Option<String>,
    instance: Option<String>,
    metrics: Arc<metrics::Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let (profiles, tenants): (Api<IdentityProfile>, Api<Tenant>) = match &namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let profile_controller = Controller::new(profiles, watcher::Config::default().any_semantic());
    let tenant_controller =
        Controller::new(tenants.clone(), watcher::Config::default().any_semantic());
    let ctx = Arc::new(
        Context::new(
            client.clone(),
            profile_controller.store(),
            instance,
            metrics,
        )
        .with_tenant_store(tenant_controller.store()),
    );
    let store = profile_controller.store();
    let shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));

    let profile_loop = profile_controller
        // A Tenant change (credential, URL, rate limit) re-reconciles its profiles.
        .watches(
            tenants.clone(),
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
        .graceful_shutdown_on(shutdown.clone())
        .run(profile::reconcile, error_policy, Arc::clone(&ctx))
        .for_each(|_| async {});
    let requests: Api<ProcessingRequest> = match &namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let processing_loop = Controller::new(requests, watcher::Config::default().any_semantic())
        .graceful_shutdown_on(shutdown.clone())
        .run(processing::reconcile, error_policy, Arc::clone(&ctx))
        .for_each(|_| async {});
    let tenant_loop = tenant_controller
        .graceful_shutdown_on(shutdown)
        .run(tenant::reconcile, error_policy, Arc::clone(&ctx))
        .for_each(|_| async {});
    futures::join!(profile_loop, tenant_loop, processing_loop);
}
