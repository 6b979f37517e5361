//! The tenant's lifecycle states, held per identity profile (by profile id), in creation order.

use std::collections::HashMap;

use isc_wire::models::ProfileLifecycleState;

use super::Tenant;

/// Lifecycle states per identity profile.
#[derive(Debug, Clone, Default)]
pub(crate) struct LifecycleStates {
    by_profile: HashMap<String, Vec<ProfileLifecycleState>>,
}

impl LifecycleStates {
    /// The states of one profile (none for an unknown profile).
    pub(crate) fn of(&self, profile_id: &str) -> &[ProfileLifecycleState] {
        self.by_profile.get(profile_id).map_or(&[], Vec::as_slice)
    }

    /// The states of one profile, for changes.
    pub(crate) fn of_mut(&mut self, profile_id: &str) -> &mut Vec<ProfileLifecycleState> {
        self.by_profile.entry(profile_id.to_string()).or_default()
    }

    /// Position of a state within its profile.
    pub(crate) fn index(&self, profile_id: &str, id: &str) -> Option<usize> {
        self.of(profile_id)
            .iter()
            .position(|s| s.id.as_deref() == Some(id))
    }

    /// A state of the profile with this technical name (compared case-insensitively), other
    /// than `except_id`.
    pub(crate) fn technical_name_taken(
        &self,
        profile_id: &str,
        technical_name: &str,
        except_id: Option<&str>,
    ) -> bool {
        self.of(profile_id).iter().any(|s| {
            s.technical_name.eq_ignore_ascii_case(technical_name)
                && (except_id.is_none() || s.id.as_deref() != except_id)
        })
    }
}

impl Tenant {
    /// Drops the states of profiles that no longer exist: a deleted profile takes its states
    /// with it, however it was deleted (task, bulk delete or admin edit).
    pub(crate) fn drop_orphan_lifecycle_states(&mut self) {
        let profiles = &self.profiles;
        self.lifecycle_states
            .by_profile
            .retain(|id, _| profiles.iter().any(|p| p.id.as_deref() == Some(id)));
    }

    /// A state as served: `identityCount` is the number of identities of the profile's
    /// authoritative source whose lifecycle state is this state's technical name.
    pub(crate) fn served_lifecycle_state(
        &self,
        profile_idx: usize,
        state: &ProfileLifecycleState,
    ) -> ProfileLifecycleState {
        let source = self.profiles[profile_idx]
            .authoritative_source
            .id
            .as_deref();
        let count = self
            .identities
            .iter()
            .filter(|i| Some(i.source_id.as_str()) == source)
            .filter(|i| {
                i.identity
                    .lifecycle_state
                    .as_ref()
                    .is_some_and(|l| l.state_name.eq_ignore_ascii_case(&state.technical_name))
            })
            .count();
        ProfileLifecycleState {
            identity_count: Some(i32::try_from(count).unwrap_or(i32::MAX)),
            ..state.clone()
        }
    }
}
