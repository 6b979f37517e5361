//! Identity attributes: keyed by name, updated with `PUT`, written only with a user-context
//! credential (`UserContextRequired` otherwise), `multi` fixed.

use isc_operator::api::IdentityAttribute;
use serde_json::json;

use super::{assert_ready, bodies, delete, edit, reconcile, state, status_of, tenant_client};
use crate::env::{NAMESPACE, TENANT, TestEnv, manifest};

fn attribute(name: &str, tenant_name: &str, extra_spec: &str) -> IdentityAttribute {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityAttribute\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: {TENANT}\n  name: {tenant_name}\n{extra_spec}"
    ))
}

async fn tenant_attribute(
    env: &TestEnv,
    name: &str,
) -> Option<isc_client::models::IdentityAttribute> {
    let all = tenant_client(env)
        .list_identity_attributes()
        .await
        .expect("list");
    all.into_iter().find(|a| a.name == name)
}

#[tokio::test]
async fn an_attribute_is_created_updated_with_one_put_and_deleted_under_delete() {
    let env = TestEnv::new().await;
    let spec = "  displayName: Cost Center\n  searchable: true\n  deletionPolicy: Delete\n";
    env.put_attribute(&attribute("cost-center", "costCenter", spec));
    reconcile::<IdentityAttribute>(&env, "cost-center")
        .await
        .expect("reconcile");
    assert_eq!(
        env.tenant_writes().await,
        vec!["POST /v2024/identity-attributes"]
    );
    assert_ready::<IdentityAttribute>(&env, "cost-center");
    assert_eq!(
        status_of::<IdentityAttribute>(&env, "cost-center")
            .id
            .as_deref(),
        Some("costCenter")
    );
    let created = tenant_attribute(&env, "costCenter").await.expect("created");
    assert_eq!(created.display_name.as_deref(), Some("Cost Center"));
    assert!(created.searchable);

    env.clear_calls().await;
    edit::<IdentityAttribute>(&env, "cost-center", |a| {
        a.spec.display_name = Some("Cost centre".into())
    });
    reconcile::<IdentityAttribute>(&env, "cost-center")
        .await
        .expect("reconcile");
    assert_eq!(
        env.tenant_writes().await,
        vec!["PUT /v2024/identity-attributes/{name}"]
    );
    let put = bodies(&env, "PUT").await;
    assert_eq!(put[0]["displayName"], "Cost centre");
    assert_eq!(
        (put[0]["name"].clone(), put[0]["searchable"].clone()),
        (json!("costCenter"), json!(true))
    );

    env.clear_calls().await;
    reconcile::<IdentityAttribute>(&env, "cost-center")
        .await
        .expect("steady");
    assert!(env.tenant_writes().await.is_empty());

    delete::<IdentityAttribute>(&env, "cost-center").await;
    reconcile::<IdentityAttribute>(&env, "cost-center")
        .await
        .expect("cleanup");
    assert_eq!(
        env.tenant_writes().await,
        vec!["DELETE /v2024/identity-attributes/{name}"]
    );
    assert!(tenant_attribute(&env, "costCenter").await.is_none());
    assert!(
        env.kube
            .get::<IdentityAttribute>(NAMESPACE, "cost-center")
            .is_none()
    );
}

#[tokio::test]
async fn a_standard_attribute_is_adopted_and_only_declared_fields_are_compared() {
    let env = TestEnv::new().await;
    let before = tenant_attribute(&env, "department").await.expect("seeded");
    env.clear_calls().await;
    env.put_attribute(&attribute("department", "department", ""));
    reconcile::<IdentityAttribute>(&env, "department")
        .await
        .expect("reconcile");
    assert!(
        env.tenant_writes().await.is_empty(),
        "nothing declared differs"
    );
    assert_ready::<IdentityAttribute>(&env, "department");
    assert_eq!(env.kube.event_reasons(), vec!["Adopted"]);

    edit::<IdentityAttribute>(&env, "department", |a| {
        a.spec.display_name = Some("Dept".into())
    });
    env.clear_calls().await;
    reconcile::<IdentityAttribute>(&env, "department")
        .await
        .expect("reconcile");
    let put = bodies(&env, "PUT").await;
    assert_eq!(put.len(), 1);
    assert_eq!(put[0]["displayName"], "Dept");
    assert_eq!(
        put[0]["standard"],
        json!(before.standard),
        "undeclared fields kept as the tenant has them"
    );
}

#[tokio::test]
async fn a_credential_without_user_context_stalls_with_user_context_required() {
    let env = TestEnv::with_config(|c| c.clients[0].user_context = false).await;
    env.put_attribute(&attribute("cost-center", "costCenter", ""));
    let error = reconcile::<IdentityAttribute>(&env, "cost-center")
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "UserContextRequired");
    assert_eq!(
        state::<IdentityAttribute>(&env, "cost-center", "Stalled"),
        Some(("True".into(), "UserContextRequired".into()))
    );
    let ready = super::condition::<IdentityAttribute>(&env, "cost-center", "Ready").unwrap();
    assert!(ready.message.contains("personal access token"), "{ready:?}");
    let status = status_of::<IdentityAttribute>(&env, "cost-center");
    assert!(
        status.pending_create.is_none(),
        "the tenant refused: nothing was created"
    );
    assert!(tenant_attribute(&env, "costCenter").await.is_none());
    assert!(
        env.kube
            .event_reasons()
            .contains(&"UserContextRequired".to_string())
    );
}

#[tokio::test]
async fn multi_cannot_change_on_an_adopted_attribute() {
    let env = TestEnv::new().await;
    env.put_attribute(&attribute("department", "department", "  multi: true\n"));
    let error = reconcile::<IdentityAttribute>(&env, "department")
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "InvalidSpec");
    assert!(env.tenant_writes().await.is_empty());
    assert_eq!(
        state::<IdentityAttribute>(&env, "department", "Stalled")
            .unwrap()
            .0,
        "True"
    );
}

#[tokio::test]
async fn a_change_made_in_the_tenant_is_found_by_the_sweep_and_put_back() {
    let env = TestEnv::new().await;
    let spec = "  displayName: Cost Center\n";
    env.put_attribute(&attribute("cost-center", "costCenter", spec));
    reconcile::<IdentityAttribute>(&env, "cost-center")
        .await
        .expect("created");
    env.cache_attribute(&super::stored(&env, "cost-center"));
    env.clear_calls().await;
    assert!(
        super::sweep::<IdentityAttribute>(&env).await.is_empty(),
        "steady"
    );
    assert_eq!(
        env.tenant_calls().await,
        vec!["GET /v2024/identity-attributes"],
        "one list"
    );

    let client = tenant_client(&env);
    let mut changed = tenant_attribute(&env, "costCenter").await.unwrap();
    changed.display_name = Some("Changed in ISC".into());
    client
        .put_identity_attribute("costCenter", &changed)
        .await
        .unwrap();
    assert_eq!(
        super::sweep::<IdentityAttribute>(&env).await,
        vec!["cost-center"]
    );
    env.clear_calls().await;
    reconcile::<IdentityAttribute>(&env, "cost-center")
        .await
        .expect("corrected");
    assert_eq!(
        env.tenant_writes().await,
        vec!["PUT /v2024/identity-attributes/{name}"]
    );
    let restored = tenant_attribute(&env, "costCenter").await.unwrap();
    assert_eq!(restored.display_name.as_deref(), Some("Cost Center"));
    assert!(
        env.kube
            .event_reasons()
            .contains(&"DriftCorrected".to_string())
    );
}
