//! Ordering: a profile whose mappings name an `IdentityAttribute` or a `Transform` managed in
//! its namespace for its Tenant waits (`WaitingForDependencies`, no tenant call) until they are
//! on the tenant, then applies with no refused write, whatever order the objects came in.

use std::sync::Arc;

use isc_operator::api::{IdentityAttribute, IdentityProfile, Transform};
use isc_operator::controller::error::ReconcileError;
use isc_operator::controller::managed;
use isc_operator::controller::profile::dependencies::{
    profiles_using_attribute, profiles_using_transform,
};
use kube::runtime::controller::Action;

use super::{condition, condition_state, reconcile};
use crate::env::{NAMESPACE, TENANT, TestEnv, manifest};

fn attribute(name: &str, tenant_ref: &str, tenant_name: &str) -> IdentityAttribute {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityAttribute\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: {tenant_ref}\n  name: {tenant_name}\n  displayName: Cost Center\n"
    ))
}

fn transform(name: &str, tenant_name: &str) -> Transform {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Transform\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: {TENANT}\n  name: {tenant_name}\n  type: lower\n  attributes:\n    input:\n      type: accountAttribute\n      attributes:\n        attributeName: department\n        sourceName: HR Employees\n"
    ))
}

/// A profile computing `costCenter` from an account attribute and `department` through the
/// saved transform `Department Lower` (by name).
fn profile() -> IdentityProfile {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata:\n  name: staff\nspec:\n  tenantRef:\n    name: {TENANT}\n  name: Staff\n  authoritativeSource:\n    name: HR Employees\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: costCenter\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: costCenter\n            sourceName: HR Employees\n      - identityAttributeName: department\n        transformDefinition:\n          type: reference\n          attributes:\n            id: Department Lower\n"
    ))
}

/// Reconciles an identity-model object with its own controller and puts the result into the
/// watch cache the profile controller reads.
async fn reconcile_attribute(env: &TestEnv, name: &str) {
    let obj: IdentityAttribute = env.kube.get(NAMESPACE, name).expect("attribute");
    let done = managed::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await;
    assert_eq!(done.expect("attribute reconciled"), Action::await_change());
    let stored: IdentityAttribute = env.kube.get(NAMESPACE, name).expect("attribute");
    env.cache_attribute(&stored);
}

async fn reconcile_transform(env: &TestEnv, name: &str) -> Transform {
    let obj: Transform = env.kube.get(NAMESPACE, name).expect("transform");
    let done = managed::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await;
    assert_eq!(done.expect("transform reconciled"), Action::await_change());
    let stored: Transform = env.kube.get(NAMESPACE, name).expect("transform");
    env.cache_transform(&stored);
    stored
}

fn waiting_message(env: &mut TestEnv) -> String {
    let stored = env.profile("staff");
    let ready = condition(&stored, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "WaitingForDependencies")
    );
    assert_eq!(
        condition_state(&stored, "Reconciling"),
        ("True".into(), "WaitingForDependencies".into())
    );
    let waiting = condition(&stored, "WaitingForDependencies");
    assert_eq!(waiting.status, "True");
    assert!(
        stored
            .status
            .as_ref()
            .unwrap()
            .conditions
            .iter()
            .all(|c| c.type_ != "Stalled")
    );
    waiting.message
}

#[tokio::test]
async fn a_profile_applied_with_its_attribute_and_transform_waits_then_applies_without_a_refusal() {
    let mut env = TestEnv::new().await;
    // One `kubectl apply` of the three: the profile is reconciled first.
    env.put_attribute(&attribute("cost-center", TENANT, "costCenter"));
    env.put_transform(&transform("department-lower", "Department Lower"));
    env.put_profile(&profile());
    let error = reconcile(&mut env, "staff").await.unwrap_err();
    assert!(
        matches!(error, ReconcileError::WaitingForDependencies(_)),
        "{error:?}"
    );
    assert!(env.tenant_calls().await.is_empty(), "no tenant call at all");
    let message = waiting_message(&mut env);
    assert!(
        message.contains("IdentityAttribute \"cost-center\" (name costCenter)"),
        "{message}"
    );
    assert!(
        message.contains("Transform \"department-lower\" (name \"Department Lower\")"),
        "{message}"
    );
    assert!(message.contains("Tenant \"demo\""), "{message}");

    // Waiting again changes nothing: no status write, no second Event.
    env.kube.clear_requests();
    reconcile(&mut env, "staff").await.unwrap_err();
    assert!(env.kube.status_patches().is_empty());
    assert!(env.kube.event_reasons().is_empty());

    // The attribute gets onto the tenant: still waiting, for the transform only.
    reconcile_attribute(&env, "cost-center").await;
    let attribute_obj: IdentityAttribute = env.kube.get(NAMESPACE, "cost-center").unwrap();
    let woken = profiles_using_attribute(env.ctx.profiles_store(), &attribute_obj);
    assert_eq!(woken.len(), 1, "the waiting profile is woken");
    reconcile(&mut env, "staff").await.unwrap_err();
    let message = waiting_message(&mut env);
    assert!(!message.contains("cost-center"), "{message}");
    assert!(message.contains("department-lower"), "{message}");

    let transform_obj = reconcile_transform(&env, "department-lower").await;
    let woken = profiles_using_transform(env.ctx.profiles_store(), &transform_obj);
    assert_eq!(woken.len(), 1);
    env.clear_calls().await;
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    let stored = env.profile("staff");
    assert_eq!(
        condition_state(&stored, "Ready"),
        ("True".into(), "Synced".into())
    );
    let status = stored.status.unwrap();
    assert!(
        status
            .conditions
            .iter()
            .all(|c| c.type_ != "WaitingForDependencies" && c.type_ != "Reconciling")
    );
    // The transform's id came from its object's status: no transforms list.
    let transform_id = transform_obj.status.unwrap().id.unwrap();
    assert_eq!(
        status.resolved_references.get("transform/Department Lower"),
        Some(&transform_id)
    );
    let calls = env.tenant_calls().await;
    assert!(
        !calls.iter().any(|c| c.contains("/transforms")),
        "{calls:?}"
    );
    assert_eq!(
        env.tenant_writes().await,
        vec!["POST /v2024/identity-profiles/import"]
    );
    let refused: Vec<_> = env
        .journal()
        .await
        .into_iter()
        .filter(|e| e.status >= 400)
        .map(|e| format!("{} {} {}", e.method, e.path, e.status))
        .collect();
    assert!(refused.is_empty(), "zero refused calls: {refused:?}");
    // A Ready profile is not woken again by its dependencies' events.
    let transform_now: Transform = env.kube.get(NAMESPACE, "department-lower").unwrap();
    assert!(profiles_using_transform(env.ctx.profiles_store(), &transform_now).is_empty());
}

#[tokio::test]
async fn objects_of_another_tenant_or_not_named_are_not_waited_for() {
    let mut env = TestEnv::new().await;
    // An attribute of the same name for another Tenant, and a transform the profile does not use.
    env.put_attribute(&attribute("cost-center-prod", "prod", "costCenter"));
    env.put_transform(&transform("other", "Other Transform"));
    let mut obj = profile();
    let config = obj.spec.identity_attribute_config.as_mut().unwrap();
    config.attribute_transforms.truncate(1);
    env.put_profile(&obj);
    // Not waiting: the mapping reaches the tenant, which refuses the unknown attribute.
    let error = reconcile(&mut env, "staff").await.unwrap_err();
    assert!(
        !matches!(error, ReconcileError::WaitingForDependencies(_)),
        "{error:?}"
    );
    let stored = env.profile("staff");
    assert!(
        stored
            .status
            .unwrap()
            .conditions
            .iter()
            .all(|c| c.type_ != "WaitingForDependencies")
    );
}

#[tokio::test]
async fn a_profile_in_observe_also_waits() {
    let mut env = TestEnv::new().await;
    env.put_transform(&transform("department-lower", "Department Lower"));
    let mut obj = profile();
    obj.spec.management_policy = isc_operator::api::identity_profile::ManagementPolicy::Observe;
    let config = obj.spec.identity_attribute_config.as_mut().unwrap();
    config.attribute_transforms.remove(0);
    env.put_profile(&obj);
    let error = reconcile(&mut env, "staff").await.unwrap_err();
    assert!(
        matches!(error, ReconcileError::WaitingForDependencies(_)),
        "{error:?}"
    );
    assert!(env.tenant_calls().await.is_empty());
    let message = waiting_message(&mut env);
    assert!(message.contains("department-lower"), "{message}");
}
