//! `Transform`: one saved transform on a tenant (`/v2024/transforms`). The tenant lets a client
//! change only a transform's `attributes`; `name` and `type` are fixed, so changing them is
//! rejected at admission instead of being done as a delete-and-recreate behind the user's back.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::TenantRef;
use crate::api::managed::{DeletionPolicy, ManagementPolicy, TenantObjectStatus};

/// The desired state of one transform on an ISC tenant.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "isc.identitynow.dev",
    version = "v1alpha1",
    kind = "Transform",
    namespaced,
    status = "TenantObjectStatus",
    shortname = "isctf",
    category = "isc",
    doc = "A transform on an ISC tenant, managed declaratively.",
    printcolumn = r#"{"name":"Transform","type":"string","jsonPath":".spec.name"}"#,
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"Tenant ID","type":"string","jsonPath":".status.id"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TransformSpec {
    /// The `Tenant` (same namespace) the transform lives on. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("tenantRef is immutable; create a new Transform for another tenant"))]
    pub tenant_ref: TenantRef,
    /// Unique name on the tenant. An existing transform with this name is adopted rather than
    /// created. Immutable: the tenant cannot rename a transform.
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable: the tenant cannot rename a transform; create a new Transform (and delete this one) instead"))]
    #[schemars(length(min = 1, max = 50))]
    pub name: String,
    /// Transform type, e.g. `lookup`, `concat`, `accountAttribute`. Immutable: the tenant
    /// cannot change a transform's type.
    #[serde(rename = "type")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("type is immutable: the tenant cannot change a transform's type; create a new Transform instead"))]
    #[schemars(length(min = 1, max = 64))]
    pub kind: String,
    /// The transform's arguments, as the tenant documents them for the type. A `sourceName`
    /// may stand for a `sourceId`: the operator resolves it on this object's Tenant.
    #[serde(default)]
    #[schemars(schema_with = "crate::api::free_form_object")]
    pub attributes: Map<String, Value>,
    /// `Orphan` (default) leaves the transform on the tenant when this object is deleted;
    /// `Delete` deletes it (the tenant refuses while a profile mapping uses it).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// `Manage` (default) makes the tenant match; `Observe` only shows the plan in status.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}
