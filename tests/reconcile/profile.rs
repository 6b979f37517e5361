//! Reconciler tests of the `IdentityProfile` controller, by area: the lifecycle of a managed
//! profile, deletion, and every error class. Helpers shared by them live here.

mod deletion;
mod deletion_safety;
mod errors;
mod finalizer;
mod lifecycle;
mod ordering;
mod ownership;
mod pause;
mod preview;
mod references;
mod refusals;
mod waves;

use std::sync::Arc;

use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::error::ReconcileError;
use isc_operator::controller::profile;
use isc_sim::testing::SimAdmin;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Api;
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use crate::env::{NAMESPACE, SOURCE_EMPLOYEES, TENANT, TestEnv};

/// Reconciles the object as stored; when it wants the finalizer (`deletionPolicy: Delete`) and
/// has none yet, first runs the reconcile that only adds it (as the controller's first pass
/// does), then the one that does the work.
async fn reconcile(env: &mut TestEnv, name: &str) -> Result<Action, ReconcileError> {
    reconcile_in(env, NAMESPACE, name).await
}

/// [`reconcile`] for an object in any namespace.
async fn reconcile_in(
    env: &mut TestEnv,
    namespace: &str,
    name: &str,
) -> Result<Action, ReconcileError> {
    let obj = env.profile_in(namespace, name).expect("profile exists");
    if profile::wants_finalizer(&obj) && obj.metadata.finalizers.as_ref().is_none_or(Vec::is_empty)
    {
        let added = profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await;
        assert_eq!(added.expect("finalizer added"), Action::await_change());
    }
    let obj = env.profile_in(namespace, name).expect("profile exists");
    profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await
}

/// Stores `obj`, reconciles it to Ready, and forgets the calls that took.
async fn create_ready(env: &mut TestEnv, obj: &IdentityProfile) -> IdentityProfile {
    let name = obj.metadata.name.clone().expect("named");
    env.put_profile(obj);
    reconcile(env, &name).await.expect("reconcile succeeds");
    env.clear_calls().await;
    env.profile(&name)
}

/// Changes the stored object's spec as `kubectl apply` would: a new generation.
fn edit_spec(env: &mut TestEnv, name: &str, edit: impl FnOnce(&mut IdentityProfile)) {
    let mut obj = env.profile(name);
    edit(&mut obj);
    obj.metadata.generation = obj.metadata.generation.map(|g| g + 1);
    env.put_profile(&obj);
}

/// Deletes the object through the API (it stays, marked, while it has a finalizer).
async fn delete(env: &TestEnv, name: &str) {
    let api: Api<IdentityProfile> = Api::namespaced(env.kube.client(), NAMESPACE);
    api.delete(name, &Default::default())
        .await
        .expect("delete accepted");
}

/// The condition `type_` of the stored object.
fn condition(obj: &IdentityProfile, type_: &str) -> Condition {
    let conditions = &obj.status.as_ref().expect("status").conditions;
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {conditions:?}"))
        .clone()
}

/// `(status, reason)` of condition `type_`.
fn condition_state(obj: &IdentityProfile, type_: &str) -> (String, String) {
    let c = condition(obj, type_);
    (c.status, c.reason)
}

/// Bumps the Tenant's generation (in the API and the watch cache), so the next reconcile
/// builds a new tenant client with an empty shared profile list (as after a resync sweep).
fn new_tenant_generation(env: &TestEnv) {
    let mut tenant: Tenant = env.kube.get(NAMESPACE, TENANT).expect("tenant");
    tenant.metadata.generation = tenant.metadata.generation.map(|g| g + 1);
    env.put_tenant(&tenant);
}

/// The simulator's admin API.
fn admin(env: &TestEnv) -> SimAdmin {
    SimAdmin::new(&env.sim)
}

/// Stores a tenant profile directly in the simulator (as if made in the UI); returns its id.
async fn put_tenant_profile(env: &TestEnv, name: &str, description: &str) -> String {
    let stored = admin(env)
        .put_profile(json!({"name": name, "description": description,
            "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"}}))
        .await;
    stored["id"].as_str().expect("profile id").to_string()
}

/// The tenant profiles as the simulator holds them.
async fn tenant_profiles(env: &TestEnv) -> Vec<Value> {
    admin(env).get("/__sim/identity-profiles").await
}

/// Bodies of the tenant's write calls, in order.
async fn tenant_write_bodies(env: &TestEnv) -> Vec<Value> {
    env.journal()
        .await
        .into_iter()
        .filter(|e| e.method != "GET" && e.operation_id.as_deref() != Some("token"))
        .map(|e| e.body)
        .collect()
}
