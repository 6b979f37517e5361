//! The tenant's identity profiles from one shared paged list per resync: steady state costs
//! ⌈N/250⌉ list calls per Tenant per resync (the sweep's), whatever the number of
//! `IdentityProfile` objects.
//!
//! The list is decoded leniently: a tenant profile that does not match the schema is kept
//! aside as a [`MalformedProfile`], so it stops only the object that maps to it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isc_client::models::IdentityProfile;
use isc_client::{ListParams, TenantClient};

use crate::controller::error::ReconcileError;

/// A tenant profile that could not be decoded: what is known of it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedProfile {
    /// Its id, when that much could be read.
    pub id: Option<String>,
    /// Its name, when that much could be read.
    pub name: Option<String>,
    /// What did not match the schema.
    pub error: String,
}

impl MalformedProfile {
    /// How a condition names it: id and name when known, and the problem.
    pub fn describe(&self) -> String {
        format!(
            "(id {}, name {}): {}",
            self.id.as_deref().unwrap_or("unknown"),
            self.name
                .as_deref()
                .map(|n| format!("{n:?}"))
                .unwrap_or_else(|| "unknown".into()),
            self.error
        )
    }
}

/// The tenant's profiles at one moment, indexed by id and by name as the tenant compares names
/// (case-insensitively). Shared read-only (`Arc`) by every reconcile of the tenant: a lookup
/// never copies the list. The indexes hold the profiles themselves (no copy of an id per
/// index entry): with 10 000 profiles every byte per entry is 10 kB.
#[derive(Debug, Clone, Default)]
pub struct TenantProfiles {
    by_id: HashSet<ById>,
    /// The profiles under each lowercased name; more than one means the tenant holds duplicates.
    by_name: HashMap<String, NameEntry>,
    /// Profiles that do not match the schema (or carry no id).
    malformed: Vec<MalformedProfile>,
}

/// A listed profile keyed by its id (always present: profiles without one are malformed), so
/// the set needs no separate key.
#[derive(Debug, Clone)]
struct ById(Arc<IdentityProfile>);

impl ById {
    fn id(&self) -> &str {
        self.0.id.as_deref().unwrap_or_default()
    }
}

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for ById {}

impl std::hash::Hash for ById {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl std::borrow::Borrow<str> for ById {
    fn borrow(&self) -> &str {
        self.id()
    }
}

/// The profiles under one name: almost always one, kept without a list.
#[derive(Debug, Clone)]
enum NameEntry {
    One(Arc<IdentityProfile>),
    Many(Vec<Arc<IdentityProfile>>),
}

impl NameEntry {
    fn profiles(&self) -> &[Arc<IdentityProfile>] {
        match self {
            NameEntry::One(profile) => std::slice::from_ref(profile),
            NameEntry::Many(profiles) => profiles,
        }
    }

    /// This entry with `profile` added.
    fn with(self, profile: Arc<IdentityProfile>) -> NameEntry {
        let mut profiles = match self {
            NameEntry::One(first) => vec![first],
            NameEntry::Many(profiles) => profiles,
        };
        profiles.push(profile);
        NameEntry::Many(profiles)
    }

    /// This entry without the profile with `id`; `None` when nothing is left.
    fn without(self, id: &str) -> Option<NameEntry> {
        let mut profiles = match self {
            NameEntry::One(only) if only.id.as_deref() == Some(id) => return None,
            NameEntry::One(only) => return Some(NameEntry::One(only)),
            NameEntry::Many(profiles) => profiles,
        };
        profiles.retain(|p| p.id.as_deref() != Some(id));
        match profiles.len() {
            0 => None,
            1 => profiles.pop().map(NameEntry::One),
            _ => Some(NameEntry::Many(profiles)),
        }
    }
}

/// The name as the tenant compares it (names are unique regardless of case).
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

impl TenantProfiles {
    /// An index over `items` and the profiles that could not be decoded.
    pub fn new(items: Vec<IdentityProfile>, mut malformed: Vec<MalformedProfile>) -> Self {
        let mut profiles = TenantProfiles::default();
        for item in items {
            if item.id.is_none() {
                malformed.push(MalformedProfile {
                    id: None,
                    name: Some(item.name.clone()),
                    error: "the tenant listed it without an id".to_string(),
                });
                continue;
            }
            profiles.upsert(item);
        }
        profiles.malformed = malformed;
        profiles
    }

    /// The profile with this id.
    pub fn by_id(&self, id: &str) -> Option<&Arc<IdentityProfile>> {
        self.by_id.get(id).map(|entry| &entry.0)
    }

    /// Every profile with this name, as the tenant compares names (normally zero or one).
    pub fn named(&self, name: &str) -> Vec<&Arc<IdentityProfile>> {
        self.by_name
            .get(&name_key(name))
            .map(NameEntry::profiles)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    /// The undecodable profile with this id or name, if there is one.
    pub fn malformed_matching(&self, id: Option<&str>, name: &str) -> Option<&MalformedProfile> {
        let key = name_key(name);
        self.malformed.iter().find(|m| {
            (id.is_some() && m.id.as_deref() == id)
                || m.name.as_deref().is_some_and(|n| name_key(n) == key)
        })
    }

    /// Profiles that decoded.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// No profile decoded (there may be malformed ones).
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every decoded profile, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<IdentityProfile>> {
        self.by_id.iter().map(|entry| &entry.0)
    }

    /// Every profile that could not be decoded.
    pub fn malformed(&self) -> &[MalformedProfile] {
        &self.malformed
    }

    /// Adds or replaces a profile (by id), re-indexing its name; what no reconcile reads is
    /// not kept ([`unread_dropped`]).
    pub fn upsert(&mut self, profile: IdentityProfile) {
        let Some(id) = profile.id.clone() else {
            return;
        };
        let profile = Arc::new(unread_dropped(profile));
        self.remove(&id);
        self.malformed
            .retain(|m| m.id.as_deref() != Some(id.as_str()));
        let key = name_key(&profile.name);
        let entry = match self.by_name.remove(&key) {
            Some(entry) => entry.with(profile.clone()),
            None => NameEntry::One(profile.clone()),
        };
        self.by_name.insert(key, entry);
        self.by_id.insert(ById(profile));
    }

    /// Forgets the profile with this id.
    pub fn remove(&mut self, id: &str) {
        if let Some(old) = self.by_id.take(id) {
            let key = name_key(&old.0.name);
            if let Some(rest) = self.by_name.remove(&key).and_then(|e| e.without(id)) {
                self.by_name.insert(key, rest);
            }
        }
        self.malformed.retain(|m| m.id.as_deref() != Some(id));
    }
}

/// A tenant profile less what no reconcile reads (the plan compares the managed fields, the
/// status shows the identity count and the refresh flag): its creation and modification
/// times and its exception report. The list holds every profile of the tenant.
fn unread_dropped(mut profile: IdentityProfile) -> IdentityProfile {
    profile.created = None;
    profile.modified = None;
    profile.identity_exception_report_reference = None;
    profile
}

/// Lists the tenant's profiles (with `params`), decoding each on its own.
pub async fn list_profiles(
    client: &TenantClient,
    params: &ListParams,
) -> Result<TenantProfiles, ReconcileError> {
    let list = client.list_all_identity_profiles_lenient(params).await?;
    let malformed = list
        .malformed
        .into_iter()
        .map(|m| MalformedProfile {
            id: m.id,
            name: m.name,
            error: m.error,
        })
        .collect();
    Ok(TenantProfiles::new(list.items, malformed))
}

/// A write the operator made while a listing was in flight, replayed onto that listing's
/// result (which may or may not include it).
#[derive(Debug, Clone)]
enum Written {
    Upserted(Box<IdentityProfile>),
    Removed(String),
}

/// The current snapshot and what was written since the running listing started.
#[derive(Default)]
struct Snapshot {
    current: Option<(Instant, Arc<TenantProfiles>)>,
    /// `Some` while a listing runs: the writes to replay onto its result.
    written_during_listing: Option<Vec<Written>>,
}

/// Ends the log of writes when a listing ends, also when it is cancelled or fails.
struct StopLoggingWrites<'a>(&'a std::sync::Mutex<Snapshot>);

impl Drop for StopLoggingWrites<'_> {
    fn drop(&mut self) {
        if let Ok(mut snapshot) = self.0.lock() {
            snapshot.written_during_listing = None;
        }
    }
}

/// The tenant's profiles from one shared paged list, refreshed by the tenant's resync sweep
/// ([`crate::controller::resync`]) and reused by every reconcile in between.
///
/// Readers never wait for a listing when a snapshot exists: while a refresh runs, [`get`]
/// serves the previous snapshot, so a user's edit is not held behind a list of thousands of
/// profiles. Listings themselves are serialized (one at a time per tenant); callers of
/// [`refresh`] that ask while one runs share the next one.
///
/// [`get`]: ProfileListCache::get
/// [`refresh`]: ProfileListCache::refresh
pub struct ProfileListCache {
    max_age: Duration,
    snapshot: std::sync::Mutex<Snapshot>,
    listing: tokio::sync::Mutex<()>,
}

impl ProfileListCache {
    /// An empty cache whose lists are reused for `max_age` (callers pass at least the resync
    /// interval, so reconciles between two sweeps never list on their own).
    pub fn new(max_age: Duration) -> Self {
        ProfileListCache {
            max_age,
            snapshot: std::sync::Mutex::new(Snapshot::default()),
            listing: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        self.snapshot.lock().expect("profile cache lock")
    }

    /// The current snapshot and when its listing started.
    fn current(&self) -> Option<(Instant, Arc<TenantProfiles>)> {
        self.lock()
            .current
            .as_ref()
            .map(|(at, p)| (*at, Arc::clone(p)))
    }

    /// Every profile of the tenant: the snapshot while it is younger than the max age, or
    /// while a refresh is under way (never waiting for it); else one list, shared by
    /// concurrent callers.
    pub async fn get(&self, client: &TenantClient) -> Result<Arc<TenantProfiles>, ReconcileError> {
        if let Some((at, profiles)) = self.current() {
            if at.elapsed() < self.max_age || self.is_listing() {
                return Ok(profiles);
            }
        }
        let _listing = self.listing.lock().await;
        if let Some((at, profiles)) = self.current()
            && at.elapsed() < self.max_age
        {
            return Ok(profiles);
        }
        self.list_now(client).await
    }

    /// A listing of this tenant's profiles is in flight.
    pub fn is_listing(&self) -> bool {
        self.listing.try_lock().is_err()
    }

    /// A list taken now (never older than this call); callers that wait while another caller
    /// lists share its result.
    pub async fn refresh(
        &self,
        client: &TenantClient,
    ) -> Result<Arc<TenantProfiles>, ReconcileError> {
        let asked = Instant::now();
        let _listing = self.listing.lock().await;
        if let Some((at, profiles)) = self.current()
            && at >= asked
        {
            return Ok(profiles);
        }
        self.list_now(client).await
    }

    /// Lists (the caller holds the listing lock) and installs the result, with the writes made
    /// meanwhile replayed onto it.
    async fn list_now(&self, client: &TenantClient) -> Result<Arc<TenantProfiles>, ReconcileError> {
        let started = Instant::now();
        self.lock().written_during_listing = Some(Vec::new());
        let _stop_logging = StopLoggingWrites(&self.snapshot);
        let listed = list_profiles(client, &ListParams::default()).await;
        let mut snapshot = self.lock();
        let written = snapshot.written_during_listing.take().unwrap_or_default();
        let mut profiles = listed?;
        for write in written {
            match write {
                Written::Upserted(p) => profiles.upsert(*p),
                Written::Removed(id) => profiles.remove(&id),
            }
        }
        let profiles = Arc::new(profiles);
        snapshot.current = Some((started, Arc::clone(&profiles)));
        Ok(profiles)
    }

    /// Drops the snapshot (unless a listing runs): for a Tenant no object refers to any more,
    /// whose list of thousands of profiles would otherwise stay in memory for nobody. The next
    /// reader lists again.
    pub fn forget(&self) {
        if !self.is_listing() {
            self.lock().current = None;
        }
    }

    /// Whether a snapshot is held.
    pub fn has_snapshot(&self) -> bool {
        self.lock().current.is_some()
    }

    /// Records a profile the operator just created or patched, so others see it.
    pub async fn upsert(&self, profile: &IdentityProfile) {
        self.write(Written::Upserted(Box::new(profile.clone())));
    }

    /// Forgets a profile that was deleted.
    pub async fn remove(&self, id: &str) {
        self.write(Written::Removed(id.to_string()));
    }

    fn write(&self, write: Written) {
        let mut snapshot = self.lock();
        if let Some(log) = snapshot.written_during_listing.as_mut() {
            log.push(write.clone());
        }
        if let Some((_, profiles)) = snapshot.current.as_mut() {
            // Copies the index only while a reader holds the old snapshot (an `Arc` each).
            let profiles = Arc::make_mut(profiles);
            match write {
                Written::Upserted(p) => profiles.upsert(*p),
                Written::Removed(id) => profiles.remove(&id),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, name: &str) -> IdentityProfile {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name,
            "authoritativeSource": {"type": "SOURCE", "id": "s1", "name": "HR"}
        }))
        .expect("profile")
    }

    #[test]
    fn names_are_found_case_insensitively_and_duplicates_are_visible() {
        let profiles = TenantProfiles::new(
            vec![
                profile("1", "Employees"),
                profile("2", "EMPLOYEES"),
                profile("3", "x"),
            ],
            vec![],
        );
        assert_eq!(profiles.named("employees").len(), 2, "the tenant holds two");
        assert_eq!(profiles.named("X").len(), 1);
        assert!(profiles.named("nobody").is_empty());
        assert_eq!(profiles.by_id("3").map(|p| p.name.as_str()), Some("x"));
        assert_eq!(profiles.len(), 3);
    }

    #[test]
    fn upsert_moves_a_renamed_profile_and_remove_forgets_it() {
        let mut profiles = TenantProfiles::new(vec![profile("1", "old")], vec![]);
        profiles.upsert(profile("1", "New"));
        assert!(profiles.named("old").is_empty());
        assert_eq!(profiles.named("new").len(), 1);
        profiles.remove("1");
        assert!(profiles.named("new").is_empty());
        assert!(profiles.is_empty());
    }

    #[test]
    fn the_list_keeps_what_the_plan_and_status_read_and_drops_the_rest() {
        let mut listed = profile("1", "Employees");
        listed.created = Some("2026-01-01T00:00:00Z".into());
        listed.modified = Some("2026-01-02T00:00:00Z".into());
        listed.description = Some("staff".into());
        listed.priority = Some(10);
        listed.identity_count = Some(12);
        listed.identity_refresh_required = true;
        listed.identity_exception_report_reference = Some(Default::default());
        listed.identity_attribute_config = Some(Default::default());
        let profiles = TenantProfiles::new(vec![listed.clone()], vec![]);
        let kept = profiles.by_id("1").expect("kept");
        let mut expected = listed;
        expected.created = None;
        expected.modified = None;
        expected.identity_exception_report_reference = None;
        assert_eq!(kept.as_ref(), &expected);
    }

    #[test]
    fn a_profile_without_id_is_malformed_and_found_by_name() {
        let mut no_id = profile("1", "Contractors");
        no_id.id = None;
        let profiles = TenantProfiles::new(vec![no_id], vec![]);
        assert!(profiles.is_empty());
        assert!(profiles.malformed_matching(None, "contractors").is_some());
    }
}
