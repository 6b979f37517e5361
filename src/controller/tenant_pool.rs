//! One tenant client per `Tenant` credential, and the per-tenant cache of profile lists.
//!
//! Everything that talks to a tenant gets its [`TenantHandle`] here, so the profile reconciler
//! and processing requests share one token cache per credential. The admin's
//! [`TenantPolicy`] is checked on every resolve, before the Secret's values are read or any
//! client is built. The Tenant and its Secret come from watch caches (the Tenant controller's,
//! and a watch of the Secrets labelled for the operator), so a reconcile makes no Kubernetes
//! read; a cache miss falls back to one GET (a Tenant or Secret created a moment ago, or an
//! unlabelled Secret, which then gets its clear error). A new Tenant uid (deleted and
//! recreated), generation or Secret `resourceVersion` (rotation) builds a new client, so
//! rotation needs no restart and a recreated Tenant never inherits the old client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use secrecy::SecretString;

use crate::api::Tenant;
use crate::controller::error::ReconcileError;
use crate::controller::metrics::Metrics;
use crate::controller::profile::wave::{CreateWaves, WaveSettings};
use crate::controller::profile_cache::ProfileListCache;
use crate::controller::references::ReferenceCache;
use crate::controller::tenant_policy::{TenantPolicy, Transport};
use isc_client::{RateLimit, TenantClient, TenantClientConfig};

/// A tenant ready to be called.
pub struct TenantHandle {
    /// The shared client (one per credential).
    pub client: TenantClient,
    /// Resync interval of this tenant.
    pub resync: Duration,
    /// Profile list shared by every profile of this tenant, refreshed by the resync sweep.
    pub profiles: ProfileListCache,
    /// How credentials travel (plain http only where the policy allowed it).
    pub transport: Transport,
    /// New profiles of this tenant, created together.
    pub waves: CreateWaves,
    /// Name lookups (sources, transforms, identities by alias) shared by every object of this
    /// tenant, one list per kind per resync interval.
    pub references: ReferenceCache,
}

impl std::fmt::Debug for TenantHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantHandle")
            .field("client", &self.client)
            .field("resync", &self.resync)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// What a cached client was built from; any difference builds a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BuiltFrom {
    uid: Option<String>,
    generation: Option<i64>,
    secret_version: Option<String>,
}

struct PoolEntry {
    built_from: BuiltFrom,
    handle: Arc<TenantHandle>,
}

/// Tenant handles by `namespace/name`.
pub struct TenantPool {
    entries: Mutex<HashMap<(String, String), PoolEntry>>,
    metrics: Arc<Metrics>,
    policy: TenantPolicy,
    tenant_store: Store<Tenant>,
    secret_store: Store<Secret>,
}

fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    let from_data = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .and_then(|v| String::from_utf8(v.0.clone()).ok());
    let from_string_data = secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned();
    from_data
        .or(from_string_data)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl TenantPool {
    /// An empty pool whose clients report their calls to `metrics`, under the default
    /// [`TenantPolicy`] (SailPoint's tenant domain, https only).
    pub fn new(metrics: Arc<Metrics>) -> Self {
        TenantPool {
            entries: Mutex::new(HashMap::new()),
            metrics,
            policy: TenantPolicy::default(),
            tenant_store: kube::runtime::reflector::store().0,
            secret_store: kube::runtime::reflector::store().0,
        }
    }

    /// Reads Tenants from this watch cache first (a miss still GETs).
    pub fn set_tenant_store(&mut self, tenants: Store<Tenant>) {
        self.tenant_store = tenants;
    }

    /// Reads credential Secrets from this watch cache first (a miss still GETs).
    pub fn set_secret_store(&mut self, secrets: Store<Secret>) {
        self.secret_store = secrets;
    }

    /// Forgets the handles of Tenants `keep` rejects (deleted ones), so their clients and
    /// profile lists are freed.
    pub fn retain(&self, mut keep: impl FnMut(&str, &str) -> bool) {
        let mut entries = self.entries.lock().expect("pool lock");
        entries.retain(|(namespace, name), _| keep(namespace, name));
    }

    /// The handle built for this Tenant, if any (no Kubernetes read, no client built).
    pub fn cached(&self, namespace: &str, tenant_name: &str) -> Option<Arc<TenantHandle>> {
        let key = (namespace.to_string(), tenant_name.to_string());
        let entries = self.entries.lock().expect("pool lock");
        entries.get(&key).map(|e| Arc::clone(&e.handle))
    }

    /// The Tenant from the watch cache, else from one GET.
    async fn tenant(
        &self,
        kube: &Client,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Tenant>, ReconcileError> {
        cached_or_get(&self.tenant_store, kube, namespace, name)
            .await?
            .ok_or_else(|| ReconcileError::TenantNotFound(name.to_string()))
    }

    /// The Secret from the watch cache (labelled Secrets only), else from one GET.
    async fn secret(
        &self,
        kube: &Client,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Secret>, ReconcileError> {
        cached_or_get(&self.secret_store, kube, namespace, name)
            .await?
            .ok_or_else(|| ReconcileError::SecretNotFound(name.to_string()))
    }

    /// Replaces the policy (before the first resolve: cached clients are not re-checked).
    pub fn set_policy(&mut self, policy: TenantPolicy) {
        self.policy = policy;
    }

    /// The admin's rules every resolve checks.
    pub fn policy(&self) -> &TenantPolicy {
        &self.policy
    }

    /// The cached handle, if it was built from exactly this Tenant and Secret.
    fn current(&self, key: &(String, String), built_from: &BuiltFrom) -> Option<Arc<TenantHandle>> {
        let entries = self.entries.lock().expect("pool lock");
        entries
            .get(key)
            .filter(|e| &e.built_from == built_from)
            .map(|e| Arc::clone(&e.handle))
    }

    /// Reads the `Tenant`, checks it against the policy, reads its Secret (only if labelled for
    /// the operator) and returns the (possibly reused) handle. Both come from the watch caches
    /// when they hold them (no Kubernetes read), else from one GET each.
    pub async fn resolve(
        &self,
        kube: &Client,
        namespace: &str,
        tenant_name: &str,
    ) -> Result<(Arc<Tenant>, Arc<TenantHandle>), ReconcileError> {
        let tenant = self.tenant(kube, namespace, tenant_name).await?;
        let transport = self.policy.check_url(&tenant.spec.base_url)?;
        let secret_ref = &tenant.spec.credentials_secret_ref;
        let secret = self.secret(kube, namespace, &secret_ref.name).await?;
        self.policy
            .check_secret(&secret_ref.name, secret.metadata.labels.as_ref())?;
        let key = (namespace.to_string(), tenant_name.to_string());
        let built_from = BuiltFrom {
            uid: tenant.uid(),
            generation: tenant.metadata.generation,
            secret_version: secret.resource_version(),
        };
        if let Some(handle) = self.current(&key, &built_from) {
            return Ok((tenant, handle));
        }
        let client = self.build_client(&tenant, &secret, namespace, transport)?;
        let resync = Duration::from_secs(tenant.spec.resync_interval_seconds.max(1).into());
        // Check again and insert under one lock, so concurrent reconciles share one client.
        let mut entries = self.entries.lock().expect("pool lock");
        if let Some(entry) = entries.get(&key)
            && entry.built_from == built_from
        {
            return Ok((tenant, Arc::clone(&entry.handle)));
        }
        let handle = Arc::new(TenantHandle {
            client,
            resync,
            // The sweep refreshes it every interval; reconciles between sweeps never list.
            profiles: ProfileListCache::new(resync.saturating_mul(2)),
            transport,
            waves: CreateWaves::new(WaveSettings::from_spec(&tenant.spec)),
            references: ReferenceCache::new(resync),
        });
        tracing::info!(tenant = %tenant.name_any(), namespace, "tenant client (re)built");
        entries.insert(
            key,
            PoolEntry {
                built_from,
                handle: Arc::clone(&handle),
            },
        );
        drop(entries);
        Ok((tenant, handle))
    }
}

impl TenantPool {
    /// A tenant client from the Tenant's spec and the credential in its Secret.
    // The reconcilers' one error type; it is large because it can carry a tenant error, and
    // this runs once per credential change, so boxing buys nothing.
    #[allow(clippy::result_large_err)]
    fn build_client(
        &self,
        tenant: &Tenant,
        secret: &Secret,
        namespace: &str,
        transport: Transport,
    ) -> Result<TenantClient, ReconcileError> {
        let secret_ref = &tenant.spec.credentials_secret_ref;
        let key_of = |key: &str| {
            secret_value(secret, key).ok_or_else(|| ReconcileError::SecretKeyMissing {
                secret: secret_ref.name.clone(),
                key: key.to_string(),
            })
        };
        let client_id = key_of(&secret_ref.client_id_key)?;
        let client_secret = key_of(&secret_ref.client_secret_key)?;
        let mut config = TenantClientConfig::new(
            &tenant.spec.base_url,
            &client_id,
            SecretString::from(client_secret),
        )
        .map_err(|e| ReconcileError::InvalidSpec(e.to_string()))?;
        config.allow_insecure_http = transport == Transport::InsecureHttp;
        if let Some(limit) = tenant.spec.rate_limit {
            config.rate_limit = RateLimit {
                requests: limit.requests,
                per: Duration::from_secs(limit.window_seconds.into()),
            };
        }
        config.observer = Some(
            self.metrics
                .tenant_observer(format!("{namespace}/{}", tenant.name_any())),
        );
        config.ca_bundle_pem = tenant
            .spec
            .ca_bundle
            .as_ref()
            .map(|p| p.as_bytes().to_vec());
        TenantClient::new(config).map_err(|e| ReconcileError::InvalidSpec(e.to_string()))
    }
}

/// `interval` ± 10%, so profiles of one tenant do not all resync at the same instant.
pub fn jittered(interval: Duration) -> Duration {
    use rand::Rng;
    let factor = rand::rng().random_range(0.9..1.1);
    interval.mul_f64(factor)
}

/// The object from a watch cache, else from one GET (a just-created object the cache has not
/// seen yet, or one the cache does not hold); `None` when it does not exist.
async fn cached_or_get<K>(
    store: &Store<K>,
    kube: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Arc<K>>, kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    if let Some(object) = store.get(&ObjectRef::new(name).within(namespace)) {
        return Ok(Some(object));
    }
    let api: Api<K> = Api::namespaced(kube.clone(), namespace);
    Ok(api.get_opt(name).await?.map(Arc::new))
}
