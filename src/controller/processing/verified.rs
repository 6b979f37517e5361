//! Identity ids the tenant confirmed recently, per tenant, so many small requests naming the
//! same identities do not look each one up again (a lookup is one tenant call per request, as
//! much as the processing call itself).
//!
//! The lookup only lets a request with an unknown id fail early with a clear message; an
//! identity deleted within [`VERIFIED_FOR`] of its lookup is named in a processing call, and
//! the tenant's refusal of that call is recorded on the submission like any other. Bounded:
//! at most [`MAX_VERIFIED`] ids per tenant, each forgotten after [`VERIFIED_FOR`] (expired ids
//! are dropped at least once per [`VERIFIED_FOR`], so they do not stay in memory).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a confirmed id is trusted without a new lookup.
pub const VERIFIED_FOR: Duration = Duration::from_secs(300);
/// Confirmed ids kept per tenant at most.
pub const MAX_VERIFIED: usize = 100_000;

/// Confirmed ids by tenant (the client's base URL), with when they were confirmed.
#[derive(Debug, Default)]
pub struct VerifiedIds {
    tenants: Mutex<HashMap<String, Confirmed>>,
}

/// One tenant's confirmed ids, and when expired ones were last dropped.
#[derive(Debug)]
struct Confirmed {
    ids: HashMap<String, Instant>,
    pruned: Instant,
}

impl Confirmed {
    fn new(now: Instant) -> Self {
        Confirmed {
            ids: HashMap::new(),
            pruned: now,
        }
    }

    fn prune(&mut self, now: Instant) {
        self.ids
            .retain(|_, at| now.saturating_duration_since(*at) < VERIFIED_FOR);
        self.ids.shrink_to_fit();
        self.pruned = now;
    }
}

impl VerifiedIds {
    /// The ids of `ids` not confirmed within [`VERIFIED_FOR`] before `now`.
    pub fn unconfirmed<'a>(
        &self,
        tenant: &str,
        ids: &'a [String],
        now: Instant,
    ) -> Vec<&'a String> {
        let tenants = self.tenants.lock().expect("verified ids lock");
        let known = tenants.get(tenant);
        ids.iter()
            .filter(|id| {
                known
                    .and_then(|k| k.ids.get(id.as_str()))
                    .is_none_or(|at| now.saturating_duration_since(*at) >= VERIFIED_FOR)
            })
            .collect()
    }

    /// Remembers that the tenant listed `ids` at `now`.
    pub fn confirmed(&self, tenant: &str, ids: impl IntoIterator<Item = String>, now: Instant) {
        let mut tenants = self.tenants.lock().expect("verified ids lock");
        let known = tenants
            .entry(tenant.to_string())
            .or_insert_with(|| Confirmed::new(now));
        if now.saturating_duration_since(known.pruned) >= VERIFIED_FOR {
            known.prune(now);
        }
        for id in ids {
            if known.ids.len() >= MAX_VERIFIED {
                known.prune(now);
                if known.ids.len() >= MAX_VERIFIED {
                    return;
                }
            }
            known.ids.insert(id, now);
        }
    }

    /// Ids held for `tenant` (expired ones included until they are dropped).
    #[cfg(test)]
    fn held(&self, tenant: &str) -> usize {
        let tenants = self.tenants.lock().expect("verified ids lock");
        tenants.get(tenant).map_or(0, |k| k.ids.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmed_ids_are_trusted_for_a_while_and_per_tenant() {
        let verified = VerifiedIds::default();
        let t0 = Instant::now();
        let ids = vec!["a".to_string(), "b".to_string()];
        assert_eq!(verified.unconfirmed("t", &ids, t0).len(), 2);
        verified.confirmed("t", ["a".to_string()], t0);
        assert_eq!(verified.unconfirmed("t", &ids, t0), vec![&ids[1]]);
        assert_eq!(verified.unconfirmed("other", &ids, t0).len(), 2);
        let later = t0 + VERIFIED_FOR;
        assert_eq!(verified.unconfirmed("t", &ids, later).len(), 2, "expired");
    }

    #[test]
    fn expired_ids_do_not_stay_in_memory() {
        let verified = VerifiedIds::default();
        let t0 = Instant::now();
        verified.confirmed("t", (0..1000).map(|i| format!("id-{i}")), t0);
        assert_eq!(verified.held("t"), 1000);
        let later = t0 + VERIFIED_FOR;
        verified.confirmed("t", ["new".to_string()], later);
        assert_eq!(verified.held("t"), 1, "the 1000 expired ids were dropped");
    }
}
