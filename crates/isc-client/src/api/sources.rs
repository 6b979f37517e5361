//! Sources, listed to resolve a source's name to its tenant id.

use reqwest::Method;

use super::ListParams;
use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::Source;

impl TenantClient {
    /// Every source matching `params.filter` (e.g. `name eq "HR"`), across pages.
    pub async fn list_all_sources(&self, params: &ListParams) -> Result<Vec<Source>, IscError> {
        self.list_all(params, |p| {
            p.apply(ApiRequest::new(Method::GET, "/v2024/sources"))
        })
        .await
    }
}
