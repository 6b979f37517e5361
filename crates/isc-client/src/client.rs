//! The tenant client: OAuth2 client credentials, a shared rate limiter, and retries that are
//! safe for the tenant.
//!
//! One [`TenantClient`] per tenant credential; clone it freely, the clones share the token cache,
//! the rate limiter and the call counters. Rules:
//! - the token is cached, refreshed shortly before expiry and once after a 401; concurrent
//!   callers wait for one refresh (single flight);
//! - every call first takes a permit from the client-side limiter (default 95 per 10 s, under
//!   the tenant's 100);
//! - a 429 is retried after `Retry-After` (the gateway did not process the request, so this is
//!   safe for every method);
//! - 5xx, timeouts and connection errors are retried with bounded, jittered exponential backoff
//!   only for idempotent calls; a POST that creates or triggers something is never retried
//!   blindly, and a lost response to it is reported as `outcome_unknown`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use crate::error::IscError;
use crate::models::TokenResponse;

/// Requests allowed per window by the tenant gateway (per client id and API version).
pub const TENANT_LIMIT_PER_WINDOW: u32 = 100;
/// The tenant gateway's rate-limit window.
pub const TENANT_LIMIT_WINDOW: Duration = Duration::from_secs(10);

/// Client-side rate limit: at most `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window (also the burst size).
    pub requests: u32,
    /// Window length.
    pub per: Duration,
}

impl Default for RateLimit {
    /// A bit under the tenant's 100 per 10 s, leaving room for clock skew and other clients.
    fn default() -> Self {
        RateLimit {
            requests: 95,
            per: TENANT_LIMIT_WINDOW,
        }
    }
}

/// Retry behaviour for failed calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after 5xx / transport errors (idempotent calls only).
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Retries after 429 (any method).
    pub max_rate_limited_retries: usize,
    /// Longest `Retry-After` the client will sleep; longer ones are returned to the caller.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_rate_limited_retries: 5,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// One HTTP attempt to the tenant, reported to a [`CallObserver`].
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path with ids replaced by `{id}`, so it can label a metric.
    pub route: &'a str,
    /// HTTP status, or `None` when no response arrived.
    pub status: Option<u16>,
}

/// Receives every HTTP attempt a client makes (retries and token requests included), so the
/// operator can count every call it makes to a tenant.
pub trait CallObserver: Send + Sync {
    /// Called once per attempt, after it ended.
    fn observe(&self, call: &CallRecord<'_>);
}

/// `path` with id-like segments replaced by `{id}` (bounded metric label values).
pub fn route_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let id_like = segment.len() >= 16
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && segment.chars().any(|c| c.is_ascii_digit());
            if id_like { "{id}" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Everything needed to talk to one tenant with one credential.
#[derive(Clone)]
pub struct TenantClientConfig {
    /// Base URL, e.g. `https://acme.api.identitynow.com` (no `/v2024`).
    pub base_url: Url,
    /// OAuth client id (not secret, but not logged either).
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretString,
    /// Client-side rate limit shared by every clone.
    pub rate_limit: RateLimit,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Extra PEM CA bundle to trust (for tenants behind a private CA or a test proxy).
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// Told about every HTTP attempt (metrics).
    pub observer: Option<Arc<dyn CallObserver>>,
}

impl std::fmt::Debug for TenantClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("rate_limit", &self.rate_limit)
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl TenantClientConfig {
    /// A config with default limits.
    pub fn new(
        base_url: &str,
        client_id: &str,
        client_secret: SecretString,
    ) -> Result<Self, IscError> {
        let mut base_url = Url::parse(base_url)
            .map_err(|e| IscError::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(IscError::Config(format!(
                "base URL must be http(s), got {}",
                base_url.scheme()
            )));
        }
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        Ok(TenantClientConfig {
            base_url,
            client_id: client_id.to_string(),
            client_secret,
            rate_limit: RateLimit::default(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            ca_bundle_pem: None,
            observer: None,
        })
    }
}

/// Counts of calls made by a client (all clones), so every tenant call is accounted for.
#[derive(Debug, Default)]
pub struct CallStats {
    /// HTTP attempts to API endpoints (including retries).
    pub requests: AtomicU64,
    /// Token requests.
    pub token_requests: AtomicU64,
    /// Retries after 5xx / transport errors.
    pub retries: AtomicU64,
    /// 429 answers received.
    pub rate_limited: AtomicU64,
}

/// Snapshot of [`CallStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallStatsSnapshot {
    /// HTTP attempts to API endpoints (including retries).
    pub requests: u64,
    /// Token requests.
    pub token_requests: u64,
    /// Retries after 5xx / transport errors.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
}

struct CachedToken {
    access_token: SecretString,
    refresh_at: Instant,
}

struct Inner {
    http: reqwest::Client,
    config: TenantClientConfig,
    limiter: DefaultDirectRateLimiter,
    token: Mutex<Option<CachedToken>>,
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

/// A request body and its content type.
#[derive(Debug, Clone)]
pub enum RequestBody {
    /// `application/json`.
    Json(serde_json::Value),
    /// `application/json-patch+json`.
    JsonPatch(serde_json::Value),
}

/// One API call, described before it is sent.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<RequestBody>,
    experimental: bool,
    idempotent: bool,
}

impl ApiRequest {
    /// A call to `path` (relative to the base URL, e.g. `/v2024/identity-profiles`). GET, HEAD,
    /// PUT and DELETE count as idempotent; everything else does not unless marked.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE
        );
        ApiRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            experimental: false,
            idempotent,
        }
    }

    /// Adds a query parameter (URL-encoded when sent).
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize>(mut self, body: &T) -> Result<Self, IscError> {
        let value = serde_json::to_value(body)
            .map_err(|e| IscError::InvalidRequest(format!("body does not serialize: {e}")))?;
        self.body = Some(RequestBody::Json(value));
        Ok(self)
    }

    /// Sets a JSON Patch body (`application/json-patch+json`).
    pub fn json_patch<T: Serialize>(mut self, ops: &T) -> Result<Self, IscError> {
        let value = serde_json::to_value(ops)
            .map_err(|e| IscError::InvalidRequest(format!("patch does not serialize: {e}")))?;
        self.body = Some(RequestBody::JsonPatch(value));
        Ok(self)
    }

    /// Sends `X-SailPoint-Experimental: true` (required by some v2024 endpoints).
    pub fn experimental(mut self) -> Self {
        self.experimental = true;
        self
    }

    /// HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Path relative to the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Declares the call safe to repeat, so 5xx and transport errors are retried.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

/// A successful response: status, selected headers and the raw body.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status (2xx).
    pub status: u16,
    /// `X-Total-Count`, when the call asked for `count=true`.
    pub total_count: Option<u64>,
    /// Raw body.
    pub body: bytes::Bytes,
}

impl ApiResponse {
    /// Parses the body; an empty body parses as JSON `null`.
    pub fn parse<T: DeserializeOwned>(&self, method: &str, path: &str) -> Result<T, IscError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| IscError::Decode {
            method: method.to_string(),
            path: path.to_string(),
            message: e.to_string(),
        })
    }
}

static CRYPTO_PROVIDER: std::sync::Once = std::sync::Once::new();

/// Installs ring as the process-wide rustls provider (kube uses ring too), once.
pub fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        // Another part of the process may have installed ring already; that is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A GCRA quota that never exceeds `limit.requests` in ANY window of length `limit.per`.
///
/// GCRA allows `burst` at once plus one cell per `period`, so a window can see
/// `burst + per / period` calls; choosing `period = per / (requests - burst)` keeps that at
/// `requests`. The burst is a tenth of the limit, so a resync can start quickly.
fn quota_for(limit: RateLimit) -> Result<Quota, IscError> {
    let requests = limit.requests.max(2);
    let burst = (requests / 10).max(1);
    let period = limit.per / (requests - burst);
    let burst = NonZeroU32::new(burst).expect("max(1) is non-zero");
    Ok(Quota::with_period(period)
        .ok_or_else(|| IscError::Config("rate limit window must be positive".to_string()))?
        .allow_burst(burst))
}

fn parse_retry_after(value: Option<&header::HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

impl TenantClient {
    /// Builds a client. Fails only on an unusable configuration.
    pub fn new(config: TenantClientConfig) -> Result<Self, IscError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("isc-operator/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10));
        if let Some(pem) = &config.ca_bundle_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| IscError::Config(format!("CA bundle is not valid PEM: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| IscError::Config(format!("HTTP client: {e}")))?;
        let quota = quota_for(config.rate_limit)?;
        Ok(TenantClient {
            inner: Arc::new(Inner {
                http,
                limiter: RateLimiter::direct(quota),
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
        let s = &self.inner.stats;
        CallStatsSnapshot {
            requests: s.requests.load(Ordering::Relaxed),
            token_requests: s.token_requests.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            rate_limited: s.rate_limited.load(Ordering::Relaxed),
        }
    }

    fn url(&self, path: &str) -> Result<Url, IscError> {
        self.inner
            .config
            .base_url
            .join(path.trim_start_matches('/'))
            .map_err(|e| IscError::InvalidRequest(format!("path {path:?}: {e}")))
    }

    fn observe(&self, method: &str, path: &str, status: Option<u16>) {
        if let Some(observer) = &self.inner.config.observer {
            observer.observe(&CallRecord {
                method,
                route: &route_of(path),
                status,
            });
        }
    }

    /// A valid access token: the cached one, or a fresh one (single flight).
    pub async fn access_token(&self) -> Result<SecretString, IscError> {
        let mut guard = self.inner.token.lock().await;
        if let Some(cached) = guard.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.access_token.clone());
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.access_token.clone();
        *guard = Some(fresh);
        Ok(token)
    }

    /// Drops the cached token if it is still `stale`, so the next call fetches a new one.
    async fn invalidate_token(&self, stale: &SecretString) {
        let mut guard = self.inner.token.lock().await;
        if guard
            .as_ref()
            .is_some_and(|c| c.access_token.expose_secret() == stale.expose_secret())
        {
            *guard = None;
        }
    }

    async fn fetch_token(&self) -> Result<CachedToken, IscError> {
        let url = self.url("/oauth/token")?;
        let token_url = url.to_string();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.inner.config.client_id.as_str()),
            (
                "client_secret",
                self.inner.config.client_secret.expose_secret(),
            ),
        ];
        let mut backoff = self.backoff();
        loop {
            self.inner.limiter.until_ready().await;
            self.inner
                .stats
                .token_requests
                .fetch_add(1, Ordering::Relaxed);
            let result = self.inner.http.post(url.clone()).form(&form).send().await;
            self.observe(
                "POST",
                "/oauth/token",
                result.as_ref().ok().map(|r| r.status().as_u16()),
            );
            let retry_delay = match result {
                Ok(resp) if resp.status().is_success() => {
                    let body = resp.bytes().await.map_err(|e| IscError::Transport {
                        method: "POST".into(),
                        path: "/oauth/token".into(),
                        message: without_url(&e),
                        outcome_unknown: false,
                    })?;
                    let token: TokenResponse =
                        serde_json::from_slice(&body).map_err(|e| IscError::Decode {
                            method: "POST".into(),
                            path: "/oauth/token".into(),
                            message: e.to_string(),
                        })?;
                    let lifetime = Duration::from_secs(token.expires_in.max(1));
                    // Refresh when 80% of the lifetime is used, and at least 60 s before expiry.
                    let margin = (lifetime / 5)
                        .max(Duration::from_secs(60))
                        .min(lifetime / 2);
                    return Ok(CachedToken {
                        access_token: SecretString::from(token.access_token),
                        refresh_at: Instant::now() + lifetime - margin,
                    });
                }
                Ok(resp) => {
                    let status = resp.status();
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.inner
                            .stats
                            .rate_limited
                            .fetch_add(1, Ordering::Relaxed);
                        parse_retry_after(resp.headers().get(header::RETRY_AFTER))
                            .or_else(|| backoff.next())
                    } else if status.is_server_error() {
                        backoff.next()
                    } else {
                        None
                    }
                    .filter(|d| *d <= self.inner.config.retry.max_retry_after)
                    .ok_or_else(|| IscError::Auth {
                        token_url: token_url.clone(),
                        status: status.as_u16(),
                        message: token_error_text(status),
                    })?
                }
                Err(e) => backoff.next().ok_or_else(|| IscError::Transport {
                    method: "POST".into(),
                    path: "/oauth/token".into(),
                    message: without_url(&e),
                    outcome_unknown: false,
                })?,
            };
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(retry_delay).await;
        }
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        let policy = self.inner.config.retry;
        ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter()
            .build()
    }

    /// Sends one API call with rate limiting, authentication and the retry rules above.
    pub async fn execute(&self, request: &ApiRequest) -> Result<ApiResponse, IscError> {
        let method = request.method.as_str().to_string();
        let path = request.path.clone();
        let url = self.url(&request.path)?;
        let mut backoff = self.backoff();
        let mut rate_limited_retries = 0usize;
        let mut refreshed_after_401 = false;
        loop {
            self.inner.limiter.until_ready().await;
            let token = self.access_token().await?;
            let mut builder = self
                .inner
                .http
                .request(request.method.clone(), url.clone())
                .bearer_auth(token.expose_secret())
                .header(header::ACCEPT, "application/json");
            if !request.query.is_empty() {
                builder = builder.query(&request.query);
            }
            if request.experimental {
                builder = builder.header("X-SailPoint-Experimental", "true");
            }
            builder = match &request.body {
                Some(RequestBody::Json(v)) => builder
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(v.to_string()),
                Some(RequestBody::JsonPatch(v)) => builder
                    .header(header::CONTENT_TYPE, "application/json-patch+json")
                    .body(v.to_string()),
                None => builder,
            };
            self.inner.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sent = builder.send().await;
            self.observe(
                &method,
                &path,
                sent.as_ref().ok().map(|r| r.status().as_u16()),
            );
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    let delay = request.idempotent.then(|| backoff.next()).flatten();
                    match delay {
                        Some(d) => {
                            tracing::debug!(%method, %path, error = %without_url(&e), delay_ms = d.as_millis() as u64, "retrying after transport error");
                            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(d).await;
                            continue;
                        }
                        None => {
                            return Err(IscError::Transport {
                                method,
                                path,
                                message: without_url(&e),
                                // A request that was never connected cannot have been processed.
                                outcome_unknown: !request.idempotent && !e.is_connect(),
                            });
                        }
                    }
                }
            };
            let status = response.status();
            if status.is_success() {
                let total_count = response
                    .headers()
                    .get("X-Total-Count")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok());
                let body = match response.bytes().await {
                    Ok(body) => body,
                    Err(e) => {
                        if request.idempotent
                            && let Some(d) = backoff.next()
                        {
                            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(d).await;
                            continue;
                        }
                        return Err(IscError::Transport {
                            method,
                            path,
                            message: without_url(&e),
                            outcome_unknown: !request.idempotent,
                        });
                    }
                };
                return Ok(ApiResponse {
                    status: status.as_u16(),
                    total_count,
                    body,
                });
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed_after_401 {
                refreshed_after_401 = true;
                self.invalidate_token(&token).await;
                continue;
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                self.inner
                    .stats
                    .rate_limited
                    .fetch_add(1, Ordering::Relaxed);
                let retry_after = parse_retry_after(response.headers().get(header::RETRY_AFTER));
                let delay = retry_after.or_else(|| backoff.next());
                match delay {
                    Some(d)
                        if rate_limited_retries
                            < self.inner.config.retry.max_rate_limited_retries
                            && d <= self.inner.config.retry.max_retry_after =>
                    {
                        rate_limited_retries += 1;
                        tracing::debug!(%method, %path, delay_ms = d.as_millis() as u64, "rate limited by tenant; waiting");
                        tokio::time::sleep(d).await;
                        continue;
                    }
                    _ => {
                        return Err(IscError::RateLimited {
                            method,
                            path,
                            retry_after,
                        });
                    }
                }
            }
            if status.is_server_error() && request.idempotent {
                if let Some(d) = backoff.next() {
                    tracing::debug!(%method, %path, status = status.as_u16(), delay_ms = d.as_millis() as u64, "retrying after server error");
                    self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(d).await;
                    continue;
                }
            }
            let body = response.bytes().await.unwrap_or_default();
            return Err(IscError::from_response(
                &method,
                &path,
                status.as_u16(),
                &body,
            ));
        }
    }

    /// Sends a call and parses the JSON answer.
    pub async fn call<T: DeserializeOwned>(&self, request: &ApiRequest) -> Result<T, IscError> {
        let response = self.execute(request).await?;
        response.parse(request.method.as_str(), &request.path)
    }
}

/// A short, stable description of a transport error: its kind and root cause, without the URL.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    format!("{kind}: {root}")
}

fn token_error_text(status: StatusCode) -> String {
    match status.as_u16() {
        400 | 401 => "the tenant rejected the client credentials (check client_id and client_secret in the Secret)".to_string(),
        403 => "the OAuth client is not allowed to use the client-credentials grant".to_string(),
        _ => format!("token endpoint answered {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_never_exceeds_the_limit_in_any_window() {
        for (requests, per) in [(95, 10_000u64), (100, 1000), (10, 10_000), (2, 1000)] {
            let limit = RateLimit {
                requests,
                per: Duration::from_millis(per),
            };
            let quota = quota_for(limit).unwrap();
            let worst = quota.burst_size().get() as u128
                + limit.per.as_nanos() / quota.replenish_interval().as_nanos();
            assert!(
                worst <= requests as u128,
                "{requests}/{per}ms allows {worst}"
            );
        }
    }

    #[test]
    fn routes_replace_ids() {
        assert_eq!(
            route_of(
                "/v2024/identity-profiles/ef38f94347e94562b5bb8424a56397d8/process-identities"
            ),
            "/v2024/identity-profiles/{id}/process-identities"
        );
        assert_eq!(
            route_of("/v2024/identity-profiles/export"),
            "/v2024/identity-profiles/export"
        );
        assert_eq!(
            route_of("/cc/api/system/refreshIdentities"),
            "/cc/api/system/refreshIdentities"
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let v = header::HeaderValue::from_static("3");
        assert_eq!(parse_retry_after(Some(&v)), Some(Duration::from_secs(3)));
        let v = header::HeaderValue::from_static("0.5");
        assert_eq!(
            parse_retry_after(Some(&v)),
            Some(Duration::from_millis(500))
        );
        let past = header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&past)), Some(Duration::ZERO));
        let junk = header::HeaderValue::from_static("soon");
        assert_eq!(parse_retry_after(Some(&junk)), None);
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let config = TenantClientConfig::new(
            "https://acme.api.identitynow.com",
            "client-1",
            SecretString::from("s3cr3t-value"),
        )
        .unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        let client = TenantClient::new(config).unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn config_rejects_non_http_urls() {
        let err = TenantClientConfig::new("ftp://x", "c", SecretString::from("s")).unwrap_err();
        assert!(err.to_string().contains("http"), "{err}");
    }
}
