//! The watch cache of `IdentityProfile`s with an index of what each one claims: the tenant
//! profile name (as the tenant compares names) and the recorded id.
//!
//! Every reconcile asks who else claims its tenant profile ([`super::ownership`]); scanning
//! the whole cache for that made adopting 10 000 profiles quadratic (measured: close to half
//! the operator's CPU). The index answers with the few objects that may claim the same name
//! or id, and the caller checks each one as it is in the cache now. So the index may hold more
//! than the truth for a moment, never less: it is updated right after the cache, from the
//! same watch events, and rebuilt from the cache whenever the watch relists.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use kube::ResourceExt;
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::watcher;

use crate::api::IdentityProfile;
use crate::controller::profile_cache::name_key;

/// A fixed-size digest of a name key or id; two claims with the same digest are candidates,
/// and the caller compares the real values.
type Digest = u64;

/// `namespace/name` of a cached object (neither part may contain `/`), shared by both maps.
type ObjectKey = Arc<str>;

/// The objects behind one digest: nearly always one, so no vector for it.
#[derive(Debug)]
enum Holders {
    One(ObjectKey),
    Many(Vec<ObjectKey>),
}

impl Holders {
    fn insert(&mut self, key: &ObjectKey) {
        match self {
            Holders::One(one) if one == key => {}
            Holders::One(one) => *self = Holders::Many(vec![Arc::clone(one), Arc::clone(key)]),
            Holders::Many(many) => {
                if !many.contains(key) {
                    many.push(Arc::clone(key));
                }
            }
        }
    }

    /// Removes `key`; `true` when nothing is left.
    fn remove(&mut self, key: &ObjectKey) -> bool {
        match self {
            Holders::One(one) => one == key,
            Holders::Many(many) => {
                many.retain(|k| k != key);
                let empty = many.is_empty();
                if let [only] = many.as_slice() {
                    let only = Arc::clone(only);
                    *self = Holders::One(only);
                }
                empty
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &ObjectKey> {
        match self {
            Holders::One(one) => std::slice::from_ref(one).iter(),
            Holders::Many(many) => many.iter(),
        }
    }
}

/// What one object claims, kept to take it out again when the object changes or goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Claim {
    name: Digest,
    id: Option<Digest>,
}

#[derive(Debug, Default)]
struct Claims {
    by_name: HashMap<Digest, Holders>,
    by_id: HashMap<Digest, Holders>,
    objects: HashMap<ObjectKey, Claim>,
}

impl Claims {
    fn insert(&mut self, key: ObjectKey, claim: Claim) {
        if let Some(old) = self.objects.get(&key).copied() {
            if old == claim {
                return;
            }
            self.remove(&key);
        }
        add(&mut self.by_name, claim.name, &key);
        if let Some(id) = claim.id {
            add(&mut self.by_id, id, &key);
        }
        self.objects.insert(key, claim);
    }

    fn remove(&mut self, key: &ObjectKey) {
        if let Some(claim) = self.objects.remove(key) {
            take(&mut self.by_name, claim.name, key);
            if let Some(id) = claim.id {
                take(&mut self.by_id, id, key);
            }
        }
    }
}

fn add(map: &mut HashMap<Digest, Holders>, digest: Digest, key: &ObjectKey) {
    map.entry(digest)
        .and_modify(|h| h.insert(key))
        .or_insert_with(|| Holders::One(Arc::clone(key)));
}

fn take(map: &mut HashMap<Digest, Holders>, digest: Digest, key: &ObjectKey) {
    if let Some(holders) = map.get_mut(&digest)
        && holders.remove(key)
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

    /// Follows one watch event the cache (`store`) has just applied.
    fn apply(&self, event: &watcher::Event<IdentityProfile>, store: &Store<IdentityProfile>) {
        match event {
            watcher::Event::Apply(obj) | watcher::Event::InitApply(obj) => {
                if let Some(key) = object_key(obj) {
                    let claim = self.claim_of(obj);
                    self.write().insert(key, claim);
                }
            }
            watcher::Event::Delete(obj) => {
                if let Some(key) = object_key(obj) {
                    self.write().remove(&key);
                }
            }
            watcher::Event::Init => {}
            // The cache now holds exactly the relisted objects: start over from it (objects
            // deleted while the watch was down sent no `Delete`).
            watcher::Event::InitDone => {
                let mut fresh = Claims::default();
                for obj in store.state() {
                    if let Some(key) = object_key(&obj) {
                        fresh.insert(key, self.claim_of(&obj));
                    }
                }
                *self.write() = fresh;
            }
        }
    }

    /// The cached objects that may claim the tenant profile named `name` (as the tenant
    /// compares names) or with id `id`; callers check each one.
    pub fn candidates(&self, name: &str, id: Option<&str>) -> Vec<ObjectRef<IdentityProfile>> {
        let by_name = self.digest(&name_key(name));
        let by_id = id.map(|id| self.digest(id));
        let claims = self.read();
        let mut found: Vec<&ObjectKey> = Vec::new();
        let named = claims.by_name.get(&by_name).into_iter();
        let with_id = by_id.and_then(|d| claims.by_id.get(&d)).into_iter();
        for key in named.chain(with_id).flat_map(Holders::iter) {
            if !found.contains(&key) {
                found.push(key);
            }
        }
        found.into_iter().filter_map(|k| object_ref(k)).collect()
    }

    /// How many objects the index holds.
    pub fn len(&self) -> usize {
        self.read().objects.len()
    }

    /// Whether the index holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn object_key(obj: &IdentityProfile) -> Option<ObjectKey> {
    Some(format!("{}/{}", obj.metadata.namespace.as_deref()?, obj.name_any()).into())
}

fn object_ref(key: &str) -> Option<ObjectRef<IdentityProfile>> {
    let (namespace, name) = key.split_once('/')?;
    Some(ObjectRef::new(name).within(namespace))
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
        self.writer.apply_watcher_event(event);
        self.claims.apply(event, &self.store);
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
