//! `export --references names`: manifests that name tenant sources instead of holding their
//! ids, so the same files apply unchanged to another tenant (a sandbox exported, production
//! applied). The operator resolves the names on each Tenant (`controller::references`), so the
//! manifests still adopt their source tenant's objects with zero writes.
//!
//! Rewritten where a source is named by id: a profile's `authoritativeSource`, the `sourceId`
//! at the top of each mapping's transform attributes and of a `Transform`'s attributes (kept
//! when the attributes carry no `sourceName`, or a different one), and a lifecycle state's
//! `accountActions[].sourceIds`. Owners stay ids (an alias lookup needs a user-context
//! credential on every tenant); a `reference` transform already names its transform.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Source names by tenant id (from one `GET /v2024/sources`).
pub type SourceNames = BTreeMap<String, String>;

/// Rewrites one exported manifest (any kind) to name its sources; ids with no known source
/// name are kept.
pub fn name_sources(manifest: &mut Value, sources: &SourceNames) {
    let kind = manifest["kind"].as_str().unwrap_or_default().to_string();
    let Some(spec) = manifest.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match kind.as_str() {
        "IdentityProfile" => {
            if let Some(source) = spec
                .get_mut("authoritativeSource")
                .and_then(Value::as_object_mut)
            {
                name_source_ref(source, sources);
            }
            let mappings = spec
                .get_mut("identityAttributeConfig")
                .and_then(|c| c.get_mut("attributeTransforms"))
                .and_then(Value::as_array_mut);
            for mapping in mappings.into_iter().flatten() {
                let attributes = mapping
                    .get_mut("transformDefinition")
                    .and_then(|d| d.get_mut("attributes"))
                    .and_then(Value::as_object_mut);
                if let Some(attributes) = attributes {
                    drop_named_source_id(attributes, sources);
                }
            }
        }
        "Transform" => {
            if let Some(attributes) = spec.get_mut("attributes").and_then(Value::as_object_mut) {
                drop_named_source_id(attributes, sources);
            }
        }
        "LifecycleState" => {
            let actions = spec.get_mut("accountActions").and_then(Value::as_array_mut);
            for action in actions
                .into_iter()
                .flatten()
                .filter_map(Value::as_object_mut)
            {
                name_action_sources(action, sources);
            }
        }
        _ => {}
    }
}

/// `{id, name}` → `{name}` when the id is a known source (its name as the tenant has it).
fn name_source_ref(source: &mut Map<String, Value>, sources: &SourceNames) {
    let Some(name) = source
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| sources.get(id))
    else {
        return;
    };
    source.insert("name".into(), Value::String(name.clone()));
    source.remove("id");
}

/// Drops `sourceId` where `sourceName` names that same source: the operator adds it back from
/// the name on whichever tenant the manifest is applied to.
fn drop_named_source_id(attributes: &mut Map<String, Value>, sources: &SourceNames) {
    let named = attributes
        .get("sourceId")
        .and_then(Value::as_str)
        .and_then(|id| sources.get(id));
    if named.is_some()
        && attributes.get("sourceName").and_then(Value::as_str) == named.map(String::as_str)
    {
        attributes.remove("sourceId");
    }
}

/// `sourceIds` → `sourceNames` when every id is a known source.
fn name_action_sources(action: &mut Map<String, Value>, sources: &SourceNames) {
    let Some(ids) = action.get("sourceIds").and_then(Value::as_array) else {
        return;
    };
    let names: Option<Vec<Value>> = ids
        .iter()
        .map(|id| {
            id.as_str()
                .and_then(|id| sources.get(id))
                .map(|n| Value::String(n.clone()))
        })
        .collect();
    if let Some(names) = names {
        action.remove("sourceIds");
        action.insert("sourceNames".into(), Value::Array(names));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sources() -> SourceNames {
        SourceNames::from([("s1".to_string(), "HR".to_string())])
    }

    #[test]
    fn a_profile_names_its_source_and_its_mappings_drop_named_ids() {
        let mut m = json!({"kind": "IdentityProfile", "spec": {
            "authoritativeSource": {"id": "s1", "name": "old label"},
            "owner": {"id": "o1"},
            "identityAttributeConfig": {"attributeTransforms": [
                {"identityAttributeName": "email", "transformDefinition": {"type": "accountAttribute",
                    "attributes": {"attributeName": "mail", "sourceName": "HR", "sourceId": "s1"}}},
                {"identityAttributeName": "uid", "transformDefinition": {"type": "accountAttribute",
                    "attributes": {"attributeName": "uid", "sourceId": "s1"}}},
                {"identityAttributeName": "x", "transformDefinition": {"type": "accountAttribute",
                    "attributes": {"attributeName": "x", "sourceName": "Other", "sourceId": "s1"}}}]}}});
        name_sources(&mut m, &sources());
        assert_eq!(m["spec"]["authoritativeSource"], json!({"name": "HR"}));
        assert_eq!(m["spec"]["owner"], json!({"id": "o1"}));
        let t = &m["spec"]["identityAttributeConfig"]["attributeTransforms"];
        assert_eq!(
            t[0]["transformDefinition"]["attributes"],
            json!({"attributeName": "mail", "sourceName": "HR"})
        );
        // Without a sourceName, or with another one, the id stays.
        assert_eq!(t[1]["transformDefinition"]["attributes"]["sourceId"], "s1");
        assert_eq!(t[2]["transformDefinition"]["attributes"]["sourceId"], "s1");
    }

    #[test]
    fn unknown_ids_stay_and_lifecycle_actions_name_their_sources() {
        let mut profile =
            json!({"kind": "IdentityProfile", "spec": {"authoritativeSource": {"id": "s9"}}});
        name_sources(&mut profile, &sources());
        assert_eq!(profile["spec"]["authoritativeSource"], json!({"id": "s9"}));
        let mut state = json!({"kind": "LifecycleState", "spec": {"accountActions": [
            {"action": "ENABLE", "sourceIds": ["s1"]}, {"action": "DISABLE", "sourceIds": ["s1", "s9"]}]}});
        name_sources(&mut state, &sources());
        assert_eq!(
            state["spec"]["accountActions"][0],
            json!({"action": "ENABLE", "sourceNames": ["HR"]})
        );
        assert_eq!(
            state["spec"]["accountActions"][1]["sourceIds"],
            json!(["s1", "s9"])
        );
        let mut transform = json!({"kind": "Transform", "spec": {"attributes": {"sourceName": "HR", "sourceId": "s1", "attributeName": "a"}}});
        name_sources(&mut transform, &sources());
        assert_eq!(
            transform["spec"]["attributes"],
            json!({"sourceName": "HR", "attributeName": "a"})
        );
    }
}
