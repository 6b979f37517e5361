//! One tenant client per `Tenant` credential, and the per-tenant cache of profile lists.
//!
//! Everything that talks to a tenant gets its [`TenantHandle`] here, so the profile reconciler
//! and processing requests share one token cache and one rate limiter per credential. A Secret
//! is read on every resolve (a cheap Kubernetes read); a new `resourceVersion` (rotation) or a
//! new Tenant generation builds a new client, so rotation needs no restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};
use secrecy::SecretString;

use crate::api::Tenant;
use crate::controller::error::ReconcileError;
use crate::controller::metrics::Metrics;
use crate::controller::profile_cache::ProfileListCache;
use isc_client::{RateLimit, TenantClient, TenantClientConfig};

/// A tenant ready to be called.
pub struct TenantHandle {
    /// The shared client (one per credential).
    pub client: TenantClient,
    /// Resync interval of this tenant.
    pub resync: Duration,
    /// Profile list shared by every profile of this tenant during one resync.
    pub profiles: ProfileListCache,
}

impl std::fmt::Debug for TenantHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantHandle")
            .field("client", &self.client)
            .field("resync", &self.resync)
            .finish_non_exhaustive()
    }
}

struct PoolEntry {
    generation: Option<i64>,
    secret_version: Option<String>,
    handle: Arc<TenantHandle>,
}

/// Tenant handles by `namespace/name`.
pub struct TenantPool {
    entries: Mutex<HashMap<(String, String), PoolEntry>>,
    metrics: Arc<Metrics>,
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
    /// An empty pool whose clients report their calls to `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        TenantPool {
            entries: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// The cached handle, if it was built from this Tenant generation and Secret version.
    fn current(
        &self,
        key: &(String, String),
        generation: Option<i64>,
        secret_version: &Option<String>,
    ) -> Option<Arc<TenantHandle>> {
        let entries = self.entries.lock().expect("pool lock");
        entries
            .get(key)
            .filter(|e| e.generation == generation && &e.secret_version == secret_version)
            .map(|e| Arc::clone(&e.handle))
    }

    /// Reads the `Tenant` and its Secret and returns the (possibly reused) handle.
    pub async fn resolve(
        &self,
        kube: &Client,
        namespace: &str,
        tenant_name: &str,
    ) -> Result<(Arc<Tenant>, Arc<TenantHandle>), ReconcileError> {
        let tenants: Api<Tenant> = Api::namespaced(kube.clone(), namespace);
        let tenant = tenants
            .get_opt(tenant_name)
            .await?
            .ok_or_else(|| ReconcileError::TenantNotFound(tenant_name.to_string()))?;
        let secret_ref = &tenant.spec.credentials_secret_ref;
        let secrets: Api<Secret> = Api::namespaced(kube.clone(), namespace);
        let secret = secrets
            .get_opt(&secret_ref.name)
            .await?
            .ok_or_else(|| ReconcileError::SecretNotFound(secret_ref.name.clone()))?;
        let key = (namespace.to_string(), tenant_name.to_string());
        let generation = tenant.metadata.generation;
        let secret_version = secret.resource_version();
        if let Some(handle) = self.current(&key, generation, &secret_version) {
            return Ok((Arc::new(tenant), handle));
        }
        let client = self.build_client(&tenant, &secret, namespace)?;
        let resync = Duration::from_secs(tenant.spec.resync_interval_seconds.max(1).into());
        // Check again and insert under one lock, so concurrent reconciles share one client.
        let mut entries = self.entries.lock().expect("pool lock");
        if let Some(entry) = entries.get(&key)
            && entry.generation == generation
            && entry.secret_version == secret_version
        {
            return Ok((Arc::new(tenant), Arc::clone(&entry.handle)));
        }
        let handle = Arc::new(TenantHandle {
            client,
            resync,
            profiles: ProfileListCache::new(resync),
        });
        tracing::info!(tenant = %tenant.name_any(), namespace, "tenant client (re)built");
        entries.insert(
            key,
            PoolEntry {
                generation,
                secret_version,
                handle: Arc::clone(&handle),
            },
        );
        drop(entries);
        Ok((Arc::new(tenant), handle))
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
