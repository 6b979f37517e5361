//! The legacy `cc` API: identity refresh.

use reqwest::Method;
use serde_json::Value;

use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::{RefreshArgs, RefreshIdentitiesRequest};

impl TenantClient {
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
