//! End to end on a real kube-apiserver: the identity-model kinds (`IdentityAttribute`,
//! `Transform`, `LifecycleState`) created, adopted, updated minimally (the simulator's
//! journal), drift corrected, deleted per policy; admission (CEL) refuses changes to the
//! fields the tenant cannot change; a profile and the attribute and transform it uses, applied
//! together, converge without a refused write whatever the order of the documents.

pub mod support;

use std::fmt::Debug;
use std::time::Duration;

use isc_client::models::Transform as TenantTransform;
use isc_client::{TenantClient, TenantClientConfig};
use isc_sim::JournalEntry;
use k8s_openapi::NamespaceResourceScope;
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::e2e::*;
use support::{USER_CLIENT_ID, USER_CLIENT_SECRET};

use isc_operator::api::{IdentityAttribute, LifecycleState, Transform};

const WAIT: Duration = Duration::from_secs(60);

/// Waits until the kinds' CRDs are served (installed with the others at start).
async fn wait_crds(env: &Env) {
    let out = env
        .cp
        .kubectl_async(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/identityattributes.isc.identitynow.dev",
            "crd/transforms.isc.identitynow.dev",
            "crd/lifecyclestates.isc.identitynow.dev",
        ])
        .await;
    assert_success(&out, "identity-model CRDs established");
}

/// Whether the object (as JSON) is Ready for its current generation.
fn ready(v: &Value) -> bool {
    let generation = &v["metadata"]["generation"];
    let status = &v["status"];
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    status["observedGeneration"] == *generation
        && conditions.iter().any(|c| {
            c["type"] == "Ready" && c["status"] == "True" && c["observedGeneration"] == *generation
        })
}

/// Waits until object `name` of kind `K` passes `check` (on its JSON).
async fn wait_until<K>(env: &Env, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug,
{
    let api: Api<K> = Api::namespaced(env.kube.clone(), &env.ns);
    let check = &check;
    env.wait_for(&format!("{name}: {what}"), WAIT, || {
        let api = api.clone();
        async move {
            let obj = api.get_opt(name).await.ok()??;
            let v = serde_json::to_value(&obj).ok()?;
            check(&v).then_some(v)
        }
    })
    .await
}

async fn wait_ready<K>(env: &Env, name: &str) -> Value
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug,
{
    wait_until::<K>(env, name, "Ready", ready).await
}

/// A tenant client with the tests' user-context credential (changes "in the tenant").
fn tenant_client(env: &Env) -> TenantClient {
    isc_client::client::install_crypto_provider();
    let mut config = TenantClientConfig::new(
        &env.sim.base_url(),
        USER_CLIENT_ID,
        secrecy::SecretString::from(USER_CLIENT_SECRET.to_string()),
    )
    .unwrap();
    config.allow_insecure_http = true;
    TenantClient::new(config).unwrap()
}

/// The journal's write calls as `METHOD route`.
async fn writes(env: &Env) -> Vec<String> {
    let entries: Vec<JournalEntry> = env.tenant_writes().await;
    entries
        .into_iter()
        .map(|e| format!("{} {}", e.method, e.route.unwrap_or(e.path)))
        .collect()
}

fn count(writes: &[String], call: &str) -> usize {
    writes.iter().filter(|w| w.as_str() == call).count()
}

const ATTRIBUTES: &str = "/v2024/identity-attributes";
const TRANSFORMS: &str = "/v2024/transforms";
const STATES: &str = "/v2024/identity-profiles/{identity-profile-id}/lifecycle-states";

fn attribute_yaml(display_name: &str) -> String {
    format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityAttribute\nmetadata:\n  name: cost-center\nspec:\n  tenantRef:\n    name: demo\n  name: costCenter\n  displayName: {display_name}\n  deletionPolicy: Delete\n"
    )
}

fn transform_yaml(object: &str, name: &str, kind: &str, output: &str) -> String {
    format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Transform\nmetadata:\n  name: {object}\nspec:\n  tenantRef:\n    name: demo\n  name: {name}\n  type: {kind}\n  attributes:\n    inputFormat: MMM-dd-yyyy\n    outputFormat: {output}\n"
    )
}

fn state_yaml(description: &str) -> String {
    format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: LifecycleState\nmetadata:\n  name: employees-active\nspec:\n  tenantRef:\n    name: demo\n  identityProfileRef:\n    name: employees\n  technicalName: active\n  name: Active\n  description: {description}\n  enabled: true\n  deletionPolicy: Delete\n"
    )
}

fn employees_yaml() -> String {
    profile_yaml(
        "employees",
        "Employees Im",
        &format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_is_created_adopted_updated_minimally_and_deleted_per_policy() {
    let env = Env::new("idmodel").await;
    wait_crds(&env).await;
    env.apply_tenant(2).await;
    let client = tenant_client(&env);
    let existing = TenantTransform {
        name: "Adopted Im".into(),
        kind: "dateFormat".into(),
        attributes: Some(
            serde_json::from_value(json!({"inputFormat": "MMM-dd-yyyy", "outputFormat": "yyyy"}))
                .unwrap(),
        ),
        ..Default::default()
    };
    let existing = client.create_transform(&existing).await.unwrap();
    env.admin.clear_journal().await;

    let all = [
        attribute_yaml("Cost Center"),
        transform_yaml("dates", "Dates Im", "dateFormat", "yyyy/dd/MM"),
        transform_yaml("adopted", "Adopted Im", "dateFormat", "yyyy"),
        employees_yaml(),
        state_yaml("Working"),
    ]
    .join("---\n");
    env.apply(&all).await;
    wait_ready::<IdentityAttribute>(&env, "cost-center").await;
    let dates = wait_ready::<Transform>(&env, "dates").await;
    let adopted = wait_ready::<Transform>(&env, "adopted").await;
    let state = wait_ready::<LifecycleState>(&env, "employees-active").await;
    assert_eq!(
        adopted["status"]["id"],
        json!(existing.id),
        "adopted by name"
    );
    assert!(state["status"]["resolvedReferences"]["identityProfile/employees"].is_string());
    let created = writes(&env).await;
    assert_eq!(
        count(&created, &format!("POST {ATTRIBUTES}")),
        1,
        "{created:?}"
    );
    assert_eq!(
        count(&created, &format!("POST {TRANSFORMS}")),
        1,
        "adopted: no create: {created:?}"
    );
    assert_eq!(count(&created, &format!("POST {STATES}")), 1, "{created:?}");
    assert!(!created.iter().any(|w| w.starts_with("PUT")), "{created:?}");

    // Adoption of the other kinds: a standard attribute the tenant has, a state already in
    // the profile; neither is created nor changed.
    let profile_id = env
        .profiles()
        .get("employees")
        .await
        .unwrap()
        .status
        .unwrap()
        .id
        .unwrap();
    let inactive = isc_client::models::ProfileLifecycleState {
        name: "Inactive".into(),
        technical_name: "inactive".into(),
        ..Default::default()
    };
    let inactive = client
        .create_lifecycle_state(&profile_id, &inactive)
        .await
        .unwrap();
    env.admin.clear_journal().await;
    let adopted_yaml = format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityAttribute\nmetadata:\n  name: department\nspec:\n  tenantRef:\n    name: demo\n  name: department\n---\n{}",
        state_yaml("x")
            .replace("employees-active", "employees-inactive")
            .replace("technicalName: active", "technicalName: inactive")
            .replace("name: Active", "name: Inactive")
            .replace("  description: x\n  enabled: true\n", "")
    );
    env.apply(&adopted_yaml).await;
    wait_ready::<IdentityAttribute>(&env, "department").await;
    let state = wait_ready::<LifecycleState>(&env, "employees-inactive").await;
    assert_eq!(state["status"]["id"], json!(inactive.id));
    let adoption = writes(&env).await;
    assert!(adoption.is_empty(), "adopted without a write: {adoption:?}");

    // Printer columns.
    let out = env
        .kubectl(&["get", "transforms.isc.identitynow.dev"])
        .await;
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    for column in ["TRANSFORM", "TYPE", "TENANT ID", "READY"] {
        assert!(
            table.lines().next().unwrap_or_default().contains(column),
            "{table}"
        );
    }
    assert!(
        table.contains(dates["status"]["id"].as_str().unwrap()),
        "{table}"
    );

    // One change each: one PUT, one PUT, one PATCH of the changed field.
    env.admin.clear_journal().await;
    let changed = [
        attribute_yaml("Cost Centre"),
        transform_yaml("dates", "Dates Im", "dateFormat", "dd.MM.yyyy"),
        transform_yaml("adopted", "Adopted Im", "dateFormat", "yyyy"),
        employees_yaml(),
        state_yaml("Current staff"),
    ]
    .join("---\n");
    env.apply(&changed).await;
    wait_ready::<IdentityAttribute>(&env, "cost-center").await;
    wait_ready::<Transform>(&env, "dates").await;
    wait_ready::<LifecycleState>(&env, "employees-active").await;
    let updates = writes(&env).await;
    assert_eq!(updates.len(), 3, "exactly the three updates: {updates:?}");
    assert_eq!(count(&updates, &format!("PUT {ATTRIBUTES}/{{name}}")), 1);
    assert_eq!(count(&updates, &format!("PUT {TRANSFORMS}/{{id}}")), 1);
    assert_eq!(
        count(&updates, &format!("PATCH {STATES}/{{lifecycle-state-id}}")),
        1
    );
    let journal = env.admin.api_calls().await;
    let patch = journal.iter().find(|e| e.method == "PATCH").unwrap();
    assert_eq!(
        patch.body,
        json!([{"op": "replace", "path": "/description", "value": "Current staff"}])
    );

    // Drift: changed in the tenant, put back by the resync sweep.
    let id = dates["status"]["id"].as_str().unwrap().to_string();
    let mut drifted = client.get_transform(&id).await.unwrap();
    drifted
        .attributes
        .as_mut()
        .unwrap()
        .insert("outputFormat".into(), json!("yy"));
    drifted.id = None;
    drifted.internal = None;
    client.update_transform(&id, &drifted).await.unwrap();
    env.wait_for("the drift corrected", WAIT, || {
        let client = client.clone();
        let id = id.clone();
        async move {
            let t = client.get_transform(&id).await.ok()?;
            (t.attributes?["outputFormat"] == "dd.MM.yyyy").then_some(())
        }
    })
    .await;

    // Deletion per policy: Orphan leaves the transform, Delete removes attribute and state.
    for (kind, name) in [
        ("transform", "dates"),
        ("identityattribute", "cost-center"),
        ("lifecyclestate", "employees-active"),
    ] {
        let out = env
            .kubectl(&["delete", kind, name, "--wait=true", "--timeout=60s"])
            .await;
        assert_success(&out, &format!("kubectl delete {kind} {name}"));
    }
    assert!(
        client.get_transform(&id).await.is_ok(),
        "Orphan: the transform stays"
    );
    assert!(
        client.get_identity_attribute("costCenter").await.is_err(),
        "Delete: gone"
    );
    let profile_id = env
        .profiles()
        .get("employees")
        .await
        .unwrap()
        .status
        .unwrap()
        .id
        .unwrap();
    let states = client
        .list_all_lifecycle_states(&profile_id, &Default::default())
        .await
        .unwrap();
    assert!(
        states.iter().all(|s| s.technical_name != "active"),
        "Delete: gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_rejects_changes_to_fields_the_tenant_cannot_change() {
    let env = Env::new("idmodel-cel").await;
    wait_crds(&env).await;
    env.apply_tenant(2).await;
    let state = state_yaml("Working");
    env.apply(
        &[
            attribute_yaml("Cost Center"),
            transform_yaml("dates", "Dates Cel", "dateFormat", "yyyy"),
            state.clone(),
        ]
        .join("---\n"),
    )
    .await;
    let refused = [
        (
            transform_yaml("dates", "Other Name", "dateFormat", "yyyy"),
            "name is immutable",
        ),
        (
            transform_yaml("dates", "Dates Cel", "lower", "yyyy"),
            "type is immutable",
        ),
        (
            attribute_yaml("Cost Center").replace("costCenter", "otherName"),
            "name is immutable",
        ),
        (
            format!("{}  multi: true\n", attribute_yaml("Cost Center")),
            "multi is immutable",
        ),
        (
            state.replace("technicalName: active", "technicalName: other"),
            "technicalName is immutable",
        ),
    ];
    for (yaml, message) in refused {
        let out = env.try_apply(&yaml).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "applied: {yaml}");
        assert!(stderr.contains(message), "{message:?} not in: {stderr}");
    }
}

/// A profile mapping `costCenter` through the saved transform, with the attribute and the
/// transform in the same `kubectl apply`.
fn mapped_profile_yaml() -> String {
    profile_yaml(
        "employees",
        "Employees Order",
        &format!(
            "  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: costCenter\n        transformDefinition:\n          type: reference\n          attributes:\n            id: Cost Center Order\n"
        ),
    )
}

fn used_transform_yaml() -> String {
    "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Transform\nmetadata:\n  name: cost-center\nspec:\n  tenantRef:\n    name: demo\n  name: Cost Center Order\n  type: accountAttribute\n  attributes:\n    attributeName: costCenter\n    sourceName: HR Employees\n".to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_and_what_it_uses_converge_in_one_apply_whatever_the_order() {
    let orders: [&[usize]; 2] = [&[0, 1, 2], &[2, 1, 0]];
    for (n, order) in orders.into_iter().enumerate() {
        let env = Env::new(&format!("idmodel-order{n}")).await;
        wait_crds(&env).await;
        env.apply_tenant(2).await;
        let documents = [
            attribute_yaml("Cost Center"),
            used_transform_yaml(),
            mapped_profile_yaml(),
        ];
        let manifest: Vec<String> = order.iter().map(|&i| documents[i].clone()).collect();
        env.apply(&manifest.join("---\n")).await;
        wait_ready::<IdentityAttribute>(&env, "cost-center").await;
        wait_ready::<Transform>(&env, "cost-center").await;
        env.wait_ready("employees").await;
        let journal = env.admin.api_calls().await;
        let refused: Vec<_> = journal
            .iter()
            .filter(|e| e.method != "GET" && e.status >= 400)
            .map(|e| format!("{} {} {} {}", e.method, e.path, e.status, e.response_body))
            .collect();
        assert!(
            refused.is_empty(),
            "order {order:?}: refused writes {refused:?}"
        );
        let profiles = env.tenant_profiles().await;
        let profile = profiles
            .iter()
            .find(|p| p["name"] == "Employees Order")
            .expect("created");
        let mapped = &profile["identityAttributeConfig"]["attributeTransforms"][0];
        assert_eq!(mapped["identityAttributeName"], "costCenter", "{profile}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_model_examples_become_ready() {
    let env = Env::new("idmodel-examples").await;
    wait_crds(&env).await;
    env.apply_tenant(2).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples");
    let files = [
        "identity-attribute.yaml",
        "transform.yaml",
        "employees.yaml",
        "lifecycle-state.yaml",
    ];
    for file in files {
        let out = env
            .kubectl(&["apply", "-f", &format!("{dir}/{file}")])
            .await;
        assert_success(&out, &format!("kubectl apply -f deploy/examples/{file}"));
    }
    wait_ready::<IdentityAttribute>(&env, "cost-center").await;
    let transform = wait_ready::<Transform>(&env, "cost-center-from-hr").await;
    assert_eq!(
        transform["status"]["resolvedReferences"]["source/HR Employees"], SOURCE_EMPLOYEES,
        "the source name resolved"
    );
    env.wait_ready("employees").await;
    wait_ready::<LifecycleState>(&env, "employees-active").await;
    let journal = env.admin.api_calls().await;
    let refused: Vec<_> = journal
        .iter()
        .filter(|e| e.method != "GET" && e.status >= 400)
        .map(|e| format!("{} {} {}", e.method, e.path, e.status))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}
