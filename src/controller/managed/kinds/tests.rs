//! Property tests of the per-kind plans: a created object plans nothing; applying an update
//! (its `PUT` body, or its JSON Patch to the tenant object) converges, and planning again
//! plans nothing; a converged object plans nothing whatever the undeclared fields hold.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::identity_attribute::{self, DesiredAttribute};
use super::lifecycle_state::{self, DesiredLifecycleState};
use super::transform::{self, DesiredTransform};
use crate::controller::managed::TenantObjectPlan;
use isc_client::models::{
    AccountAction, EmailNotificationOption, IdentityAttribute, IdentityAttributeSource,
    ProfileLifecycleState, Transform,
};

fn small_map() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        "[a-d]",
        prop_oneof![
            "[a-c]{0,2}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from)
        ],
        0..4,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn sources() -> impl Strategy<Value = Vec<IdentityAttributeSource>> {
    prop::collection::vec(
        ("[a-b]", prop::option::of(small_map())).prop_map(|(kind, properties)| {
            IdentityAttributeSource {
                kind: Some(kind),
                properties,
            }
        }),
        0..3,
    )
}

fn desired_attribute() -> impl Strategy<Value = DesiredAttribute> {
    (
        prop::option::of("[A-C]{1,2}"),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::option::of(sources()),
    )
        .prop_map(
            |(display_name, standard, searchable, multi, sources)| DesiredAttribute {
                name: "costCenter".into(),
                display_name,
                standard,
                searchable,
                multi,
                sources,
            },
        )
}

fn tenant_attribute() -> impl Strategy<Value = IdentityAttribute> {
    (
        prop::option::of("[A-C]{1,2}"),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        sources(),
    )
        .prop_map(
            |(display_name, standard, searchable, multi, sources)| IdentityAttribute {
                name: "costCenter".into(),
                display_name,
                standard,
                searchable,
                multi,
                sources,
                r#type: Some("string".into()),
                ..Default::default()
            },
        )
}

fn action() -> impl Strategy<Value = AccountAction> {
    (
        prop_oneof![Just("ENABLE"), Just("DISABLE")],
        prop::collection::vec("[a-c]", 0..3),
    )
        .prop_map(|(action, source_ids)| AccountAction {
            action: action.into(),
            source_ids,
            ..Default::default()
        })
}

fn email() -> impl Strategy<Value = EmailNotificationOption> {
    (any::<bool>(), any::<bool>()).prop_map(|(notify_managers, notify_all_admins)| {
        EmailNotificationOption {
            notify_managers,
            notify_all_admins,
            ..Default::default()
        }
    })
}

fn desired_state() -> impl Strategy<Value = DesiredLifecycleState> {
    (
        "[A-C]{1,2}",
        prop::option::of("[a-c]{0,2}"),
        prop::option::of(any::<bool>()),
        prop::option::of(prop_oneof![
            Just("ACTIVE".to_string()),
            Just("INACTIVE_LONG_TERM".to_string())
        ]),
        prop::option::of(email()),
        prop::option::of(prop::collection::vec(action(), 0..3)),
        prop::option::of(prop::collection::vec("[a-c]", 0..3)),
    )
        .prop_map(
            |(name, description, enabled, identity_state, email, actions, ids)| {
                DesiredLifecycleState {
                    technical_name: "active".into(),
                    name,
                    description,
                    enabled,
                    identity_state,
                    email_notification_option: email,
                    account_actions: actions,
                    access_profile_ids: ids,
                    references: Vec::new(),
                }
            },
        )
}

fn tenant_state() -> impl Strategy<Value = ProfileLifecycleState> {
    (
        "[A-C]{1,2}",
        prop::option::of("[a-c]{0,2}"),
        any::<bool>(),
        prop::option::of(email()),
        prop::collection::vec(action(), 0..3),
        prop::collection::vec("[a-c]", 0..3),
    )
        .prop_map(
            |(name, description, enabled, email, account_actions, access_profile_ids)| {
                ProfileLifecycleState {
                    id: Some("ls1".into()),
                    name,
                    technical_name: "active".into(),
                    description,
                    enabled,
                    identity_count: Some(4),
                    email_notification_option: email,
                    account_actions,
                    access_profile_ids,
                    ..Default::default()
                }
            },
        )
}

/// The tenant object after `plan` was sent: the created body, the `PUT` body, or the tenant
/// object with the JSON Patch applied.
fn applied<R: serde::Serialize + serde::de::DeserializeOwned + Clone>(
    plan: TenantObjectPlan<R>,
    remote: &R,
    patch: bool,
) -> Option<R> {
    match plan {
        TenantObjectPlan::Nothing => Some(remote.clone()),
        TenantObjectPlan::Create(body) => Some(*body),
        TenantObjectPlan::Update { body, changes } if patch => {
            let mut doc = serde_json::to_value(remote).unwrap();
            let ops: json_patch::Patch = serde_json::from_value(json!(changes)).unwrap();
            json_patch::patch(&mut doc, &ops).expect("the patch applies to the tenant object");
            let _ = body;
            Some(serde_json::from_value(doc).unwrap())
        }
        TenantObjectPlan::Update { body, .. } => Some(*body),
        TenantObjectPlan::Immutable(_) => None,
    }
}

proptest! {
    #[test]
    fn attribute_plans_converge(desired in desired_attribute(), remote in tenant_attribute()) {
        let created = applied(identity_attribute::plan(&desired, None), &remote, false).unwrap();
        prop_assert!(identity_attribute::plan(&desired, Some(&created)).is_nothing());
        let plan = identity_attribute::plan(&desired, Some(&remote));
        if remote.multi != desired.multi {
            prop_assert!(matches!(plan, TenantObjectPlan::Immutable(_)));
            return Ok(());
        }
        let after = applied(plan, &remote, false).unwrap();
        prop_assert!(identity_attribute::plan(&desired, Some(&after)).is_nothing());
        prop_assert_eq!(&after.r#type, &remote.r#type, "undeclared fields kept");
    }

    #[test]
    fn transform_plans_converge(attributes in small_map(), observed in prop::option::of(small_map())) {
        let desired = DesiredTransform { name: "T".into(), kind: "lower".into(), attributes, references: vec![] };
        let remote = Transform { id: Some("t1".into()), name: "T".into(), kind: "lower".into(), attributes: observed, internal: Some(false) };
        let plan = transform::plan(&desired, Some(&remote));
        if let TenantObjectPlan::Update { changes, .. } = &plan {
            prop_assert_eq!(changes.len(), 1);
            prop_assert_eq!(changes[0].path.as_str(), "/attributes");
        }
        let mut after = applied(plan, &remote, false).unwrap();
        after.id = remote.id.clone();
        prop_assert!(transform::plan(&desired, Some(&after)).is_nothing());
        let other_type = Transform { kind: "upper".into(), ..remote };
        prop_assert!(matches!(transform::plan(&desired, Some(&other_type)), TenantObjectPlan::Immutable(_)));
    }

    #[test]
    fn lifecycle_state_patches_converge(desired in desired_state(), remote in tenant_state()) {
        let created = applied(lifecycle_state::plan(&desired, None), &remote, true).unwrap();
        prop_assert!(lifecycle_state::plan(&desired, Some(&created)).is_nothing());
        let plan = lifecycle_state::plan(&desired, Some(&remote));
        let after = applied(plan, &remote, true).unwrap();
        prop_assert!(lifecycle_state::plan(&desired, Some(&after)).is_nothing(), "{:?}", after);
        prop_assert_eq!(after.identity_count, remote.identity_count, "read-only fields untouched");
    }
}
