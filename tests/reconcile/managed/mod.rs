//! Reconciler tests of the identity-model controllers (`IdentityAttribute`, `Transform`,
//! `LifecycleState`): one generic pipeline, so the shared behaviour (create once, adopt, minimal
//! update, drift, deletion policy, Observe, pause, the write-ahead marker) is shown on
//! transforms and the per-kind rules on each kind.

mod attribute;
mod lifecycle_state;
mod transform;
mod transform_policies;

use std::sync::Arc;

use isc_client::{TenantClient, TenantClientConfig};
use isc_operator::api::managed::TenantObjectStatus;
use isc_operator::controller::error::ReconcileError;
use isc_operator::controller::managed::{self, ManagedKind};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use secrecy::SecretString;

use crate::env::{CLIENT_ID, CLIENT_SECRET, NAMESPACE, TENANT, TestEnv};

/// The stored object `name` of kind `K`.
fn stored<K: ManagedKind>(env: &TestEnv, name: &str) -> K {
    env.kube.get::<K>(NAMESPACE, name).expect("object exists")
}

/// Reconciles the stored object; under `deletionPolicy: Delete` without the finalizer yet,
/// first the pass that adds it (as the controller's first pass does).
async fn reconcile<K: ManagedKind>(env: &TestEnv, name: &str) -> Result<Action, ReconcileError> {
    let obj: K = stored(env, name);
    let wants = obj.deletion_policy() == isc_operator::api::managed::DeletionPolicy::Delete;
    if wants && obj.meta().finalizers.as_ref().is_none_or(Vec::is_empty) {
        let added = managed::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await;
        assert_eq!(added.expect("finalizer added"), Action::await_change());
    }
    let obj: K = stored(env, name);
    managed::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await
}

/// The status of the stored object.
fn status_of<K: ManagedKind>(env: &TestEnv, name: &str) -> TenantObjectStatus {
    stored::<K>(env, name).status().cloned().expect("status")
}

/// Condition `type_` of the stored object.
fn condition<K: ManagedKind>(env: &TestEnv, name: &str, type_: &str) -> Option<Condition> {
    let status = status_of::<K>(env, name);
    status.conditions.into_iter().find(|c| c.type_ == type_)
}

/// `(status, reason)` of condition `type_`, `None` when absent.
fn state<K: ManagedKind>(env: &TestEnv, name: &str, type_: &str) -> Option<(String, String)> {
    condition::<K>(env, name, type_).map(|c| (c.status, c.reason))
}

/// Asserts `Ready` and `Synced` True (reason `Synced`) for the object's generation, without
/// `Reconciling`, `Stalled` or `Suspended`.
fn assert_ready<K: ManagedKind>(env: &TestEnv, name: &str) {
    let obj: K = stored(env, name);
    let status = obj.status().expect("status");
    for type_ in ["Ready", "Synced"] {
        let c = condition::<K>(env, name, type_).expect(type_);
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "Synced"),
            "{c:?}"
        );
        assert_eq!(c.observed_generation, obj.meta().generation);
    }
    assert_eq!(status.observed_generation, obj.meta().generation);
    for type_ in ["Reconciling", "Stalled", "Suspended"] {
        assert!(
            condition::<K>(env, name, type_).is_none(),
            "{type_}: {status:?}"
        );
    }
}

/// Deletes the object through the API (it stays, marked, while it has a finalizer).
async fn delete<K: ManagedKind>(env: &TestEnv, name: &str) {
    let api: Api<K> = Api::namespaced(env.kube.client(), NAMESPACE);
    api.delete(name, &Default::default())
        .await
        .expect("delete accepted");
}

/// Changes the stored object's spec as `kubectl apply` would (a new generation).
fn edit<K: ManagedKind>(env: &TestEnv, name: &str, change: impl FnOnce(&mut K)) -> K {
    let mut obj: K = stored(env, name);
    change(&mut obj);
    obj.meta_mut().generation = obj.meta().generation.map(|g| g + 1);
    env.kube.insert(&obj)
}

/// A tenant client with the test credential, for changes made "in the tenant" (drift).
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

/// Runs the kind's resync sweep for the test Tenant; returns the names it would reconcile.
async fn sweep<K: ManagedKind>(env: &TestEnv) -> Vec<String> {
    let key = ObjectRef::new(TENANT).within(NAMESPACE);
    let tenant = env.ctx.tenants_store().get(&key).expect("tenant cached");
    let due = managed::sweep::sweep_tenant::<K>(&env.ctx, &tenant)
        .await
        .expect("sweep");
    due.into_iter().map(|(obj, _)| obj.name).collect()
}

/// The request bodies of the journal's calls matching `method` (non-token).
async fn bodies(env: &TestEnv, method: &str) -> Vec<serde_json::Value> {
    env.journal()
        .await
        .into_iter()
        .filter(|e| e.method == method && e.operation_id.as_deref() != Some("token"))
        .map(|e| e.body)
        .collect()
}
