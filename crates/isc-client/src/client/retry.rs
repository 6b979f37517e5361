//! When to send a failed call again, and after how long: one pure decision, [`decide_retry`].
//!
//! The executor and the token fetch describe what happened ([`LastTry`]) and how many retries
//! they already made ([`RetryCount`]); the decision never sleeps, reads a clock or draws a random
//! number, so every rule below is unit-tested:
//! - a 429 (the gateway did not process the request) is retried for any method, after the
//!   tenant's `Retry-After` or, without one, the next backoff delay; at most
//!   [`RetryPolicy::max_rate_limited_retries`] times, and never for a wait longer than
//!   [`RetryPolicy::max_retry_after`] (that is handed back to the caller instead);
//! - a 5xx, a timeout, a failed connection or a lost response is retried only when the request
//!   is safe to resend, after a bounded, jittered exponential backoff, at most
//!   [`RetryPolicy::max_retries`] times;
//! - everything else is final.

use std::time::Duration;

use crate::error::ErrorClass;

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

/// Why no usable response arrived; decides whether the tenant may have seen the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection was never established: the tenant cannot have seen the request.
    ConnectFailed,
    /// The attempt timed out after the request may have been sent.
    TimedOut,
    /// The request failed in another way after the connection was made.
    Other,
    /// The status arrived but the body was lost on the way.
    ResponseLost,
}

impl TransportFailure {
    /// The failure of a `send` from reqwest (no status received).
    pub fn of_send_error(error: &reqwest::Error) -> Self {
        if error.is_connect() {
            TransportFailure::ConnectFailed
        } else if error.is_timeout() {
            TransportFailure::TimedOut
        } else {
            TransportFailure::Other
        }
    }

    /// True unless the request certainly never reached the tenant.
    pub fn may_have_reached_tenant(self) -> bool {
        self != TransportFailure::ConnectFailed
    }
}

/// The outcome of the last try of a call that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastTry {
    /// No usable response arrived.
    NoResponse(TransportFailure),
    /// The tenant answered with a non-success status.
    Status {
        /// HTTP status.
        status: u16,
        /// The parsed `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
}

impl LastTry {
    /// True for a 429: the gateway refused the request without processing it.
    pub fn is_rate_limited(&self) -> bool {
        rate_limit_wait(self).is_some()
    }

    /// The tenant's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LastTry::Status { retry_after, .. } => *retry_after,
            LastTry::NoResponse(_) => None,
        }
    }
}

/// Retries already made for one call; the "attempt number" of the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryCount {
    /// Backoff delays used so far (5xx, transport errors, 429 without `Retry-After`).
    pub backoff: usize,
    /// Retries after a 429 so far.
    pub rate_limited: usize,
}

impl RetryCount {
    /// The count after retrying `last`.
    #[must_use]
    pub fn after(self, last: &LastTry) -> RetryCount {
        match rate_limit_wait(last) {
            Some(retry_after) => RetryCount {
                backoff: self.backoff + usize::from(retry_after.is_none()),
                rate_limited: self.rate_limited + 1,
            },
            None => RetryCount {
                backoff: self.backoff + 1,
                ..self
            },
        }
    }
}

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Send the call again after waiting this long.
    Retry {
        /// How long to wait first.
        after: Duration,
    },
    /// Stop and report the last failure to the caller.
    GiveUp,
}

/// Decides whether to send a call again after `last` failed.
///
/// `resendable` says the request is safe to repeat (idempotent or declared so); `jitter` is a
/// random fraction in `[0, 1)` that spreads backoff delays (values outside are clamped). A
/// backoff delay never exceeds [`RetryPolicy::max_delay`], and a wait for the tenant's
/// `Retry-After` never exceeds [`RetryPolicy::max_retry_after`].
pub fn decide_retry(
    count: RetryCount,
    last: &LastTry,
    resendable: bool,
    policy: &RetryPolicy,
    jitter: f64,
) -> RetryDecision {
    let delay = if let Some(retry_after) = rate_limit_wait(last) {
        if count.rate_limited >= policy.max_rate_limited_retries {
            return RetryDecision::GiveUp;
        }
        retry_after
            .or_else(|| backoff_delay(count.backoff, policy, jitter))
            .filter(|d| *d <= policy.max_retry_after)
    } else if resendable && is_transient(last) {
        backoff_delay(count.backoff, policy, jitter)
    } else {
        None
    };
    match delay {
        Some(after) => RetryDecision::Retry { after },
        None => RetryDecision::GiveUp,
    }
}

/// `Some(retry_after)` when `last` is a 429 (whose `Retry-After` may be absent).
fn rate_limit_wait(last: &LastTry) -> Option<Option<Duration>> {
    match last {
        LastTry::Status {
            status,
            retry_after,
        } if ErrorClass::of_status(*status) == ErrorClass::RateLimited => Some(*retry_after),
        _ => None,
    }
}

/// True for failures that may pass: no response at all, or a 5xx.
fn is_transient(last: &LastTry) -> bool {
    match last {
        LastTry::NoResponse(_) => true,
        LastTry::Status { status, .. } => ErrorClass::of_status(*status) == ErrorClass::Transient,
    }
}

/// The `step`-th backoff delay (0-based), or `None` when the policy's retries are used up.
///
/// The base delay starts at `min_delay` and doubles up to `max_delay`; jitter adds up to one
/// base delay more, and the result is capped at `max_delay`.
pub fn backoff_delay(step: usize, policy: &RetryPolicy, jitter: f64) -> Option<Duration> {
    if step >= policy.max_retries {
        return None;
    }
    let mut base = policy.min_delay;
    for _ in 0..step {
        // Stops within ~100 rounds: doubling saturates, and a zero delay stays zero.
        if base >= policy.max_delay || base.is_zero() {
            break;
        }
        base = base.saturating_mul(2);
    }
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let extra = Duration::try_from_secs_f64(base.as_secs_f64() * jitter).unwrap_or(Duration::MAX);
    Some(base.saturating_add(extra).min(policy.max_delay))
}

/// Parses a `Retry-After` value: delay seconds (fractions allowed) or an HTTP date, relative to
/// `now`. A date in the past means "now"; a huge number saturates instead of overflowing.
pub fn parse_retry_after(text: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The `Retry-After` header of a response, if present and readable.
pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(text, chrono::Utc::now())
}

#[cfg(test)]
mod tests;
