//! The policies on a transform (the same pipeline serves every identity-model kind):
//! `deletionPolicy` (Orphan without a finalizer, Delete behind one, held by a pause),
//! `managementPolicy: Observe`, the pause annotation.

use isc_operator::api::Transform;
use isc_operator::api::managed::DeletionPolicy;
use isc_operator::controller::pause::PAUSED_ANNOTATION;
use serde_json::json;

use super::transform::{create_ready, transform};
use super::{delete, edit, reconcile, state, status_of, stored, tenant_client};
use crate::env::{NAMESPACE, TestEnv};

async fn on_tenant(env: &TestEnv, name: &str) -> usize {
    let all = tenant_client(env)
        .list_all_transforms(&Default::default())
        .await
        .unwrap();
    all.iter().filter(|t| t.name == name).count()
}

#[tokio::test]
async fn orphan_leaves_the_transform_and_needs_no_finalizer() {
    let env = TestEnv::new().await;
    create_ready(&env, &transform("dates", "Date Rc", "")).await;
    let obj: Transform = stored(&env, "dates");
    assert!(
        obj.metadata.finalizers.is_none(),
        "no finalizer under Orphan"
    );
    delete::<Transform>(&env, "dates").await;
    assert!(
        env.kube.get::<Transform>(NAMESPACE, "dates").is_none(),
        "gone at once"
    );
    assert_eq!(on_tenant(&env, "Date Rc").await, 1);
    assert!(env.tenant_writes().await.is_empty());
}

#[tokio::test]
async fn delete_removes_the_transform_behind_a_finalizer_and_a_pause_holds_it() {
    let env = TestEnv::new().await;
    create_ready(
        &env,
        &transform("dates", "Date Rc", "  deletionPolicy: Delete\n"),
    )
    .await;
    let obj: Transform = stored(&env, "dates");
    assert_eq!(
        obj.metadata.finalizers.as_deref(),
        Some(&[isc_operator::controller::profile::FINALIZER.to_string()][..])
    );
    // Paused, the delete waits (Suspended) and the finalizer stays.
    edit::<Transform>(&env, "dates", |t| {
        t.metadata
            .annotations
            .get_or_insert_default()
            .insert(PAUSED_ANNOTATION.into(), "true".into());
    });
    delete::<Transform>(&env, "dates").await;
    let held = reconcile::<Transform>(&env, "dates").await.unwrap_err();
    assert_eq!(held.reason(), "Paused");
    assert_eq!(
        state::<Transform>(&env, "dates", "Suspended"),
        Some(("True".into(), "Paused".into()))
    );
    assert!(env.tenant_writes().await.is_empty());
    assert_eq!(on_tenant(&env, "Date Rc").await, 1);
    // Lifted: deleted on the tenant, then the object goes.
    let mut obj: Transform = stored(&env, "dates");
    obj.metadata
        .annotations
        .as_mut()
        .unwrap()
        .remove(PAUSED_ANNOTATION);
    env.kube.insert(&obj);
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("cleanup");
    assert_eq!(
        env.tenant_writes().await,
        vec!["DELETE /v2024/transforms/{id}"]
    );
    assert_eq!(on_tenant(&env, "Date Rc").await, 0);
    assert!(env.kube.get::<Transform>(NAMESPACE, "dates").is_none());
    assert!(env.kube.event_reasons().contains(&"Deleted".to_string()));
}

#[tokio::test]
async fn observe_shows_the_plan_and_writes_nothing() {
    let env = TestEnv::new().await;
    env.put_transform(&transform(
        "dates",
        "Date Rc",
        "  managementPolicy: Observe\n",
    ));
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert!(env.tenant_writes().await.is_empty());
    let status = status_of::<Transform>(&env, "dates");
    let plan = status.planned_change.expect("plan shown");
    assert_eq!(plan.action, "Create");
    assert_eq!(
        plan.patches[0][0].value.as_ref().unwrap()["name"],
        "Date Rc"
    );
    assert_eq!(
        state::<Transform>(&env, "dates", "Ready"),
        Some(("True".into(), "Observed".into()))
    );
    assert_eq!(
        state::<Transform>(&env, "dates", "Synced"),
        Some(("False".into(), "ObserveOnly".into()))
    );
    assert_eq!(on_tenant(&env, "Date Rc").await, 0);
}

#[tokio::test]
async fn a_paused_transform_shows_its_plan_and_writes_nothing() {
    let env = TestEnv::new().await;
    create_ready(&env, &transform("dates", "Date Rc", "")).await;
    edit::<Transform>(&env, "dates", |t| {
        t.metadata
            .annotations
            .get_or_insert_default()
            .insert(PAUSED_ANNOTATION.into(), "true".into());
        t.spec.attributes.insert("outputFormat".into(), json!("yy"));
        t.spec.deletion_policy = DeletionPolicy::Orphan;
    });
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert!(env.tenant_writes().await.is_empty());
    assert_eq!(
        state::<Transform>(&env, "dates", "Suspended"),
        Some(("True".into(), "Paused".into()))
    );
    assert_eq!(
        state::<Transform>(&env, "dates", "Ready"),
        Some(("False".into(), "Paused".into()))
    );
    let plan = status_of::<Transform>(&env, "dates")
        .planned_change
        .expect("plan");
    assert_eq!(plan.action, "Update");
    assert_eq!(plan.patches[0][0].path, "/attributes");
    assert_eq!(env.kube.event_reasons(), vec!["Paused"]);
}

#[tokio::test]
async fn a_second_object_for_the_same_transform_is_in_conflict_and_writes_nothing() {
    let env = TestEnv::new().await;
    create_ready(&env, &transform("a-dates", "Date Rc", "")).await;
    env.put_transform(&transform("b-dates", "Date Rc", ""));
    let mut other: Transform = stored(&env, "b-dates");
    other
        .spec
        .attributes
        .insert("outputFormat".into(), json!("yy"));
    env.put_transform(&other);
    let error = reconcile::<Transform>(&env, "b-dates").await.unwrap_err();
    assert_eq!(error.reason(), "Conflict");
    assert!(env.tenant_calls().await.is_empty(), "no tenant call at all");
    assert_eq!(
        state::<Transform>(&env, "b-dates", "Conflict").unwrap().0,
        "True"
    );
    assert_eq!(
        state::<Transform>(&env, "b-dates", "Stalled").unwrap().0,
        "True"
    );
    let message = super::condition::<Transform>(&env, "b-dates", "Conflict")
        .unwrap()
        .message;
    assert!(message.contains("a-dates"), "names the owner: {message}");
}

#[tokio::test]
async fn a_delete_held_by_the_tenants_suspend_goes_on_when_the_sweep_sees_it_lifted() {
    let env = TestEnv::new().await;
    create_ready(
        &env,
        &transform("dates", "Date Rc", "  deletionPolicy: Delete\n"),
    )
    .await;
    let key = kube::runtime::reflector::ObjectRef::new(crate::env::TENANT).within(NAMESPACE);
    let tenant = env.ctx.tenants_store().get(&key).unwrap();
    let mut suspended = isc_operator::api::Tenant::clone(&tenant);
    suspended.spec.suspend = true;
    env.put_tenant(&suspended);
    delete::<Transform>(&env, "dates").await;
    let held = reconcile::<Transform>(&env, "dates").await.unwrap_err();
    assert_eq!(held.reason(), "TenantSuspended");
    env.cache_transform(&stored(&env, "dates"));
    assert!(
        super::sweep::<Transform>(&env).await.is_empty(),
        "still held"
    );
    suspended.spec.suspend = false;
    env.put_tenant(&suspended);
    assert_eq!(
        super::sweep::<Transform>(&env).await,
        vec!["dates"],
        "lifted"
    );
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("deleted");
    assert_eq!(on_tenant(&env, "Date Rc").await, 0);
    assert!(env.kube.get::<Transform>(NAMESPACE, "dates").is_none());
}
