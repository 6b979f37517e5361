//! Deletion policies: Orphan leaves the tenant alone; Delete waits for the tenant's task.

use std::time::Duration;

use serde_json::json;

use isc_operator::api::IdentityProfile;
use isc_operator::controller::error::ReconcileError;

use super::{admin, create_ready, delete, reconcile, tenant_profiles};
use crate::env::{NAMESPACE, TestEnv, profile as profile_manifest};

const FINALIZER: &str = "isc.identitynow.dev/finalizer";

fn has_finalizer(obj: &IdentityProfile) -> bool {
    obj.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == FINALIZER))
}

/// Reconciles until the delete task is no longer running; returns the first other result.
async fn reconcile_while_waiting(
    env: &mut TestEnv,
    name: &str,
) -> Result<kube::runtime::controller::Action, ReconcileError> {
    for _ in 0..50 {
        match reconcile(env, name).await {
            Err(ReconcileError::Waiting(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
            other => return other,
        }
    }
    panic!("the delete task never ended");
}

#[tokio::test]
async fn orphan_leaves_the_tenant_profile_and_releases_the_object() {
    let mut env = TestEnv::new().await;
    let obj = create_ready(&mut env, &profile_manifest("kept", "Kept", "")).await;
    assert!(!has_finalizer(&obj), "Orphan needs no finalizer");
    delete(&env, "kept").await;

    assert_eq!(
        env.tenant_calls().await,
        Vec::<String>::new(),
        "Orphan makes no call"
    );
    assert!(
        env.kube.get::<IdentityProfile>(NAMESPACE, "kept").is_none(),
        "gone at once: no finalizer held it"
    );
    assert!(
        tenant_profiles(&env)
            .await
            .iter()
            .any(|p| p["name"] == "Kept")
    );
}

#[tokio::test]
async fn delete_removes_the_tenant_profile_after_its_task() {
    let mut env = TestEnv::new().await;
    let spec = "  deletionPolicy: Delete\n";
    let obj = create_ready(&mut env, &profile_manifest("removed", "Removed", spec)).await;
    let id = obj.status.unwrap().id.unwrap();
    delete(&env, "removed").await;

    let first = reconcile(&mut env, "removed").await;
    assert!(
        matches!(first, Err(ReconcileError::Waiting(_))),
        "{first:?}"
    );
    assert_eq!(
        env.tenant_writes().await,
        vec!["DELETE /v2024/identity-profiles/{identity-profile-id}"]
    );
    let marked = env.profile("removed");
    assert!(
        has_finalizer(&marked),
        "the finalizer stays while the task runs"
    );
    let task_id = marked
        .status
        .unwrap()
        .delete_task_id
        .expect("deleteTaskId recorded");
    assert_eq!(env.kube.event_reasons(), vec!["Deleting"]);
    let patches = env.kube.status_patches();
    // Guarded: an old leader working from a stale object cannot record a task.
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0]["status"]["deleteTaskId"], json!(task_id));
    // The same write shows the work under way (kstatus): Reconciling, reason Deleting.
    let shown = |type_: &str| {
        let conditions = patches[0]["status"]["conditions"].as_array().unwrap();
        let c = conditions.iter().find(|c| c["type"] == type_).unwrap();
        (c["status"].clone(), c["reason"].clone())
    };
    assert_eq!(shown("Reconciling"), (json!("True"), json!("Deleting")));
    assert_eq!(shown("Ready"), (json!("False"), json!("Deleting")));
    assert!(
        patches[0]["metadata"]["resourceVersion"].is_string(),
        "{patches:?}"
    );

    reconcile_while_waiting(&mut env, "removed")
        .await
        .expect("cleanup succeeds");
    assert!(
        env.kube
            .get::<IdentityProfile>(NAMESPACE, "removed")
            .is_none(),
        "finalizer removed"
    );
    assert_eq!(env.kube.event_reasons(), vec!["Deleting", "Deleted"]);
    assert!(
        !tenant_profiles(&env)
            .await
            .iter()
            .any(|p| p["id"] == id.as_str())
    );
    let writes = env.tenant_writes().await;
    assert_eq!(
        writes.len(),
        1,
        "one DELETE, then only task reads: {writes:?}"
    );
}

#[tokio::test]
async fn a_failed_delete_task_is_a_tenant_task_failure_and_keeps_the_object() {
    let mut env = TestEnv::new().await;
    let spec = "  deletionPolicy: Delete\n";
    create_ready(&mut env, &profile_manifest("stuck", "Stuck", spec)).await;
    admin(&env)
        .add_fault(json!({"method": "DELETE", "path": "/v2024/identity-profiles/*", "taskOutcome": "ERROR"}))
        .await;
    delete(&env, "stuck").await;

    let error = reconcile_while_waiting(&mut env, "stuck")
        .await
        .expect_err("the task failed");
    assert!(
        matches!(error, ReconcileError::TenantTaskFailed(_)),
        "{error:?}"
    );
    assert_eq!(error.reason(), "TenantTaskFailed");
    assert!(
        error.message().contains("deletionPolicy: Orphan"),
        "{}",
        error.message()
    );
    let stored = env.profile("stuck");
    assert!(
        has_finalizer(&stored),
        "the object stays until the user decides"
    );
    assert!(
        stored.status.unwrap().delete_task_id.is_none(),
        "the next attempt starts a new task"
    );
    assert!(
        tenant_profiles(&env)
            .await
            .iter()
            .any(|p| p["name"] == "Stuck")
    );
}
