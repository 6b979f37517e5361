//! Identities and the calls that (re)process them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ObjectRef;

/// Body of `POST /identities/process`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProcessIdentitiesRequest {
    /// 1..=250 identity ids.
    pub identity_ids: Vec<String>,
}

/// Payload of an attribute-sync job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySyncPayload {
    /// e.g. `SYNCHRONIZE_IDENTITY_ATTRIBUTES`.
    #[serde(rename = "type")]
    pub kind: String,
    /// JSON text naming the identity.
    pub data_json: String,
}

/// Result of `POST /identities/{id}/synchronize-attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IdentitySyncJob {
    /// Job id.
    pub id: String,
    /// `QUEUED`, `IN_PROGRESS`, `SUCCESS` or `ERROR`.
    pub status: String,
    /// What the job does.
    pub payload: IdentitySyncPayload,
}

/// A lifecycle state of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleState {
    /// Technical name of the state.
    pub state_name: String,
    /// Whether an admin set it by hand.
    pub manually_updated: bool,
}

/// An identity (`Identity` schema, title IdentityDto).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Unique alias (login name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Primary e-mail; nullable.
    #[serde(default)]
    pub email_address: Option<String>,
    /// `OK`, `ERROR` or null.
    #[serde(default)]
    pub processing_state: Option<String>,
    /// Identity status, e.g. `ACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_status: Option<String>,
    /// Manager; nullable.
    #[serde(default)]
    pub manager_ref: Option<ObjectRef>,
    /// Whether this identity manages others.
    #[serde(default)]
    pub is_manager: bool,
    /// Last time the identity was processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<String>,
    /// Identity attributes (free-form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
    /// Lifecycle state; nullable.
    #[serde(default)]
    pub lifecycle_state: Option<LifecycleState>,
}
