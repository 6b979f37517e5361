use super::*;
use isc_client::models::{IdentityAttributeConfig, TransformDefinition};
use proptest::prelude::*;

fn source(id: &str) -> ObjectRef {
    ObjectRef {
        kind: Some("SOURCE".into()),
        id: Some(id.into()),
        name: Some(format!("Source {id}")),
    }
}

fn transform(name: &str, attr: &str) -> DesiredTransform {
    DesiredTransform {
        identity_attribute_name: name.into(),
        transform_type: "accountAttribute".into(),
        attributes: json!({"attributeName": attr, "sourceId": "s1"})
            .as_object()
            .unwrap()
            .clone(),
    }
}

/// What the tenant returns for a created profile: ids, timestamps, computed fields, and
/// `sourceName` added to transform attributes.
fn as_tenant_returns(body: &IdentityProfile) -> IdentityProfile {
    let mut p = body.clone();
    p.id = Some("p1".into());
    p.created = Some("2026-01-01T00:00:00Z".into());
    p.modified = p.created.clone();
    p.identity_count = Some(12);
    if let Some(config) = &mut p.identity_attribute_config {
        for t in &mut config.attribute_transforms {
            if let Some(def) = &mut t.transform_definition {
                def.attributes
                    .get_or_insert_with(Map::new)
                    .insert("sourceName".into(), json!("Computed Name"));
            }
        }
    }
    p
}

fn apply(observed: &IdentityProfile, steps: &[Vec<JsonPatchOperation>]) -> IdentityProfile {
    let mut doc = serde_json::to_value(observed).unwrap();
    for step in steps {
        let ops: json_patch::Patch =
            serde_json::from_value(serde_json::to_value(step).unwrap()).unwrap();
        json_patch::patch(&mut doc, &ops).unwrap_or_else(|e| panic!("{e}: {step:?} on {doc}"));
    }
    serde_json::from_value(doc).unwrap()
}

fn desired() -> DesiredProfile {
    DesiredProfile {
        name: "Employees".into(),
        description: Some("HR".into()),
        priority: Some(10),
        owner: None,
        authoritative_source: source("s1"),
        attribute_config: Some(DesiredAttributeConfig {
            enabled: Some(true),
            transforms: vec![
                transform("email", "mail"),
                transform("uid", "sAMAccountName"),
            ],
        }),
    }
}

#[test]
fn missing_profile_is_created_and_then_converged() {
    let d = desired();
    let ProfilePlan::Create(body) = plan_profile(&d, None).unwrap() else {
        panic!("expected a create")
    };
    assert_eq!(body.name, "Employees");
    assert_eq!(body.authoritative_source.kind.as_deref(), Some("SOURCE"));
    let observed = as_tenant_returns(&body);
    assert_eq!(
        plan_profile(&d, Some(&observed)).unwrap(),
        ProfilePlan::Nothing
    );
}

#[test]
fn reordered_transforms_and_server_added_keys_cause_no_patch() {
    let d = desired();
    let mut observed = as_tenant_returns(&d.to_create_body());
    observed
        .identity_attribute_config
        .as_mut()
        .unwrap()
        .attribute_transforms
        .reverse();
    observed.authoritative_source.name = Some("renamed by the tenant".into());
    assert_eq!(
        plan_profile(&d, Some(&observed)).unwrap(),
        ProfilePlan::Nothing
    );
}

#[test]
fn unmanaged_fields_are_left_alone() {
    let d = DesiredProfile {
        description: None,
        priority: None,
        attribute_config: None,
        ..desired()
    };
    let mut observed = as_tenant_returns(&desired().to_create_body());
    observed.description = Some("set in the UI".into());
    observed.priority = Some(99);
    assert_eq!(
        plan_profile(&d, Some(&observed)).unwrap(),
        ProfilePlan::Nothing
    );
}

#[test]
fn a_description_edit_is_one_replace() {
    let observed = as_tenant_returns(&desired().to_create_body());
    let d = DesiredProfile {
        description: Some("new".into()),
        ..desired()
    };
    assert_eq!(
        plan_profile(&d, Some(&observed)).unwrap(),
        ProfilePlan::Patch(vec![vec![op(
            "replace",
            "/description",
            Some(json!("new"))
        )]])
    );
}

#[test]
fn a_changed_transform_is_replaced_in_place_and_extras_removed() {
    let mut observed = as_tenant_returns(&desired().to_create_body());
    observed
        .identity_attribute_config
        .as_mut()
        .unwrap()
        .attribute_transforms
        .push(transform_model(&transform("department", "dept")));
    let mut d = desired();
    d.attribute_config.as_mut().unwrap().transforms[1] = transform("uid", "employeeId");
    let plan = plan_profile(&d, Some(&observed)).unwrap();
    let ProfilePlan::Patch(steps) = &plan else {
        panic!("{plan:?}")
    };
    assert_eq!(steps.len(), 1);
    let paths: Vec<_> = steps[0]
        .iter()
        .map(|o| (o.op.as_str(), o.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("replace", "/identityAttributeConfig/attributeTransforms/1"),
            ("remove", "/identityAttributeConfig/attributeTransforms/2"),
        ]
    );
    let after = apply(&observed, steps);
    assert_eq!(
        plan_profile(&d, Some(&after)).unwrap(),
        ProfilePlan::Nothing
    );
}

#[test]
fn source_and_config_change_become_two_patches_source_first() {
    let observed = as_tenant_returns(&desired().to_create_body());
    let mut d = desired();
    d.authoritative_source = source("s2");
    d.attribute_config
        .as_mut()
        .unwrap()
        .transforms
        .push(transform("manager", "mgr"));
    let ProfilePlan::Patch(steps) = plan_profile(&d, Some(&observed)).unwrap() else {
        panic!()
    };
    assert_eq!(steps.len(), 2);
    assert!(steps[0].iter().all(|o| o.path == "/authoritativeSource"));
    assert!(
        steps[1]
            .iter()
            .all(|o| o.path.starts_with("/identityAttributeConfig"))
    );
    let after = apply(&observed, &steps);
    assert_eq!(
        plan_profile(&d, Some(&after)).unwrap(),
        ProfilePlan::Nothing
    );
}

#[test]
fn invalid_desired_profiles_are_refused() {
    let mut d = desired();
    d.attribute_config
        .as_mut()
        .unwrap()
        .transforms
        .push(transform("email", "x"));
    assert_eq!(
        plan_profile(&d, None).unwrap_err(),
        PlanError::DuplicateTransform("email".into())
    );
    let mut d = desired();
    d.authoritative_source.id = None;
    assert_eq!(
        plan_profile(&d, None).unwrap_err(),
        PlanError::MissingSourceId
    );
}

const NAMES: [&str; 5] = ["email", "uid", "department", "manager", "firstname"];

fn transform_strategy() -> impl Strategy<Value = DesiredTransform> {
    (
        0..NAMES.len(),
        0..3usize,
        prop_oneof![Just("accountAttribute"), Just("reference")],
    )
        .prop_map(|(n, a, t)| DesiredTransform {
            identity_attribute_name: NAMES[n].into(),
            transform_type: t.into(),
            attributes: json!({"attributeName": format!("a{a}")})
                .as_object()
                .unwrap()
                .clone(),
        })
}

fn unique_transforms() -> impl Strategy<Value = Vec<DesiredTransform>> {
    prop::collection::vec(transform_strategy(), 0..5).prop_map(|ts| {
        let mut seen = std::collections::BTreeSet::new();
        ts.into_iter()
            .filter(|t| seen.insert(t.identity_attribute_name.clone()))
            .collect()
    })
}

fn desired_strategy() -> impl Strategy<Value = DesiredProfile> {
    (
        prop_oneof![Just("A"), Just("B")],
        prop::option::of("[a-z ]{0,8}"),
        prop::option::of(0i64..5),
        prop::option::of(prop_oneof![Just("o1"), Just("o2")]),
        prop_oneof![Just("s1"), Just("s2"), Just("s3")],
        prop::option::of((prop::option::of(any::<bool>()), unique_transforms())),
    )
        .prop_map(
            |(name, description, priority, owner, src, config)| DesiredProfile {
                name: name.into(),
                description,
                priority,
                owner: owner.map(|id| ObjectRef {
                    kind: Some("IDENTITY".into()),
                    id: Some(id.into()),
                    name: None,
                }),
                authoritative_source: source(src),
                attribute_config: config.map(|(enabled, transforms)| DesiredAttributeConfig {
                    enabled,
                    transforms,
                }),
            },
        )
}

/// Any tenant object, including duplicate transforms and server-added attribute keys.
fn observed_strategy() -> impl Strategy<Value = IdentityProfile> {
    (
        prop_oneof![Just("A"), Just("B")],
        prop::option::of("[a-z ]{0,8}"),
        prop::option::of(0i64..5),
        prop::option::of(prop_oneof![Just("o1"), Just("o3")]),
        prop_oneof![Just("s1"), Just("s2")],
        prop::option::of((
            any::<bool>(),
            prop::collection::vec((transform_strategy(), any::<bool>()), 0..6),
        )),
        any::<bool>(),
    )
        .prop_map(
            |(name, description, priority, owner, src, config, refresh)| IdentityProfile {
                id: Some("p1".into()),
                name: name.into(),
                created: Some("2026-01-01T00:00:00Z".into()),
                modified: Some("2026-01-02T00:00:00Z".into()),
                description,
                owner: owner.map(|id| ObjectRef {
                    kind: Some("IDENTITY".into()),
                    id: Some(id.into()),
                    name: Some("Owner".into()),
                }),
                priority,
                authoritative_source: source(src),
                identity_refresh_required: refresh,
                identity_count: Some(7),
                identity_attribute_config: config.map(|(enabled, ts)| IdentityAttributeConfig {
                    enabled,
                    attribute_transforms: ts
                        .into_iter()
                        .map(|(t, extra)| {
                            let mut m = transform_model(&t);
                            if extra {
                                let def: &mut TransformDefinition =
                                    m.transform_definition.as_mut().unwrap();
                                def.attributes
                                    .as_mut()
                                    .unwrap()
                                    .insert("sourceName".into(), json!("S"));
                            }
                            m
                        })
                        .collect(),
                }),
                identity_exception_report_reference: None,
                has_time_based_attr: false,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn applying_the_plan_converges_and_replanning_is_empty(d in desired_strategy(), observed in observed_strategy()) {
        let plan = plan_profile(&d, Some(&observed)).unwrap();
        let steps = match &plan {
            ProfilePlan::Nothing => vec![],
            ProfilePlan::Patch(steps) => steps.clone(),
            ProfilePlan::Create(_) => unreachable!("observed exists"),
        };
        for step in &steps {
            prop_assert!(!step.is_empty());
            prop_assert!(!touches_source_and_config(step), "step touches both: {step:?}");
            for o in step {
                for read_only in ["/id", "/created", "/modified", "/identityCount", "/identityRefreshRequired"] {
                    prop_assert!(o.path != read_only);
                }
            }
        }
        let after = apply(&observed, &steps);
        prop_assert_eq!(plan_profile(&d, Some(&after)).unwrap(), ProfilePlan::Nothing);

        // Managed fields now match; unmanaged ones are untouched.
        prop_assert_eq!(&after.name, &d.name);
        prop_assert_eq!(&after.authoritative_source.id, &d.authoritative_source.id);
        match &d.description { Some(x) => prop_assert_eq!(after.description.as_ref(), Some(x)), None => prop_assert_eq!(&after.description, &observed.description) }
        match d.priority { Some(x) => prop_assert_eq!(after.priority, Some(x)), None => prop_assert_eq!(after.priority, observed.priority) }
        match &d.owner { Some(o) => prop_assert_eq!(after.owner.as_ref().and_then(|x| x.id.clone()), o.id.clone()), None => prop_assert_eq!(&after.owner, &observed.owner) }
        match &d.attribute_config {
            None => prop_assert_eq!(&after.identity_attribute_config, &observed.identity_attribute_config),
            Some(c) => {
                let got = after.identity_attribute_config.as_ref().unwrap();
                let mut names: Vec<_> = got.attribute_transforms.iter().map(|t| t.identity_attribute_name.clone().unwrap()).collect();
                names.sort();
                let mut want: Vec<_> = c.transforms.iter().map(|t| t.identity_attribute_name.clone()).collect();
                want.sort();
                prop_assert_eq!(names, want);
                if let Some(e) = c.enabled { prop_assert_eq!(got.enabled, e); }
            }
        }
        prop_assert_eq!(after.identity_refresh_required, observed.identity_refresh_required);
    }

    #[test]
    fn a_created_profile_needs_nothing_more(d in desired_strategy()) {
        let ProfilePlan::Create(body) = plan_profile(&d, None).unwrap() else { panic!() };
        prop_assert_eq!(plan_profile(&d, Some(&as_tenant_returns(&body))).unwrap(), ProfilePlan::Nothing);
    }
}
