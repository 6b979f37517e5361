//! One reconciler test's world: the in-process simulator as the tenant, the mocked Kubernetes
//! API holding a `Tenant` and its Secret, and the operator's shared context.

use std::sync::Arc;
use std::time::{Duration, Instant};

use isc_operator::api::{
    IdentityAttribute, IdentityProfile, LifecycleState, ProcessingRequest, Tenant, Transform,
};
use isc_operator::controller::context::Context;
use isc_operator::controller::metrics::Metrics;
use isc_operator::controller::processing::gate::{SYNC_MARGIN, SYNC_WINDOW, SyncGate};
use isc_operator::controller::profile::claims::{ProfileCacheWriter, profile_cache};
use isc_operator::controller::tenant_policy::{CREDENTIALS_LABEL, TenantPolicy};
use isc_sim::{JournalEntry, RunningSimulator, SimConfig};
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;

use crate::fake_kube::FakeKube;

/// Namespace every test object lives in.
pub const NAMESPACE: &str = "team-a";
/// Name of the `Tenant` object.
pub const TENANT: &str = "demo";
/// Credential the simulator accepts (with user context, like a personal access token).
pub const CLIENT_ID: &str = "reconcile-pat";
/// Its secret.
pub const CLIENT_SECRET: &str = "reconcile-pat-secret-K3";
/// The first source of the simulator's built-in seed (HR Employees).
pub const SOURCE_EMPLOYEES: &str = "2c9180835d2e5168015d32f890ca1581";
/// The second source (HR Contractors).
pub const SOURCE_CONTRACTORS: &str = "2c9180835d2e5168015d32f890ca1582";

/// Parses a manifest and puts it in [`NAMESPACE`].
pub fn manifest<K: DeserializeOwned + kube::Resource>(yaml: &str) -> K {
    let mut obj: K = serde_yaml_ng::from_str(yaml).expect("test manifest parses");
    obj.meta_mut().namespace = Some(NAMESPACE.to_string());
    obj
}

/// An IdentityProfile manifest for tenant profile `tenant_name` with extra spec lines
/// (indented by two spaces).
pub fn profile(name: &str, tenant_name: &str, extra_spec: &str) -> IdentityProfile {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: {TENANT}\n  name: {tenant_name}\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n{extra_spec}"
    ))
}

/// The operator's policy in these tests: the simulator on loopback, over plain http (what
/// `isc-operator run --allowed-tenant-hosts 127.0.0.1,localhost --allow-insecure-http` sets).
pub fn test_policy() -> TenantPolicy {
    TenantPolicy::new(vec!["127.0.0.1".into(), "localhost".into()], true)
}

/// The credentials Secret `name`, labelled for the operator.
pub fn credentials_secret(name: &str, client_id: &str, client_secret: &str) -> Secret {
    manifest(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  labels:\n    {CREDENTIALS_LABEL}: \"true\"\nstringData:\n  client_id: {client_id}\n  client_secret: {client_secret}\n"
    ))
}

/// Simulator, mocked Kubernetes API and operator context for one test.
pub struct TestEnv {
    /// The tenant.
    pub sim: RunningSimulator,
    /// The Kubernetes API.
    pub kube: FakeKube,
    /// The operator's shared context (as `isc-operator run` builds it).
    pub ctx: Arc<Context>,
    profiles: ProfileCacheWriter,
    tenants: std::sync::Mutex<Writer<Tenant>>,
    identity_model: std::sync::Mutex<IdentityModelWriters>,
}

/// The watch caches of the identity-model kinds, as their controllers' watches fill them.
struct IdentityModelWriters {
    attributes: Writer<IdentityAttribute>,
    transforms: Writer<Transform>,
    lifecycle_states: Writer<LifecycleState>,
}

impl TestEnv {
    /// A simulator with default settings and a Ready-to-use Tenant + Secret.
    pub async fn new() -> TestEnv {
        TestEnv::with_config(|_| {}).await
    }

    /// Like [`TestEnv::new`], after `adjust` changed the simulator's settings. Secrets are read
    /// with GETs (the context has no Secret watch cache).
    pub async fn with_config(adjust: impl FnOnce(&mut SimConfig)) -> TestEnv {
        TestEnv::build(adjust, false).await
    }

    /// Like [`TestEnv::new`], with the credential Secret in a watch cache (as `run` sets it up:
    /// labelled Secrets only), so a reconcile reads neither the Tenant nor the Secret with a GET.
    pub async fn with_secret_store() -> TestEnv {
        TestEnv::build(|_| {}, true).await
    }

    async fn build(adjust: impl FnOnce(&mut SimConfig), secret_store: bool) -> TestEnv {
        isc_client::client::install_crypto_provider();
        let mut config = SimConfig::new(CLIENT_ID, CLIENT_SECRET);
        config.task_duration = Duration::from_millis(200);
        adjust(&mut config);
        let sim = isc_sim::start(config, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("simulator starts");
        let kube = FakeKube::new();
        let secret = kube.insert(&credentials_secret("creds", CLIENT_ID, CLIENT_SECRET));
        let tenant = kube.insert::<Tenant>(&manifest(&format!(
            "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: {TENANT}\nspec:\n  baseUrl: {}\n  credentialsSecretRef:\n    name: creds\n",
            sim.base_url()
        )));
        let (store, profiles) = profile_cache();
        let (tenant_store, mut tenants) = reflector::store::<Tenant>();
        tenants.apply_watcher_event(&watcher::Event::Apply(tenant));
        let (attribute_store, attributes) = reflector::store::<IdentityAttribute>();
        let (transform_store, transforms) = reflector::store::<Transform>();
        let (state_store, lifecycle_states) = reflector::store::<LifecycleState>();
        let mut ctx = Context::new(kube.client(), store, None, Arc::new(Metrics::default()))
            .with_identity_model_stores(attribute_store, transform_store, state_store)
            .with_tenant_store(tenant_store)
            .with_tenant_policy(test_policy());
        if secret_store {
            let (secrets, mut writer) = reflector::store::<Secret>();
            writer.apply_watcher_event(&watcher::Event::Apply(secret));
            ctx = ctx.with_secret_store(secrets);
        }
        // Short bounds keep error-path tests fast; the values themselves are not under test.
        ctx.backoff = (Duration::from_millis(10), Duration::from_millis(100));
        // A test's operator has no predecessor whose attribute syncs it must wait out: the
        // gate keeps its real spacing but opens at once.
        let spacing = SYNC_WINDOW + SYNC_MARGIN;
        let opened = Instant::now()
            .checked_sub(spacing)
            .unwrap_or_else(Instant::now);
        ctx.processing.sync_gate = SyncGate::new(spacing, opened);
        TestEnv {
            sim,
            kube,
            ctx: Arc::new(ctx),
            tenants: std::sync::Mutex::new(tenants),
            profiles,
            identity_model: std::sync::Mutex::new(IdentityModelWriters {
                attributes,
                transforms,
                lifecycle_states,
            }),
        }
    }

    /// Stores an IdentityProfile in the API and in the controller's watch cache (as the
    /// controller would see it), returning it as stored.
    pub fn put_profile(&mut self, obj: &IdentityProfile) -> IdentityProfile {
        let stored = self.kube.insert(obj);
        self.profiles
            .apply_watcher_event(&watcher::Event::Apply(stored.clone()));
        stored
    }

    /// The IdentityProfile as stored now; also refreshes the watch cache with it.
    pub fn profile(&mut self, name: &str) -> IdentityProfile {
        let stored: IdentityProfile = self.kube.get(NAMESPACE, name).expect("profile exists");
        self.profiles
            .apply_watcher_event(&watcher::Event::Apply(stored.clone()));
        stored
    }

    /// The IdentityProfile `namespace/name` as stored now, if it exists; also refreshes the
    /// watch cache with it.
    pub fn profile_in(&mut self, namespace: &str, name: &str) -> Option<IdentityProfile> {
        let stored: IdentityProfile = self.kube.get(namespace, name)?;
        self.profiles
            .apply_watcher_event(&watcher::Event::Apply(stored.clone()));
        Some(stored)
    }

    /// Removes an IdentityProfile from the controller's watch cache (as a watch would after
    /// it was deleted).
    pub fn forget_profile(&mut self, obj: &IdentityProfile) {
        self.profiles
            .apply_watcher_event(&watcher::Event::Delete(obj.clone()));
    }

    /// Stores a Tenant in the API and in the controller's watch cache, returning it as stored.
    pub fn put_tenant(&self, obj: &Tenant) -> Tenant {
        let stored = self.kube.insert(obj);
        self.tenants
            .lock()
            .expect("tenant cache")
            .apply_watcher_event(&watcher::Event::Apply(stored.clone()));
        stored
    }

    /// Removes a Tenant from the controller's watch cache (as a watch would after a delete).
    pub fn forget_tenant(&self, obj: &Tenant) {
        self.tenants
            .lock()
            .expect("tenant cache")
            .apply_watcher_event(&watcher::Event::Delete(obj.clone()));
    }

    /// Stores an IdentityAttribute in the API and in its watch cache, returning it as stored.
    pub fn put_attribute(&self, obj: &IdentityAttribute) -> IdentityAttribute {
        let stored = self.kube.insert(obj);
        self.cache_attribute(&stored);
        stored
    }

    /// Puts the IdentityAttribute (as stored, e.g. after a reconcile) into its watch cache.
    pub fn cache_attribute(&self, obj: &IdentityAttribute) {
        let mut writers = self.identity_model.lock().expect("identity model caches");
        writers
            .attributes
            .apply_watcher_event(&watcher::Event::Apply(obj.clone()));
    }

    /// Stores a Transform in the API and in its watch cache, returning it as stored.
    pub fn put_transform(&self, obj: &Transform) -> Transform {
        let stored = self.kube.insert(obj);
        self.cache_transform(&stored);
        stored
    }

    /// Puts the Transform (as stored) into its watch cache.
    pub fn cache_transform(&self, obj: &Transform) {
        let mut writers = self.identity_model.lock().expect("identity model caches");
        writers
            .transforms
            .apply_watcher_event(&watcher::Event::Apply(obj.clone()));
    }

    /// Stores a LifecycleState in the API and in its watch cache, returning it as stored.
    pub fn put_lifecycle_state(&self, obj: &LifecycleState) -> LifecycleState {
        let stored = self.kube.insert(obj);
        self.cache_lifecycle_state(&stored);
        stored
    }

    /// Puts the LifecycleState (as stored) into its watch cache.
    pub fn cache_lifecycle_state(&self, obj: &LifecycleState) {
        let mut writers = self.identity_model.lock().expect("identity model caches");
        writers
            .lifecycle_states
            .apply_watcher_event(&watcher::Event::Apply(obj.clone()));
    }

    /// Stores a ProcessingRequest, returning it as stored.
    pub fn put_request(&self, obj: &ProcessingRequest) -> ProcessingRequest {
        self.kube.insert(obj)
    }

    /// The ProcessingRequest as stored now, if it exists.
    pub fn request(&self, name: &str) -> Option<ProcessingRequest> {
        self.kube.get(NAMESPACE, name)
    }

    /// The simulator's journal: every tenant call so far, oldest first.
    pub async fn journal(&self) -> Vec<JournalEntry> {
        reqwest::get(format!("{}/__sim/requests", self.sim.base_url()))
            .await
            .expect("journal request")
            .json()
            .await
            .expect("journal is a list of entries")
    }

    /// Tenant calls other than token requests, as `METHOD route` (e.g. `POST /v2024/identity-profiles`).
    pub async fn tenant_calls(&self) -> Vec<String> {
        self.journal()
            .await
            .into_iter()
            .filter(|e| e.operation_id.as_deref() != Some("token"))
            .map(|e| format!("{} {}", e.method, e.route.unwrap_or(e.path)))
            .collect()
    }

    /// Tenant calls that change something (anything but GET and token requests).
    pub async fn tenant_writes(&self) -> Vec<String> {
        self.tenant_calls()
            .await
            .into_iter()
            .filter(|c| !c.starts_with("GET "))
            .collect()
    }

    /// Forgets the journal and the recorded Kubernetes requests (state stays).
    pub async fn clear_calls(&self) {
        reqwest::Client::new()
            .delete(format!("{}/__sim/requests", self.sim.base_url()))
            .send()
            .await
            .expect("clear journal");
        self.kube.clear_requests();
    }

    /// Sends an admin request to the simulator (faults, config, direct state edits).
    pub async fn sim_admin(&self, method: reqwest::Method, path: &str, body: serde_json::Value) {
        let response = reqwest::Client::new()
            .request(method, format!("{}/__sim/{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .expect("admin request");
        assert!(
            response.status().is_success(),
            "admin {path}: {}",
            response.status()
        );
    }
}
