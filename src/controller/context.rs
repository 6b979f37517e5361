//! State shared by every reconcile: Kubernetes client, tenant pool, event recorder, object
//! store, and per-object failure counts for backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource};

use crate::api::{IdentityAttribute, IdentityProfile, LifecycleState, Tenant, Transform};
use crate::controller::metrics::Metrics;
use crate::controller::profile::claims::{ClaimIndex, ProfileCache};
use crate::controller::tenant_pool::TenantPool;

/// Events published through one [`Recorder`] before it is replaced by a fresh one.
const EVENTS_PER_RECORDER: usize = 1000;

/// kube's [`Recorder`] keeps every Event it published for six minutes (to count repeats as a
/// series); a start with 10 000 objects kept 10 000 Events in memory. This one starts a fresh
/// Recorder every [`EVENTS_PER_RECORDER`] Events, so at most that many are kept (a repeat
/// across the switch is a new Event instead of a count).
struct BoundedRecorder {
    client: Client,
    reporter: Reporter,
    current: Mutex<(Recorder, usize)>,
}

impl BoundedRecorder {
    fn new(client: Client, reporter: Reporter) -> Self {
        let recorder = Recorder::new(client.clone(), reporter.clone());
        BoundedRecorder {
            client,
            reporter,
            current: Mutex::new((recorder, 0)),
        }
    }

    /// The recorder for the next Event.
    fn current(&self) -> Recorder {
        let mut current = self.current.lock().expect("recorder lock");
        if current.1 >= EVENTS_PER_RECORDER {
            *current = (Recorder::new(self.client.clone(), self.reporter.clone()), 0);
        }
        current.1 += 1;
        current.0.clone()
    }
}

/// Shared reconcile context.
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Tenant clients and caches.
    pub tenants: TenantPool,
    /// Counters served on `/metrics`.
    pub metrics: Arc<Metrics>,
    recorder: BoundedRecorder,
    profiles: ProfileCache,
    tenant_objects: Store<Tenant>,
    identity_attributes: Store<IdentityAttribute>,
    transforms: Store<Transform>,
    lifecycle_states: Store<LifecycleState>,
    failures: Mutex<Failures>,
    /// Process-wide state of the `ProcessingRequest` controller (attribute-sync spacing, task
    /// polling times).
    pub processing: crate::controller::processing::ProcessingState,
    /// The identity-model kinds' shared tenant lists (see [`crate::controller::managed`]).
    pub identity_model_lists: crate::controller::managed::IdentityModelLists,
    /// Backoff bounds for transient errors.
    pub backoff: (Duration, Duration),
}

impl Context {
    /// A context for the controllers of one process.
    pub fn new(
        client: Client,
        profiles: ProfileCache,
        instance: Option<String>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let reporter = Reporter {
            controller: "isc-operator".to_string(),
            instance,
        };
        Context {
            recorder: BoundedRecorder::new(client.clone(), reporter),
            client,
            tenants: TenantPool::new(Arc::clone(&metrics)),
            metrics,
            profiles,
            tenant_objects: kube::runtime::reflector::store().0,
            identity_attributes: kube::runtime::reflector::store().0,
            transforms: kube::runtime::reflector::store().0,
            lifecycle_states: kube::runtime::reflector::store().0,
            failures: Mutex::new(Failures::default()),
            processing: Default::default(),
            identity_model_lists: Default::default(),
            backoff: (Duration::from_millis(500), Duration::from_secs(300)),
        }
    }

    /// Every `IdentityProfile` the controller watches (for conflict detection).
    pub fn profiles_store(&self) -> &Store<IdentityProfile> {
        &self.profiles.store
    }

    /// Which watched `IdentityProfile`s may claim a tenant profile name or id (for conflict
    /// detection without a scan of every object).
    pub fn profile_claims(&self) -> &ClaimIndex {
        &self.profiles.claims
    }

    /// Uses the Tenant controller's watch cache, so a reconcile can see every `Tenant` (for
    /// example, which Tenants point at the same ISC tenant) without an API read.
    pub fn with_tenant_store(mut self, tenants: Store<Tenant>) -> Self {
        self.tenants.set_tenant_store(tenants.clone());
        self.tenant_objects = tenants;
        self
    }

    /// Uses the watch caches of the identity-model kinds (their controllers' stores), so the
    /// profile controller can order a profile after the attributes and transforms it names,
    /// and the resync sweep can compare them with the tenant without an API read.
    pub fn with_identity_model_stores(
        mut self,
        identity_attributes: Store<IdentityAttribute>,
        transforms: Store<Transform>,
        lifecycle_states: Store<LifecycleState>,
    ) -> Self {
        self.identity_attributes = identity_attributes;
        self.transforms = transforms;
        self.lifecycle_states = lifecycle_states;
        self
    }

    /// Every `IdentityAttribute` the controller watches (empty until set with
    /// [`Context::with_identity_model_stores`]).
    pub fn identity_attributes_store(&self) -> &Store<IdentityAttribute> {
        &self.identity_attributes
    }

    /// Every `Transform` the controller watches (empty until set with
    /// [`Context::with_identity_model_stores`]).
    pub fn transforms_store(&self) -> &Store<Transform> {
        &self.transforms
    }

    /// Every `LifecycleState` the controller watches (empty until set with
    /// [`Context::with_identity_model_stores`]).
    pub fn lifecycle_states_store(&self) -> &Store<LifecycleState> {
        &self.lifecycle_states
    }

    /// Reads credential Secrets from this watch cache (the Secrets labelled for the operator)
    /// instead of a GET per reconcile; without it, or on a miss, the Secret is read with a GET.
    pub fn with_secret_store(mut self, secrets: Store<Secret>) -> Self {
        self.tenants.set_secret_store(secrets);
        self
    }

    /// Checks every Tenant against the admin's `policy` (where credentials may go) instead
    /// of the default (SailPoint's tenant domain, https only).
    pub fn with_tenant_policy(
        mut self,
        policy: crate::controller::tenant_policy::TenantPolicy,
    ) -> Self {
        self.tenants.set_policy(policy);
        self
    }

    /// Lets a `ProcessingRequest` raise its identity limit up to `ceiling` (see
    /// [`crate::controller::Settings::max_identities_ceiling`]).
    pub fn with_max_identities_ceiling(mut self, ceiling: usize) -> Self {
        self.processing.max_identities_ceiling = ceiling;
        self
    }

    /// Every `Tenant` the controller watches (empty until set with [`Context::with_tenant_store`]).
    pub fn tenants_store(&self) -> &Store<Tenant> {
        &self.tenant_objects
    }

    /// Publishes an Event on `obj`; failures are logged, never fatal.
    pub async fn publish<K>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(note.chars().take(1000).collect()),
            action: action.to_string(),
            secondary: None,
        };
        let recorder = self.recorder.current();
        if let Err(e) = recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "could not publish event");
        }
    }

    /// Next backoff delay for an object after a transient error (exponential, jittered).
    pub fn next_backoff<K: Resource<DynamicType = ()>>(&self, obj: &K) -> Duration {
        let key = ObjectRef::from_obj(obj).to_string();
        let (min, max) = self.backoff;
        let mut failures = self.failures.lock().expect("failures lock");
        // An object that still fails is back within `max` (plus the recheck of errors that
        // wait for a user change); older counts belong to objects that recovered or are gone.
        failures.prune_older_than(max.max(FAILURE_MEMORY));
        let n = failures.record(key);
        let delay = min.saturating_mul(1u32 << (n - 1).min(16)).min(max);
        crate::controller::tenant_pool::jittered(delay)
    }

    /// Resets the backoff of an object after a success.
    pub fn forget_failures<K: Resource<DynamicType = ()>>(&self, obj: &K) {
        let key = ObjectRef::from_obj(obj).to_string();
        self.failures
            .lock()
            .expect("failures lock")
            .counts
            .remove(&key);
    }

    /// Objects with a failure count (deleted and recovered objects are pruned).
    pub fn failing_objects(&self) -> usize {
        self.failures.lock().expect("failures lock").counts.len()
    }
}

/// How long a failure count is kept without a new failure: longer than any retry delay, so a
/// count is only forgotten for an object that stopped failing (or was deleted).
const FAILURE_MEMORY: Duration = Duration::from_secs(3600);

/// Consecutive failures per object, with the time of the last one.
#[derive(Default)]
struct Failures {
    counts: HashMap<String, (u32, Instant)>,
    pruned: Option<Instant>,
}

impl Failures {
    /// Counts one more failure of `key`; returns the count.
    fn record(&mut self, key: String) -> u32 {
        let entry = self.counts.entry(key).or_insert((0, Instant::now()));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = Instant::now();
        entry.0
    }

    /// Drops counts whose last failure is older than `age` (at most once a minute).
    fn prune_older_than(&mut self, age: Duration) {
        if self
            .pruned
            .is_some_and(|at| at.elapsed() < Duration::from_secs(60))
        {
            return;
        }
        self.pruned = Some(Instant::now());
        self.counts.retain(|_, (_, at)| at.elapsed() < age);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_counts_grow_and_old_ones_are_pruned() {
        let mut failures = Failures::default();
        assert_eq!(failures.record("a".into()), 1);
        assert_eq!(failures.record("a".into()), 2);
        assert_eq!(failures.record("b".into()), 1);
        failures.prune_older_than(Duration::from_secs(3600));
        assert_eq!(failures.counts.len(), 2, "recent counts stay");
        // Pruning runs at most once a minute; a deleted object's count goes at the next one.
        failures.pruned = None;
        failures.prune_older_than(Duration::ZERO);
        assert!(failures.counts.is_empty());
    }
}
