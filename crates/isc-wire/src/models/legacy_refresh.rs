//! The legacy `/cc/api/system/refreshIdentities` call.

use serde::{Deserialize, Serialize};

/// Body of the legacy `POST /cc/api/system/refreshIdentities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RefreshIdentitiesRequest {
    /// Legacy-grammar filter (`attr == "value"`). Empty or unmatched means a FULL refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// What the refresh does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_args: Option<RefreshArgs>,
}

/// Arguments of the legacy refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RefreshArgs {
    /// Recompute entitlement, role and access-profile assignments.
    #[serde(default)]
    pub correlate_entitlements: bool,
    /// Recompute identity attributes.
    #[serde(default)]
    pub promote_attributes: bool,
    /// Recompute manager correlation (expensive).
    #[serde(default)]
    pub refresh_manager_status: bool,
    /// Run attribute-sync provisioning.
    #[serde(default)]
    pub synchronize_attributes: bool,
    /// Delete identities without accounts (only on SailPoint's advice).
    #[serde(default)]
    pub prune_identities: bool,
    /// Provision unfulfilled role assignments.
    #[serde(default)]
    pub provision: bool,
}
