//! Deletion never hangs silently: a Tenant or Secret gone during a `Delete` cleanup is named
//! with what to do, a delete without a task id is confirmed by reading the profile, and a
//! delete during the create window finds the tenant profile by name.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;

use isc_operator::api::identity_profile::{DeletionPolicy, PendingCreate};
use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::error::ReconcileError;

use super::tenant_profiles;
use super::{condition, create_ready, delete, edit_spec, put_tenant_profile, reconcile};
use crate::env::{NAMESPACE, TENANT, TestEnv, profile as profile_manifest};

const DELETE: &str = "  deletionPolicy: Delete\n";

#[tokio::test]
async fn a_tenant_gone_during_cleanup_is_reported_and_orphan_releases() {
    let mut env = TestEnv::new().await;
    create_ready(&mut env, &profile_manifest("doomed", "Doomed", DELETE)).await;
    // A namespace deletion removes the Tenant and its Secret before the profile.
    let tenants: Api<Tenant> = Api::namespaced(env.kube.client(), NAMESPACE);
    tenants
        .delete(TENANT, &Default::default())
        .await
        .expect("tenant deleted");
    let secrets: Api<Secret> = Api::namespaced(env.kube.client(), NAMESPACE);
    secrets
        .delete("creds", &Default::default())
        .await
        .expect("secret deleted");
    delete(&env, "doomed").await;

    let error = reconcile(&mut env, "doomed").await.expect_err("blocked");
    assert!(
        matches!(error, ReconcileError::DeletionBlocked(_)),
        "{error:?}"
    );
    let stored = env.profile("doomed");
    let ready = condition(&stored, "Ready");
    assert_eq!(ready.reason, "DeletionBlocked");
    assert!(ready.message.contains("Orphan"), "{}", ready.message);
    let events = env.kube.events();
    assert!(
        events.iter().any(|(t, r, note)| t == "Warning"
            && r == "DeletionBlocked"
            && note.contains("Orphan")),
        "{events:?}"
    );
    // Asking again repeats no Event.
    env.kube.clear_requests();
    reconcile(&mut env, "doomed")
        .await
        .expect_err("still blocked");
    assert!(env.kube.events().is_empty());

    edit_spec(&mut env, "doomed", |o| {
        o.spec.deletion_policy = DeletionPolicy::Orphan
    });
    reconcile(&mut env, "doomed").await.expect("released");
    assert!(
        env.kube
            .get::<IdentityProfile>(NAMESPACE, "doomed")
            .is_none()
    );
}

#[tokio::test]
async fn a_delete_without_a_task_id_is_confirmed_by_reading_the_profile() {
    let mut env = TestEnv::new().await;
    let obj = create_ready(&mut env, &profile_manifest("quiet", "Quiet", DELETE)).await;
    let id = obj.status.as_ref().unwrap().id.clone().expect("id");
    // The tenant accepted a delete earlier but named no task.
    let mut marked = obj.clone();
    marked.status.as_mut().unwrap().delete_task_id = Some(String::new());
    env.put_profile(&marked);
    delete(&env, "quiet").await;

    let error = reconcile(&mut env, "quiet")
        .await
        .expect_err("profile still there");
    assert!(matches!(error, ReconcileError::Waiting(_)), "{error:?}");
    assert!(env.tenant_writes().await.is_empty(), "no second DELETE");

    env.sim_admin(
        reqwest::Method::DELETE,
        &format!("identity-profiles/{id}"),
        serde_json::Value::Null,
    )
    .await;
    reconcile(&mut env, "quiet").await.expect("gone: done");
    assert!(
        env.kube
            .get::<IdentityProfile>(NAMESPACE, "quiet")
            .is_none()
    );
}

#[tokio::test]
async fn a_delete_in_the_create_window_finds_the_profile_by_name() {
    let mut env = TestEnv::new().await;
    // The POST went through, its answer was never recorded: only the marker is in status.
    let id = put_tenant_profile(&env, "Window", "created by a lost POST").await;
    let mut obj = env.put_profile(&profile_manifest("window", "window", DELETE));
    obj.metadata.finalizers = Some(vec!["isc.identitynow.dev/finalizer".into()]);
    obj.status = Some(isc_operator::api::IdentityProfileStatus {
        pending_create: Some(Box::new(PendingCreate {
            name: "window".into(),
            since: Time(k8s_openapi::jiff::Timestamp::now()),
        })),
        ..Default::default()
    });
    env.put_profile(&obj);
    delete(&env, "window").await;

    let error = reconcile(&mut env, "window")
        .await
        .expect_err("delete task started");
    assert!(matches!(error, ReconcileError::Waiting(_)), "{error:?}");
    let writes = env.tenant_writes().await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].starts_with("DELETE "), "{writes:?}");
    for _ in 0..50 {
        match reconcile(&mut env, "window").await {
            Err(ReconcileError::Waiting(_)) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            other => {
                other.expect("deleted");
                break;
            }
        }
    }
    assert!(
        !tenant_profiles(&env)
            .await
            .iter()
            .any(|p| p["id"] == id.as_str()),
        "the tenant profile is gone"
    );
}
