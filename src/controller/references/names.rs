//! What a spec names (pure): the references an `IdentityProfile` needs resolved, and the
//! desired profile with the resolved ids put where the tenant wants them.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{NameReference, ResolvedReferences};
use crate::api::identity_profile::IdentityProfileSpec;
use crate::controller::profile::diff::DesiredProfile;

/// The argument naming a transform's source.
pub const SOURCE_NAME: &str = "sourceName";
/// The argument holding that source's tenant id.
pub const SOURCE_ID: &str = "sourceId";
/// The transform type that uses a saved transform.
pub const REFERENCE_TYPE: &str = "reference";

/// The source a transform's arguments name without giving its id (`sourceName` without
/// `sourceId`, or with a null one): the id the operator adds.
pub fn unresolved_source_name(attributes: &Map<String, Value>) -> Option<&str> {
    let id_given = attributes.get(SOURCE_ID).is_some_and(|v| !v.is_null());
    match attributes.get(SOURCE_NAME) {
        Some(Value::String(name)) if !id_given && !name.is_empty() => Some(name),
        _ => None,
    }
}

/// `attributes` with `sourceId` set from `resolved` where a `sourceName` stands for it;
/// `Err` names the reference `resolved` lacks.
pub fn with_source_id(
    attributes: &Map<String, Value>,
    resolved: &ResolvedReferences,
) -> Result<Map<String, Value>, NameReference> {
    let Some(name) = unresolved_source_name(attributes) else {
        return Ok(attributes.clone());
    };
    let reference = NameReference::source(name);
    let id = resolved.get(&reference.key()).ok_or(reference)?;
    let mut out = attributes.clone();
    out.insert(SOURCE_ID.to_string(), Value::String(id.clone()));
    Ok(out)
}

/// Names of the saved transforms a transform definition uses, at any depth: every
/// `{"type": "reference", "attributes": {"id": <name>}}` in it (nested ones as values of the
/// arguments, e.g. `input`, or in lists, e.g. `values`).
pub fn referenced_transforms(kind: &str, attributes: &Map<String, Value>) -> Vec<String> {
    let mut found = Vec::new();
    collect_references(kind, attributes, &mut found);
    found
}

fn collect_references(kind: &str, attributes: &Map<String, Value>, found: &mut Vec<String>) {
    if kind == REFERENCE_TYPE
        && let Some(Value::String(name)) = attributes.get("id")
        && !name.is_empty()
    {
        found.push(name.clone());
    }
    for value in attributes.values() {
        collect_in_value(value, found);
    }
}

fn collect_in_value(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => match (map.get("type"), map.get("attributes")) {
            (Some(Value::String(kind)), Some(Value::Object(attributes))) => {
                collect_references(kind, attributes, found)
            }
            _ => map.values().for_each(|v| collect_in_value(v, found)),
        },
        Value::Array(items) => items.iter().for_each(|v| collect_in_value(v, found)),
        _ => {}
    }
}

/// Every name the profile's spec asks the operator to resolve: the authoritative source's name
/// (without id), the owner's alias (without id), each mapping's top-level `sourceName` (without
/// `sourceId`) and every transform a mapping uses by reference. Sorted, without repeats.
pub fn profile_references(spec: &IdentityProfileSpec) -> BTreeSet<NameReference> {
    let mut wanted = BTreeSet::new();
    let source = &spec.authoritative_source;
    if source.id.is_none()
        && let Some(name) = &source.name
    {
        wanted.insert(NameReference::source(name));
    }
    if let Some(owner) = &spec.owner
        && owner.id.is_none()
        && let Some(alias) = &owner.alias
    {
        wanted.insert(NameReference::identity(alias));
    }
    let mappings = spec
        .identity_attribute_config
        .iter()
        .flat_map(|c| &c.attribute_transforms);
    for mapping in mappings {
        let definition = &mapping.transform_definition;
        if let Some(name) = unresolved_source_name(&definition.attributes) {
            wanted.insert(NameReference::source(name));
        }
        for name in referenced_transforms(&definition.kind, &definition.attributes) {
            wanted.insert(NameReference::transform(&name));
        }
    }
    wanted
}

/// The spec with the ids `resolved` holds filled in where the tenant wants ids: the
/// authoritative source's and the owner's `id`, and each mapping's `sourceId` (a name stays as
/// written, informational). A `reference` transform keeps its `attributes.id` as written (ISC
/// names the saved transform there). Borrowed when the spec names nothing. `Err` lists the
/// references `resolved` lacks.
pub fn resolved_spec<'a>(
    spec: &'a IdentityProfileSpec,
    resolved: &ResolvedReferences,
) -> Result<Cow<'a, IdentityProfileSpec>, Vec<NameReference>> {
    let wanted = profile_references(spec);
    if wanted.is_empty() {
        return Ok(Cow::Borrowed(spec));
    }
    let missing: Vec<NameReference> = wanted
        .into_iter()
        .filter(|r| !resolved.contains_key(&r.key()))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let id_of = |reference: NameReference| resolved[&reference.key()].clone();
    let mut out = spec.clone();
    let source = &mut out.authoritative_source;
    if source.id.is_none()
        && let Some(name) = &source.name
    {
        source.id = Some(id_of(NameReference::source(name)));
    }
    if let Some(owner) = out.owner.as_mut()
        && owner.id.is_none()
        && let Some(alias) = &owner.alias
    {
        owner.id = Some(id_of(NameReference::identity(alias)));
    }
    let mappings = out
        .identity_attribute_config
        .iter_mut()
        .flat_map(|c| c.attribute_transforms.iter_mut());
    for mapping in mappings {
        let attributes = &mut mapping.transform_definition.attributes;
        if let Some(name) = unresolved_source_name(attributes) {
            let id = id_of(NameReference::source(name));
            attributes.insert(SOURCE_ID.to_string(), Value::String(id));
        }
    }
    Ok(Cow::Owned(out))
}

/// The desired profile the planner works on, from [`resolved_spec`].
pub fn desired_profile(
    spec: &IdentityProfileSpec,
    resolved: &ResolvedReferences,
) -> Result<DesiredProfile, Vec<NameReference>> {
    Ok(resolved_spec(spec, resolved)?.desired())
}
