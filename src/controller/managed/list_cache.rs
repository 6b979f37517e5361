//! The tenant objects of one identity-model kind from one shared list per scope (a Tenant, or
//! for lifecycle states a profile of a Tenant), refreshed by the kind's resync sweep and reused
//! by every reconcile in between: steady state costs one list per kind per scope per resync.
//!
//! A create looks the name up in a fresh list first ([`ListCache::refresh`]; callers that ask
//! while a listing runs share it), so a create interrupted by a crash is adopted rather than
//! made twice. Writes the operator makes are put into the snapshot at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use isc_client::IscError;

use crate::controller::error::ReconcileError;

/// Which list: `(namespace, Tenant name, parent id)`; the parent id is empty for kinds that
/// live directly on the tenant.
pub type ListKey = (String, String, String);

/// One scope's snapshot and the lock that serializes its listings.
struct Scope<R> {
    snapshot: Mutex<Option<(Instant, Arc<Vec<R>>)>>,
    listing: tokio::sync::Mutex<()>,
}

/// Shared lists of one kind, by scope.
pub struct ListCache<R> {
    scopes: Mutex<HashMap<ListKey, Arc<Scope<R>>>>,
}

impl<R> Default for ListCache<R> {
    fn default() -> Self {
        ListCache {
            scopes: Mutex::new(HashMap::new()),
        }
    }
}

impl<R: Clone + Send + Sync + 'static> ListCache<R> {
    fn scope(&self, key: &ListKey) -> Arc<Scope<R>> {
        let mut scopes = self.scopes.lock().expect("list cache lock");
        Arc::clone(scopes.entry(key.clone()).or_insert_with(|| {
            Arc::new(Scope {
                snapshot: Mutex::new(None),
                listing: tokio::sync::Mutex::new(()),
            })
        }))
    }

    /// The scope's objects: the snapshot while younger than `max_age` (or while a listing
    /// runs), else one list shared by concurrent callers.
    pub async fn get<F, Fut>(
        &self,
        key: &ListKey,
        max_age: Duration,
        list: F,
    ) -> Result<Arc<Vec<R>>, ReconcileError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<R>, IscError>>,
    {
        let scope = self.scope(key);
        let fresh = |scope: &Scope<R>| {
            let snapshot = scope.snapshot.lock().expect("list snapshot lock");
            snapshot
                .as_ref()
                .filter(|(at, _)| at.elapsed() < max_age)
                .map(|(_, items)| Arc::clone(items))
        };
        if let Some(items) = fresh(&scope) {
            return Ok(items);
        }
        let _listing = scope.listing.lock().await;
        if let Some(items) = fresh(&scope) {
            return Ok(items);
        }
        list_into(&scope, list).await
    }

    /// A list taken no earlier than this call (callers waiting while another lists share
    /// its result).
    pub async fn refresh<F, Fut>(
        &self,
        key: &ListKey,
        list: F,
    ) -> Result<Arc<Vec<R>>, ReconcileError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<R>, IscError>>,
    {
        let asked = Instant::now();
        let scope = self.scope(key);
        let _listing = scope.listing.lock().await;
        let shared = {
            let snapshot = scope.snapshot.lock().expect("list snapshot lock");
            snapshot
                .as_ref()
                .filter(|(at, _)| *at >= asked)
                .map(|(_, items)| Arc::clone(items))
        };
        match shared {
            Some(items) => Ok(items),
            None => list_into(&scope, list).await,
        }
    }

    /// Puts `item` into the scope's snapshot, replacing the one `same` matches.
    pub fn upsert(&self, key: &ListKey, item: R, same: impl Fn(&R) -> bool) {
        self.edit(key, |items| {
            items.retain(|i| !same(i));
            items.push(item);
        });
    }

    /// Removes the items `gone` matches from the scope's snapshot.
    pub fn remove(&self, key: &ListKey, gone: impl Fn(&R) -> bool) {
        self.edit(key, |items| items.retain(|i| !gone(i)));
    }

    fn edit(&self, key: &ListKey, change: impl FnOnce(&mut Vec<R>)) {
        let scope = self.scope(key);
        let mut snapshot = scope.snapshot.lock().expect("list snapshot lock");
        if let Some((_, items)) = snapshot.as_mut() {
            change(Arc::make_mut(items));
        }
    }

    /// Forgets the scopes `keep` rejects (Tenants or profiles that are gone).
    pub fn retain(&self, mut keep: impl FnMut(&ListKey) -> bool) {
        let mut scopes = self.scopes.lock().expect("list cache lock");
        scopes.retain(|key, _| keep(key));
    }
}

/// Lists (the caller holds the scope's listing lock) and installs the result.
async fn list_into<R, F, Fut>(scope: &Scope<R>, list: F) -> Result<Arc<Vec<R>>, ReconcileError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<R>, IscError>>,
{
    let started = Instant::now();
    let items = Arc::new(list().await?);
    let mut snapshot = scope.snapshot.lock().expect("list snapshot lock");
    *snapshot = Some((started, Arc::clone(&items)));
    Ok(items)
}

/// The shared lists of the three identity-model kinds (one per process, in the context).
#[derive(Default)]
pub struct IdentityModelLists {
    /// Identity attributes, per Tenant.
    pub identity_attributes: ListCache<isc_client::models::IdentityAttribute>,
    /// Transforms, per Tenant.
    pub transforms: ListCache<isc_client::models::Transform>,
    /// Lifecycle states, per profile of a Tenant.
    pub lifecycle_states: ListCache<isc_client::models::ProfileLifecycleState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ListKey {
        ("ns".into(), "t".into(), String::new())
    }

    #[tokio::test]
    async fn one_list_serves_until_it_is_old_and_writes_go_into_it() {
        let cache: ListCache<String> = ListCache::default();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let list = || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(vec!["a".to_string()])
        };
        let hour = Duration::from_secs(3600);
        assert_eq!(cache.get(&key(), hour, list).await.unwrap().len(), 1);
        assert_eq!(cache.get(&key(), hour, list).await.unwrap().len(), 1);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        cache.upsert(&key(), "b".into(), |i| i == "b");
        cache.upsert(&key(), "b".into(), |i| i == "b");
        assert_eq!(cache.get(&key(), hour, list).await.unwrap().len(), 2);
        cache.remove(&key(), |i| i == "a");
        assert_eq!(*cache.get(&key(), hour, list).await.unwrap(), vec!["b"]);
        cache.refresh(&key(), list).await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        cache.get(&key(), Duration::ZERO, list).await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}
