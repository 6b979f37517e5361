//! The gateway rate limit: N requests per sliding window, per client id and API version.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: HashMap<(String, &'static str), VecDeque<Instant>>,
}

impl RateLimiter {
    /// Admits a request, or returns the whole seconds (at least 1) until a slot frees.
    /// Rejected requests do not count, as at the tenant's gateway.
    pub(crate) fn admit(
        &mut self,
        client_id: &str,
        api: &'static str,
        limit: Option<(u32, Duration)>,
        now: Instant,
    ) -> Result<(), u64> {
        let Some((requests, window)) = limit else {
            return Ok(());
        };
        let times = self
            .windows
            .entry((client_id.to_string(), api))
            .or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if times.len() >= requests as usize {
            let wait = times
                .front()
                .and_then(|oldest| oldest.checked_add(window))
                .map(|free| free.saturating_duration_since(now))
                .unwrap_or(window);
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        times.push_back(now);
        Ok(())
    }

    pub(crate) fn clear(&mut self) {
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_per_client_and_version() {
        let mut rl = RateLimiter::default();
        let limit = Some((2, Duration::from_secs(10)));
        let t0 = Instant::now();
        assert!(rl.admit("a", "v2024", limit, t0).is_ok());
        assert!(
            rl.admit("a", "v2024", limit, t0 + Duration::from_secs(3))
                .is_ok()
        );
        assert_eq!(
            rl.admit("a", "v2024", limit, t0 + Duration::from_secs(4)),
            Err(6)
        );
        assert!(
            rl.admit("a", "cc", limit, t0 + Duration::from_secs(4))
                .is_ok()
        );
        assert!(
            rl.admit("b", "v2024", limit, t0 + Duration::from_secs(4))
                .is_ok()
        );
        assert!(
            rl.admit("a", "v2024", limit, t0 + Duration::from_secs(10))
                .is_ok()
        );
        assert_eq!(
            rl.admit("a", "v2024", limit, t0 + Duration::from_millis(12_900)),
            Err(1)
        );
        assert!(rl.admit("a", "v2024", None, t0).is_ok());
    }
}
