//! The watch cache of `IdentityProfile`s with an index of what each one claims: the tenant
//! profile name (as the tenant compares names) and the recorded id.
//!
//! Every reconcile asks who else claims its tenant profile ([`super::ownership`]); scanning
//! the whole cache for that made adopting 10 000 profiles quadratic (measured: close to half
//! the operator's CPU). The index answers with the few objects that may claim the same name
//! or id (keyed by 64-bit digests, so it holds no strings, and the cache's own copies of the
//! objects, so no object twice); the caller compares the real values. It is updated with the
//! cache, from the same watch events, and rebuilt from the cache whenever the watch relists.
//! About 80 bytes per object.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::watcher;

use crate::api::IdentityProfile;
use crate::controller::profile_cache::name_key;

/// A fixed-size digest of a name key or id; two claims with the same digest are candidates,
/// and the caller compares the real values.
type Digest = u64;

/// The objects behind one digest, shared with the watch cache (no copy of any object): nearly
/// always one, so no vector for it.
#[derive(Debug)]
enum Holders {
    One(Arc<IdentityProfile>),
    // Boxed so the common case stays two words in the map (a bare vector would make three).
    #[allow(clippy::box_collection)]
    Many(Box<Vec<Arc<IdentityProfile>>>),
}

/// Whether `a` and `b` are the same Kubernetes object (in any version).
fn same_object(a: &IdentityProfile, b: &IdentityProfile) -> bool {
    a.metadata.name == b.metadata.name && a.metadata.namespace == b.metadata.namespace
}

impl Holders {
    /// Adds `obj`, replacing an older version of it.
    fn insert(&mut self, obj: &Arc<IdentityProfile>) {
        match self {
            Holders::One(one) if same_object(one, obj) => *one = Arc::clone(obj),
            Holders::One(one) => {
                *self = Holders::Many(Box::new(vec![Arc::clone(one), Arc::clone(obj)]));
            }
            Holders::Many(many) => match many.iter_mut().find(|o| same_object(o, obj)) {
                Some(older) => *older = Arc::clone(obj),
                None => many.push(Arc::clone(obj)),
            },
        }
    }

    /// Removes every version of `obj`; `true` when nothing is left.
    fn remove(&mut self, obj: &IdentityProfile) -> bool {
        match self {
            Holders::One(one) => same_object(one, obj),
            Holders::Many(many) => {
                many.retain(|o| !same_object(o, obj));
                let empty = many.is_empty();
                if let [only] = many.as_slice() {
                    let only = Arc::clone(only);
                    *self = Holders::One(only);
                }
                empty
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Arc<IdentityProfile>> {
        match self {
            Holders::One(one) => std::slice::from_ref(one).iter(),
            Holders::Many(many) => many.iter(),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Holders::One(_) => 1,
            Holders::Many(many) => many.len(),
        }
    }
}

/// What one object claims: digests of its name key and recorded id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Claim {
    name: Digest,
    id: Option<Digest>,
}

#[derive(Debug, Default)]
struct Claims {
    by_name: HashMap<Digest, Holders>,
    by_id: HashMap<Digest, Holders>,
}

impl Claims {
    fn insert(&mut self, obj: &Arc<IdentityProfile>, claim: Claim) {
        add(&mut self.by_name, claim.name, obj);
        if let Some(id) = claim.id {
            add(&mut self.by_id, id, obj);
        }
    }

    fn remove(&mut self, obj: &IdentityProfile, claim: Claim) {
        take(&mut self.by_name, claim.name, obj);
        if let Some(id) = claim.id {
            take(&mut self.by_id, id, obj);
        }
    }
}

fn add(map: &mut HashMap<Digest, Holders>, digest: Digest, obj: &Arc<IdentityProfile>) {
    map.entry(digest)
        .and_modify(|h| h.insert(obj))
        .or_insert_with(|| Holders::One(Arc::clone(obj)));
}

fn take(map: &mut HashMap<Digest, Holders>, digest: Digest, obj: &IdentityProfile) {
    if let Some(holders) = map.get_mut(&digest)
        && holders.remove(obj)
    {
        map.remove(&digest);
    }
}

/// The objects that may claim a tenant profile name or id (see the module documentation).
#[derive(Debug, Default)]
pub struct ClaimIndex {
    hasher: RandomState,
    claims: RwLock<Claims>,
}

impl ClaimIndex {
    fn digest(&self, value: &str) -> Digest {
        self.hasher.hash_one(value)
    }

    fn claim_of(&self, obj: &IdentityProfile) -> Claim {
        let id = obj.status.as_ref().and_then(|s| s.id.as_deref());
        Claim {
            name: self.digest(&name_key(&obj.spec.name)),
            id: id.map(|id| self.digest(id)),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Claims> {
        self.claims.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Claims> {
        self.claims.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows one watch event the cache (`store`) has just applied; `before` is the version
    /// of the object the cache (and so the index) held before it.
    fn follow(
        &self,
        event: &watcher::Event<IdentityProfile>,
        before: Option<Arc<IdentityProfile>>,
        store: &Store<IdentityProfile>,
    ) {
        match event {
            watcher::Event::Apply(obj) => {
                // The cache's own copy: the index never holds an object of its own.
                let now = store.get(&ObjectRef::from_obj(obj));
                let mut claims = self.write();
                if let Some(before) = before {
                    claims.remove(&before, self.claim_of(&before));
                }
                if let Some(now) = now {
                    claims.insert(&now, self.claim_of(&now));
                }
            }
            watcher::Event::Delete(obj) => {
                let gone = before.as_deref().unwrap_or(obj);
                self.write().remove(gone, self.claim_of(gone));
            }
            // During a relist the cache holds the relisted objects back until `InitDone` and
            // shows the previous ones; so does the index (copies of thousands of objects made
            // here, freed at `InitDone`, would leave the heap fragmented after every start).
            watcher::Event::Init | watcher::Event::InitApply(_) => {}
            // The cache now holds exactly the relisted objects: start over from it (objects
            // deleted while the watch was down sent no `Delete`).
            watcher::Event::InitDone => {
                let mut fresh = Claims::default();
                for obj in store.state() {
                    fresh.insert(&obj, self.claim_of(&obj));
                }
                *self.write() = fresh;
            }
        }
    }

    /// The cached objects that may claim the tenant profile named `name` (as the tenant
    /// compares names) or with id `id`, each once; callers check each one.
    pub fn candidates(&self, name: &str, id: Option<&str>) -> Vec<Arc<IdentityProfile>> {
        let by_name = self.digest(&name_key(name));
        let by_id = id.map(|id| self.digest(id));
        let claims = self.read();
        let mut found: Vec<Arc<IdentityProfile>> = Vec::new();
        let named = claims.by_name.get(&by_name).into_iter();
        let with_id = by_id.and_then(|d| claims.by_id.get(&d)).into_iter();
        for obj in named.chain(with_id).flat_map(Holders::iter) {
            if !found.iter().any(|f| same_object(f, obj)) {
                found.push(Arc::clone(obj));
            }
        }
        found
    }

    /// How many objects the index holds (each claims exactly one name).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.read().by_name.values().map(Holders::len).sum()
    }
}

/// The `IdentityProfile` watch cache as the controllers read it: the objects and who claims
/// what ([`ClaimIndex`]).
#[derive(Clone)]
pub struct ProfileCache {
    /// The objects.
    pub store: Store<IdentityProfile>,
    /// Who claims which tenant profile name or id.
    pub claims: Arc<ClaimIndex>,
}

/// Fills a [`ProfileCache`]: every watch event goes to the store first, then to the index.
pub struct ProfileCacheWriter {
    writer: Writer<IdentityProfile>,
    store: Store<IdentityProfile>,
    claims: Arc<ClaimIndex>,
}

impl ProfileCacheWriter {
    /// Applies one watch event (as `reflector::store::Writer::apply_watcher_event` does).
    pub fn apply_watcher_event(&mut self, event: &watcher::Event<IdentityProfile>) {
        let before = match event {
            watcher::Event::Apply(obj) | watcher::Event::Delete(obj) => {
                self.store.get(&ObjectRef::from_obj(obj))
            }
            watcher::Event::Init | watcher::Event::InitApply(_) | watcher::Event::InitDone => None,
        };
        self.writer.apply_watcher_event(event);
        self.claims.follow(event, before, &self.store);
    }
}

/// An empty cache and its writer (the analogue of `kube::runtime::reflector::store`).
pub fn profile_cache() -> (ProfileCache, ProfileCacheWriter) {
    let (store, writer) = reflector::store();
    let claims = Arc::new(ClaimIndex::default());
    let cache = ProfileCache {
        store: store.clone(),
        claims: Arc::clone(&claims),
    };
    let writer = ProfileCacheWriter {
        writer,
        store,
        claims,
    };
    (cache, writer)
}

#[cfg(test)]
mod tests;
