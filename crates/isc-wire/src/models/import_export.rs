//! The export/import format of identity profiles (sp-config objects).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{IdentityProfile, ObjectRef};

/// One element of the export/import format (`IdentityProfileExportedObject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct IdentityProfileExportedObject {
    /// Export format version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// What the object is (`type` is `IDENTITY_PROFILE` here).
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_ref: Option<ObjectRef>,
    /// The exported profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<IdentityProfile>,
}

/// A message in an import result (`SpConfigMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SpConfigMessage {
    /// Machine-readable message key.
    pub key: String,
    /// Human-readable text.
    pub text: String,
    /// Structured details.
    #[serde(default)]
    pub details: Map<String, Value>,
}

/// An object the import created or updated (`ImportObject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImportObject {
    /// Object type, e.g. `IDENTITY_PROFILE`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Result of `POST /identity-profiles/import`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ObjectImportResult {
    /// Informational messages.
    #[serde(default)]
    pub infos: Vec<SpConfigMessage>,
    /// Warnings (the import went on).
    #[serde(default)]
    pub warnings: Vec<SpConfigMessage>,
    /// Errors (the object was not imported).
    #[serde(default)]
    pub errors: Vec<SpConfigMessage>,
    /// Objects created or updated.
    #[serde(default)]
    pub imported_objects: Vec<ImportObject>,
}
