//! Accounting of every HTTP attempt: counters kept by the client and an optional observer the
//! operator uses for metrics.

use std::sync::atomic::{AtomicU64, Ordering};

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

impl CallStats {
    /// The current counts.
    pub fn snapshot(&self) -> CallStatsSnapshot {
        CallStatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            token_requests: self.token_requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }
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

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn snapshots_read_every_counter() {
        let stats = CallStats::default();
        bump(&stats.requests);
        bump(&stats.requests);
        bump(&stats.retries);
        assert_eq!(
            stats.snapshot(),
            CallStatsSnapshot {
                requests: 2,
                token_requests: 0,
                retries: 1,
                rate_limited: 0
            }
        );
    }
}
