//! Lifecycle states: they wait for their profile to be on the tenant, live in it (its tenant id
//! shown in `resolvedReferences`), are patched with the changed fields only, and must be on
//! their profile's Tenant.

use std::sync::Arc;

use isc_operator::api::LifecycleState;
use isc_operator::controller::profile;
use serde_json::json;

use super::{
    assert_ready, bodies, delete, edit, reconcile, state, status_of, sweep, tenant_client,
};
use crate::env::{NAMESPACE, TestEnv, manifest, profile as profile_manifest};

const STATES: &str = "/v2024/identity-profiles/{identity-profile-id}/lifecycle-states";

fn lifecycle_state(tenant: &str, extra_spec: &str) -> LifecycleState {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: LifecycleState\nmetadata:\n  name: employees-active\nspec:\n  tenantRef:\n    name: {tenant}\n  identityProfileRef:\n    name: employees\n  technicalName: active\n  name: Active\n  enabled: true\n{extra_spec}"
    ))
}

/// Creates the `employees` profile on the tenant through its controller; returns its id.
async fn profile_on_tenant(env: &mut TestEnv) -> String {
    env.put_profile(&profile_manifest("employees", "Employees Lcs", ""));
    let obj = env.profile("employees");
    profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx))
        .await
        .expect("profile created");
    let obj = env.profile("employees");
    obj.status.and_then(|s| s.id).expect("profile id")
}

#[tokio::test]
async fn a_state_waits_for_its_profile_then_is_created_in_it() {
    let mut env = TestEnv::new().await;
    env.put_lifecycle_state(&lifecycle_state("demo", ""));
    let waiting = reconcile::<LifecycleState>(&env, "employees-active")
        .await
        .unwrap_err();
    assert_eq!(waiting.reason(), "WaitingForDependencies");
    let name = "employees-active";
    let expected = Some(("True".to_string(), "WaitingForDependencies".to_string()));
    assert_eq!(
        state::<LifecycleState>(&env, name, "WaitingForDependencies"),
        expected
    );
    assert_eq!(state::<LifecycleState>(&env, name, "Reconciling"), expected);
    assert_eq!(
        state::<LifecycleState>(&env, name, "Ready").unwrap().0,
        "False"
    );
    assert!(
        env.tenant_calls().await.is_empty(),
        "no tenant call while waiting"
    );

    let profile_id = profile_on_tenant(&mut env).await;
    env.clear_calls().await;
    reconcile::<LifecycleState>(&env, name)
        .await
        .expect("reconcile");
    assert_eq!(env.tenant_writes().await, vec![format!("POST {STATES}")]);
    assert_ready::<LifecycleState>(&env, name);
    let status = status_of::<LifecycleState>(&env, name);
    assert!(state::<LifecycleState>(&env, name, "WaitingForDependencies").is_none());
    assert_eq!(
        status.resolved_references.get("identityProfile/employees"),
        Some(&profile_id)
    );
    let states = tenant_client(&env)
        .list_all_lifecycle_states(&profile_id, &Default::default())
        .await
        .unwrap();
    let created = states
        .iter()
        .find(|s| s.technical_name == "active")
        .expect("created");
    assert_eq!(status.id, created.id);
    assert!(created.enabled);
}

#[tokio::test]
async fn source_names_of_account_actions_are_resolved() {
    let mut env = TestEnv::new().await;
    profile_on_tenant(&mut env).await;
    let actions =
        "  accountActions:\n    - action: DISABLE\n      sourceNames:\n        - HR Employees\n";
    env.put_lifecycle_state(&lifecycle_state("demo", actions));
    reconcile::<LifecycleState>(&env, "employees-active")
        .await
        .expect("reconcile");
    let post = bodies(&env, "POST").await;
    let sent = post.last().expect("a create");
    assert_eq!(
        sent["accountActions"][0]["sourceIds"],
        json!([crate::env::SOURCE_EMPLOYEES])
    );
    let status = status_of::<LifecycleState>(&env, "employees-active");
    assert!(
        status
            .resolved_references
            .contains_key("source/HR Employees"),
        "{status:?}"
    );
    assert!(
        status
            .resolved_references
            .contains_key("identityProfile/employees")
    );
}

#[tokio::test]
async fn a_change_is_one_patch_of_the_changed_field_and_drift_is_patched_back() {
    let mut env = TestEnv::new().await;
    let profile_id = profile_on_tenant(&mut env).await;
    let name = "employees-active";
    env.put_lifecycle_state(&lifecycle_state("demo", "  description: Working staff\n"));
    reconcile::<LifecycleState>(&env, name)
        .await
        .expect("created");
    env.cache_lifecycle_state(&super::stored(&env, name));
    env.clear_calls().await;

    edit::<LifecycleState>(&env, name, |s| {
        s.spec.description = Some("Current staff".into())
    });
    reconcile::<LifecycleState>(&env, name)
        .await
        .expect("patched");
    assert_eq!(
        env.tenant_writes().await,
        vec![format!("PATCH {STATES}/{{lifecycle-state-id}}")]
    );
    let patch = bodies(&env, "PATCH").await;
    assert_eq!(
        patch[0],
        json!([{"op": "replace", "path": "/description", "value": "Current staff"}])
    );
    assert_ready::<LifecycleState>(&env, name);

    // Changed in the tenant: the sweep (one list for the profile) finds it, a patch restores it.
    env.cache_lifecycle_state(&super::stored(&env, name));
    let id = status_of::<LifecycleState>(&env, name).id.unwrap();
    let rename: Vec<isc_client::models::JsonPatchOperation> =
        serde_json::from_value(json!([{"op": "replace", "path": "/name", "value": "Renamed"}]))
            .unwrap();
    let client = tenant_client(&env);
    client
        .update_lifecycle_state(&profile_id, &id, &rename)
        .await
        .unwrap();
    env.clear_calls().await;
    assert_eq!(sweep::<LifecycleState>(&env).await, vec![name]);
    assert_eq!(
        env.tenant_calls().await,
        vec![format!("GET {STATES}")],
        "one list"
    );
    env.clear_calls().await;
    reconcile::<LifecycleState>(&env, name)
        .await
        .expect("drift corrected");
    let patch = bodies(&env, "PATCH").await;
    assert_eq!(
        patch[0],
        json!([{"op": "replace", "path": "/name", "value": "Active"}])
    );
    assert!(
        env.kube
            .event_reasons()
            .contains(&"DriftCorrected".to_string())
    );
}

#[tokio::test]
async fn a_state_on_another_tenant_than_its_profile_stalls() {
    let mut env = TestEnv::new().await;
    profile_on_tenant(&mut env).await;
    env.clear_calls().await;
    env.put_lifecycle_state(&lifecycle_state("other-tenant", ""));
    let error = reconcile::<LifecycleState>(&env, "employees-active")
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "InvalidSpec");
    let stalled = state::<LifecycleState>(&env, "employees-active", "Stalled");
    assert_eq!(stalled, Some(("True".into(), "InvalidSpec".into())));
    assert!(env.tenant_calls().await.is_empty());
}

#[tokio::test]
async fn delete_policy_deletes_the_state_in_its_profile() {
    let mut env = TestEnv::new().await;
    let profile_id = profile_on_tenant(&mut env).await;
    let name = "employees-active";
    env.put_lifecycle_state(&lifecycle_state("demo", "  deletionPolicy: Delete\n"));
    reconcile::<LifecycleState>(&env, name)
        .await
        .expect("created");
    env.clear_calls().await;
    delete::<LifecycleState>(&env, name).await;
    reconcile::<LifecycleState>(&env, name)
        .await
        .expect("cleanup");
    assert_eq!(
        env.tenant_writes().await,
        vec![format!("DELETE {STATES}/{{lifecycle-state-id}}")]
    );
    let states = tenant_client(&env)
        .list_all_lifecycle_states(&profile_id, &Default::default())
        .await
        .unwrap();
    assert!(states.iter().all(|s| s.technical_name != "active"));
    assert!(env.kube.get::<LifecycleState>(NAMESPACE, name).is_none());
}

#[tokio::test]
async fn an_existing_state_of_the_profile_is_adopted_by_technical_name() {
    let mut env = TestEnv::new().await;
    let profile_id = profile_on_tenant(&mut env).await;
    let existing = isc_client::models::ProfileLifecycleState {
        name: "Active".into(),
        technical_name: "active".into(),
        enabled: true,
        ..Default::default()
    };
    let client = tenant_client(&env);
    let existing = client
        .create_lifecycle_state(&profile_id, &existing)
        .await
        .unwrap();
    env.clear_calls().await;
    env.put_lifecycle_state(&lifecycle_state("demo", ""));
    reconcile::<LifecycleState>(&env, "employees-active")
        .await
        .expect("adopted");
    assert!(
        env.tenant_writes().await.is_empty(),
        "{:?}",
        env.tenant_writes().await
    );
    assert_eq!(
        status_of::<LifecycleState>(&env, "employees-active").id,
        existing.id
    );
    assert_ready::<LifecycleState>(&env, "employees-active");
    assert_eq!(env.kube.event_reasons(), vec!["Adopted"]);
}
