//! The watch caches (reflector stores) the controllers read, and what they keep of each object.
//!
//! Every cached object costs memory for as long as it exists, so the caches keep only what
//! the operator reads: [`strip_unread`] drops `managedFields` and the `kubectl apply` copy of
//! every object, and [`compact_finished_request`] keeps of a finished `ProcessingRequest` only
//! what identifies it and its outcome (a cluster may hold thousands of finished requests).

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};

use crate::api::{ProcessingRequest, ProcessingRequestStatus};
use crate::controller::tenant_policy;

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

/// The annotation `kubectl apply` keeps a copy of the whole object in; never read.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what the operator never reads from a watched object before it is cached: the
/// `managedFields` and the `kubectl apply` copy of the object (together often larger than the
/// object itself).
pub fn strip_unread<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// [`strip_unread`], and of a finished `ProcessingRequest` only its metadata, its spec's
/// scalars (tenant, action, TTL, flags) and its phase, completion time and observed generation.
///
/// The request reconciler acts on a fresh read of the object, never on the cached copy (which
/// only names the object to reconcile), and a finished request is only waited on for its TTL:
/// its selector, its submissions and its conditions are read from the API server when needed.
/// A request still running is cached whole.
pub fn compact_finished_request(obj: &mut ProcessingRequest) {
    strip_unread(obj);
    let Some(status) = obj.status.as_mut() else {
        return;
    };
    if !status.phase.is_some_and(|phase| phase.is_finished()) {
        return;
    }
    *status = ProcessingRequestStatus {
        phase: status.phase,
        completion_time: status.completion_time.take(),
        observed_generation: status.observed_generation,
        ..Default::default()
    };
    let spec = &mut obj.spec;
    spec.identities = None;
    spec.profile = None;
    spec.refresh_args = None;
}

/// A watch cache of `K` (each object passed through `keep` first) and the stream of its
/// applied objects that feeds a controller (which also keeps the cache current).
pub fn reflected<K>(
    client: &Client,
    namespace: &Option<String>,
    keep: fn(&mut K),
) -> (
    Store<K>,
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let events = watcher(
        watched::<K>(client, namespace),
        watcher::Config::default().any_semantic(),
    )
    .modify(keep)
    .reflect(writer)
    .applied_objects();
    (store, events)
}

/// A watch cache of the credential Secrets (only those labelled for the operator), and the
/// stream that keeps it current (retried with backoff; a failing watch only means GETs).
pub fn reflected_secrets(
    client: &Client,
    namespace: &Option<String>,
) -> (
    Store<Secret>,
    impl futures::Stream<Item = ()> + Send + 'static,
) {
    let (store, writer) = reflector::store();
    let selector = format!("{}=true", tenant_policy::CREDENTIALS_LABEL);
    let events = watcher(
        watched::<Secret>(client, namespace),
        watcher::Config::default().labels(&selector).any_semantic(),
    )
    .modify(strip_unread)
    .default_backoff()
    .reflect(writer)
    .map(|event| {
        if let Err(error) = event {
            tracing::warn!(%error, "credential Secret watch failed; Secrets are read with GETs meanwhile");
        }
    });
    (store, events)
}

#[cfg(test)]
mod tests;
