//! Reconciler tests of the `Tenant` controller.

use std::sync::Arc;

use isc_operator::api::Tenant;
use isc_operator::controller::tenant;

use crate::env::{NAMESPACE, TENANT, TestEnv};

#[tokio::test]
async fn a_working_credential_makes_the_tenant_ready_once() {
    let env = TestEnv::new().await;
    let obj: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    tenant::reconcile(Arc::new(obj), Arc::clone(&env.ctx))
        .await
        .expect("reconcile succeeds");
    let patches = env.kube.status_patches();
    assert_eq!(patches.len(), 1, "{patches:?}");
    let stored: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    let ready = &stored.status.as_ref().unwrap().conditions[0];
    assert_eq!(
        (ready.type_.as_str(), ready.status.as_str()),
        ("Ready", "True")
    );
    assert_eq!(ready.reason, "TokenObtained");
    let tokens = env.journal().await;
    assert_eq!(tokens.len(), 1, "one token request: {tokens:?}");

    // Again with the stored object: nothing changes, nothing is written.
    env.clear_calls().await;
    tenant::reconcile(Arc::new(stored), Arc::clone(&env.ctx))
        .await
        .expect("reconcile succeeds");
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());
}
