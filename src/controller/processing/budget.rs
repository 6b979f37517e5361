//! The poll budget: task polling (and the task-list lookups that resolve unknown outcomes)
//! may use at most a fixed share of each tenant's rate budget, so drift correction and user
//! edits always find room in the client's rate limiter. Polls beyond the budget wait (the
//! request requeues) instead of calling.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use isc_client::RateLimit;

/// The share of a tenant's rate budget polling may use, in percent.
pub const POLL_SHARE_PERCENT: u32 = 20;

/// How many polls a tenant's budget allows: a token bucket whose burst plus refill over one
/// rate-limit window never exceeds the share, so any window holds at most `share` polls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollAllowance {
    /// Polls allowed in any window of `window` (the share of the tenant's limit).
    pub share: u32,
    /// The tenant's rate-limit window.
    pub window: Duration,
    /// Polls that may go out at once (part of the share).
    burst: f64,
    /// Tokens added per second.
    refill_per_second: f64,
}

impl PollAllowance {
    /// [`POLL_SHARE_PERCENT`] of `limit` (at least one poll per window).
    pub fn share_of(limit: RateLimit) -> Self {
        let share = (limit.requests.saturating_mul(POLL_SHARE_PERCENT) / 100).max(1);
        let window = limit.per.max(Duration::from_millis(1));
        let burst = f64::from((share / 4).max(1));
        // Burst + refill over one window = share (a share of 1 still refills once a window).
        let refill = (f64::from(share) - burst).max(1.0);
        PollAllowance {
            share,
            window,
            burst,
            refill_per_second: refill / window.as_secs_f64(),
        }
    }
}

/// Tokens left for one tenant.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Poll budgets by tenant identity, shared by every request of the process.
#[derive(Debug, Default)]
pub struct PollBudget {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl PollBudget {
    /// Takes `polls` tokens of `tenant`'s budget at `now`; on refusal, says how long until
    /// they are available (nothing is taken then).
    pub fn try_take(
        &self,
        tenant: &str,
        allowance: PollAllowance,
        polls: u32,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().expect("poll budget lock");
        let bucket = buckets.entry(tenant.to_string()).or_insert(Bucket {
            tokens: allowance.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens =
            (bucket.tokens + elapsed * allowance.refill_per_second).min(allowance.burst);
        bucket.updated = bucket.updated.max(now);
        let wanted = f64::from(polls.max(1));
        if bucket.tokens + 1e-9 >= wanted {
            bucket.tokens -= wanted;
            return Ok(());
        }
        let missing = wanted - bucket.tokens;
        Err(Duration::from_secs_f64(
            (missing / allowance.refill_per_second).min(allowance.window.as_secs_f64()),
        )
        .max(Duration::from_millis(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_allowance() -> PollAllowance {
        PollAllowance::share_of(RateLimit::default())
    }

    #[test]
    fn the_share_is_a_fifth_of_the_tenant_limit() {
        let a = default_allowance();
        assert_eq!(a.share, 19, "20 % of 98, rounded down");
        assert_eq!(a.window, Duration::from_secs(10));
        let tiny = PollAllowance::share_of(RateLimit {
            requests: 1,
            per: Duration::from_secs(10),
        });
        assert_eq!(tiny.share, 1, "at least one poll per window");
    }

    #[test]
    fn polls_beyond_the_budget_wait() {
        let budget = PollBudget::default();
        let a = default_allowance();
        let t0 = Instant::now();
        let mut granted = 0;
        while budget.try_take("t", a, 1, t0).is_ok() {
            granted += 1;
        }
        assert_eq!(granted, 4, "the burst is a quarter of the share");
        let wait = budget.try_take("t", a, 1, t0).expect_err("budget spent");
        assert!(wait > Duration::ZERO && wait <= a.window, "{wait:?}");
        assert!(budget.try_take("t", a, 1, t0 + wait).is_ok(), "refilled");
        assert!(budget.try_take("other", a, 1, t0).is_ok(), "per tenant");
        assert!(
            budget
                .try_take("t", a, 40, t0 + Duration::from_secs(60))
                .is_err(),
            "never more than the burst at once"
        );
    }

    #[test]
    fn any_window_holds_at_most_the_share() {
        let budget = PollBudget::default();
        let a = default_allowance();
        let t0 = Instant::now();
        // Ask every 10 ms for a minute, record the grants.
        let mut grants = Vec::new();
        for i in 0..6000u32 {
            let now = t0 + Duration::from_millis(u64::from(i) * 10);
            if budget.try_take("t", a, 1, now).is_ok() {
                grants.push(now);
            }
        }
        for (i, start) in grants.iter().enumerate() {
            let in_window = grants[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < a.window)
                .count();
            assert!(in_window <= a.share as usize, "{in_window} in one window");
        }
        // And the budget is usable: the share less the burst per window, sustained.
        assert!(grants.len() >= 6 * 15, "{} grants", grants.len());
    }
}
