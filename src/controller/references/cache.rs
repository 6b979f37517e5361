//! The lookups behind name resolution, cached per Tenant (held by its
//! [`TenantHandle`](crate::controller::tenant_pool::TenantHandle), so a rebuilt client starts
//! afresh): one list of sources and one of transforms per resync interval, shared by every
//! object of the Tenant, and one filtered identities list per alias per interval. Every call
//! goes through the tenant client (counted and rate-limited like the rest).
//!
//! A name missing from a cached list lists again, at most once per [`MISS_REFRESH_AFTER`]
//! (a source created in the tenant a moment ago is found without waiting a whole interval,
//! and a name that stays unknown costs at most one list per that time). Callers that ask while
//! a list is in flight share it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use isc_client::filter::Filter;
use isc_client::{IdentityDefaultFilter, IscError, ListParams, TenantClient};

/// A listed tenant object, reduced to what a reference resolves: its name and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedId {
    /// Name (an alias for identities).
    pub name: String,
    /// Tenant id.
    pub id: String,
}

/// How old a cached list must be before a name missing from it makes a new list.
pub const MISS_REFRESH_AFTER: Duration = Duration::from_secs(30);

/// One list taken at a time.
type Snapshot = (Instant, Arc<Vec<NamedId>>);

/// A list of one kind, shared by every caller and taken by one of them at a time.
#[derive(Default)]
struct Listing {
    current: Mutex<Option<Snapshot>>,
    listing: tokio::sync::Mutex<()>,
}

impl Listing {
    fn current(&self) -> Option<Snapshot> {
        self.current.lock().expect("reference cache lock").clone()
    }

    /// The snapshot if it is younger than `max_age`, else a new list (shared with concurrent
    /// callers).
    async fn get<F, Fut>(&self, max_age: Duration, fetch: F) -> Result<Snapshot, IscError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<NamedId>, IscError>>,
    {
        if let Some(snapshot) = self.current().filter(|(at, _)| at.elapsed() < max_age) {
            return Ok(snapshot);
        }
        let _listing = self.listing.lock().await;
        if let Some(snapshot) = self.current().filter(|(at, _)| at.elapsed() < max_age) {
            return Ok(snapshot);
        }
        self.list_now(fetch).await
    }

    /// A list newer than `seen` (another caller's, if one was taken meanwhile).
    async fn newer_than<F, Fut>(&self, seen: Instant, fetch: F) -> Result<Snapshot, IscError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<NamedId>, IscError>>,
    {
        let _listing = self.listing.lock().await;
        if let Some(snapshot) = self.current().filter(|(at, _)| *at > seen) {
            return Ok(snapshot);
        }
        self.list_now(fetch).await
    }

    async fn list_now<F, Fut>(&self, fetch: F) -> Result<Snapshot, IscError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<NamedId>, IscError>>,
    {
        let started = Instant::now();
        let items = Arc::new(fetch().await?);
        let snapshot = (started, items);
        *self.current.lock().expect("reference cache lock") = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// The list to look `found` up in: the cached one (younger than `ages.0`), or a new one
    /// when `found` finds nothing in a list older than `ages.1` (the miss floor).
    async fn lookup<F, Fut>(
        &self,
        ages: (Duration, Duration),
        found: impl Fn(&[NamedId]) -> bool,
        fetch: F,
    ) -> Result<Arc<Vec<NamedId>>, IscError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<NamedId>, IscError>>,
    {
        let (max_age, miss_refresh_after) = ages;
        let (at, items) = self.get(max_age, &fetch).await?;
        if found(&items) || at.elapsed() < miss_refresh_after {
            return Ok(items);
        }
        Ok(self.newer_than(at, &fetch).await?.1)
    }
}

/// The name lookups of one Tenant.
pub struct ReferenceCache {
    max_age: Duration,
    miss_refresh_after: Duration,
    sources: Listing,
    transforms: Listing,
    identities: Mutex<HashMap<String, Arc<Listing>>>,
}

impl ReferenceCache {
    /// An empty cache whose lists are reused for `max_age` (the Tenant's resync interval).
    pub fn new(max_age: Duration) -> Self {
        ReferenceCache {
            max_age,
            miss_refresh_after: MISS_REFRESH_AFTER.min(max_age),
            sources: Listing::default(),
            transforms: Listing::default(),
            identities: Mutex::new(HashMap::new()),
        }
    }

    /// How long a list is reused, and how old it must be before a miss lists again.
    fn ages(&self) -> (Duration, Duration) {
        (self.max_age, self.miss_refresh_after)
    }

    /// The tenant's sources (one list for every object), to find `name` in.
    pub async fn sources(
        &self,
        client: &TenantClient,
        name: &str,
    ) -> Result<Arc<Vec<NamedId>>, IscError> {
        let fetch = || async {
            let listed = client.list_all_sources(&ListParams::default()).await?;
            Ok(listed
                .into_iter()
                .filter_map(|s| s.id.map(|id| NamedId { name: s.name, id }))
                .collect())
        };
        self.sources
            .lookup(self.ages(), |items| any_named(items, name), fetch)
            .await
    }

    /// The tenant's transforms (one list for every object), to find `name` in.
    pub async fn transforms(
        &self,
        client: &TenantClient,
        name: &str,
    ) -> Result<Arc<Vec<NamedId>>, IscError> {
        let fetch = || async {
            let listed = client.list_all_transforms(&ListParams::default()).await?;
            Ok(listed
                .into_iter()
                .filter_map(|t| t.id.map(|id| NamedId { name: t.name, id }))
                .collect())
        };
        let found =
            |items: &[NamedId]| any_named(items, name) || items.iter().any(|t| t.id == name);
        self.transforms.lookup(self.ages(), found, fetch).await
    }

    /// The identities whose alias is `alias` (one filtered list per alias; every identity,
    /// correlated or not). Needs a credential with user context.
    pub async fn identities(
        &self,
        client: &TenantClient,
        alias: &str,
    ) -> Result<Arc<Vec<NamedId>>, IscError> {
        let listing = self.identity_listing(alias);
        let fetch = || async {
            let params = ListParams {
                filter: Some(Filter::eq("alias", alias)),
                ..Default::default()
            };
            let listed = client
                .list_all_identities(&params, IdentityDefaultFilter::None)
                .await?;
            Ok(listed
                .into_iter()
                .filter_map(|i| {
                    let name = i.alias.unwrap_or_default();
                    i.id.map(|id| NamedId { name, id })
                })
                .collect())
        };
        listing
            .lookup(self.ages(), |items| any_named(items, alias), fetch)
            .await
    }

    /// The listing of one alias (aliases compared as the tenant does, ignoring case); entries
    /// not refreshed for two intervals are dropped.
    fn identity_listing(&self, alias: &str) -> Arc<Listing> {
        let mut identities = self.identities.lock().expect("reference cache lock");
        let max_age = self.max_age.saturating_mul(2);
        identities.retain(|_, listing| {
            Arc::strong_count(listing) > 1
                || listing
                    .current()
                    .is_some_and(|(at, _)| at.elapsed() < max_age)
        });
        Arc::clone(identities.entry(alias.to_lowercase()).or_default())
    }
}

/// Some item has `name`, as the tenant compares names (case-insensitively).
fn any_named(items: &[NamedId], name: &str) -> bool {
    let name = name.to_lowercase();
    items.iter().any(|i| i.name.to_lowercase() == name)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    /// What a test's fetch returns.
    type Fetched<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Vec<NamedId>, IscError>> + 'a>>;

    /// A fetch that counts its calls and answers `items` (after a short pause, so concurrent
    /// callers overlap).
    fn counted<'a>(
        calls: &'a AtomicUsize,
        items: &'a Mutex<Vec<NamedId>>,
    ) -> impl Fn() -> Fetched<'a> {
        move || {
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(items.lock().unwrap().clone())
            })
        }
    }

    fn named(name: &str, id: &str) -> NamedId {
        NamedId {
            name: name.into(),
            id: id.into(),
        }
    }

    #[tokio::test]
    async fn one_list_serves_every_lookup_while_it_is_young_and_concurrent_callers_share_it() {
        let calls = AtomicUsize::new(0);
        let items = Mutex::new(vec![named("HR", "1")]);
        let listing = Listing::default();
        let fetch = counted(&calls, &items);
        let found = |i: &[NamedId]| any_named(i, "hr");
        let (a, b) = tokio::join!(
            listing.lookup((LONG, LONG), found, &fetch),
            listing.lookup((LONG, LONG), found, &fetch)
        );
        assert_eq!(a.unwrap(), b.unwrap());
        listing.lookup((LONG, LONG), found, &fetch).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Past the max age, the next lookup lists again.
        listing
            .lookup((Duration::ZERO, LONG), found, &fetch)
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_miss_lists_again_only_past_the_miss_floor() {
        let calls = AtomicUsize::new(0);
        let items = Mutex::new(vec![named("HR", "1")]);
        let listing = Listing::default();
        let fetch = counted(&calls, &items);
        let new_one = |i: &[NamedId]| any_named(i, "Sales");
        let first = listing.lookup((LONG, LONG), new_one, &fetch).await.unwrap();
        assert!(!any_named(&first, "Sales"));
        // Created in the tenant meanwhile: within the floor the miss is answered from the cache.
        items.lock().unwrap().push(named("Sales", "2"));
        let cached = listing.lookup((LONG, LONG), new_one, &fetch).await.unwrap();
        assert!(!any_named(&cached, "Sales"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Past the floor a miss lists once more and finds it; later lookups use that list.
        let fresh = listing
            .lookup((LONG, Duration::ZERO), new_one, &fetch)
            .await
            .unwrap();
        assert!(any_named(&fresh, "Sales"));
        listing
            .lookup((LONG, Duration::ZERO), new_one, &fetch)
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "a hit never lists again");
    }

    #[test]
    fn aliases_share_a_listing_whatever_their_case_and_unused_ones_are_dropped() {
        let cache = ReferenceCache::new(LONG);
        let a = cache.identity_listing("Ada.Lovelace");
        let b = cache.identity_listing("ada.lovelace");
        assert!(Arc::ptr_eq(&a, &b));
        drop((a, b));
        // Never listed and held by nobody: dropped at the next lookup of another alias.
        let _c = cache.identity_listing("grace.hopper");
        assert_eq!(cache.identities.lock().unwrap().len(), 1);
    }
}
