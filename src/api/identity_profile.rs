//! `IdentityProfile`: one identity profile on a tenant, kept in Git.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::TenantRef;
use crate::controller::profile::diff::{DesiredAttributeConfig, DesiredProfile, DesiredTransform};

/// The desired state of one identity profile on an ISC tenant.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "isc.identitynow.dev",
    version = "v1alpha1",
    kind = "IdentityProfile",
    namespaced,
    status = "IdentityProfileStatus",
    shortname = "iscidp",
    category = "isc",
    doc = "An identity profile on an ISC tenant, managed declaratively.",
    printcolumn = r#"{"name":"Tenant ID","type":"string","jsonPath":".status.id"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProfileSpec {
    /// The `Tenant` (same namespace) the profile lives on. Immutable: a profile cannot move
    /// between tenants.
    #[x_kube(validation = Rule::new("self == oldSelf").message("tenantRef is immutable; create a new IdentityProfile for another tenant"))]
    pub tenant_ref: TenantRef,
    /// Profile name on the tenant (unique per tenant). An existing profile with this name is
    /// adopted rather than created.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// Profile description. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    /// Priority among profiles sharing identities (lower wins). Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000000))]
    pub priority: Option<i64>,
    /// Owning identity. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Box<OwnerRef>>,
    /// The source whose accounts make identities of this profile. Changing it is a PATCH, never
    /// a delete-and-recreate.
    pub authoritative_source: SourceRef,
    /// How identity attributes are computed. Unmanaged when omitted; when given, the list of
    /// transforms is the complete set (keyed by identity attribute name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_attribute_config: Option<Box<AttributeConfigSpec>>,
    /// What happens on the tenant when this object is deleted: `Orphan` (default) leaves the
    /// profile; `Delete` deletes it and waits for the tenant's delete task.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// `Manage` (default) makes the tenant match; `Observe` only computes the plan and shows it
    /// in status, never writing to the tenant.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// `Manual` (default) only reports that identities need processing; `OnChange` processes the
    /// profile's identities once after a change the operator made left that flag set.
    #[serde(default)]
    pub refresh_policy: RefreshPolicy,
    /// Under `managementPolicy: Observe`, how many identities of the profile a planned change
    /// to the attribute mappings is previewed on (`status.attributePreview`); 0 turns the
    /// preview off. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub preview_identities: Option<u32>,
}

/// An identity on the tenant, by id or by alias. An alias is resolved to the identity's id on
/// the object's Tenant (listing identities needs a user-context credential), so the same
/// manifest works on tenants whose ids differ.
#[derive(KubeSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("has(self.id) || has(self.alias)").message("owner needs id (the identity's tenant id) or alias (the identity's alias, resolved on the Tenant)"))]
pub struct OwnerRef {
    /// Identity id on the tenant. When omitted, `alias` names the identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub id: Option<String>,
    /// The identity's alias (its unique login name); resolved to its id on the Tenant when
    /// `id` is omitted (the resolved id is shown in `status.resolvedReferences`). Ignored when
    /// `id` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub alias: Option<String>,
    /// Display name (informational; the tenant keeps its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A source on the tenant, by id or by name. A name is resolved to the source's id on the
/// object's Tenant, so the same manifest works on tenants whose ids differ.
#[derive(KubeSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("has(self.id) || has(self.name)").message("authoritativeSource needs id (the source's tenant id) or name (the source's name, resolved on the Tenant)"))]
pub struct SourceRef {
    /// Source id on the tenant. When omitted, `name` names the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub id: Option<String>,
    /// Source name: resolved to the source's id on the Tenant when `id` is omitted (the
    /// resolved id is shown in `status.resolvedReferences`); informational (never compared)
    /// when `id` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub name: Option<String>,
}

/// Declared identity attribute configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeConfigSpec {
    /// Whether the tenant promotes attribute values. Unmanaged when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The complete set of transforms, one per identity attribute.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["identityAttributeName"]))]
    #[schemars(length(max = 200))]
    pub attribute_transforms: Vec<AttributeTransformSpec>,
}

/// How one identity attribute is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeTransformSpec {
    /// Identity attribute the transform computes, e.g. `email`.
    #[schemars(length(min = 1, max = 128))]
    pub identity_attribute_name: String,
    /// The transform.
    pub transform_definition: TransformDefinitionSpec,
}

/// A transform: its type and free-form arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransformDefinitionSpec {
    /// Transform type, e.g. `accountAttribute` or `reference`.
    #[serde(rename = "type")]
    #[schemars(length(min = 1, max = 128))]
    pub kind: String,
    /// Transform arguments, e.g. `attributeName`, `sourceName`, `sourceId`. A `sourceName`
    /// without `sourceId` stands for the source's id: the operator adds `sourceId` as resolved
    /// on the Tenant. A `reference` transform names the saved transform in `id` by its name
    /// (as ISC defines it); the operator checks it exists on the Tenant and, when a
    /// `Transform` object of this namespace and Tenant has that name, waits for it.
    #[serde(default)]
    #[schemars(schema_with = "crate::api::free_form_object")]
    pub attributes: Map<String, Value>,
}

/// What deleting the Kubernetes object does on the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Leave the tenant profile in place.
    #[default]
    Orphan,
    /// Delete the tenant profile and wait for the delete task.
    Delete,
}

/// Whether the operator writes to the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum ManagementPolicy {
    /// Make the tenant match the spec.
    #[default]
    Manage,
    /// Compute and show the plan; never write.
    Observe,
}

/// Whether the operator processes identities after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum RefreshPolicy {
    /// Only report `RefreshRequired`.
    #[default]
    Manual,
    /// Process the profile's identities once per change the operator made.
    OnChange,
}

/// One JSON Patch operation, as shown in status for `Observe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlannedOperation {
    /// `add`, `remove` or `replace`.
    pub op: String,
    /// JSON Pointer into the tenant object.
    pub path: String,
    /// New value (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_value")]
    pub value: Option<Value>,
}

fn any_value(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// The plan computed for the tenant (shown for `Observe`; cleared when converged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    /// `Create`, `Patch` or `None`.
    pub action: String,
    /// The PATCH bodies, in order (two when the source and the attribute config both change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Vec<PlannedOperation>>,
}

/// Marker written before a create call, so a crash between the POST and the status write is
/// resolved by looking up the name instead of creating again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingCreate {
    /// Tenant-side name being created.
    pub name: String,
    /// When the create started.
    pub since: Time,
}

/// Observed state of an `IdentityProfile`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProfileStatus {
    /// Tenant-side profile id, once created or adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// kstatus conditions (`Ready` always; `Reconciling` while work is under way or transient
    /// trouble is waited out; `Stalled` when only a person can help; `Suspended` while a pause
    /// switch holds the writes), `Synced`, `RefreshRequired`, `Conflict`; each with the
    /// generation it describes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::api::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Last reconcile of this object that changed its status. A reconcile that finds nothing
    /// to change keeps it (a steady state writes nothing), and the Tenant's periodic resync
    /// sweep compares every object with the tenant without reconciling (or touching) the
    /// converged ones: see the operator's `isc_operator_resync_*` metrics for the sweeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// Identities in the profile, as the tenant reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_count: Option<i32>,
    /// The plan for the tenant (always shown under `Observe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_change: Option<Box<PlannedChange>>,
    /// Set while a create call is in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_create: Option<Box<PendingCreate>>,
    /// Generation of the last change the operator wrote to the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_generation: Option<i64>,
    /// Generation for which identities were processed under `refreshPolicy: OnChange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_generation: Option<i64>,
    /// The tenant delete task being waited for (`deletionPolicy: Delete`); empty when the
    /// tenant accepted the delete without a task id (then the profile's absence confirms it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_task_id: Option<String>,
    /// Set while an `OnChange` processing call is in flight (write-ahead): found at the start
    /// of a reconcile, the call's outcome is unknown and it is never sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_processing: Option<Box<PendingProcessing>>,
    /// The tenant's last refusal of a write for this object; the same write for the same
    /// generation is not sent again before `retryAfter` (at most one refused write per resync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refusal: Option<Box<Refusal>>,
    /// Under `managementPolicy: Observe`, what the planned attribute mapping change would do
    /// to a few identities of the profile (the tenant's identity preview; nothing is written).
    /// Computed once per distinct change, never on a resync that finds the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_preview: Option<Box<AttributePreview>>,
    /// Tenant ids the names in the spec resolved to on this object's Tenant, keyed
    /// `source/<name>`, `identity/<alias>`, `transform/<name>`, so a promoted manifest shows
    /// what it bound to on each tenant.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resolved_references: BTreeMap<String, String>,
}

/// Marker written before an `OnChange` processing call, so the call is made at most once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingProcessing {
    /// Generation whose change is being processed.
    pub generation: i64,
    /// When the call started.
    pub since: Time,
}

/// A write the tenant refused as invalid (a 4xx other than 401/403/404/409/429).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// Generation of the spec the refused write was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// The refused write: `Create`, `Patch`, `Process` or `Delete`.
    pub operation: String,
    /// When the tenant refused it.
    pub at: Time,
    /// Refusals in a row for this generation.
    pub attempts: u32,
    /// The same write is not sent again before this time.
    pub retry_after: Time,
    /// The tenant's answer (status, detailCode, messages, trackingId), shortened.
    pub message: String,
}

/// Attribute values of sample identities before and after a planned mapping change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributePreview {
    /// Generation the preview was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Fingerprint of what was previewed (the tenant profile's mappings, the planned ones and
    /// the sample size): the preview is computed again only when it changes.
    pub basis: String,
    /// Why some or all values are missing (no user-context credential, no identities, a
    /// refused preview call, rows left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// One row per sample identity and changed attribute (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub entries: Vec<AttributePreviewEntry>,
}

/// One identity attribute of one sample identity: its value now and under the planned mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributePreviewEntry {
    /// The identity (its name, else its id).
    pub identity: String,
    /// The identity attribute whose mapping changes.
    pub attribute: String,
    /// The value now (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The value under the planned mapping (absent: none, or the mapping is removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The tenant's error messages for this value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl IdentityProfileSpec {
    /// The desired profile the planner works on.
    pub fn desired(&self) -> DesiredProfile {
        DesiredProfile {
            name: self.name.clone(),
            description: self.description.clone(),
            priority: self.priority,
            owner: self.owner.as_ref().map(|o| isc_client::models::ObjectRef {
                kind: Some("IDENTITY".into()),
                id: o.id.clone(),
                name: o.name.clone(),
            }),
            authoritative_source: isc_client::models::ObjectRef {
                kind: Some("SOURCE".into()),
                id: self.authoritative_source.id.clone(),
                name: self.authoritative_source.name.clone(),
            },
            attribute_config: self.identity_attribute_config.as_ref().map(|c| {
                DesiredAttributeConfig {
                    enabled: c.enabled,
                    transforms: c
                        .attribute_transforms
                        .iter()
                        .map(|t| DesiredTransform {
                            identity_attribute_name: t.identity_attribute_name.clone(),
                            transform_type: t.transform_definition.kind.clone(),
                            attributes: t.transform_definition.attributes.clone(),
                        })
                        .collect(),
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watch cache holds every IdentityProfile as an `Arc` (16 bytes of counts before the
    /// object): kept at or under 752 bytes, the allocation is jemalloc's 768-byte class instead
    /// of 1280 (5 MB less with 10 000 objects). Fields most objects never set are boxed to stay
    /// here; a new inline field that crosses the line fails this test.
    #[test]
    fn a_cached_profile_fits_the_768_byte_allocation_class() {
        let arc_header = 2 * std::mem::size_of::<usize>();
        let size = std::mem::size_of::<IdentityProfile>() + arc_header;
        assert!(size <= 768, "Arc<IdentityProfile> takes {size} bytes");
    }
}
