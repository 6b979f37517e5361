//! Transforms (`/v2024/transforms`): named, reusable value computations that profile mappings
//! use by reference. One type serves the request schema (`Transform`) and the response schema
//! (`TransformRead`, which adds the read-only `id` and `internal`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A transform as the tenant returns (`TransformRead`) and accepts it (`Transform`). Only
/// `attributes` can change after creation; `name` and `type` are fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Transform {
    /// Tenant-assigned id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unique name (1..=50 characters).
    pub name: String,
    /// Transform operation, e.g. `dateFormat` or `reference`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Operation arguments. Required by the schema but nullable, so `None` is sent as `null`.
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
    /// SailPoint-provided (true) or customer-created (false); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_a_transform_read() {
        let t: Transform = serde_json::from_value(json!({
            "id": "2cd78adghjkja34jh2b1hkjhasuecd", "name": "Timestamp To Date", "type": "dateFormat",
            "attributes": {"inputFormat": "MMM-dd-yyyy", "outputFormat": "yyyy/dd/MM"},
            "internal": false, "extra": true
        }))
        .unwrap();
        assert_eq!(t.kind, "dateFormat");
        assert_eq!(t.internal, Some(false));
        assert_eq!(t.attributes.unwrap()["outputFormat"], json!("yyyy/dd/MM"));
    }

    #[test]
    fn a_new_transform_has_no_read_only_fields_and_always_sends_attributes() {
        let v = serde_json::to_value(Transform {
            name: "Lower".into(),
            kind: "lower".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            v,
            json!({"name": "Lower", "type": "lower", "attributes": null})
        );
    }
}
