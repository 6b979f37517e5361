//! Typed calls for the v2024 endpoints the operator uses, on top of [`TenantClient::execute`].

use reqwest::Method;
use serde_json::Value;

use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::filter::Filter;
use crate::models::*;

/// Largest page the list endpoints return.
pub const MAX_PAGE_SIZE: u32 = 250;
/// Most ids `POST /identities/process` takes in one call.
pub const MAX_PROCESS_IDS: usize = 250;

/// Collection parameters of a list call.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// `filters=`; rendered from a tree so values are always escaped.
    pub filter: Option<Filter>,
    /// `sorters=`, e.g. `name,-priority`.
    pub sorters: Option<String>,
    /// Page size (1..=250).
    pub limit: Option<u32>,
    /// Records to skip.
    pub offset: Option<u32>,
    /// Ask for `X-Total-Count`.
    pub count: bool,
}

impl ListParams {
    fn apply(&self, mut req: ApiRequest) -> ApiRequest {
        if let Some(f) = &self.filter {
            req = req.query("filters", f);
        }
        if let Some(s) = &self.sorters {
            req = req.query("sorters", s);
        }
        if let Some(l) = self.limit {
            req = req.query("limit", l);
        }
        if let Some(o) = self.offset {
            req = req.query("offset", o);
        }
        if self.count {
            req = req.query("count", true);
        }
        req
    }
}

/// One page of a list call.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// `X-Total-Count`, when asked for.
    pub total: Option<u64>,
}

/// `defaultFilter` of `GET /identities`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityDefaultFilter {
    /// Only correlated identities (the API's default).
    #[default]
    CorrelatedOnly,
    /// Every identity.
    None,
}

fn profile_path(id: &str) -> Result<String, IscError> {
    Ok(format!("/v2024/identity-profiles/{}", path_segment(id)?))
}

/// Rejects ids that would change the path, so an id from a manifest cannot address another
/// endpoint.
fn path_segment(id: &str) -> Result<&str, IscError> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(IscError::InvalidRequest(format!(
            "{id:?} is not a valid tenant object id"
        )));
    }
    Ok(id)
}

impl TenantClient {
    async fn list_page<T: serde::de::DeserializeOwned>(
        &self,
        req: ApiRequest,
    ) -> Result<Page<T>, IscError> {
        let response = self.execute(&req).await?;
        let items = response.parse(req.method().as_str(), req.path())?;
        Ok(Page {
            items,
            total: response.total_count,
        })
    }

    /// Follows `offset` until a short page, so callers see every record exactly once.
    async fn list_all<T, F>(&self, params: &ListParams, make: F) -> Result<Vec<T>, IscError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&ListParams) -> ApiRequest,
    {
        let limit = params
            .limit
            .unwrap_or(MAX_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        let mut out = Vec::new();
        let mut offset = params.offset.unwrap_or(0);
        loop {
            let page_params = ListParams {
                limit: Some(limit),
                offset: Some(offset),
                count: false,
                ..params.clone()
            };
            let page: Page<T> = self.list_page(make(&page_params)).await?;
            let n = page.items.len() as u32;
            out.extend(page.items);
            if n < limit {
                return Ok(out);
            }
            offset += limit;
        }
    }

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

    /// `GET /v2024/task-status/{id}`.
    pub async fn get_task_status(&self, id: &str) -> Result<TaskStatus, IscError> {
        let path = format!("/v2024/task-status/{}", path_segment(id)?);
        self.call(&ApiRequest::new(Method::GET, path)).await
    }

    /// Legacy `POST /cc/api/system/refreshIdentities` for identities selected by `filter`.
    ///
    /// The tenant runs a FULL refresh when the filter is empty, unparseable or matches nothing,
    /// so this refuses an empty filter; callers must build the filter from identities they have
    /// resolved. A full refresh has its own, explicitly named method.
    pub async fn legacy_refresh_identities(
        &self,
        filter: &str,
        args: RefreshArgs,
    ) -> Result<Value, IscError> {
        if filter.trim().is_empty() {
            return Err(IscError::InvalidRequest(
                "refusing a legacy refresh with an empty filter: the tenant would refresh every identity".to_string(),
            ));
        }
        let body = RefreshIdentitiesRequest {
            filter: Some(filter.to_string()),
            refresh_args: Some(args),
        };
        self.call(&ApiRequest::new(Method::POST, "/cc/api/system/refreshIdentities").json(&body)?)
            .await
    }

    /// Legacy full-tenant refresh. Only for a manifest that explicitly asks for one.
    pub async fn legacy_full_refresh(&self, args: RefreshArgs) -> Result<Value, IscError> {
        let body = RefreshIdentitiesRequest {
            filter: None,
            refresh_args: Some(args),
        };
        self.call(&ApiRequest::new(Method::POST, "/cc/api/system/refreshIdentities").json(&body)?)
            .await
    }
}
