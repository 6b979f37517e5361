//! What the tenant-object kinds added with the identity model (`IdentityAttribute`, `Transform`,
//! `LifecycleState`) share: their status. They follow the `IdentityProfile` conventions (adopt
//! by name, write-ahead create marker, `Observe` plan, refusal back-off, kstatus conditions), so
//! the status reuses its building blocks instead of repeating them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::api::identity_profile::{
    DeletionPolicy, ManagementPolicy, PendingCreate, PlannedChange, Refusal,
};

/// Observed state of a tenant object managed by one of the identity-model kinds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantObjectStatus {
    /// Tenant-side id, once created or adopted (identity attributes are keyed by their name,
    /// which is then shown here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// kstatus conditions (`Ready` always; `Reconciling`, `Stalled`, `Suspended` when true),
    /// `Synced`, `Conflict`, `WaitingForDependencies`; each with the generation it describes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::api::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Last reconcile of this object that changed its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// The plan for the tenant (always shown under `Observe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_change: Option<PlannedChange>,
    /// Set while a create call is in flight (write-ahead marker: after a crash the name is
    /// looked up instead of creating again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_create: Option<PendingCreate>,
    /// Generation of the last change the operator wrote to the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_generation: Option<i64>,
    /// The tenant's last refusal of a write for this object; the same write for the same
    /// generation is not sent again before `retryAfter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refusal: Option<Refusal>,
    /// Tenant ids the names in the spec resolved to on this object's Tenant (e.g.
    /// `source/HR Source` → its id), so a promoted manifest shows what it bound to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resolved_references: BTreeMap<String, String>,
}
