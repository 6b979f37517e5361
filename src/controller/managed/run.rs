//! Running the identity-model controllers in `isc-operator run`: a watch cache per kind (also
//! read by the profile controller, through the context), a controller per kind fed by its
//! watch and by its resync sweep ([`super::sweep`]).

use std::sync::Arc;

use futures::channel::mpsc::UnboundedSender;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use kube::Client;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;

use crate::api::{IdentityAttribute, LifecycleState, Transform};
use crate::controller::context::Context;
use crate::controller::profile::dependencies::DependencyChange;
use crate::controller::watch_cache::{reflected, strip_unread};
use crate::controller::{RECONCILE_CONCURRENCY, contained, drain_with_heartbeat, error_policy};
use crate::runtime::health::HealthState;

use super::{ManagedKind, reconcile, sweep};

/// One kind's watch cache and the stream of its watch (which keeps the cache current once a
/// controller runs on it).
pub struct Watched<K: ManagedKind> {
    /// The watch cache.
    pub store: Store<K>,
    events: BoxStream<'static, Result<K, watcher::Error>>,
}

fn watched<K: ManagedKind>(client: &Client, namespace: &Option<String>) -> Watched<K> {
    let (store, events) = reflected::<K>(client, namespace, strip_unread);
    Watched {
        store,
        events: events.boxed(),
    }
}

impl<K: ManagedKind> Watched<K> {
    /// Sends `change(object)` for every object the watch yields, before the controller sees it.
    fn tee(
        &mut self,
        change: impl Fn(&K) -> DependencyChange + Send + 'static,
        sender: UnboundedSender<DependencyChange>,
    ) {
        let events = std::mem::replace(&mut self.events, futures::stream::empty().boxed());
        self.events = events
            .inspect(move |event| {
                if let Ok(object) = event {
                    // The receiver lives as long as the profile controller; a send after it
                    // stopped has nobody to wake.
                    let _ = sender.unbounded_send(change(object));
                }
            })
            .boxed();
    }
}

/// The watches of the three kinds.
pub struct IdentityModelWatches {
    /// `IdentityAttribute` objects.
    pub attributes: Watched<IdentityAttribute>,
    /// `Transform` objects.
    pub transforms: Watched<Transform>,
    /// `LifecycleState` objects.
    pub lifecycle_states: Watched<LifecycleState>,
}

impl IdentityModelWatches {
    /// Watches of the three kinds in `namespace` (or all namespaces).
    pub fn new(client: &Client, namespace: &Option<String>) -> Self {
        IdentityModelWatches {
            attributes: watched(client, namespace),
            transforms: watched(client, namespace),
            lifecycle_states: watched(client, namespace),
        }
    }

    /// Every change the attribute and transform watches see, as they see it (the controllers of
    /// the two kinds still get every event): what wakes profiles waiting for them, without a
    /// watch of their own.
    pub fn dependency_changes(&mut self) -> impl Stream<Item = DependencyChange> + Send + 'static {
        let (sender, changes) = futures::channel::mpsc::unbounded();
        let to_attributes = sender.clone();
        self.attributes.tee(
            move |a| DependencyChange::Attribute(a.clone()),
            to_attributes,
        );
        self.transforms
            .tee(move |t| DependencyChange::Transform(t.clone()), sender);
        changes
    }

    /// The context with the three watch caches.
    pub fn stores_into(&self, ctx: Context) -> Context {
        ctx.with_identity_model_stores(
            self.attributes.store.clone(),
            self.transforms.store.clone(),
            self.lifecycle_states.store.clone(),
        )
    }

    /// Runs the three controllers and their sweeps until `shutdown` resolves.
    pub async fn run<S>(self, ctx: Arc<Context>, shutdown: S, health: &HealthState)
    where
        S: std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
    {
        futures::join!(
            run_kind(
                self.attributes,
                &ctx,
                shutdown.clone(),
                health,
                "IdentityAttribute"
            ),
            run_kind(self.transforms, &ctx, shutdown.clone(), health, "Transform"),
            run_kind(
                self.lifecycle_states,
                &ctx,
                shutdown,
                health,
                "LifecycleState"
            ),
        );
    }
}

async fn run_kind<K, S>(
    watched: Watched<K>,
    ctx: &Arc<Context>,
    shutdown: S,
    health: &HealthState,
    name: &'static str,
) where
    K: ManagedKind,
    S: std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
{
    let (trigger, swept) = futures::channel::mpsc::unbounded();
    let config = controller::Config::default().concurrency(RECONCILE_CONCURRENCY);
    let results = Controller::for_stream(watched.events, watched.store)
        .with_config(config)
        .reconcile_on(swept)
        .graceful_shutdown_on(shutdown.clone())
        .run(
            |obj, ctx| contained(reconcile::<K>(obj, ctx)),
            error_policy,
            Arc::clone(ctx),
        );
    let sweeps = sweep::run_sweeps::<K>(Arc::clone(ctx), trigger, shutdown);
    futures::join!(drain_with_heartbeat(results, name, health), sweeps);
}
