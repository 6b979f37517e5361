//! The tenant's identity profiles from one shared paged list per resync: steady state costs
//! one list per Tenant per resync, whatever the number of `IdentityProfile` objects.

use std::time::{Duration, Instant};

use isc_client::models::IdentityProfile;
use isc_client::{ListParams, TenantClient};

use crate::controller::error::ReconcileError;

/// The tenant's profiles from one paged list, reused until it is older than half a resync.
pub struct ProfileListCache {
    max_age: Duration,
    state: tokio::sync::Mutex<Option<(Instant, Vec<IdentityProfile>)>>,
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
    pub async fn get(&self, client: &TenantClient) -> Result<Vec<IdentityProfile>, ReconcileError> {
        let mut state = self.state.lock().await;
        if let Some((at, profiles)) = state.as_ref()
            && at.elapsed() < self.max_age
        {
            return Ok(profiles.clone());
        }
        let profiles = client
            .list_all_identity_profiles(&ListParams::default())
            .await?;
        *state = Some((Instant::now(), profiles.clone()));
        Ok(profiles)
    }

    /// Records a profile the operator just created or patched, so others see it.
    pub async fn upsert(&self, profile: &IdentityProfile) {
        if let Some((_, profiles)) = self.state.lock().await.as_mut() {
            profiles.retain(|p| p.id != profile.id);
            profiles.push(profile.clone());
        }
    }

    /// Forgets a profile that was deleted.
    pub async fn remove(&self, id: &str) {
        if let Some((_, profiles)) = self.state.lock().await.as_mut() {
            profiles.retain(|p| p.id.as_deref() != Some(id));
        }
    }
}
