//! The tenant client: OAuth2 client credentials, a shared rate limiter, and retries that are
//! safe for the tenant.
//!
//! One [`TenantClient`] per tenant credential; clone it freely, the clones share the token cache,
//! the rate limiter and the call counters (and every client of the same base URL and client id
//! shares the rate limiter). Rules:
//! - no redirect is followed: a 3xx is an error, so credentials only go to the configured host;
//! - response bodies are read with a cap; durations from the wire saturate and are capped;
//! - the token is cached, refreshed shortly before expiry and once after a 401; concurrent
//!   callers wait for one refresh (single flight);
//! - every call first takes a permit from the client-side limiter (default 98 per 10 s, under
//!   the tenant's 100); a user's calls go before background ones ([`CallPriority`]);
//! - a 429 is retried after `Retry-After` (the gateway did not process the request, so this is
//!   safe for every method);
//! - 5xx, timeouts and connection errors are retried with bounded, jittered exponential backoff
//!   only for idempotent calls; a POST that creates or triggers something is never retried
//!   blindly, and a lost response to it is reported as `outcome_unknown`.
//!
//! # Layers
//! - `config`: [`TenantClientConfig`];
//! - `http`: the reqwest client (no redirects), TLS provider and transport error categories;
//! - `body`: response bodies read with a size cap;
//! - `auth`: the token cache and the token request;
//! - `rate_limit`: [`RateLimit`], the GCRA quota and the limiter shared per credential;
//! - `retry`: [`RetryPolicy`] and the pure [`decide_retry`];
//! - `request`: [`ApiRequest`] / [`ApiResponse`];
//! - `executor`: [`TenantClient::execute`], which ties the layers together;
//! - `observe`: call counters and the metrics hook.

mod auth;
mod body;
mod config;
mod executor;
mod http;
mod observe;
mod rate_limit;
mod request;
mod retry;

use std::sync::Arc;

use tokio::sync::Mutex;
use url::Url;

pub use auth::MAX_TOKEN_LIFETIME;
pub use body::MAX_ERROR_BODY_BYTES;
pub use config::{MAX_BODY_BYTES, TenantClientConfig};
pub use http::install_crypto_provider;
pub use observe::{CallObserver, CallRecord, CallStats, CallStatsSnapshot, route_of};
pub use rate_limit::{
    CallPriority, DEFAULT_REQUESTS_PER_WINDOW, FOREGROUND_RUN, RateLimit, TENANT_LIMIT_PER_WINDOW,
    TENANT_LIMIT_WINDOW,
};
pub use request::{ApiRequest, ApiResponse, RequestBody};
pub use retry::{
    LastTry, RetryCount, RetryDecision, RetryPolicy, TransportFailure, backoff_delay, decide_retry,
    parse_retry_after,
};

use crate::error::IscError;

/// State shared by every clone of a client.
struct Inner {
    http: reqwest::Client,
    config: TenantClientConfig,
    limiter: Arc<rate_limit::PacedLimiter>,
    token: Mutex<Option<auth::CachedToken>>,
    stats: CallStats,
}

/// A handle to one tenant with one credential. Cheap to clone.
#[derive(Clone)]
pub struct TenantClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TenantClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantClient")
            .field("base_url", &self.inner.config.base_url.as_str())
            .field("client_id", &self.inner.config.client_id)
            .finish_non_exhaustive()
    }
}

impl TenantClient {
    /// The OAuth client id this client authenticates as: the tenant records it as the
    /// `launcher` of the tasks this client starts. Not secret.
    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    /// Builds a client. Fails on an unusable configuration, and on an `http://` base URL unless
    /// [`TenantClientConfig::allow_insecure_http`] is set and the host is loopback. Clients of
    /// the same (base URL, client id) share one rate limiter.
    pub fn new(config: TenantClientConfig) -> Result<Self, IscError> {
        config.check_transport_security()?;
        let http = http::build_http_client(&config)?;
        let limiter =
            rate_limit::shared_limiter(&config.base_url, &config.client_id, config.rate_limit)?;
        Ok(TenantClient {
            inner: Arc::new(Inner {
                http,
                limiter,
                config,
                token: Mutex::new(None),
                stats: CallStats::default(),
            }),
        })
    }

    /// The configured base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.config.base_url
    }

    /// Calls made so far by this client and its clones.
    pub fn stats(&self) -> CallStatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// `path` resolved against the base URL (a leading `/` keeps any base path prefix).
    fn url(&self, path: &str) -> Result<Url, IscError> {
        self.inner
            .config
            .base_url
            .join(path.trim_start_matches('/'))
            .map_err(|e| IscError::InvalidRequest(format!("path {path:?}: {e}")))
    }

    /// Tells the configured observer about one HTTP attempt.
    fn observe(&self, method: &str, path: &str, status: Option<u16>) {
        if let Some(observer) = &self.inner.config.observer {
            observer.observe(&CallRecord {
                method,
                route: &route_of(path),
                status,
            });
        }
    }
}
