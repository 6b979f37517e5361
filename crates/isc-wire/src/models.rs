//! Wire models for the ISC v2024 endpoints the operator uses.
//!
//! Field names and optionality follow `../shared/isc-api/sailpoint-api.v2024.json`. Every model
//! tolerates unknown fields on read (no `deny_unknown_fields`), because the tenant adds fields
//! without a version bump. The simulator serializes the same types, and the conformance test
//! validates both directions against the official schemas.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A reference to another tenant object (`{type, id, name}`), as used by `owner`,
/// `authoritativeSource`, `managerRef` and friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ObjectRef {
    /// Object type, e.g. `SOURCE` or `IDENTITY`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Tenant id of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The declarative core of a profile: how identity attributes are computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityAttributeConfig {
    /// The tenant only promotes attribute values when this is true.
    #[serde(default)]
    pub enabled: bool,
    /// One transform per identity attribute.
    #[serde(default)]
    pub attribute_transforms: Vec<IdentityAttributeTransform>,
}

/// How one identity attribute is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityAttributeTransform {
    /// Target identity attribute, e.g. `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_attribute_name: Option<String>,
    /// The transform producing its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform_definition: Option<TransformDefinition>,
}

/// A transform reference or inline definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TransformDefinition {
    /// Transform type, e.g. `accountAttribute` or `reference`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Free-form transform arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
}

/// Where the tenant put the profile's exception report, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityExceptionReportReference {
    /// Task result that produced the report (uuid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_result_id: Option<String>,
    /// Report name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_name: Option<String>,
}

/// An identity profile as the tenant returns and accepts it (`IdentityProfile` schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProfile {
    /// Tenant-assigned id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Profile name; unique per tenant.
    pub name: String,
    /// Creation time (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last modification time (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Free text; nullable on the wire.
    #[serde(default)]
    pub description: Option<String>,
    /// Owning identity; nullable on the wire.
    #[serde(default)]
    pub owner: Option<ObjectRef>,
    /// Priority among profiles of the same source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// The source whose accounts make identities for this profile (required).
    pub authoritative_source: ObjectRef,
    /// Set by the tenant when a change requires processing identities.
    #[serde(default)]
    pub identity_refresh_required: bool,
    /// Number of identities in the profile (computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_count: Option<i32>,
    /// How identity attributes are computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_attribute_config: Option<IdentityAttributeConfig>,
    /// Exception report of the last processing, if any.
    #[serde(default)]
    pub identity_exception_report_reference: Option<IdentityExceptionReportReference>,
    /// Whether the profile has time-based attributes (computed).
    #[serde(default)]
    pub has_time_based_attr: bool,
}

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

/// Reference to an asynchronous task, returned by deletes (`TaskResultSimplified`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskResultSimplified {
    /// Task id; look it up with `GET /task-status/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Task name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Task description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who launched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launcher: Option<String>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Launch time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched: Option<String>,
    /// Mixed-case status (`Success`, `Error`, ...); compare case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_status: Option<String>,
}

/// Reference to a processing task (`TaskResultResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaskResultResponse {
    /// Usually `TASK_RESULT`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unused by the tenant (null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

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

/// Localized text of a task message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LocalizedMessage {
    /// Locale, e.g. `en-US`.
    pub locale: String,
    /// The text.
    pub message: String,
}

/// A message attached to a task (`TaskStatusMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusMessage {
    /// `INFO`, `WARN` or `ERROR`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Localized text; nullable.
    #[serde(default)]
    pub localized_text: Option<LocalizedMessage>,
    /// Message key.
    pub key: String,
    /// Message parameters; nullable.
    #[serde(default)]
    pub parameters: Option<Vec<Value>>,
}

/// A named return value of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskReturnDetails {
    /// Display name.
    pub name: String,
    /// Attribute holding the value.
    pub attribute_name: String,
}

/// Status of an asynchronous task (`TaskStatus`). `completion_status == None` means running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    /// Task id.
    pub id: String,
    /// `QUARTZ`, `QPOC` or `QUEUED_TASK`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unique task name.
    pub unique_name: String,
    /// Description.
    pub description: String,
    /// Parent task name; nullable.
    #[serde(default)]
    pub parent_name: Option<String>,
    /// Who launched it.
    pub launcher: String,
    /// Target object; nullable, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Value>,
    /// Creation time.
    pub created: String,
    /// Last update; nullable.
    #[serde(default)]
    pub modified: Option<String>,
    /// Launch time; nullable.
    #[serde(default)]
    pub launched: Option<String>,
    /// Completion time; nullable.
    #[serde(default)]
    pub completed: Option<String>,
    /// `SUCCESS`, `WARNING`, `ERROR`, `TERMINATED`, `TEMPERROR` or null while running.
    #[serde(default)]
    pub completion_status: Option<String>,
    /// Messages.
    #[serde(default)]
    pub messages: Vec<TaskStatusMessage>,
    /// Return values.
    #[serde(default)]
    pub returns: Vec<TaskReturnDetails>,
    /// Free-form attributes, e.g. `identityCount`.
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// Progress text; nullable.
    #[serde(default)]
    pub progress: Option<String>,
    /// 0..=100.
    #[serde(default)]
    pub percent_complete: i64,
}

/// How a finished task ended, normalised across the two casings the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Still pending or running.
    Running,
    /// `SUCCESS` or `WARNING`.
    Succeeded,
    /// `ERROR`, `TERMINATED`, `TEMPERROR` or anything unknown.
    Failed,
}

impl TaskOutcome {
    /// Classifies a `completionStatus` value (case-insensitive; `None` = running).
    pub fn from_completion_status(status: Option<&str>) -> Self {
        match status.map(str::to_ascii_uppercase).as_deref() {
            None => TaskOutcome::Running,
            Some("SUCCESS") | Some("WARNING") => TaskOutcome::Succeeded,
            Some(_) => TaskOutcome::Failed,
        }
    }
}

impl TaskStatus {
    /// The normalised outcome of this task.
    pub fn outcome(&self) -> TaskOutcome {
        TaskOutcome::from_completion_status(self.completion_status.as_deref())
    }
}

/// One RFC 6902 operation (`JsonPatchOperation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonPatchOperation {
    /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub op: String,
    /// JSON Pointer.
    pub path: String,
    /// Value for `add`, `replace`, `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Source pointer for `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// Body of `POST /identity-profiles/identity-preview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityPreviewRequest {
    /// Identity to preview (uuid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    /// Config to preview with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_attribute_config: Option<IdentityAttributeConfig>,
}

/// One attribute of an identity preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityAttributePreview {
    /// Attribute name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value under the previewed config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Current value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_value: Option<String>,
    /// Problems computing the value.
    #[serde(default)]
    pub error_messages: Vec<ErrorMessageDto>,
}

/// Result of an identity preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityPreviewResponse {
    /// The previewed identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ObjectRef>,
    /// Attributes and their previewed values.
    #[serde(default)]
    pub preview_attributes: Vec<IdentityAttributePreview>,
}

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

/// A message in an error body (`ErrorMessageDto`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessageDto {
    /// BCP 47 locale; nullable.
    #[serde(default)]
    pub locale: Option<String>,
    /// `DEFAULT`, `REQUEST` or null.
    #[serde(default)]
    pub locale_origin: Option<String>,
    /// The text.
    #[serde(default)]
    pub text: String,
}

/// The tenant's error body (`ErrorResponseDto`); users quote `detailCode` and `trackingId` to SailPoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponseDto {
    /// e.g. `400.1 Bad Request Content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_code: Option<String>,
    /// Correlation id for SailPoint support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub messages: Vec<ErrorMessageDto>,
    /// Underlying causes.
    #[serde(default)]
    pub causes: Vec<ErrorMessageDto>,
}

impl ErrorResponseDto {
    /// An error body with one English message.
    pub fn new(detail_code: &str, tracking_id: &str, text: impl Into<String>) -> Self {
        ErrorResponseDto {
            detail_code: Some(detail_code.to_string()),
            tracking_id: Some(tracking_id.to_string()),
            messages: vec![ErrorMessageDto {
                locale: Some("en-US".to_string()),
                locale_origin: Some("DEFAULT".to_string()),
                text: text.into(),
            }],
            causes: Vec::new(),
        }
    }

    /// All message texts joined, for error display.
    pub fn message_text(&self) -> String {
        self.messages
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Token response of `POST /oauth/token` (only the fields we use are typed).
#[derive(Clone, Serialize, Deserialize, Default)]
pub struct TokenResponse {
    /// The bearer token. Never logged.
    pub access_token: String,
    /// `bearer`.
    #[serde(default)]
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: u64,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// User id; empty for a client without user context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Identity id; empty for a client without user context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_tolerated_on_read() {
        let profile: IdentityProfile = serde_json::from_value(json!({
            "id": "p1", "name": "HR", "authoritativeSource": {"type": "SOURCE", "id": "s1", "name": "HR", "extra": 1},
            "someNewField": {"nested": true}, "identityCount": 3, "description": null, "owner": null
        }))
        .unwrap();
        assert_eq!(profile.name, "HR");
        assert_eq!(profile.identity_count, Some(3));
        assert_eq!(profile.authoritative_source.id.as_deref(), Some("s1"));
    }

    #[test]
    fn a_new_profile_serializes_without_read_only_fields() {
        let profile = IdentityProfile {
            name: "HR".into(),
            authoritative_source: ObjectRef {
                kind: Some("SOURCE".into()),
                id: Some("s1".into()),
                name: None,
            },
            ..Default::default()
        };
        let v = serde_json::to_value(&profile).unwrap();
        for read_only in ["id", "created", "modified", "identityCount"] {
            assert!(v.get(read_only).is_none(), "{read_only} in {v}");
        }
    }

    #[test]
    fn task_outcomes_ignore_case() {
        assert_eq!(
            TaskOutcome::from_completion_status(None),
            TaskOutcome::Running
        );
        for s in ["SUCCESS", "Success", "WARNING", "Warning"] {
            assert_eq!(
                TaskOutcome::from_completion_status(Some(s)),
                TaskOutcome::Succeeded
            );
        }
        for s in ["ERROR", "TempError", "TERMINATED", "whatever"] {
            assert_eq!(
                TaskOutcome::from_completion_status(Some(s)),
                TaskOutcome::Failed
            );
        }
    }

    #[test]
    fn token_debug_hides_the_token() {
        let t = TokenResponse {
            access_token: "eyJ-secret".into(),
            ..Default::default()
        };
        assert!(!format!("{t:?}").contains("eyJ-secret"));
    }

    #[test]
    fn error_messages_join() {
        let e = ErrorResponseDto::new("400.1 Bad Request Content", "t1", "bad name");
        assert_eq!(e.message_text(), "bad name");
    }
}
