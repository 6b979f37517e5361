//! Lifecycle states of one identity profile: list, get, create, JSON Patch update, delete.

use reqwest::Method;

use super::{ListParams, path_segment, profile_path};
use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::{JsonPatchOperation, LifecycleStateDeleted, ProfileLifecycleState};

/// `/v2024/identity-profiles/{profile_id}/lifecycle-states`.
fn states_path(profile_id: &str) -> Result<String, IscError> {
    Ok(format!("{}/lifecycle-states", profile_path(profile_id)?))
}

/// `/v2024/identity-profiles/{profile_id}/lifecycle-states/{id}`.
fn state_path(profile_id: &str, id: &str) -> Result<String, IscError> {
    Ok(format!(
        "{}/{}",
        states_path(profile_id)?,
        path_segment(id)?
    ))
}

impl TenantClient {
    /// Every lifecycle state of a profile, across pages (the API takes `sorters`, no `filters`).
    pub async fn list_all_lifecycle_states(
        &self,
        profile_id: &str,
        params: &ListParams,
    ) -> Result<Vec<ProfileLifecycleState>, IscError> {
        let path = states_path(profile_id)?;
        self.list_all(params, |p| {
            p.apply(ApiRequest::new(Method::GET, path.clone()))
        })
        .await
    }

    /// `GET …/lifecycle-states/{id}`.
    pub async fn get_lifecycle_state(
        &self,
        profile_id: &str,
        id: &str,
    ) -> Result<ProfileLifecycleState, IscError> {
        self.call(&ApiRequest::new(Method::GET, state_path(profile_id, id)?))
            .await
    }

    /// `POST …/lifecycle-states`. Not retried on 5xx: the caller must look up by technical
    /// name first.
    pub async fn create_lifecycle_state(
        &self,
        profile_id: &str,
        state: &ProfileLifecycleState,
    ) -> Result<ProfileLifecycleState, IscError> {
        self.call(&ApiRequest::new(Method::POST, states_path(profile_id)?).json(state)?)
            .await
    }

    /// `PATCH …/lifecycle-states/{id}` with RFC 6902 operations (the API lets `enabled`,
    /// `description`, `accountActions`, `accessProfileIds` and `emailNotificationOption` change).
    pub async fn update_lifecycle_state(
        &self,
        profile_id: &str,
        id: &str,
        ops: &[JsonPatchOperation],
    ) -> Result<ProfileLifecycleState, IscError> {
        if ops.is_empty() {
            return Err(IscError::InvalidRequest("empty JSON Patch".to_string()));
        }
        self.call(&ApiRequest::new(Method::PATCH, state_path(profile_id, id)?).json_patch(&ops)?)
            .await
    }

    /// `DELETE …/lifecycle-states/{id}` (202 with what was deleted).
    pub async fn delete_lifecycle_state(
        &self,
        profile_id: &str,
        id: &str,
    ) -> Result<LifecycleStateDeleted, IscError> {
        self.call(&ApiRequest::new(
            Method::DELETE,
            state_path(profile_id, id)?,
        ))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ids_are_checked_before_they_reach_the_path() {
        assert_eq!(
            state_path("p1", "ls1").unwrap(),
            "/v2024/identity-profiles/p1/lifecycle-states/ls1"
        );
        for (profile, state) in [("../x", "ls1"), ("p1", "a/b"), ("p1", "")] {
            assert!(matches!(
                state_path(profile, state),
                Err(IscError::InvalidRequest(_))
            ));
        }
    }
}
