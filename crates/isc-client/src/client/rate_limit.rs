//! The client-side rate limit: a GCRA quota that keeps every clone of a client under the
//! tenant gateway's limit, so the tenant rarely has to answer 429.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;

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
/// `requests`. The burst is a tenth of the limit, so a resync can start quickly.
pub(crate) fn quota_for(limit: RateLimit) -> Result<Quota, IscError> {
    let requests = limit.requests.max(2);
    let burst = (requests / 10).max(1);
    let period = limit.per / (requests - burst);
    let burst = NonZeroU32::new(burst).expect("max(1) is non-zero");
    Ok(Quota::with_period(period)
        .ok_or_else(|| IscError::Config("rate limit window must be positive".to_string()))?
        .allow_burst(burst))
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
    fn a_zero_window_is_a_configuration_error() {
        let limit = RateLimit {
            requests: 10,
            per: Duration::ZERO,
        };
        assert!(matches!(quota_for(limit), Err(IscError::Config(_))));
    }
}
