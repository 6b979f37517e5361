//! Reconciler tests of the `IdentityProfile` controller.

use std::sync::Arc;

use isc_operator::controller::profile;

use crate::env::{TestEnv, profile as profile_manifest};

/// Runs reconciles until the object stops asking for an immediate retry (the first one only
/// adds the finalizer), at most `max` times.
async fn reconcile_until_settled(env: &mut TestEnv, name: &str, max: usize) {
    for _ in 0..max {
        let obj = env.profile(name);
        let had_finalizer = !obj
            .metadata
            .finalizers
            .clone()
            .unwrap_or_default()
            .is_empty();
        profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx))
            .await
            .expect("reconcile succeeds");
        if had_finalizer {
            return;
        }
    }
}

#[tokio::test]
async fn a_new_profile_is_created_once() {
    let mut env = TestEnv::new().await;
    env.put_profile(&profile_manifest("employees", "Employees Rc", ""));
    reconcile_until_settled(&mut env, "employees", 3).await;
    let writes = env.tenant_writes().await;
    assert_eq!(writes, vec!["POST /v2024/identity-profiles"], "{writes:?}");
    let stored = env.profile("employees");
    let status = stored.status.unwrap();
    assert!(status.id.is_some());
    assert!(status.pending_create.is_none(), "{status:?}");
    assert_eq!(env.kube.event_reasons(), vec!["Created"]);
}
