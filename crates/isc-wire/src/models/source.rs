//! Sources (`GET /sources`), read only to resolve a source's name to its tenant id.

use serde::{Deserialize, Serialize};

use super::ObjectRef;

/// A source as listed by the tenant (`Source` schema), reduced to what the operator reads.
/// Decoding is lenient: the many other fields of a real source are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// Tenant-assigned id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Human-readable name, the key manifests use.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Owning identity (required by the schema, nullable).
    #[serde(default)]
    pub owner: Option<ObjectRef>,
    /// Connector type, e.g. `active-directory` (required by the schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    /// Source type, e.g. `DelimitedFile`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Whether the source is authoritative (makes identities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authoritative: Option<bool>,
    /// Connector's display name, e.g. `Active Directory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_name: Option<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_full_tenant_source_decodes_leniently() {
        let source: Source = serde_json::from_value(json!({
            "id": "s1", "name": "HR", "owner": null, "connector": "delimited-file",
            "type": "DelimitedFile", "authoritative": true, "features": ["ENABLE"],
            "cluster": null, "connectorAttributes": {"x": 1}
        }))
        .unwrap();
        assert_eq!(source.id.as_deref(), Some("s1"));
        assert_eq!(source.owner, None);
        assert_eq!(source.r#type.as_deref(), Some("DelimitedFile"));
        assert_eq!(source.authoritative, Some(true));
    }
}
