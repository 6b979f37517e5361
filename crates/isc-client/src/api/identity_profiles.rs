//! Identity profiles: CRUD, export/import, processing one profile, and the identity preview.

use reqwest::Method;

use super::{LenientList, ListParams, Page, path_segment, profile_path};
use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::{
    IdentityAttributeConfig, IdentityPreviewRequest, IdentityPreviewResponse, IdentityProfile,
    IdentityProfileExportedObject, JsonPatchOperation, ObjectImportResult, TaskResultSimplified,
};

impl TenantClient {
    /// `GET /v2024/identity-profiles` (one page).
    pub async fn list_identity_profiles(
        &self,
        params: &ListParams,
    ) -> Result<Page<IdentityProfile>, IscError> {
        self.list_page(params.apply(ApiRequest::new(Method::GET, "/v2024/identity-profiles")))
            .await
    }

    /// Every identity profile matching `params.filter`, across pages.
    pub async fn list_all_identity_profiles(
        &self,
        params: &ListParams,
    ) -> Result<Vec<IdentityProfile>, IscError> {
        self.list_all(params, |p| {
            p.apply(ApiRequest::new(Method::GET, "/v2024/identity-profiles"))
        })
        .await
    }

    /// Every identity profile matching `params.filter`, across pages, each decoded on its own:
    /// a profile that does not match the schema is listed in `malformed` and the others carry on.
    pub async fn list_all_identity_profiles_lenient(
        &self,
        params: &ListParams,
    ) -> Result<LenientList<IdentityProfile>, IscError> {
        self.list_all_lenient(params, |p| {
            p.apply(ApiRequest::new(Method::GET, "/v2024/identity-profiles"))
        })
        .await
    }

    /// `GET /v2024/identity-profiles/{id}`.
    pub async fn get_identity_profile(&self, id: &str) -> Result<IdentityProfile, IscError> {
        self.call(&ApiRequest::new(Method::GET, profile_path(id)?))
            .await
    }

    /// `POST /v2024/identity-profiles`. Not retried on 5xx: the caller must look up by name first.
    pub async fn create_identity_profile(
        &self,
        profile: &IdentityProfile,
    ) -> Result<IdentityProfile, IscError> {
        self.call(&ApiRequest::new(Method::POST, "/v2024/identity-profiles").json(profile)?)
            .await
    }

    /// `PATCH /v2024/identity-profiles/{id}` with RFC 6902 operations.
    pub async fn update_identity_profile(
        &self,
        id: &str,
        ops: &[JsonPatchOperation],
    ) -> Result<IdentityProfile, IscError> {
        if ops.is_empty() {
            return Err(IscError::InvalidRequest("empty JSON Patch".to_string()));
        }
        self.call(&ApiRequest::new(Method::PATCH, profile_path(id)?).json_patch(&ops)?)
            .await
    }

    /// `DELETE /v2024/identity-profiles/{id}`; returns the delete task.
    pub async fn delete_identity_profile(
        &self,
        id: &str,
    ) -> Result<TaskResultSimplified, IscError> {
        self.call(&ApiRequest::new(Method::DELETE, profile_path(id)?))
            .await
    }

    /// `POST /v2024/identity-profiles/bulk-delete`.
    pub async fn bulk_delete_identity_profiles(
        &self,
        ids: &[String],
    ) -> Result<TaskResultSimplified, IscError> {
        for id in ids {
            path_segment(id)?;
        }
        self.call(
            &ApiRequest::new(Method::POST, "/v2024/identity-profiles/bulk-delete")
                .json(&ids)?
                .idempotent(true),
        )
        .await
    }

    /// `GET /v2024/identity-profiles/export` (every page).
    pub async fn export_identity_profiles(
        &self,
        params: &ListParams,
    ) -> Result<Vec<IdentityProfileExportedObject>, IscError> {
        self.list_all(params, |p| {
            p.apply(ApiRequest::new(
                Method::GET,
                "/v2024/identity-profiles/export",
            ))
        })
        .await
    }

    /// `POST /v2024/identity-profiles/import` (needs a user-context credential).
    pub async fn import_identity_profiles(
        &self,
        objects: &[IdentityProfileExportedObject],
    ) -> Result<ObjectImportResult, IscError> {
        self.call(&ApiRequest::new(Method::POST, "/v2024/identity-profiles/import").json(&objects)?)
            .await
    }

    /// `POST /v2024/identity-profiles/{id}/process-identities`. Triggers work: never retried blindly.
    pub async fn process_identity_profile(&self, id: &str) -> Result<(), IscError> {
        let path = format!("{}/process-identities", profile_path(id)?);
        self.execute(&ApiRequest::new(Method::POST, path)).await?;
        Ok(())
    }

    /// `POST /v2024/identity-profiles/identity-preview` (computes, persists nothing).
    pub async fn identity_preview(
        &self,
        request: &IdentityPreviewRequest,
    ) -> Result<IdentityPreviewResponse, IscError> {
        self.call(
            &ApiRequest::new(Method::POST, "/v2024/identity-profiles/identity-preview")
                .json(request)?
                .idempotent(true),
        )
        .await
    }

    /// `GET /v2024/identity-profiles/{id}/default-identity-attribute-config`.
    pub async fn default_identity_attribute_config(
        &self,
        id: &str,
    ) -> Result<IdentityAttributeConfig, IscError> {
        let path = format!("{}/default-identity-attribute-config", profile_path(id)?);
        self.call(&ApiRequest::new(Method::GET, path)).await
    }
}
