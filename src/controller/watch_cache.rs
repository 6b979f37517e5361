//! The watch caches (reflector stores) the controllers read, and what they keep of each object.
//!
//! Every cached object costs memory for as long as it exists, so the caches keep only what
//! the operator reads: [`strip_unread`] drops `managedFields` and the `kubectl apply` copy of
//! every object, and of each `ProcessingRequest` only its name is cached ([`reflected_names`]):
//! their reconciler reads each request fresh, and a cluster may hold thousands of finished ones.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};

use crate::api::IdentityProfile;
use crate::controller::profile::claims::{ProfileCache, profile_cache};
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

/// Keeps of an object's metadata only what names it (namespace and name): all a controller
/// needs to call a reconciler that reads the object fresh (its backoff and its queue key it
/// by kind, namespace and name too).
pub fn keep_name_only<K>(obj: &mut PartialObjectMeta<K>) {
    let meta = std::mem::take(&mut obj.metadata);
    obj.metadata = ObjectMeta {
        name: meta.name,
        namespace: meta.namespace,
        ..ObjectMeta::default()
    };
    obj.types = None;
}

/// The watch events of `K` (any version the API server has), each object passed through
/// `keep` first: what every cache below is filled from.
fn watch_events<K>(
    client: &Client,
    namespace: &Option<String>,
    keep: fn(&mut K),
) -> impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static,
{
    watcher(
        watched::<K>(client, namespace),
        watcher::Config::default().any_semantic(),
    )
    .modify(keep)
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
    let events = watch_events(client, namespace, keep)
        .reflect(writer)
        .applied_objects();
    (store, events)
}

/// The `IdentityProfile` watch cache with its claim index ([`ProfileCache`]; each object
/// passed through [`strip_unread`] first), and the stream of applied objects that feeds the
/// profile controller (which also keeps the cache current).
pub fn reflected_profiles(
    client: &Client,
    namespace: &Option<String>,
) -> (
    ProfileCache,
    impl futures::Stream<Item = Result<IdentityProfile, watcher::Error>> + Send + 'static,
) {
    let (cache, mut writer) = profile_cache();
    let events = watch_events(client, namespace, strip_unread)
        .inspect_ok(move |event| writer.apply_watcher_event(event))
        .applied_objects();
    (cache, events)
}

/// A watch cache of the names of `K` only ([`keep_name_only`]), and the stream of its applied
/// objects that feeds a controller. For a kind whose reconciler reads each object fresh from
/// the API server and only needs to know which object to reconcile: the API server sends
/// metadata only (every change still arrives, as a new `resourceVersion`), and the cache holds
/// no spec, status, uid or labels (measured per `ProcessingRequest`, with the cache's key: whole
/// 4.2 KB, its metadata 1.0 KB, its name 0.6 KB).
pub fn reflected_names<K>(
    client: &Client,
    namespace: &Option<String>,
) -> (
    Store<PartialObjectMeta<K>>,
    impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static,
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
    // An `Api` of `PartialObjectMeta` makes metadata-only requests.
    let events = watch_events::<PartialObjectMeta<K>>(client, namespace, keep_name_only)
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
