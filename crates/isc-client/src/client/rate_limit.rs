//! The client-side rate limit: a GCRA quota that keeps every client of one credential under
//! the tenant gateway's limit, so the tenant rarely has to answer 429.
//!
//! The tenant counts per client id, so the limiter is too: a process-wide registry hands every
//! [`super::TenantClient`] built for the same (normalized base URL, client id) the same
//! limiter, however many `Tenant` objects name that credential. A new limiter starts without
//! burst credit, so a restarted process spreads its first calls over the window instead of
//! sending a burst into a window the previous process may have filled.
//!
//! Calls that wait for the limiter form two lanes ([`CallPriority`]): a call made for a user's
//! change (the default) goes before background work (the resync sweep's pages) when both wait,
//! so an edit's PATCH does not queue behind a listing of thousands of profiles. Priority only
//! reorders who takes the next slot: the pace and the number of calls are the same. Background
//! is never starved: while both lanes wait, every [`FOREGROUND_RUN`]+1-th slot is background's.

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use governor::Quota;
use tokio::sync::Notify;
use tokio::time::Instant;
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

/// Requests per [`TENANT_LIMIT_WINDOW`] the client allows itself by default: two under the
/// tenant's 100, in any window (the sustained pace is one less, see [`quota_for`]). Every call
/// the operator makes is paced by it, so each request under the limit is a percent of every
/// bulk job's time; the two left over absorb network jitter bunching arrivals at the gateway.
pub const DEFAULT_REQUESTS_PER_WINDOW: u32 = 98;

impl Default for RateLimit {
    /// [`DEFAULT_REQUESTS_PER_WINDOW`] per 10 s.
    fn default() -> Self {
        RateLimit {
            requests: DEFAULT_REQUESTS_PER_WINDOW,
            per: TENANT_LIMIT_WINDOW,
        }
    }
}

/// A GCRA quota that never exceeds `limit.requests` in ANY window of length `limit.per`.
///
/// GCRA allows `burst` at once plus one cell per `period`, so a window can see
/// `burst + per / period` calls; choosing `period = per / (requests - burst)` keeps that at
/// `requests`. Every unit of burst slows the sustained pace (a burst of 9 left 86 calls per
/// 10 s instead of 94 at 95), and the operator's bulk work (lists, creates, processing) is paced, not
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
type Registry = HashMap<(String, String), Weak<PacedLimiter>>;

static LIMITERS: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

/// The limiter for `client_id` at `base_url`: the one already in use by another client of the
/// same pair (with the quota it was made with), or a new one without burst credit.
pub(crate) fn shared_limiter(
    base_url: &Url,
    client_id: &str,
    limit: RateLimit,
) -> Result<Arc<PacedLimiter>, IscError> {
    let quota = quota_for(limit)?;
    let key = (limiter_key(base_url), client_id.to_string());
    let mut limiters = LIMITERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(limiter) = limiters.get(&key).and_then(Weak::upgrade) {
        return Ok(limiter);
    }
    limiters.retain(|_, limiter| limiter.strong_count() > 0);
    let limiter = Arc::new(PacedLimiter::new(quota.replenish_interval()));
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

/// Who a tenant call is for, when calls wait for the limiter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CallPriority {
    /// A user's change, or a reconcile working on one: goes first.
    #[default]
    Foreground,
    /// Periodic work nobody waits for (the resync sweep): goes when no foreground call waits,
    /// and at least once every [`FOREGROUND_RUN`] + 1 slots.
    Background,
}

tokio::task_local! {
    static PRIORITY: CallPriority;
}

impl CallPriority {
    /// Runs `future` with every tenant call it makes at this priority (calls outside any scope
    /// are [`CallPriority::Foreground`]).
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        PRIORITY.scope(self, future).await
    }

    /// The priority of the calls the current task makes.
    pub fn current() -> Self {
        PRIORITY.try_with(|p| *p).unwrap_or_default()
    }

    fn lane(self) -> usize {
        match self {
            CallPriority::Foreground => 0,
            CallPriority::Background => 1,
        }
    }
}

/// Foreground calls granted in a row while background calls wait, before one background call
/// goes (so a background call at the head of its lane waits at most this many + 1 slots).
pub const FOREGROUND_RUN: u32 = 4;

/// A GCRA limiter with a burst of one (one slot every `period`) whose waiting calls are served
/// by [`CallPriority`], then in arrival order.
#[derive(Debug)]
pub struct PacedLimiter {
    period: Duration,
    state: Mutex<LaneState>,
    /// Wakes waiting calls when the head of the lanes may have changed.
    changed: Notify,
}

/// Who waits, and when the next slot is free.
#[derive(Debug)]
struct LaneState {
    /// The earliest time the next call may go.
    next_slot: Instant,
    next_ticket: u64,
    /// Waiting tickets per lane (foreground, background), oldest first.
    lanes: [VecDeque<u64>; 2],
    /// Foreground calls granted since the last background call, while background waited.
    foreground_run: u32,
}

impl LaneState {
    /// The lane whose oldest ticket takes the next slot.
    fn head_lane(&self) -> Option<usize> {
        match (self.lanes[0].is_empty(), self.lanes[1].is_empty()) {
            (false, false) if self.foreground_run >= FOREGROUND_RUN => Some(1),
            (false, _) => Some(0),
            (true, false) => Some(1),
            (true, true) => None,
        }
    }

    fn is_head(&self, lane: usize, ticket: u64) -> bool {
        self.head_lane() == Some(lane) && self.lanes[lane].front() == Some(&ticket)
    }

    /// Gives the slot at `now` to the head of `lane`.
    fn grant(&mut self, lane: usize, now: Instant, period: Duration) {
        self.lanes[lane].pop_front();
        self.next_slot = self.next_slot.max(now) + period;
        self.foreground_run = match lane {
            0 if !self.lanes[1].is_empty() => self.foreground_run + 1,
            _ => 0,
        };
    }

    fn forget(&mut self, lane: usize, ticket: u64) -> bool {
        let before = self.lanes[lane].len();
        self.lanes[lane].retain(|t| *t != ticket);
        self.lanes[lane].len() != before
    }
}

impl PacedLimiter {
    /// A limiter with one slot per `period`, whose burst is already used up: the first call
    /// comes one `period` after it was made.
    pub fn new(period: Duration) -> Self {
        PacedLimiter {
            period,
            state: Mutex::new(LaneState {
                next_slot: Instant::now() + period,
                next_ticket: 0,
                lanes: [VecDeque::new(), VecDeque::new()],
                foreground_run: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot at the current task's [`CallPriority`].
    pub async fn until_ready(&self) {
        self.until_ready_as(CallPriority::current()).await;
    }

    /// Waits for a slot at `priority`. Cancel-safe: a dropped wait leaves its place.
    pub async fn until_ready_as(&self, priority: CallPriority) {
        let lane = priority.lane();
        let mut waiting = {
            let mut state = self.lock();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            state.lanes[lane].push_back(ticket);
            Waiting {
                limiter: self,
                lane,
                ticket,
            }
        };
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let slot = {
                let mut state = self.lock();
                if !state.is_head(lane, waiting.ticket) {
                    None
                } else {
                    let now = Instant::now();
                    if now >= state.next_slot {
                        state.grant(lane, now, self.period);
                        drop(state);
                        waiting.granted();
                        self.changed.notify_waiters();
                        return;
                    }
                    Some(state.next_slot)
                }
            };
            match slot {
                Some(at) => tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = changed => {}
                },
                None => changed.await,
            }
        }
    }
}

/// A place in a lane; leaving it (the wait was dropped) lets the next call be the head.
struct Waiting<'a> {
    limiter: &'a PacedLimiter,
    lane: usize,
    ticket: u64,
}

impl Waiting<'_> {
    /// The ticket was served: nothing to leave.
    fn granted(&mut self) {
        self.ticket = u64::MAX;
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.ticket != u64::MAX && self.limiter.lock().forget(self.lane, self.ticket) {
            self.limiter.changed.notify_waiters();
        }
    }
}
