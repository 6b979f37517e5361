//! Identities: listing, lookup, and (re)processing or attribute synchronization.

use reqwest::Method;

use super::{IdentityDefaultFilter, ListParams, MAX_PROCESS_IDS, Page, path_segment};
use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::{Identity, IdentitySyncJob, ProcessIdentitiesRequest, TaskResultResponse};

impl TenantClient {
    fn identities_request(
        params: &ListParams,
        default_filter: IdentityDefaultFilter,
    ) -> ApiRequest {
        let req = params.apply(ApiRequest::new(Method::GET, "/v2024/identities"));
        match default_filter {
            IdentityDefaultFilter::CorrelatedOnly => req,
            IdentityDefaultFilter::None => req.query("defaultFilter", "NONE"),
        }
    }

    /// `GET /v2024/identities` (one page; needs a user-context credential).
    pub async fn list_identities(
        &self,
        params: &ListParams,
        default_filter: IdentityDefaultFilter,
    ) -> Result<Page<Identity>, IscError> {
        self.list_page(Self::identities_request(params, default_filter))
            .await
    }

    /// Every identity matching `params.filter`, across pages.
    pub async fn list_all_identities(
        &self,
        params: &ListParams,
        default_filter: IdentityDefaultFilter,
    ) -> Result<Vec<Identity>, IscError> {
        self.list_all(params, |p| Self::identities_request(p, default_filter))
            .await
    }

    /// `GET /v2024/identities/{id}`.
    pub async fn get_identity(&self, id: &str) -> Result<Identity, IscError> {
        let path = format!("/v2024/identities/{}", path_segment(id)?);
        self.call(&ApiRequest::new(Method::GET, path)).await
    }

    /// `POST /v2024/identities/process` for 1..=250 ids. Triggers work: never retried blindly.
    pub async fn process_identities(&self, ids: &[String]) -> Result<TaskResultResponse, IscError> {
        if ids.is_empty() || ids.len() > MAX_PROCESS_IDS {
            return Err(IscError::InvalidRequest(format!(
                "process identities takes 1 to {MAX_PROCESS_IDS} ids, got {}",
                ids.len()
            )));
        }
        let body = ProcessIdentitiesRequest {
            identity_ids: ids.to_vec(),
        };
        self.call(
            &ApiRequest::new(Method::POST, "/v2024/identities/process")
                .json(&body)?
                .experimental(),
        )
        .await
    }

    /// `POST /v2024/identities/{id}/synchronize-attributes` (at most once per 10 s per identity).
    pub async fn synchronize_identity_attributes(
        &self,
        id: &str,
    ) -> Result<IdentitySyncJob, IscError> {
        let path = format!(
            "/v2024/identities/{}/synchronize-attributes",
            path_segment(id)?
        );
        self.call(&ApiRequest::new(Method::POST, path).experimental())
            .await
    }
}
