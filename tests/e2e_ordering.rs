//! End to end on a real kube-apiserver: a profile and the identity attribute and transform its
//! mappings use, applied together in one `kubectl apply`, converge with zero refused calls in
//! the tenant's journal whatever the order of the documents: the profile waits
//! (`WaitingForDependencies`) until both are on the tenant.

pub mod support;

use std::time::Duration;

use isc_operator::api::{IdentityAttribute, Transform};
use kube::Api;
use serde::de::DeserializeOwned;
use support::e2e::*;

/// An attribute `cost{suffix}`, a transform `Department {suffix}` and a profile `Staff
/// {suffix}` mapping both, as YAML documents in the order `order` gives (indices into
/// attribute, transform, profile).
fn documents(suffix: &str, order: [usize; 3]) -> String {
    let lower = suffix.to_lowercase();
    let attribute = format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityAttribute\nmetadata:\n  name: cost-{lower}\nspec:\n  tenantRef:\n    name: demo\n  name: cost{suffix}\n  displayName: Cost {suffix}\n"
    );
    let transform = format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Transform\nmetadata:\n  name: department-{lower}\nspec:\n  tenantRef:\n    name: demo\n  name: Department {suffix}\n  type: lower\n  attributes:\n    input:\n      type: accountAttribute\n      attributes:\n        attributeName: department\n        sourceName: HR Employees\n"
    );
    let profile = format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata:\n  name: staff-{lower}\nspec:\n  tenantRef:\n    name: demo\n  name: Staff {suffix}\n  authoritativeSource:\n    name: HR Employees\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: cost{suffix}\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: costCenter\n            sourceName: HR Employees\n      - identityAttributeName: department\n        transformDefinition:\n          type: reference\n          attributes:\n            id: Department {suffix}\n"
    );
    let all = [attribute, transform, profile];
    order
        .iter()
        .map(|&i| all[i].clone())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// Waits until object `name` of kind `K` is Ready for its generation.
async fn wait_ready_kind<K>(env: &Env, name: &str)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + serde::Serialize,
{
    let api: Api<K> = Api::namespaced(env.kube.clone(), &env.ns);
    env.wait_for(
        &format!("{} {name} Ready", K::kind(&())),
        Duration::from_secs(90),
        || {
            let api = api.clone();
            async move {
                let obj = serde_json::to_value(api.get_opt(name).await.ok()??).ok()?;
                let generation = obj["metadata"]["generation"].clone();
                let status = &obj["status"];
                let ready = status["conditions"]
                    .as_array()?
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                (ready && status["observedGeneration"] == generation).then_some(())
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_applied_with_its_attribute_and_transform_converges_without_a_refusal() {
    let env = Env::new("ordering").await;
    env.apply_tenant(2).await;
    // Profile first, and profile last: one `kubectl apply` each.
    env.apply(&documents("First", [2, 1, 0])).await;
    env.apply(&documents("Last", [0, 1, 2])).await;
    for suffix in ["first", "last"] {
        env.wait_ready(&format!("staff-{suffix}")).await;
        wait_ready_kind::<IdentityAttribute>(&env, &format!("cost-{suffix}")).await;
        wait_ready_kind::<Transform>(&env, &format!("department-{suffix}")).await;
    }
    let refused: Vec<String> = env
        .admin
        .journal()
        .await
        .into_iter()
        .filter(|e| e.status >= 400 && e.operation_id.as_deref() != Some("token"))
        .map(|e| format!("{} {} {}: {}", e.method, e.path, e.status, e.response_body))
        .collect();
    assert!(refused.is_empty(), "refused calls: {refused:?}");
    let tenant = env.tenant_profiles().await;
    for name in ["Staff First", "Staff Last"] {
        let named: Vec<_> = tenant.iter().filter(|p| p["name"] == name).collect();
        assert_eq!(named.len(), 1, "created once: {name}");
        let profile = named[0];
        let mapped = profile["identityAttributeConfig"]["attributeTransforms"]
            .as_array()
            .expect("mappings")
            .len();
        assert_eq!(mapped, 2, "{profile}");
    }
}
