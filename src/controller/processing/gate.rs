//! The tenant accepts at most one attribute sync per identity every 10 s. Several requests may
//! name the same identity, so the spacing is enforced process-wide, per tenant and identity:
//! a request that would call early waits (requeues) instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tenant's minimum spacing of attribute syncs for one identity.
pub const SYNC_WINDOW: Duration = Duration::from_secs(10);
/// Added to the window: clocks and network delays differ between operator and tenant.
pub const SYNC_MARGIN: Duration = Duration::from_millis(750);

/// Last attribute-sync call per (tenant, identity), shared by every request of the process.
///
/// A restarted operator does not know what its predecessor sent, so nothing is allowed during
/// the first window after the gate is created.
#[derive(Debug)]
pub struct SyncGate {
    spacing: Duration,
    created: Instant,
    last: Mutex<HashMap<(String, String), Instant>>,
}

impl Default for SyncGate {
    fn default() -> Self {
        SyncGate::new(SYNC_WINDOW + SYNC_MARGIN, Instant::now())
    }
}

impl SyncGate {
    /// A gate that spaces calls by `spacing`, starting closed at `created`.
    pub fn new(spacing: Duration, created: Instant) -> Self {
        SyncGate {
            spacing,
            created,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Claims the right to sync `identity` on `tenant` at `now`; on refusal, says how long to
    /// wait. A claim blocks others until [`SyncGate::release`] plus the spacing.
    pub fn try_claim(&self, tenant: &str, identity: &str, now: Instant) -> Result<(), Duration> {
        let mut last = self.last.lock().expect("sync gate lock");
        let key = (tenant.to_string(), identity.to_string());
        let since = last.get(&key).copied().unwrap_or(self.created);
        let open_at = since + self.spacing;
        if now < open_at {
            return Err(open_at - now);
        }
        last.insert(key, now);
        // Entries older than the spacing no longer block anything.
        let spacing = self.spacing;
        last.retain(|_, t| now.saturating_duration_since(*t) < spacing);
        Ok(())
    }

    /// Records that the call claimed at an earlier [`SyncGate::try_claim`] has ended at `now`:
    /// the tenant saw it no later than this, so the spacing counts from here.
    pub fn release(&self, tenant: &str, identity: &str, now: Instant) {
        self.last
            .lock()
            .expect("sync gate lock")
            .insert((tenant.to_string(), identity.to_string()), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_calls_per_tenant_and_identity() {
        let t0 = Instant::now();
        let s = Duration::from_secs(10);
        let gate = SyncGate::new(s, t0);
        assert_eq!(
            gate.try_claim("t", "a", t0),
            Err(s),
            "closed right after start"
        );
        let t1 = t0 + s;
        assert_eq!(gate.try_claim("t", "a", t1), Ok(()));
        assert_eq!(gate.try_claim("t", "b", t1), Ok(()), "other identity");
        assert_eq!(gate.try_claim("u", "a", t1), Ok(()), "other tenant");
        assert_eq!(
            gate.try_claim("t", "a", t1 + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        // The call took 3 s: the spacing counts from its end.
        gate.release("t", "a", t1 + Duration::from_secs(3));
        assert_eq!(
            gate.try_claim("t", "a", t1 + Duration::from_secs(12)),
            Err(Duration::from_secs(1))
        );
        assert_eq!(
            gate.try_claim("t", "a", t1 + Duration::from_secs(13)),
            Ok(())
        );
    }
}
