//! The client-side rate limit: a GCRA quota that keeps every client of one credential under
//! the tenant gateway's limit, so the tenant rarely has to answer 429.
//!
//! The tenant counts per client id, so the limiter is too: a process-wide registry hands every
//! [`super::TenantClient`] built for the same (normalized base URL, client id) the same
//! limiter, however many `Tenant` objects name that credential. A new limiter starts without
//! burst credit, so a restarted process spreads its first calls over the window instead of
//! sending a burst into a window the previous process may have filled.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use url::Url;

use crate::error::IscError;

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

/// A GCRA quota that never exceeds `limit.requests` in ANY window of length `limit.per`.
///
/// GCRA allows `burst` at once plus one cell per `period`, so a window can see
/// `burst + per / period` calls; choosing `period = per / (requests - burst)` keeps that at
/// `requests`. Every unit of burst slows the sustained pace (a burst of 9 left 86 calls per
/// 10 s instead of 94), and the operator's bulk work (lists, creates, processing) is paced, not
/// bursty: the burst is one call.
pub(crate) fn quota_for(limit: RateLimit) -> Result<Quota, IscError> {
    let requests = limit.requests.max(2);
    let burst = 1;
    let period = limit.per / (requests - burst);
    let burst = NonZeroU32::new(burst).expect("one is non-zero");
    Ok(Quota::with_period(period)
        .ok_or_else(|| IscError::Config("rate limit window must be positive".to_string()))?
        .allow_burst(burst))
}

/// Limiters in use, by (normalized base URL, client id); entries die with their last client.
type Registry = HashMap<(String, String), Weak<DefaultDirectRateLimiter>>;

static LIMITERS: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

/// The limiter for `client_id` at `base_url`: the one already in use by another client of the
/// same pair (with the quota it was made with), or a new one without burst credit.
pub(crate) fn shared_limiter(
    base_url: &Url,
    client_id: &str,
    limit: RateLimit,
) -> Result<Arc<DefaultDirectRateLimiter>, IscError> {
    let quota = quota_for(limit)?;
    let key = (limiter_key(base_url), client_id.to_string());
    let mut limiters = LIMITERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(limiter) = limiters.get(&key).and_then(Weak::upgrade) {
        return Ok(limiter);
    }
    limiters.retain(|_, limiter| limiter.strong_count() > 0);
    let limiter = Arc::new(without_burst_credit(quota));
    limiters.insert(key, Arc::downgrade(&limiter));
    Ok(limiter)
}

/// The tenant part of the key: scheme, lowercase host, non-default port and path, without a
/// trailing slash (the same tenant however its URL is written).
fn limiter_key(base_url: &Url) -> String {
    let host = base_url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = base_url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = base_url.path().trim_end_matches('/');
    format!("{}://{host}{port}{path}", base_url.scheme())
}

/// A limiter whose burst is already used up: the first calls come one `period` apart.
fn without_burst_credit(quota: Quota) -> DefaultDirectRateLimiter {
    let limiter = RateLimiter::direct(quota);
    // Taking exactly the burst size always fits; the result only says so.
    let _ = limiter.check_n(quota.burst_size());
    limiter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn clients_of_one_credential_share_a_limiter() {
        let limit = RateLimit::default();
        let a = shared_limiter(&url("https://share.example/"), "c1", limit).unwrap();
        let b = shared_limiter(&url("HTTPS://Share.Example:443"), "c1", limit).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other_client = shared_limiter(&url("https://share.example/"), "c2", limit).unwrap();
        assert!(!Arc::ptr_eq(&a, &other_client));
        let other_tenant = shared_limiter(&url("https://other.example/"), "c1", limit).unwrap();
        assert!(!Arc::ptr_eq(&a, &other_tenant));
    }

    #[test]
    fn a_limiter_dies_with_its_last_client() {
        let limit = RateLimit::default();
        let first = shared_limiter(&url("https://drop.example/"), "c", limit).unwrap();
        let weak = Arc::downgrade(&first);
        drop(first);
        assert!(weak.upgrade().is_none());
        let second = shared_limiter(&url("https://drop.example/"), "c", limit).unwrap();
        assert!(!std::ptr::eq(weak.as_ptr(), Arc::as_ptr(&second)) || weak.upgrade().is_none());
    }

    #[test]
    fn a_new_limiter_has_no_burst_credit() {
        let limit = RateLimit {
            requests: 100,
            per: Duration::from_secs(3600),
        };
        let limiter = shared_limiter(&url("https://fresh.example/"), "c", limit).unwrap();
        assert!(
            limiter.check().is_err(),
            "the first call waits one period instead of spending a burst"
        );
    }

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
    fn the_sustained_pace_is_one_under_the_limit() {
        let quota = quota_for(RateLimit::default()).unwrap();
        assert_eq!(quota.burst_size().get(), 1);
        assert_eq!(
            quota.replenish_interval(),
            TENANT_LIMIT_WINDOW / 94,
            "95 per 10 s: 94 paced calls plus the burst of one"
        );
    }

    #[test]
    fn a_zero_window_is_a_configuration_error() {
        let limit = RateLimit {
            requests: 10,
            per: Duration::ZERO,
        };
        assert!(matches!(quota_for(limit), Err(IscError::Config(_))));
    }
}
