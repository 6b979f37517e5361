//! Typed calls for the endpoints the operator uses, on top of [`TenantClient::execute`]: one
//! file per area (identity profiles and their lifecycle states, identity attributes,
//! transforms, sources, identities and their processing, tasks, the legacy `cc` API). This
//! module holds what they share: list parameters, paging and id checks.

mod identities;
mod identity_attributes;
mod identity_profiles;
mod legacy;
mod lifecycle_states;
mod paging;
mod sources;
mod tasks;
mod transforms;

pub use paging::{LenientList, MAX_LIST_PAGES, MalformedObject};

use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::filter::Filter;

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
    /// One page of a list call; an empty body (a 204) is an empty page.
    async fn list_page<T: serde::de::DeserializeOwned>(
        &self,
        req: ApiRequest,
    ) -> Result<Page<T>, IscError> {
        let response = self.execute(&req).await?;
        let items: Option<Vec<T>> = response.parse(req.method().as_str(), req.path())?;
        Ok(Page {
            items: items.unwrap_or_default(),
            total: response.total_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use reqwest::Method;

    use super::*;

    #[test]
    fn ids_that_would_change_the_path_are_refused() {
        for bad in ["", "../x", "a/b", "a?b", "a b", "%2e%2e", "a#b"] {
            assert!(
                matches!(path_segment(bad), Err(IscError::InvalidRequest(_))),
                "{bad:?}"
            );
        }
        assert_eq!(path_segment("ef38-f943_47e9").unwrap(), "ef38-f943_47e9");
        assert_eq!(profile_path("p1").unwrap(), "/v2024/identity-profiles/p1");
    }

    #[test]
    fn list_params_become_query_parameters() {
        let params = ListParams {
            filter: Some(Filter::eq("name", "HR")),
            sorters: Some("name".into()),
            limit: Some(10),
            offset: Some(20),
            count: true,
        };
        let req = params.apply(ApiRequest::new(Method::GET, "/v2024/identity-profiles"));
        let keys: Vec<_> = req.query_pairs().map(|(k, _)| k).collect();
        assert_eq!(keys, ["filters", "sorters", "limit", "offset", "count"]);
        let req = ListParams::default().apply(ApiRequest::new(Method::GET, "/x"));
        assert_eq!(req.query_pairs().count(), 0);
    }
}
