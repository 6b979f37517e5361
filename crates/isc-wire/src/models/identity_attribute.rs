//! Identity attributes (`/v2024/identity-attributes`): the tenant-wide catalogue of attributes an
//! identity can carry, which profile mappings name (`IdentityAttribute-2` schema).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An identity attribute as the tenant returns and accepts it. The name is the key: the API
/// addresses attributes by name, not by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityAttribute {
    /// Technical name, e.g. `costCenter`; unique per tenant.
    pub name: String,
    /// Business-friendly name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A "standard" (default) attribute; must be false before the attribute can be deleted.
    #[serde(default)]
    pub standard: bool,
    /// Value type, e.g. `string`; nullable on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Multi-valued.
    #[serde(default)]
    pub multi: bool,
    /// Searchable; the tenant requires `system`, `standard` and `multi` false for this.
    #[serde(default)]
    pub searchable: bool,
    /// A "system" attribute: no source, not configurable, not deletable.
    #[serde(default)]
    pub system: bool,
    /// How the value is derived (`Source-2` schema).
    #[serde(default)]
    pub sources: Vec<IdentityAttributeSource>,
}

/// One way an identity attribute's value is derived (`Source-2` schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct IdentityAttributeSource {
    /// Mapping type, e.g. `rule`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Mapping properties, e.g. `ruleType` and `ruleName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_documented_example_and_tolerates_nulls_and_unknown_fields() {
        let attribute: IdentityAttribute = serde_json::from_value(json!({
            "name": "costCenter", "displayName": "Cost Center", "standard": false, "type": null,
            "multi": false, "searchable": false, "system": false, "someNewField": 1,
            "sources": [{"type": "rule", "properties": {"ruleType": "IdentityAttribute",
                         "ruleName": "Cloud Promote Identity Attribute"}}]
        }))
        .unwrap();
        assert_eq!(attribute.name, "costCenter");
        assert_eq!(attribute.r#type, None);
        assert_eq!(attribute.sources[0].kind.as_deref(), Some("rule"));
        let minimal: IdentityAttribute = serde_json::from_value(json!({"name": "x"})).unwrap();
        assert!(!minimal.standard && !minimal.system && minimal.sources.is_empty());
    }

    #[test]
    fn absent_optional_fields_are_not_sent() {
        let v = serde_json::to_value(IdentityAttribute {
            name: "costCenter".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(
            v.get("displayName").is_none() && v.get("type").is_none(),
            "{v}"
        );
        assert_eq!(v["multi"], json!(false));
    }
}
