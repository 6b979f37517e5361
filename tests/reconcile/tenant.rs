//! Reconciler tests of the `Tenant` controller.

use std::sync::Arc;

use isc_operator::api::Tenant;
use isc_operator::controller::error::ReconcileError;
use isc_operator::controller::tenant;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;

use crate::env::{CLIENT_ID, NAMESPACE, TENANT, TestEnv, manifest};

async fn reconcile_stored(env: &TestEnv) -> Result<Action, ReconcileError> {
    let obj: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    tenant::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await
}

/// `(status, reason)` of the stored Tenant's `Ready` condition.
fn ready(env: &TestEnv) -> (String, String) {
    let stored: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    let status = stored.status.expect("status");
    assert_eq!(status.observed_generation, stored.metadata.generation);
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready condition");
    (ready.status.clone(), ready.reason.clone())
}

fn put_secret(env: &TestEnv, client_secret: &str) {
    env.kube.insert::<Secret>(&manifest(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  client_id: {CLIENT_ID}\n  client_secret: {client_secret}\n"
    )));
}

#[tokio::test]
async fn a_working_credential_makes_the_tenant_ready_once() {
    let env = TestEnv::new().await;
    reconcile_stored(&env).await.expect("reconcile succeeds");
    let patches = env.kube.status_patches();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(ready(&env), ("True".into(), "TokenObtained".into()));
    let tokens = env.journal().await;
    assert_eq!(tokens.len(), 1, "one token request: {tokens:?}");
    assert!(env.kube.events().is_empty());

    // Again with the stored object: nothing changes, nothing is written.
    env.clear_calls().await;
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());
}

#[tokio::test]
async fn a_wrong_secret_is_authentication_failed_once() {
    let env = TestEnv::new().await;
    put_secret(&env, "not-the-secret");
    let error = reconcile_stored(&env).await.expect_err("reconcile fails");
    assert_eq!(error.reason(), "AuthenticationFailed");
    assert_eq!(ready(&env), ("False".into(), "AuthenticationFailed".into()));
    let events = env.kube.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "Warning");
    assert!(
        !events[0].2.contains("not-the-secret"),
        "no secret in events"
    );

    // The same failure again: no status rewrite, no second Event.
    env.clear_calls().await;
    reconcile_stored(&env).await.expect_err("reconcile fails");
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());

    // A fixed Secret (a new resourceVersion) makes it Ready without a restart.
    put_secret(&env, crate::env::CLIENT_SECRET);
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert_eq!(ready(&env), ("True".into(), "TokenObtained".into()));
}

#[tokio::test]
async fn a_missing_secret_is_secret_not_found() {
    let mut env = TestEnv::new().await;
    let mut obj: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    obj.spec.credentials_secret_ref.name = "absent".into();
    env.put_tenant(&obj);
    let error = reconcile_stored(&env).await.expect_err("reconcile fails");
    assert_eq!(error.reason(), "SecretNotFound");
    assert_eq!(ready(&env), ("False".into(), "SecretNotFound".into()));
    assert!(env.journal().await.is_empty(), "no tenant call");
}
