//! The tenant's identity profiles from one shared paged list per resync: steady state costs
//! one list per Tenant per resync, whatever the number of `IdentityProfile` objects.
//!
//! The list is decoded leniently: a tenant profile that does not match the schema is kept
//! aside as a [`MalformedProfile`], so it stops only the object that maps to it.

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

/// The tenant's profiles: the ones that decoded, and the ones that did not.
#[derive(Debug, Clone, Default)]
pub struct TenantProfiles {
    /// Profiles that match the schema.
    pub items: Vec<IdentityProfile>,
    /// Profiles that do not.
    pub malformed: Vec<MalformedProfile>,
}

/// Lists the tenant's profiles (with `params`), decoding each on its own.
pub async fn list_profiles(
    client: &TenantClient,
    params: &ListParams,
) -> Result<TenantProfiles, ReconcileError> {
    let list = client.list_all_identity_profiles_lenient(params).await?;
    Ok(TenantProfiles {
        items: list.items,
        malformed: list
            .malformed
            .into_iter()
            .map(|m| MalformedProfile {
                id: m.id,
                name: m.name,
                error: m.error,
            })
            .collect(),
    })
}

/// The tenant's profiles from one paged list, reused until it is older than half a resync.
pub struct ProfileListCache {
    max_age: Duration,
    state: tokio::sync::Mutex<Option<(Instant, TenantProfiles)>>,
}

impl ProfileListCache {
    /// An empty cache whose lists live for half a resync interval.
    pub fn new(resync: Duration) -> Self {
        ProfileListCache {
            max_age: resync / 2,
            state: tokio::sync::Mutex::new(None),
        }
    }

    /// Every profile of the tenant; one list call per `max_age`, shared by concurrent callers.
    pub async fn get(&self, client: &TenantClient) -> Result<TenantProfiles, ReconcileError> {
        let mut state = self.state.lock().await;
        if let Some((at, profiles)) = state.as_ref()
            && at.elapsed() < self.max_age
        {
            return Ok(profiles.clone());
        }
        let profiles = list_profiles(client, &ListParams::default()).await?;
        *state = Some((Instant::now(), profiles.clone()));
        Ok(profiles)
    }

    /// Records a profile the operator just created or patched, so others see it.
    pub async fn upsert(&self, profile: &IdentityProfile) {
        if let Some((_, profiles)) = self.state.lock().await.as_mut() {
            profiles.items.retain(|p| p.id != profile.id);
            profiles
                .malformed
                .retain(|m| m.id.is_none() || m.id != profile.id);
            profiles.items.push(profile.clone());
        }
    }

    /// Forgets a profile that was deleted.
    pub async fn remove(&self, id: &str) {
        if let Some((_, profiles)) = self.state.lock().await.as_mut() {
            profiles.items.retain(|p| p.id.as_deref() != Some(id));
            profiles.malformed.retain(|m| m.id.as_deref() != Some(id));
        }
    }
}
