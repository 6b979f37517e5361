//! The tenant's identity attributes and transforms, and the checks identity-profile mappings
//! make against them.

use serde_json::Value;

use isc_wire::models::{IdentityAttribute, IdentityAttributeConfig, IdentityProfile, Transform};

use super::new_id;
use crate::seed::Seed;

/// `(name, displayName, system)` of the attributes every simulated tenant has. System ones are
/// the tenant's own (lifecycle and identity state); the others are standard.
const BUILTIN_ATTRIBUTES: [(&str, &str, bool); 12] = [
    ("uid", "Username", false),
    ("firstname", "First Name", false),
    ("lastname", "Last Name", false),
    ("displayName", "Display Name", false),
    ("email", "Email", false),
    ("manager", "Manager", false),
    ("department", "Department", false),
    ("phone", "Phone", false),
    ("workPhone", "Work Phone", false),
    ("location", "Location", false),
    ("cloudLifecycleState", "Lifecycle State", true),
    ("identityState", "Identity State", true),
];

/// Identity attributes (keyed by name) and transforms (keyed by id) of the tenant.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdentityModel {
    pub attributes: Vec<IdentityAttribute>,
    pub transforms: Vec<Transform>,
}

impl IdentityModel {
    /// The built-in attributes, the seed's attributes (replacing built-in ones of the same
    /// name) and the seed's transforms (ids generated when absent, `internal` false unless set).
    pub(crate) fn from_seed(seed: &Seed) -> IdentityModel {
        let mut attributes: Vec<IdentityAttribute> = BUILTIN_ATTRIBUTES
            .iter()
            .map(|(name, display, system)| IdentityAttribute {
                name: (*name).to_string(),
                display_name: Some((*display).to_string()),
                standard: true,
                r#type: Some("string".to_string()),
                multi: false,
                searchable: false,
                system: *system,
                sources: Vec::new(),
            })
            .collect();
        for seeded in &seed.identity_attributes {
            attributes.retain(|a| !a.name.eq_ignore_ascii_case(&seeded.name));
            attributes.push(seeded.clone());
        }
        let transforms = seed
            .transforms
            .iter()
            .map(|t| Transform {
                id: Some(t.id.clone().unwrap_or_else(new_id)),
                internal: Some(t.internal.unwrap_or(false)),
                ..t.clone()
            })
            .collect();
        IdentityModel {
            attributes,
            transforms,
        }
    }

    /// The attribute with exactly this name.
    pub(crate) fn attribute(&self, name: &str) -> Option<usize> {
        self.attributes.iter().position(|a| a.name == name)
    }

    /// An attribute whose name equals `name` ignoring case (names are unique that way).
    pub(crate) fn attribute_like(&self, name: &str) -> Option<usize> {
        self.attributes
            .iter()
            .position(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn transform(&self, id: &str) -> Option<usize> {
        self.transforms
            .iter()
            .position(|t| t.id.as_deref() == Some(id))
    }

    /// A transform named `name` ignoring case, other than `except_id`.
    pub(crate) fn transform_named(&self, name: &str, except_id: Option<&str>) -> Option<usize> {
        self.transforms.iter().position(|t| {
            t.name.eq_ignore_ascii_case(name)
                && (except_id.is_none() || t.id.as_deref() != except_id)
        })
    }

    /// The transform a `reference` transform's `attributes.id` names: by name (as the
    /// `Reference` schema documents) or by id.
    pub(crate) fn referenced_transform(&self, reference: &str) -> Option<usize> {
        self.transforms
            .iter()
            .position(|t| t.name == reference)
            .or_else(|| self.transform(reference))
    }

    /// Refuses a config that maps to an unknown identity attribute or references an unknown
    /// transform; the message names the first one.
    pub(crate) fn check_mappings(
        &self,
        config: Option<&IdentityAttributeConfig>,
    ) -> Result<(), String> {
        for (i, mapping) in config
            .iter()
            .flat_map(|c| &c.attribute_transforms)
            .enumerate()
        {
            if let Some(name) = mapping.identity_attribute_name.as_deref()
                && self.attribute(name).is_none()
            {
                return Err(format!(
                    "'identityAttributeConfig.attributeTransforms[{i}].identityAttributeName': identity attribute '{name}' does not exist"
                ));
            }
            for reference in transform_references(mapping.transform_definition.as_ref()) {
                if self.referenced_transform(&reference).is_none() {
                    return Err(format!(
                        "'identityAttributeConfig.attributeTransforms[{i}].transformDefinition': referenced transform '{reference}' does not exist"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Names of the profiles with a mapping to the identity attribute `name`.
pub(crate) fn profiles_mapping_attribute(profiles: &[IdentityProfile], name: &str) -> Vec<String> {
    profiles
        .iter()
        .filter(|p| mappings(p).any(|m| m.identity_attribute_name.as_deref() == Some(name)))
        .map(|p| p.name.clone())
        .collect()
}

/// Names of the profiles with a mapping whose `reference` transforms name `transform` (by
/// name or id).
pub(crate) fn profiles_using_transform(
    profiles: &[IdentityProfile],
    transform: &Transform,
) -> Vec<String> {
    profiles
        .iter()
        .filter(|p| {
            mappings(p).any(|m| {
                transform_references(m.transform_definition.as_ref())
                    .iter()
                    .any(|r| *r == transform.name || Some(r.as_str()) == transform.id.as_deref())
            })
        })
        .map(|p| p.name.clone())
        .collect()
}

fn mappings(
    profile: &IdentityProfile,
) -> impl Iterator<Item = &isc_wire::models::IdentityAttributeTransform> {
    profile
        .identity_attribute_config
        .iter()
        .flat_map(|c| &c.attribute_transforms)
}

/// Every `attributes.id` of a `reference` transform in a definition, nested ones included
/// (a reference may sit in another transform's `input`).
fn transform_references<T: serde::Serialize>(definition: Option<&T>) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("reference")
                    && let Some(id) = map
                        .get("attributes")
                        .and_then(|a| a.get("id"))
                        .and_then(Value::as_str)
                {
                    out.push(id.to_string());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(value) = definition.and_then(|d| serde_json::to_value(d).ok()) {
        walk(&value, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> IdentityAttributeConfig {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn mappings_to_unknown_attributes_or_transforms_are_named() {
        let mut seed = Seed::builtin();
        seed.transforms.push(Transform {
            name: "Lower Mail".into(),
            kind: "lower".into(),
            ..Default::default()
        });
        let model = IdentityModel::from_seed(&seed);
        let ok = config(json!({"attributeTransforms": [
            {"identityAttributeName": "email", "transformDefinition": {"type": "reference",
             "attributes": {"id": "Lower Mail", "input": {"type": "accountAttribute", "attributes": {}}}}}]}));
        model.check_mappings(Some(&ok)).unwrap();
        let unknown =
            config(json!({"attributeTransforms": [{"identityAttributeName": "costCenter"}]}));
        let e = model.check_mappings(Some(&unknown)).unwrap_err();
        assert!(e.contains("'costCenter'"), "{e}");
        let nested = config(
            json!({"attributeTransforms": [{"identityAttributeName": "email",
            "transformDefinition": {"type": "concat", "attributes": {"values": [
                {"type": "reference", "attributes": {"id": "Nope"}}]}}}]}),
        );
        let e = model.check_mappings(Some(&nested)).unwrap_err();
        assert!(e.contains("'Nope'"), "{e}");
        model.check_mappings(None).unwrap();
    }
}
