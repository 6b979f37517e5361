use serde_json::json;

use super::*;
use crate::controller::profile::diff::{DesiredAttributeConfig, DesiredProfile, DesiredTransform};
use isc_client::models::ObjectRef;

fn transform(attribute: &str, kind: &str, args: Value) -> DesiredTransform {
    DesiredTransform {
        identity_attribute_name: attribute.into(),
        transform_type: kind.into(),
        attributes: args.as_object().cloned().unwrap_or_default(),
    }
}

fn desired(description: &str, transforms: Vec<DesiredTransform>) -> DesiredProfile {
    DesiredProfile {
        name: "Staff".into(),
        description: Some(description.into()),
        authoritative_source: ObjectRef {
            kind: Some("SOURCE".into()),
            id: Some("s1".into()),
            name: None,
        },
        attribute_config: Some(DesiredAttributeConfig {
            enabled: Some(true),
            transforms,
        }),
        ..Default::default()
    }
}

fn tenant(description: &str, transforms: Vec<DesiredTransform>) -> TenantProfile {
    let mut profile = desired(description, transforms).to_create_body();
    profile.id = Some("p1".into());
    profile.identity_count = Some(10);
    profile
}

fn email(attribute_name: &str) -> DesiredTransform {
    transform(
        "email",
        "accountAttribute",
        json!({"attributeName": attribute_name, "sourceName": "HR"}),
    )
}

#[test]
fn only_a_mapping_change_is_previewed() {
    let observed = tenant("old", vec![email("email")]);
    let plan = desired("new", vec![email("email")])
        .validated()
        .unwrap()
        .plan(Some(&observed));
    assert!(matches!(plan, ProfilePlan::Patch(_)));
    assert_eq!(mapping_change(&observed, &plan), None);
    assert_eq!(mapping_change(&observed, &ProfilePlan::Nothing), None);
}

#[test]
fn changed_added_and_removed_mappings_are_named_and_the_rest_is_not() {
    let department = transform("department", "static", json!({"value": "Sales"}));
    let observed = tenant("same", vec![email("email"), department.clone()]);
    let title = transform("title", "static", json!({"value": "Engineer"}));
    let plan = desired("same", vec![email("mail"), title])
        .validated()
        .unwrap()
        .plan(Some(&observed));
    let change = mapping_change(&observed, &plan).expect("a mapping change");
    assert_eq!(change.attributes, ["department", "email", "title"]);
    assert_eq!(change.source_id, "s1");
    assert!(change.maps("email") && change.maps("title") && !change.maps("department"));
    // The tenant's extra keys (sourceName) are kept only where the mapping stays.
    assert_eq!(change.after.attribute_transforms.len(), 2);
}

#[test]
fn the_basis_names_the_change_and_the_sample_size() {
    let observed = tenant("same", vec![email("email")]);
    let plan = |attribute: &str| {
        desired("same", vec![email(attribute)])
            .validated()
            .unwrap()
            .plan(Some(&observed))
    };
    let a = mapping_change(&observed, &plan("mail")).unwrap();
    let b = mapping_change(&observed, &plan("workEmail")).unwrap();
    assert_eq!(a.basis(3), a.clone().basis(3));
    assert_eq!(a.basis(3).len(), 24);
    assert_ne!(a.basis(3), a.basis(4));
    assert_ne!(a.basis(3), b.basis(3));
}

#[test]
fn rows_take_the_tenant_values_and_errors() {
    let observed = tenant("same", vec![email("email")]);
    let plan = desired("same", vec![email("mail")])
        .validated()
        .unwrap()
        .plan(Some(&observed));
    let change = mapping_change(&observed, &plan).unwrap();
    let identity = Identity {
        id: Some("i1".into()),
        name: "Ada Lovelace".into(),
        ..Default::default()
    };
    let response: IdentityPreviewResponse = serde_json::from_value(json!({
        "previewAttributes": [
            {"name": "uid", "value": "ada", "previousValue": "ada"},
            {"name": "email", "previousValue": "ada@example.com",
             "errorMessages": [{"locale": "en-US", "text": "no value for 'mail'"}]}
        ]
    }))
    .unwrap();
    let rows = rows(&change, &identity, &response);
    assert_eq!(
        rows,
        [AttributePreviewEntry {
            identity: "Ada Lovelace".into(),
            attribute: "email".into(),
            before: Some("ada@example.com".into()),
            after: None,
            errors: vec!["no value for 'mail'".into()],
        }]
    );
    let preview = AttributePreview {
        entries: rows,
        message: Some("1 of 2 rows shown".into()),
        ..Default::default()
    };
    assert_eq!(
        render(&preview, "    "),
        "    attribute preview on 1 identity of the profile (attribute: before -> after):\n      Ada Lovelace  email: \"ada@example.com\" -> (none)  [error: no value for 'mail']\n    1 of 2 rows shown\n"
    );
}
