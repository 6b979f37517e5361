//! One owner per tenant profile in the cluster: across namespaces and `Tenant` objects that
//! point at the same tenant, the oldest claimant owns it; the others get `Conflict` naming it
//! and make no tenant call; deleting the owner hands over.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::error::Requeue;

use super::{condition, condition_state, delete, reconcile, reconcile_in};
use crate::env::{CLIENT_ID, CLIENT_SECRET, TestEnv, profile as profile_manifest};

const OTHER_NAMESPACE: &str = "team-b";

/// A second Tenant object in [`OTHER_NAMESPACE`] for the same simulator (its URL spelled
/// differently), with its own Secret.
fn second_tenant(env: &mut TestEnv) {
    let mut secret: Secret = serde_yaml_ng::from_str(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds-b\n  labels:\n    isc.identitynow.dev/credentials: \"true\"\nstringData:\n  client_id: {CLIENT_ID}\n  client_secret: {CLIENT_SECRET}\n"
    ))
    .expect("secret");
    secret.metadata.namespace = Some(OTHER_NAMESPACE.into());
    env.kube.insert(&secret);
    let url = env
        .sim
        .base_url()
        .to_string()
        .to_uppercase()
        .replace("HTTP://", "http://");
    let mut tenant: Tenant = serde_yaml_ng::from_str(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: other\nspec:\n  baseUrl: {url}/\n  credentialsSecretRef:\n    name: creds-b\n"
    ))
    .expect("tenant");
    tenant.metadata.namespace = Some(OTHER_NAMESPACE.into());
    env.put_tenant(&tenant);
}

/// A profile in [`OTHER_NAMESPACE`] on the second Tenant, created at `created`.
fn claimant(name: &str, tenant_name: &str, created: &str) -> IdentityProfile {
    let mut obj = profile_manifest(name, tenant_name, "  description: from team-b\n");
    obj.metadata.namespace = Some(OTHER_NAMESPACE.into());
    obj.spec.tenant_ref.name = "other".into();
    obj.metadata.creation_timestamp = Some(Time(created.parse().expect("time")));
    obj
}

fn created_at(mut obj: IdentityProfile, created: &str) -> IdentityProfile {
    obj.metadata.creation_timestamp = Some(Time(created.parse().expect("time")));
    obj
}

#[tokio::test]
async fn two_namespaces_on_one_tenant_have_one_owner_and_the_next_takes_over() {
    let mut env = TestEnv::new().await;
    second_tenant(&mut env);
    env.put_profile(&created_at(
        profile_manifest("payroll", "Payroll", "  description: from team-a\n"),
        "2026-01-01T00:00:00Z",
    ));
    env.put_profile(&claimant("payroll-b", "PAYROLL", "2026-01-02T00:00:00Z"));

    reconcile(&mut env, "payroll")
        .await
        .expect("the owner converges");
    env.clear_calls().await;
    for _ in 0..3 {
        let error = reconcile_in(&mut env, OTHER_NAMESPACE, "payroll-b")
            .await
            .expect_err("conflict");
        assert_eq!(error.reason(), "Conflict");
        assert!(matches!(error.requeue(), Requeue::After(_)));
        assert!(
            error.message().contains("team-a/payroll"),
            "{}",
            error.message()
        );
    }
    assert!(
        env.tenant_calls().await.is_empty(),
        "the loser calls nothing"
    );
    let loser = env.profile_in(OTHER_NAMESPACE, "payroll-b").unwrap();
    assert_eq!(
        condition_state(&loser, "Conflict"),
        ("True".into(), "Conflict".into())
    );
    assert!(
        condition(&loser, "Conflict")
            .message
            .contains("team-a/payroll")
    );
    let warnings = env.kube.event_reasons();
    assert_eq!(warnings, vec!["Conflict"], "one Event, not one per recheck");

    // The owner is deleted (Orphan: no finalizer, gone at once): the other claimant takes the
    // tenant profile over.
    delete(&env, "payroll").await;
    let gone = env.profile_in(crate::env::NAMESPACE, "payroll");
    assert!(gone.is_none());
    let owner = created_at(
        profile_manifest("payroll", "Payroll", ""),
        "2026-01-01T00:00:00Z",
    );
    env.forget_profile(&owner);
    env.clear_calls().await;
    reconcile_in(&mut env, OTHER_NAMESPACE, "payroll-b")
        .await
        .expect("takes over");
    let writes = env.tenant_writes().await;
    assert!(
        writes.iter().all(|w| w.starts_with("PATCH ")),
        "adopted, not created: {writes:?}"
    );
    let taken = env.profile_in(OTHER_NAMESPACE, "payroll-b").unwrap();
    assert_eq!(
        condition_state(&taken, "Ready"),
        ("True".into(), "Synced".into())
    );
    assert!(
        taken
            .status
            .unwrap()
            .conditions
            .iter()
            .all(|c| c.type_ != "Conflict")
    );
}

#[tokio::test]
async fn the_oldest_claimant_owns_whatever_the_order_of_reconciles() {
    let mut env = TestEnv::new().await;
    second_tenant(&mut env);
    // The team-b object is older, though team-a's reconciles first.
    env.put_profile(&created_at(
        profile_manifest("payroll", "Payroll", ""),
        "2026-02-01T00:00:00Z",
    ));
    env.put_profile(&claimant("payroll-b", "payroll", "2026-01-01T00:00:00Z"));
    let error = reconcile(&mut env, "payroll").await.expect_err("conflict");
    assert!(
        error.message().contains("team-b/payroll-b"),
        "{}",
        error.message()
    );
    assert!(env.tenant_calls().await.is_empty());
    reconcile_in(&mut env, OTHER_NAMESPACE, "payroll-b")
        .await
        .expect("the owner converges");
}
