//! The simulated tenant's data and the simulator's mutable settings, all behind one mutex.

mod identity_model;

pub(crate) use identity_model::{
    IdentityModel, profiles_mapping_attribute, profiles_using_transform,
};

mod lifecycle_states;

pub(crate) use lifecycle_states::LifecycleStates;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use isc_wire::models::{
    Identity, IdentityAttributeConfig, IdentityProfile, LifecycleState, ObjectRef,
};

use super::auth::Tokens;
use super::faults::Faults;
use super::journal::Journal;
use super::overrides::WireOverrides;
use super::ratelimit::RateLimiter;
use super::seed::{Seed, SeedIdentity, SeedSource};
use super::tasks::{Task, TaskEffect};
use super::{SimClient, SimConfig};

/// Timestamps as the tenant writes them (`2024-01-02T03:04:05.678Z`).
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn now_rfc3339() -> String {
    rfc3339(Utc::now())
}

/// A fresh tenant id: a uuid in simple (32 hex) form.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Settings `POST /__sim/config` may change at run time.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub token_ttl: Duration,
    pub rate_limit: Option<(u32, Duration)>,
    pub task_duration: Duration,
    pub sync_window: Duration,
}

/// An identity plus the simulator-only facts the wire model does not carry.
#[derive(Debug, Clone)]
pub(crate) struct SimIdentity {
    pub identity: Identity,
    pub source_id: String,
    pub correlated: bool,
}

impl SimIdentity {
    pub(crate) fn from_seed(seed: &SeedIdentity, index: usize) -> SimIdentity {
        let created = DateTime::parse_from_rfc3339("2024-01-15T09:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now())
            + chrono::Duration::minutes(index as i64);
        SimIdentity {
            identity: Identity {
                id: Some(seed.id.clone().unwrap_or_else(new_id)),
                name: seed.name.clone(),
                created: Some(rfc3339(created)),
                modified: Some(rfc3339(created)),
                alias: seed.alias.clone(),
                email_address: seed.email.clone(),
                processing_state: Some("OK".to_string()),
                identity_status: Some(
                    seed.identity_status
                        .clone()
                        .unwrap_or_else(|| "ACTIVE".to_string()),
                ),
                manager_ref: None,
                is_manager: false,
                last_refresh: Some(rfc3339(created)),
                // The tenant names an identity's authoritative source in its attributes (the
                // official examples show `cloudAuthoritativeSource`); previews find a profile's
                // identities by it, as `GET /identities` cannot filter by profile.
                attributes: Some({
                    let mut attributes = seed.attributes.clone();
                    attributes
                        .entry("cloudAuthoritativeSource")
                        .or_insert_with(|| seed.source_id.clone().into());
                    attributes
                }),
                lifecycle_state: Some(LifecycleState {
                    state_name: seed
                        .lifecycle_state
                        .clone()
                        .unwrap_or_else(|| "active".to_string()),
                    manually_updated: false,
                }),
            },
            source_id: seed.source_id.clone(),
            correlated: seed.correlated,
        }
    }

    pub(crate) fn id(&self) -> &str {
        self.identity.id.as_deref().unwrap_or_default()
    }

    pub(crate) fn attribute(&self, key: &str) -> Option<&Value> {
        self.identity.attributes.as_ref()?.get(key)
    }

    pub(crate) fn attribute_str(&self, key: &str) -> Option<String> {
        match self.attribute(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// The object `GET /identities` filters and sorters are evaluated against.
    pub(crate) fn view(&self) -> Value {
        let i = &self.identity;
        json!({
            "id": self.id(),
            "name": i.name,
            "alias": i.alias,
            "firstname": self.attribute_str("firstname"),
            "lastname": self.attribute_str("lastname"),
            "email": i.email_address,
            "cloudStatus": i.identity_status,
            "processingState": i.processing_state,
            "correlated": self.correlated,
            "protected": false,
        })
    }

    /// Attribute lookup for the legacy filter grammar.
    pub(crate) fn legacy_attribute(&self, attr: &str) -> Option<String> {
        let i = &self.identity;
        match attr {
            "id" => i.id.clone(),
            "name" => Some(i.name.clone()),
            "alias" => i.alias.clone(),
            "email" => i.email_address.clone(),
            other => self.attribute_str(other),
        }
    }

    /// The admin view: the wire identity plus `sourceId` and `correlated`.
    pub(crate) fn admin_view(&self) -> Value {
        let mut v = serde_json::to_value(&self.identity).unwrap_or_else(|_| json!({}));
        if let Value::Object(map) = &mut v {
            map.insert("sourceId".to_string(), json!(self.source_id));
            map.insert("correlated".to_string(), json!(self.correlated));
        }
        v
    }
}

/// The tenant's objects.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tenant {
    pub sources: Vec<SeedSource>,
    pub profiles: Vec<IdentityProfile>,
    pub identities: Vec<SimIdentity>,
    pub tasks: Vec<Task>,
    pub last_sync: HashMap<String, Instant>,
    /// Identity attributes and transforms.
    pub identity_model: IdentityModel,
    /// Lifecycle states per identity profile.
    pub lifecycle_states: LifecycleStates,
    /// Fields served verbatim in place of the stored ones (see [`WireOverrides`]).
    pub wire_overrides: WireOverrides,
}

/// Parameters of a new task.
pub(crate) struct NewTask<'a> {
    pub unique_name: &'a str,
    pub description: String,
    pub launcher: &'a str,
    pub effect: TaskEffect,
    pub identity_count: usize,
    pub warnings: Vec<String>,
    pub fail: bool,
}

/// Bounded so a long-running demo does not grow without limit.
const MAX_TASKS: usize = 10_000;

impl Tenant {
    pub(crate) fn from_seed(seed: &Seed) -> Tenant {
        let mut tenant = Tenant {
            sources: seed.sources.clone(),
            identities: seed
                .identities
                .iter()
                .enumerate()
                .map(|(i, s)| SimIdentity::from_seed(s, i))
                .collect(),
            identity_model: IdentityModel::from_seed(seed),
            ..Tenant::default()
        };
        let now = now_rfc3339();
        for profile in &seed.identity_profiles {
            let mut p = profile.clone();
            p.id.get_or_insert_with(new_id);
            p.created.get_or_insert_with(|| now.clone());
            p.modified.get_or_insert_with(|| now.clone());
            tenant.profiles.push(p);
        }
        tenant.refresh_counts();
        tenant
    }

    pub(crate) fn source(&self, id: &str) -> Option<&SeedSource> {
        self.sources.iter().find(|s| s.id == id)
    }

    pub(crate) fn profile_index(&self, id: &str) -> Option<usize> {
        self.profiles
            .iter()
            .position(|p| p.id.as_deref() == Some(id))
    }

    /// Names are unique per tenant, compared case-insensitively.
    pub(crate) fn profile_named(&self, name: &str, except_id: Option<&str>) -> Option<usize> {
        self.profiles.iter().position(|p| {
            p.name.eq_ignore_ascii_case(name)
                && (except_id.is_none() || p.id.as_deref() != except_id)
        })
    }

    pub(crate) fn identity(&self, id: &str) -> Option<&SimIdentity> {
        self.identities.iter().find(|i| i.id() == id)
    }

    pub(crate) fn identity_ids_of_source(&self, source_id: &str) -> Vec<String> {
        self.identities
            .iter()
            .filter(|i| i.source_id == source_id)
            .map(|i| i.id().to_string())
            .collect()
    }

    pub(crate) fn count_for_source(&self, source_id: Option<&str>) -> i32 {
        source_id.map_or(0, |s| {
            self.identities.iter().filter(|i| i.source_id == s).count() as i32
        })
    }

    /// Recomputes every profile's `identityCount` (after identities or sources changed).
    pub(crate) fn refresh_counts(&mut self) {
        let counts: Vec<i32> = self
            .profiles
            .iter()
            .map(|p| self.count_for_source(p.authoritative_source.id.as_deref()))
            .collect();
        for (p, n) in self.profiles.iter_mut().zip(counts) {
            p.identity_count = Some(n);
        }
    }

    /// Fills `authoritativeSource.type` and `.name` from the source the id names.
    pub(crate) fn canonical_source(&self, source: &ObjectRef) -> Option<ObjectRef> {
        let s = self.source(source.id.as_deref()?)?;
        Some(ObjectRef {
            kind: Some("SOURCE".to_string()),
            id: Some(s.id.clone()),
            name: Some(s.name.clone()),
        })
    }

    /// The config a new profile gets when the request has none (the schema defaults).
    pub(crate) fn empty_attribute_config() -> IdentityAttributeConfig {
        IdentityAttributeConfig {
            enabled: false,
            attribute_transforms: Vec::new(),
        }
    }

    pub(crate) fn start_task(
        &mut self,
        new: NewTask<'_>,
        duration: Duration,
        now: Instant,
    ) -> &Task {
        if self.tasks.len() >= MAX_TASKS {
            self.tasks.remove(0);
        }
        self.tasks.push(Task {
            id: new_id(),
            unique_name: new.unique_name.to_string(),
            description: new.description,
            launcher: new.launcher.to_string(),
            created: Utc::now(),
            started: now,
            duration,
            fail: new.fail,
            identity_count: new.identity_count,
            warnings: new.warnings,
            effect: new.effect,
            applied: false,
        });
        let last = self.tasks.len() - 1;
        &self.tasks[last]
    }

    pub(crate) fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// Applies the side effects of tasks that have completed by `now`, in start order.
    pub(crate) fn advance(&mut self, now: Instant) {
        let due: Vec<usize> = self
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.applied && t.is_complete(now))
            .map(|(i, _)| i)
            .collect();
        for i in due {
            self.tasks[i].applied = true;
            if self.tasks[i].fail {
                continue;
            }
            let task = &self.tasks[i];
            let finished = rfc3339(
                task.created + chrono::Duration::from_std(task.duration).unwrap_or_default(),
            );
            match task.effect.clone() {
                TaskEffect::DeleteProfiles(ids) => {
                    self.profiles
                        .retain(|p| !ids.iter().any(|id| p.id.as_deref() == Some(id)));
                    self.drop_orphan_lifecycle_states();
                }
                TaskEffect::ProcessProfile {
                    profile_id,
                    identity_ids,
                } => {
                    if let Some(idx) = self.profile_index(&profile_id) {
                        self.profiles[idx].identity_refresh_required = false;
                    }
                    self.mark_refreshed(&identity_ids, &finished);
                }
                TaskEffect::ProcessIdentities(ids) => self.mark_refreshed(&ids, &finished),
            }
        }
    }

    fn mark_refreshed(&mut self, ids: &[String], when: &str) {
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        for identity in &mut self.identities {
            if wanted.contains(identity.id()) {
                identity.identity.last_refresh = Some(when.to_string());
            }
        }
    }
}

/// Everything the simulator keeps; one `std::sync::Mutex` guards it and is never held across
/// an await.
#[derive(Debug)]
pub(crate) struct State {
    pub settings: Settings,
    pub clients: Vec<SimClient>,
    pub seed: Seed,
    pub tenant: Tenant,
    pub tokens: Tokens,
    pub journal: Journal,
    pub faults: Faults,
    pub limiter: RateLimiter,
}

impl State {
    pub(crate) fn new(config: SimConfig) -> State {
        State {
            settings: Settings {
                token_ttl: config.token_ttl,
                rate_limit: config.rate_limit,
                task_duration: config.task_duration,
                sync_window: config.sync_attributes_window,
            },
            clients: config.clients,
            tenant: Tenant::from_seed(&config.seed),
            seed: config.seed,
            tokens: Tokens::default(),
            journal: Journal::default(),
            faults: Faults::default(),
            limiter: RateLimiter::default(),
        }
    }

    /// Back to the seed: tenant data, journal, faults and rate-limit windows. Issued tokens and
    /// settings survive, so a test can reset between steps without re-authenticating.
    pub(crate) fn reset(&mut self) {
        self.tenant = Tenant::from_seed(&self.seed);
        self.journal.clear();
        self.faults.clear();
        self.limiter.clear();
    }
}
