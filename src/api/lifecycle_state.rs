//! `LifecycleState`: one lifecycle state of an identity profile on a tenant
//! (`/v2024/identity-profiles/{id}/lifecycle-states`). It names its `IdentityProfile` object
//! and waits until that profile exists on the tenant.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::TenantRef;
use crate::api::managed::{DeletionPolicy, ManagementPolicy, TenantObjectStatus};

/// The desired state of one lifecycle state of an identity profile.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "isc.identitynow.dev",
    version = "v1alpha1",
    kind = "LifecycleState",
    namespaced,
    status = "TenantObjectStatus",
    shortname = "isclcs",
    category = "isc",
    doc = "A lifecycle state of an identity profile on an ISC tenant, managed declaratively.",
    printcolumn = r#"{"name":"Profile","type":"string","jsonPath":".spec.identityProfileRef.name"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".spec.technicalName"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleStateSpec {
    /// The `Tenant` (same namespace); must be the referenced profile's Tenant. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("tenantRef is immutable; create a new LifecycleState for another tenant"))]
    pub tenant_ref: TenantRef,
    /// The `IdentityProfile` object (same namespace) whose profile holds this state. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("identityProfileRef is immutable: a lifecycle state cannot move between profiles; create a new LifecycleState instead"))]
    pub identity_profile_ref: IdentityProfileRef,
    /// Technical name, unique within the profile (the key for adoption). Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("technicalName is immutable; create a new LifecycleState instead"))]
    #[schemars(
        length(min = 1, max = 128),
        regex(pattern = r"^[a-z0-9][a-zA-Z0-9_-]*$")
    )]
    pub technical_name: String,
    /// Display name.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// Description. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    /// Whether the state is enabled. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The associated identity state, e.g. `ACTIVE`, `INACTIVE_SHORT_TERM`. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_state: Option<String>,
    /// Who is e-mailed when an identity enters the state. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_notification_option: Option<EmailNotificationSpec>,
    /// What happens to accounts when an identity enters the state. Unmanaged when omitted;
    /// when given, the complete list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub account_actions: Option<Vec<AccountActionSpec>>,
    /// Access profiles granted in the state (tenant ids). Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub access_profile_ids: Option<Vec<String>>,
    /// `Orphan` (default) leaves the state on the tenant when this object is deleted; `Delete`
    /// deletes it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// `Manage` (default) makes the tenant match; `Observe` only shows the plan in status.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

/// A reference to an `IdentityProfile` object in the same namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IdentityProfileRef {
    /// Name of the `IdentityProfile` object (not the tenant-side profile name).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// E-mail notification settings of a lifecycle state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailNotificationSpec {
    /// Notify the identity's manager.
    #[serde(default)]
    pub notify_managers: bool,
    /// Notify all admins.
    #[serde(default)]
    pub notify_all_admins: bool,
    /// Notify the addresses in `emailAddressList`.
    #[serde(default)]
    pub notify_specific_users: bool,
    /// Addresses notified when `notifySpecificUsers` is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub email_address_list: Vec<String>,
}

/// One account action of a lifecycle state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountActionSpec {
    /// `ENABLE`, `DISABLE` or `DELETE`.
    pub action: AccountActionKind,
    /// Sources (tenant ids) the action applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ids: Vec<String>,
    /// Sources by name, resolved on the Tenant (for manifests promoted between tenants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_names: Vec<String>,
}

/// An account action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountActionKind {
    /// Enable the accounts.
    Enable,
    /// Disable the accounts.
    Disable,
    /// Delete the accounts.
    Delete,
}
