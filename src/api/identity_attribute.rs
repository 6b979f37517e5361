//! `IdentityAttribute`: one identity attribute definition on a tenant (`/v2024/identity-attributes`).
//! Identity profiles map values into these attributes, so a profile that names one managed in
//! the same namespace waits until it exists on the tenant.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::TenantRef;
use crate::api::managed::{DeletionPolicy, ManagementPolicy, TenantObjectStatus};

/// The desired state of one identity attribute on an ISC tenant. Creating, changing and
/// deleting identity attributes needs a credential with user context (a personal access token).
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "isc.identitynow.dev",
    version = "v1alpha1",
    kind = "IdentityAttribute",
    namespaced,
    status = "TenantObjectStatus",
    shortname = "iscattr",
    category = "isc",
    doc = "An identity attribute definition on an ISC tenant, managed declaratively.",
    printcolumn = r#"{"name":"Attribute","type":"string","jsonPath":".spec.name"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct IdentityAttributeSpec {
    /// The `Tenant` (same namespace) the attribute lives on. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("tenantRef is immutable; create a new IdentityAttribute for another tenant"))]
    pub tenant_ref: TenantRef,
    /// Technical name (unique per tenant; the tenant's key for the attribute). An existing
    /// attribute with this name is adopted rather than created. Immutable: the tenant cannot
    /// rename an attribute.
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable: the tenant identifies an identity attribute by its name; create a new IdentityAttribute instead"))]
    #[schemars(
        length(min = 1, max = 128),
        regex(pattern = r"^[A-Za-z][A-Za-z0-9_]*$")
    )]
    pub name: String,
    /// Business-friendly name. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub display_name: Option<String>,
    /// Whether the attribute is a standard (default) one. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<bool>,
    /// Whether the attribute is searchable (the tenant requires `standard` and `multi` false
    /// for that). Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub searchable: Option<bool>,
    /// Whether the attribute holds several values. Set at creation; the tenant cannot change it.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("multi is immutable: the tenant cannot change whether an identity attribute is multi-valued"))]
    pub multi: bool,
    /// Where the attribute's value comes from (rules or account attributes). Unmanaged when
    /// omitted; when given, the complete list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub sources: Option<Vec<AttributeSourceSpec>>,
    /// `Orphan` (default) leaves the attribute on the tenant when this object is deleted;
    /// `Delete` deletes it (the tenant refuses for standard and system attributes).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// `Manage` (default) makes the tenant match; `Observe` only shows the plan in status.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

/// One source of an identity attribute's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttributeSourceSpec {
    /// Source type, e.g. `rule`.
    #[serde(rename = "type")]
    #[schemars(length(min = 1, max = 128))]
    pub kind: String,
    /// Source properties, e.g. `ruleType`, `ruleName`.
    #[serde(default)]
    #[schemars(schema_with = "crate::api::free_form_object")]
    pub properties: Map<String, Value>,
}
