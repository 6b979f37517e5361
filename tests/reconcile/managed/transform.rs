//! A managed transform's life: created once (write-ahead marker, fresh list first), adopted,
//! updated minimally, drift corrected by the sweep, a crash between create and status resolved
//! by lookup, a type that cannot change refused before any write.

use isc_client::models::Transform as TenantTransform;
use isc_operator::api::Transform;
use isc_operator::api::managed::PendingCreate;
use isc_operator::controller::status::now;
use serde_json::json;

use super::{
    assert_ready, bodies, edit, reconcile, state, status_of, stored, sweep, tenant_client,
};
use crate::env::{TENANT, TestEnv, manifest};

/// A Transform object `name` for tenant transform `tenant_name` (type `dateFormat`).
pub fn transform(name: &str, tenant_name: &str, extra_spec: &str) -> Transform {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Transform\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: {TENANT}\n  name: {tenant_name}\n  type: dateFormat\n  attributes:\n    inputFormat: MMM-dd-yyyy\n    outputFormat: yyyy/dd/MM\n{extra_spec}"
    ))
}

/// The tenant's transforms named `name`.
async fn tenant_transforms(env: &TestEnv, name: &str) -> Vec<TenantTransform> {
    let all = tenant_client(env)
        .list_all_transforms(&Default::default())
        .await
        .expect("list");
    all.into_iter().filter(|t| t.name == name).collect()
}

/// Creates `obj` and reconciles it to Ready, then forgets the calls that took.
pub async fn create_ready(env: &TestEnv, obj: &Transform) -> String {
    let name = obj.metadata.name.clone().expect("named");
    env.put_transform(obj);
    reconcile::<Transform>(env, &name).await.expect("reconcile");
    env.cache_transform(&stored(env, &name));
    env.clear_calls().await;
    name
}

#[tokio::test]
async fn a_new_transform_is_created_once_after_its_marker_and_a_fresh_list() {
    let env = TestEnv::new().await;
    env.put_transform(&transform("dates", "Date Rc", ""));
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert_eq!(env.tenant_writes().await, vec!["POST /v2024/transforms"]);
    let calls = env.tenant_calls().await;
    let post = calls.iter().position(|c| c.starts_with("POST")).unwrap();
    assert_eq!(
        calls[post - 1],
        "GET /v2024/transforms",
        "a fresh list right before: {calls:?}"
    );
    let patches = env.kube.status_patches();
    assert_eq!(
        patches[0]["status"]["pendingCreate"]["name"], "Date Rc",
        "{patches:?}"
    );
    assert!(patches.last().unwrap()["status"]["pendingCreate"].is_null());
    assert_ready::<Transform>(&env, "dates");
    let status = status_of::<Transform>(&env, "dates");
    let created = tenant_transforms(&env, "Date Rc").await;
    assert_eq!(created.len(), 1);
    assert_eq!(status.id, created[0].id);
    assert_eq!(status.changed_generation, Some(1));
    assert_eq!(env.kube.event_reasons(), vec!["Created"]);

    // Converged: another reconcile writes nothing, to the tenant or to Kubernetes.
    env.clear_calls().await;
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert!(env.tenant_writes().await.is_empty());
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());
}

#[tokio::test]
async fn an_existing_transform_is_adopted_without_a_write() {
    let env = TestEnv::new().await;
    let existing = TenantTransform {
        name: "Date Rc".into(),
        kind: "dateFormat".into(),
        attributes: Some(
            serde_json::from_value(
                json!({"inputFormat": "MMM-dd-yyyy", "outputFormat": "yyyy/dd/MM"}),
            )
            .unwrap(),
        ),
        ..Default::default()
    };
    let existing = tenant_client(&env)
        .create_transform(&existing)
        .await
        .unwrap();
    env.clear_calls().await;
    env.put_transform(&transform("dates", "Date Rc", ""));
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert!(
        env.tenant_writes().await.is_empty(),
        "{:?}",
        env.tenant_writes().await
    );
    assert_ready::<Transform>(&env, "dates");
    assert_eq!(status_of::<Transform>(&env, "dates").id, existing.id);
    assert_eq!(env.kube.event_reasons(), vec!["Adopted"]);
}

#[tokio::test]
async fn a_spec_change_is_one_put_with_the_new_attributes() {
    let env = TestEnv::new().await;
    create_ready(&env, &transform("dates", "Date Rc", "")).await;
    let id = status_of::<Transform>(&env, "dates").id.unwrap();
    edit::<Transform>(&env, "dates", |t| {
        t.spec
            .attributes
            .insert("outputFormat".into(), json!("dd.MM.yyyy"));
    });
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert_eq!(
        env.tenant_writes().await,
        vec!["PUT /v2024/transforms/{id}"]
    );
    let put = bodies(&env, "PUT").await;
    assert_eq!(put[0]["attributes"]["outputFormat"], "dd.MM.yyyy");
    assert_eq!(
        (put[0]["name"].clone(), put[0]["type"].clone()),
        (json!("Date Rc"), json!("dateFormat"))
    );
    assert_eq!(
        tenant_transforms(&env, "Date Rc").await[0].id.as_deref(),
        Some(id.as_str())
    );
    assert_ready::<Transform>(&env, "dates");
    assert_eq!(
        status_of::<Transform>(&env, "dates").changed_generation,
        Some(2)
    );
    assert_eq!(env.kube.event_reasons(), vec!["Updated"]);
}

#[tokio::test]
async fn the_sweep_lists_once_and_finds_only_the_drifted_transform() {
    let env = TestEnv::new().await;
    create_ready(&env, &transform("dates", "Date Rc", "")).await;
    create_ready(&env, &transform("other", "Other Rc", "")).await;
    assert!(sweep::<Transform>(&env).await.is_empty(), "steady");
    assert_eq!(
        env.tenant_calls().await,
        vec!["GET /v2024/transforms"],
        "one list"
    );

    let client = tenant_client(&env);
    let mut changed = tenant_transforms(&env, "Date Rc").await.remove(0);
    let id = changed.id.take().unwrap();
    changed
        .attributes
        .as_mut()
        .unwrap()
        .insert("outputFormat".into(), json!("yy"));
    client
        .update_transform(&id, &changed)
        .await
        .expect("changed in the tenant");
    env.clear_calls().await;
    assert_eq!(sweep::<Transform>(&env).await, vec!["dates"]);
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert_eq!(
        env.tenant_writes().await,
        vec!["PUT /v2024/transforms/{id}"]
    );
    assert_eq!(
        tenant_transforms(&env, "Date Rc").await[0]
            .attributes
            .as_ref()
            .unwrap()["outputFormat"],
        "yyyy/dd/MM"
    );
    assert!(
        env.kube
            .event_reasons()
            .contains(&"DriftCorrected".to_string())
    );

    // Deleted in the tenant: the sweep finds it missing, the reconcile creates it again.
    client
        .delete_transform(&id)
        .await
        .expect("deleted in the tenant");
    env.cache_transform(&stored(&env, "dates"));
    assert_eq!(sweep::<Transform>(&env).await, vec!["dates"]);
    env.clear_calls().await;
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert_eq!(env.tenant_writes().await, vec!["POST /v2024/transforms"]);
}

#[tokio::test]
async fn a_create_cut_short_by_a_crash_is_found_by_name_not_sent_again() {
    let env = TestEnv::new().await;
    // As after kill -9 between the POST and the status write: the marker, no id, and the
    // transform on the tenant.
    let created = TenantTransform {
        name: "Date Rc".into(),
        kind: "dateFormat".into(),
        attributes: Some(
            serde_json::from_value(
                json!({"inputFormat": "MMM-dd-yyyy", "outputFormat": "yyyy/dd/MM"}),
            )
            .unwrap(),
        ),
        ..Default::default()
    };
    let created = tenant_client(&env)
        .create_transform(&created)
        .await
        .unwrap();
    let mut obj = transform("dates", "Date Rc", "");
    obj.status = Some(isc_operator::api::TenantObjectStatus {
        pending_create: Some(PendingCreate {
            name: "Date Rc".into(),
            since: now(),
        }),
        observed_generation: Some(1),
        ..Default::default()
    });
    env.put_transform(&obj);
    env.clear_calls().await;
    reconcile::<Transform>(&env, "dates")
        .await
        .expect("reconcile");
    assert!(
        env.tenant_writes().await.is_empty(),
        "{:?}",
        env.tenant_writes().await
    );
    let status = status_of::<Transform>(&env, "dates");
    assert_eq!(status.id, created.id);
    assert!(status.pending_create.is_none());
    assert_eq!(tenant_transforms(&env, "Date Rc").await.len(), 1);
    assert_ready::<Transform>(&env, "dates");
}

#[tokio::test]
async fn a_transform_of_another_type_is_not_adopted_nor_changed() {
    let env = TestEnv::new().await;
    let other = TenantTransform {
        name: "Date Rc".into(),
        kind: "lower".into(),
        ..Default::default()
    };
    tenant_client(&env).create_transform(&other).await.unwrap();
    env.clear_calls().await;
    env.put_transform(&transform("dates", "Date Rc", ""));
    let error = reconcile::<Transform>(&env, "dates").await.unwrap_err();
    assert_eq!(error.reason(), "InvalidSpec");
    assert!(env.tenant_writes().await.is_empty());
    assert_eq!(
        state::<Transform>(&env, "dates", "Stalled").unwrap().0,
        "True"
    );
    let ready = super::condition::<Transform>(&env, "dates", "Ready").unwrap();
    assert!(
        ready.message.contains("cannot change a transform's type"),
        "{ready:?}"
    );
}

#[tokio::test]
async fn a_source_name_is_resolved_into_a_source_id_shown_in_status() {
    let env = TestEnv::new().await;
    let spec = "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Transform\nmetadata:\n  name: cost\nspec:\n  tenantRef:\n    name: demo\n  name: Cost Rc\n  type: accountAttribute\n  attributes:\n    attributeName: costCenter\n    sourceName: HR Employees\n";
    env.put_transform(&manifest::<Transform>(spec));
    reconcile::<Transform>(&env, "cost")
        .await
        .expect("reconcile");
    let post = bodies(&env, "POST").await;
    let sent = post.last().expect("a create");
    assert_eq!(sent["attributes"]["sourceId"], crate::env::SOURCE_EMPLOYEES);
    assert_eq!(sent["attributes"]["sourceName"], "HR Employees");
    let status = status_of::<Transform>(&env, "cost");
    assert_eq!(
        status
            .resolved_references
            .get("source/HR Employees")
            .map(String::as_str),
        Some(crate::env::SOURCE_EMPLOYEES)
    );
    assert_ready::<Transform>(&env, "cost");
    env.clear_calls().await;
    reconcile::<Transform>(&env, "cost").await.expect("steady");
    assert!(
        env.tenant_writes().await.is_empty(),
        "the resolved id is no drift"
    );
}
