//! Name-based references: a profile that names its source, owner and transforms instead of
//! giving their tenant ids is resolved on its Tenant (ids shown in status), with shared,
//! cached lookups; a name that does not resolve stops the object with a condition naming it,
//! before any write.

use std::collections::BTreeMap;

use isc_client::models::Transform as TenantTransform;
use isc_client::{TenantClient, TenantClientConfig};
use isc_operator::api::IdentityProfile;
use isc_operator::controller::error::ReconcileError;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::{
    condition, condition_state, edit_spec, new_tenant_generation, reconcile, tenant_profiles,
};
use crate::env::{
    CLIENT_ID, CLIENT_SECRET, SOURCE_CONTRACTORS, SOURCE_EMPLOYEES, TestEnv, manifest,
};

/// The first identity of the simulator's built-in seed.
const ADA_ALIAS: &str = "ada.lovelace";
const ADA_ID: &str = "2c9180857a1b4c2d0000000000000000";

/// A profile that names everything: source by name, owner by alias, a mapping's source by
/// `sourceName` only, plus `extra` mappings (indented as list items under
/// `attributeTransforms`).
fn by_names(name: &str, tenant_name: &str, source: &str, extra: &str) -> IdentityProfile {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: demo\n  name: {tenant_name}\n  authoritativeSource:\n    name: {source}\n  owner:\n    alias: {ADA_ALIAS}\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: email\n            sourceName: HR Contractors\n{extra}"
    ))
}

/// A mapping of `department` through the saved transform `transform` (by name).
fn reference_mapping(transform: &str) -> String {
    format!(
        "      - identityAttributeName: department\n        transformDefinition:\n          type: reference\n          attributes:\n            id: {transform}\n"
    )
}

fn resolved(obj: &IdentityProfile) -> BTreeMap<String, String> {
    obj.status.clone().unwrap().resolved_references
}

/// Calls to `route` so far (e.g. `GET /v2024/sources`).
async fn calls_to(env: &TestEnv, route: &str) -> usize {
    let calls = env.tenant_calls().await;
    calls.iter().filter(|c| c.as_str() == route).count()
}

fn tenant_client(env: &TestEnv) -> TenantClient {
    let mut config = TenantClientConfig::new(
        &env.sim.base_url(),
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET.to_string()),
    )
    .expect("client config");
    config.allow_insecure_http = true;
    TenantClient::new(config).expect("tenant client")
}

/// Creates a saved transform on the tenant (as if made in the UI); returns its id.
async fn put_tenant_transform(env: &TestEnv, name: &str) -> String {
    let created = tenant_client(env)
        .create_transform(&TenantTransform {
            name: name.into(),
            kind: "lower".into(),
            attributes: json!({"input": {"type": "accountAttribute", "attributes": {"attributeName": "department", "sourceName": "HR Employees"}}}).as_object().cloned(),
            ..Default::default()
        })
        .await
        .expect("transform created");
    created.id.expect("transform id")
}

#[tokio::test]
async fn a_profile_by_names_gets_the_tenants_ids_and_shows_them() {
    let mut env = TestEnv::new().await;
    env.put_profile(&by_names("staff", "Staff", "HR Employees", ""));
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");

    let tenant = tenant_profiles(&env).await;
    let created = tenant
        .iter()
        .find(|p| p["name"] == "Staff")
        .expect("created");
    assert_eq!(
        created["authoritativeSource"]["id"],
        json!(SOURCE_EMPLOYEES)
    );
    assert_eq!(created["owner"]["id"], json!(ADA_ID));
    let mapping = &created["identityAttributeConfig"]["attributeTransforms"][0];
    assert_eq!(
        mapping["transformDefinition"]["attributes"],
        json!({"attributeName": "email", "sourceName": "HR Contractors", "sourceId": SOURCE_CONTRACTORS})
    );

    let stored = env.profile("staff");
    assert_eq!(
        condition_state(&stored, "Ready"),
        ("True".into(), "Synced".into())
    );
    let expected: BTreeMap<String, String> = [
        ("identity/ada.lovelace", ADA_ID),
        ("source/HR Contractors", SOURCE_CONTRACTORS),
        ("source/HR Employees", SOURCE_EMPLOYEES),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(resolved(&stored), expected);
    assert_eq!(
        calls_to(&env, "GET /v2024/sources").await,
        1,
        "one list for both names"
    );
    assert_eq!(calls_to(&env, "GET /v2024/identities").await, 1);
    assert_eq!(
        env.tenant_writes().await,
        vec!["POST /v2024/identity-profiles/import"]
    );
}

#[tokio::test]
async fn lookups_are_shared_by_every_object_of_the_tenant_and_reused_between_reconciles() {
    let mut env = TestEnv::new().await;
    for i in 0..3 {
        env.put_profile(&by_names(
            &format!("p{i}"),
            &format!("P{i}"),
            "HR Employees",
            "",
        ));
    }
    for i in 0..3 {
        reconcile(&mut env, &format!("p{i}"))
            .await
            .expect("reconcile succeeds");
    }
    assert_eq!(calls_to(&env, "GET /v2024/sources").await, 1);
    assert_eq!(
        calls_to(&env, "GET /v2024/identities").await,
        1,
        "one alias"
    );

    // A spec change reconciles again: the names come from the cached lists.
    env.clear_calls().await;
    edit_spec(&mut env, "p0", |p| {
        p.spec.description = Some("edited".into())
    });
    reconcile(&mut env, "p0").await.expect("reconcile succeeds");
    let calls = env.tenant_calls().await;
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("/sources") || c.contains("/identities")),
        "{calls:?}"
    );
    assert_eq!(
        env.tenant_writes().await,
        vec!["PATCH /v2024/identity-profiles/{identity-profile-id}"]
    );
}

#[tokio::test]
async fn an_unknown_name_is_a_condition_naming_it_looked_for_again_from_the_cache_and_nothing_is_written()
 {
    let mut env = TestEnv::new().await;
    env.put_profile(&by_names("staff", "Staff", "HR Interns", ""));
    let error = reconcile(&mut env, "staff").await.unwrap_err();
    assert!(
        matches!(error, ReconcileError::UnresolvedReference(_)),
        "{error:?}"
    );
    assert!(env.tenant_writes().await.is_empty());

    let stored = env.profile("staff");
    let ready = condition(&stored, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "UnresolvedReference")
    );
    // Reconciling, not Stalled: the source may still be created (as a Tenant not there yet).
    assert_eq!(
        condition_state(&stored, "Reconciling"),
        ("True".into(), "UnresolvedReference".into())
    );
    assert!(
        stored
            .status
            .as_ref()
            .unwrap()
            .conditions
            .iter()
            .all(|c| c.type_ != "Stalled")
    );
    assert!(
        ready.message.contains("no source named \"HR Interns\""),
        "{}",
        ready.message
    );
    assert!(
        ready.message.contains("Tenant \"demo\""),
        "{}",
        ready.message
    );
    assert!(
        !ready.message.contains("HR Contractors"),
        "only what failed: {}",
        ready.message
    );
    assert_eq!(env.kube.event_reasons(), vec!["UnresolvedReference"]);

    // Retried (backoff) soon after: answered from the cached list, no tenant call.
    env.clear_calls().await;
    reconcile(&mut env, "staff").await.unwrap_err();
    assert!(env.tenant_calls().await.is_empty());
    assert!(env.kube.status_patches().is_empty(), "nothing changed");

    // A spec change fixes the name; it resolves from the cached list.
    edit_spec(&mut env, "staff", |p| {
        p.spec.authoritative_source.name = Some("HR Employees".into())
    });
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    let stored = env.profile("staff");
    assert_eq!(
        condition_state(&stored, "Ready"),
        ("True".into(), "Synced".into())
    );
    assert!(
        stored
            .status
            .unwrap()
            .conditions
            .iter()
            .all(|c| c.type_ != "Stalled")
    );
    assert_eq!(calls_to(&env, "GET /v2024/sources").await, 0);
}

#[tokio::test]
async fn an_owner_alias_without_user_context_says_which_credential_is_needed() {
    let mut env = TestEnv::with_config(|c| c.clients[0].user_context = false).await;
    env.put_profile(&by_names("staff", "Staff", "HR Employees", ""));
    let error = reconcile(&mut env, "staff").await.unwrap_err();
    assert!(
        matches!(error, ReconcileError::UserContextRequired(_)),
        "{error:?}"
    );
    let stored = env.profile("staff");
    let stalled = condition(&stored, "Stalled");
    assert_eq!(stalled.reason, "UserContextRequired");
    assert!(
        stalled
            .message
            .contains("identity with alias \"ada.lovelace\""),
        "{}",
        stalled.message
    );
    assert!(
        stalled.message.contains("user context"),
        "{}",
        stalled.message
    );
    assert!(env.tenant_writes().await.is_empty());

    // The owner's id instead of the alias needs no identities list.
    edit_spec(&mut env, "staff", |p| {
        let owner = p.spec.owner.as_mut().unwrap();
        owner.id = Some(ADA_ID.into());
    });
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    let status = env.profile("staff").status.unwrap();
    assert!(
        !status
            .resolved_references
            .contains_key("identity/ada.lovelace")
    );
    assert_eq!(
        status.resolved_references.len(),
        2,
        "{:?}",
        status.resolved_references
    );
}

#[tokio::test]
async fn a_reference_transform_is_checked_on_the_tenant_and_sent_by_name() {
    let mut env = TestEnv::new().await;
    let mapping = reference_mapping("Department Lower");
    env.put_profile(&by_names("staff", "Staff", "HR Employees", &mapping));
    let error = reconcile(&mut env, "staff").await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("no transform named \"Department Lower\""),
        "{message}"
    );
    assert!(env.tenant_writes().await.is_empty(), "no refused write");

    let id = put_tenant_transform(&env, "Department Lower").await;
    // A fresh Tenant client (as after the resync interval) lists the transforms again.
    new_tenant_generation(&env);
    env.clear_calls().await;
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(calls_to(&env, "GET /v2024/transforms").await, 1);
    let stored = env.profile("staff");
    assert_eq!(
        resolved(&stored).get("transform/Department Lower"),
        Some(&id)
    );
    let tenant = tenant_profiles(&env).await;
    let created = tenant
        .iter()
        .find(|p| p["name"] == "Staff")
        .expect("created");
    let department = created["identityAttributeConfig"]["attributeTransforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["identityAttributeName"] == "department")
        .expect("mapped");
    assert_eq!(
        department["transformDefinition"]["attributes"]["id"],
        Value::from("Department Lower"),
        "ISC names the saved transform in attributes.id"
    );
}

#[tokio::test]
async fn a_converged_profile_by_names_is_left_alone_by_the_resync_sweep() {
    let mut env = TestEnv::new().await;
    env.put_profile(&by_names("staff", "Staff", "HR Employees", ""));
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    env.profile("staff");
    let key =
        kube::runtime::reflector::ObjectRef::new(crate::env::TENANT).within(crate::env::NAMESPACE);
    let tenant = env.ctx.tenants_store().get(&key).expect("tenant cached");
    // The first sweep records the identity count the create's answer lacked.
    let first = isc_operator::controller::resync::sweep_tenant(&env.ctx, &tenant)
        .await
        .expect("sweep");
    for (obj, _) in &first.due {
        reconcile(&mut env, &obj.name)
            .await
            .expect("reconcile succeeds");
    }
    env.profile("staff");
    env.clear_calls().await;
    let second = isc_operator::controller::resync::sweep_tenant(&env.ctx, &tenant)
        .await
        .expect("sweep");
    assert!(second.due.is_empty(), "{:?}", second.due);
    let calls = env.tenant_calls().await;
    assert_eq!(
        calls,
        vec!["GET /v2024/identity-profiles"],
        "the sweep's one list only"
    );
}
