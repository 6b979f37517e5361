//! The finalizer only where deletion has tenant work to do: `deletionPolicy: Delete` objects
//! carry it, `Orphan` objects (the default) never get one, so adopting or creating them costs
//! no finalizer write (and no second reconcile).

use std::sync::Arc;

use isc_operator::api::IdentityProfile;
use isc_operator::api::identity_profile::DeletionPolicy;
use isc_operator::controller::profile::{self, FINALIZER};
use kube::runtime::controller::Action;

use super::{edit_spec, put_tenant_profile};
use crate::env::{TestEnv, profile as profile_manifest};

fn has_finalizer(obj: &IdentityProfile) -> bool {
    obj.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == FINALIZER))
}

/// One reconcile of the object as stored (the controller's pass, without any test helper's
/// extra pass).
async fn reconcile_once(env: &mut TestEnv, name: &str) -> Action {
    let obj = env.profile(name);
    profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx))
        .await
        .expect("reconcile succeeds")
}

/// Writes that are not status patches or Events (finalizer patches).
fn metadata_writes(env: &TestEnv) -> usize {
    env.kube
        .writes()
        .iter()
        .filter(|w| !w.is_status_patch() && !w.is_event())
        .count()
}

#[tokio::test]
async fn an_orphan_object_is_adopted_in_one_reconcile_without_a_finalizer() {
    let mut env = TestEnv::new().await;
    put_tenant_profile(&env, "Adopted", "").await;
    env.put_profile(&profile_manifest("adopted", "Adopted", ""));
    env.kube.clear_requests();
    assert_eq!(
        reconcile_once(&mut env, "adopted").await,
        Action::await_change()
    );
    let stored = env.profile("adopted");
    assert!(!has_finalizer(&stored));
    assert!(
        stored.status.and_then(|s| s.id).is_some(),
        "adopted at once"
    );
    assert_eq!(metadata_writes(&env), 0, "{:?}", env.kube.writes());
    assert_eq!(
        env.kube
            .writes()
            .iter()
            .filter(|w| w.is_status_patch())
            .count(),
        1,
        "one status write"
    );
}

#[tokio::test]
async fn delete_adds_the_finalizer_first_and_orphan_removes_it() {
    let mut env = TestEnv::new().await;
    env.put_profile(&profile_manifest(
        "switched",
        "Switched",
        "  deletionPolicy: Delete\n",
    ));
    // Delete: the first pass only adds the finalizer, before any tenant call.
    assert_eq!(
        reconcile_once(&mut env, "switched").await,
        Action::await_change()
    );
    assert!(has_finalizer(&env.profile("switched")));
    assert!(env.tenant_writes().await.is_empty());
    reconcile_once(&mut env, "switched").await;
    assert_eq!(env.tenant_writes().await.len(), 1, "created once");

    // Back to Orphan: the finalizer goes (its own write, no tenant call).
    edit_spec(&mut env, "switched", |obj| {
        obj.spec.deletion_policy = DeletionPolicy::Orphan;
    });
    env.clear_calls().await;
    env.kube.clear_requests();
    assert_eq!(
        reconcile_once(&mut env, "switched").await,
        Action::await_change()
    );
    assert!(!has_finalizer(&env.profile("switched")));
    assert_eq!(metadata_writes(&env), 1);
    assert!(env.tenant_calls().await.is_empty());
    // The next pass (the removal's watch event) is an ordinary reconcile.
    reconcile_once(&mut env, "switched").await;
    assert!(!has_finalizer(&env.profile("switched")));
    assert!(env.tenant_writes().await.is_empty());

    // And Delete again: added again.
    edit_spec(&mut env, "switched", |obj| {
        obj.spec.deletion_policy = DeletionPolicy::Delete;
    });
    reconcile_once(&mut env, "switched").await;
    assert!(has_finalizer(&env.profile("switched")));
}
