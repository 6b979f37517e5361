//! Identity profiles: the profile itself, its attribute config, and the identity preview.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ErrorMessageDto, ObjectRef};

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
}
