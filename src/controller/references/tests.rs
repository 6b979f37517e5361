//! Pure parts of name resolution: what a spec names, matching, and the desired profile built
//! from resolved ids.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::names::{referenced_transforms, unresolved_source_name, with_source_id};
use super::*;
use crate::api::IdentityProfile;
use crate::controller::error::ReconcileError;

fn named(items: &[(&str, &str)]) -> Vec<NamedId> {
    items
        .iter()
        .map(|(name, id)| NamedId {
            name: name.to_string(),
            id: id.to_string(),
        })
        .collect()
}

fn spec(yaml_spec: &str) -> crate::api::IdentityProfileSpec {
    let obj: IdentityProfile = serde_yaml_ng::from_str(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata:\n  name: p\nspec:\n  tenantRef:\n    name: t\n  name: P\n{yaml_spec}"
    ))
    .expect("manifest");
    obj.spec
}

const BY_NAMES: &str = "  authoritativeSource:\n    name: HR Employees\n  owner:\n    alias: ada.lovelace\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: mail\n            sourceName: HR Employees\n      - identityAttributeName: department\n        transformDefinition:\n          type: reference\n          attributes:\n            id: Department Lookup\n            input:\n              type: reference\n              attributes:\n                id: Trim\n";

#[test]
fn a_spec_by_names_lists_each_name_once() {
    let wanted = profile_references(&spec(BY_NAMES));
    let keys: Vec<String> = wanted.iter().map(NameReference::key).collect();
    assert_eq!(
        keys,
        vec![
            "source/HR Employees",
            "identity/ada.lovelace",
            "transform/Department Lookup",
            "transform/Trim"
        ]
    );
}

#[test]
fn a_spec_by_ids_names_nothing_but_its_references() {
    let s = spec(
        "  authoritativeSource:\n    id: s1\n    name: HR\n  owner:\n    id: o1\n    alias: ada\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            sourceName: HR\n            sourceId: s1\n",
    );
    assert!(profile_references(&s).is_empty());
    let desired = desired_profile(&s, &ResolvedReferences::new()).expect("nothing to resolve");
    assert_eq!(desired, s.desired(), "ids as written");
}

#[test]
fn resolved_ids_go_where_the_tenant_wants_ids() {
    let s = spec(BY_NAMES);
    let resolved: ResolvedReferences = [
        ("source/HR Employees", "s-1"),
        ("identity/ada.lovelace", "i-1"),
        ("transform/Department Lookup", "t-1"),
        ("transform/Trim", "t-2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let desired = desired_profile(&s, &resolved).expect("resolved");
    assert_eq!(desired.authoritative_source.id.as_deref(), Some("s-1"));
    assert_eq!(
        desired.authoritative_source.name.as_deref(),
        Some("HR Employees")
    );
    assert_eq!(desired.owner.as_ref().unwrap().id.as_deref(), Some("i-1"));
    let transforms = &desired.attribute_config.as_ref().unwrap().transforms;
    assert_eq!(transforms[0].attributes["sourceId"], json!("s-1"));
    assert_eq!(
        transforms[0].attributes["sourceName"],
        json!("HR Employees")
    );
    assert_eq!(
        transforms[1].attributes["id"],
        json!("Department Lookup"),
        "ISC names the saved transform in a reference's attributes.id: sent as written"
    );
    desired.validate().expect("valid once resolved");
}

#[test]
fn a_missing_resolution_is_named() {
    let s = spec(BY_NAMES);
    let mut resolved = ResolvedReferences::new();
    resolved.insert("identity/ada.lovelace".into(), "i-1".into());
    let missing = desired_profile(&s, &resolved).unwrap_err();
    let keys: Vec<String> = missing.iter().map(NameReference::key).collect();
    assert!(
        keys.contains(&"source/HR Employees".to_string()),
        "{keys:?}"
    );
    assert!(keys.contains(&"transform/Trim".to_string()), "{keys:?}");
}

#[test]
fn names_match_exactly_first_then_ignoring_case() {
    let items = named(&[("HR", "1"), ("hr", "2"), ("Sales", "3")]);
    assert_eq!(pick(&items, &NameReference::source("hr")), Ok("2"));
    assert_eq!(pick(&items, &NameReference::source("sales")), Ok("3"));
    assert_eq!(
        pick(&items, &NameReference::source("Hr")),
        Err(Unresolved::Ambiguous(
            NameReference::source("Hr"),
            vec!["1".into(), "2".into()]
        ))
    );
    assert_eq!(
        pick(&items, &NameReference::source("Finance")),
        Err(Unresolved::NotFound(NameReference::source("Finance")))
    );
}

#[test]
fn the_message_names_what_was_looked_for_and_the_tenant() {
    let message = unresolved_message(
        "prod",
        &[
            Unresolved::NotFound(NameReference::source("HR")),
            Unresolved::Ambiguous(NameReference::transform("T"), vec!["a".into(), "b".into()]),
            Unresolved::UserContextRequired(NameReference::identity("ada")),
        ],
    );
    assert!(message.contains("Tenant \"prod\""), "{message}");
    assert!(message.contains("no source named \"HR\""), "{message}");
    assert!(
        message.contains("transform named \"T\" matches 2"),
        "{message}"
    );
    assert!(message.contains("ids a, b"), "{message}");
    assert!(message.contains("user context"), "{message}");
    assert!(message.contains("identity with alias \"ada\""), "{message}");
}

#[test]
fn a_missing_name_may_appear_but_an_ambiguous_one_or_a_missing_right_needs_a_person() {
    let missing = Unresolved::NotFound(NameReference::source("HR"));
    let ambiguous = Unresolved::Ambiguous(NameReference::transform("T"), vec!["a".into()]);
    let no_context = Unresolved::UserContextRequired(NameReference::identity("ada"));
    let not_found = unresolved_error("t", std::slice::from_ref(&missing));
    assert!(matches!(not_found, ReconcileError::UnresolvedReference(_)));
    assert!(
        !not_found.stalls(),
        "Reconciling: the source may be created"
    );
    let both = unresolved_error("t", &[missing.clone(), ambiguous]);
    assert!(matches!(both, ReconcileError::AmbiguousReference(_)));
    assert!(both.stalls());
    assert!(
        both.to_string().contains("no source named \"HR\""),
        "{both}"
    );
    let context = unresolved_error("t", &[missing, no_context]);
    assert!(matches!(context, ReconcileError::UserContextRequired(_)));
    assert!(context.stalls());
}

#[test]
fn source_names_stand_for_ids_only_without_one() {
    let by_name = json!({"sourceName": "HR", "attributeName": "mail"});
    let by_name = by_name.as_object().unwrap();
    assert_eq!(unresolved_source_name(by_name), Some("HR"));
    let null_id = json!({"sourceName": "HR", "sourceId": null});
    assert_eq!(
        unresolved_source_name(null_id.as_object().unwrap()),
        Some("HR")
    );
    let with_id = json!({"sourceName": "HR", "sourceId": "s1"});
    assert_eq!(unresolved_source_name(with_id.as_object().unwrap()), None);
    let mut resolved = ResolvedReferences::new();
    assert_eq!(
        with_source_id(by_name, &resolved),
        Err(NameReference::source("HR"))
    );
    resolved.insert("source/HR".into(), "s1".into());
    let out = with_source_id(by_name, &resolved).unwrap();
    assert_eq!(
        Value::Object(out),
        json!({"sourceName": "HR", "sourceId": "s1", "attributeName": "mail"})
    );
}

#[test]
fn references_are_found_at_any_depth() {
    let attributes = json!({
        "values": [
            {"type": "reference", "attributes": {"id": "A"}},
            {"type": "concat", "attributes": {"values": [
                {"type": "reference", "attributes": {"id": "B", "input": {"type": "reference", "attributes": {"id": "C"}}}}
            ]}},
            "literal"
        ]
    });
    let found = referenced_transforms("firstValid", attributes.as_object().unwrap());
    assert_eq!(found, vec!["A", "B", "C"]);
    assert!(referenced_transforms("lower", &Default::default()).is_empty());
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 ._-]{0,12}"
}

proptest! {
    /// Whatever the names, a spec resolved with an id for every name it lists builds a valid
    /// desired profile carrying those ids, and the keys it lists are exactly what it needs.
    #[test]
    fn every_listed_name_resolved_is_enough(
        source in name_strategy(),
        alias in name_strategy(),
        mapped_source in name_strategy(),
        transform in name_strategy(),
    ) {
        let s = spec(&format!(
            "  authoritativeSource:\n    name: '{source}'\n  owner:\n    alias: '{alias}'\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: a\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            sourceName: '{mapped_source}'\n      - identityAttributeName: b\n        transformDefinition:\n          type: reference\n          attributes:\n            id: '{transform}'\n"
        ));
        let wanted = profile_references(&s);
        let resolved: ResolvedReferences = wanted
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key(), format!("id-{i}")))
            .collect();
        let desired = desired_profile(&s, &resolved).expect("every name resolved");
        prop_assert!(desired.validate().is_ok());
        prop_assert_eq!(
            desired.authoritative_source.id.as_ref(),
            resolved.get(&NameReference::source(&source).key())
        );
        prop_assert_eq!(
            desired.owner.as_ref().and_then(|o| o.id.as_ref()),
            resolved.get(&NameReference::identity(&alias).key())
        );
        let mapped = &desired.attribute_config.as_ref().unwrap().transforms[0].attributes;
        prop_assert_eq!(
            mapped.get("sourceId").and_then(Value::as_str),
            resolved.get(&NameReference::source(&mapped_source).key()).map(String::as_str)
        );
        // Any one resolution missing is named.
        for reference in &wanted {
            let mut partial = resolved.clone();
            partial.remove(&reference.key());
            let missing = desired_profile(&s, &partial).unwrap_err();
            prop_assert!(missing.contains(reference));
        }
    }
}

#[test]
fn a_spec_that_names_nothing_is_borrowed_and_a_resolved_one_plans_like_ids() {
    let by_ids = spec("  authoritativeSource:\n    id: s1\n");
    let resolved_by_ids = names::resolved_spec(&by_ids, &ResolvedReferences::new()).unwrap();
    assert!(matches!(resolved_by_ids, std::borrow::Cow::Borrowed(_)));
    let s = spec(BY_NAMES);
    let resolved: ResolvedReferences = profile_references(&s)
        .iter()
        .map(|r| (r.key(), format!("id-of-{}", r.name)))
        .collect();
    let filled = names::resolved_spec(&s, &resolved).unwrap().into_owned();
    assert_eq!(
        filled.authoritative_source.id.as_deref(),
        Some("id-of-HR Employees")
    );
    assert_eq!(
        filled.owner.as_ref().unwrap().alias.as_deref(),
        Some("ada.lovelace"),
        "names stay, informational"
    );
    assert!(
        profile_references(&filled)
            .iter()
            .all(|r| r.kind == ReferenceKind::Transform),
        "only the transforms, which ISC names by name, are left to check"
    );
    assert_eq!(filled.desired(), desired_profile(&s, &resolved).unwrap());
}
