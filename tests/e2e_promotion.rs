//! End to end on a real kube-apiserver: promotion. One directory of manifests that names
//! tenant objects instead of giving their ids (`tests/e2e_manifests/promotion/`: an
//! `IdentityProfile` naming its source, owner and transform, and the `Transform` it uses) is
//! applied unchanged, with one `kubectl apply` each, to two Tenants ("sandbox" and
//! "production") on two simulators seeded with the same source names under different ids.
//! Both converge without a refused write, and each tenant got its own ids.

pub mod support;

use std::time::Duration;

use isc_client::{ListParams, TenantClient, TenantClientConfig};
use isc_operator::api::Transform;
use isc_sim::Seed;
use kube::Api;
use secrecy::SecretString;
use serde_json::{Value, json};
use support::e2e::*;
use support::{USER_CLIENT_ID, USER_CLIENT_SECRET, sim_config};

const MANIFESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e_manifests/promotion");
const SOURCE: &str = "HR Employees";
const TRANSFORM: &str = "Department From HR";
/// The seed's identity with alias `ada.lovelace` (the same on both simulators).
const ADA_ID: &str = "2c9180857a1b4c2d0000000000000000";

/// One tenant's world: its simulator (sources under ids derived from `tenant`), namespace,
/// Tenant `demo` and operator; returns it with the id its seed gives the source.
async fn tenant_env(tenant: &str) -> (Env, String) {
    let mut config = sim_config();
    config.seed = Seed::builtin().with_tenant_source_ids(tenant);
    let source_id = config
        .seed
        .sources
        .iter()
        .find(|s| s.name == SOURCE)
        .expect("seeded source")
        .id
        .clone();
    let env = Env::with_sim(tenant, "127.0.0.1:0", config).await;
    env.apply_tenant(2).await;
    (env, source_id)
}

async fn wait_transform_ready(env: &Env, name: &str) -> Transform {
    let api: Api<Transform> = Api::namespaced(env.kube.clone(), &env.ns);
    env.wait_for(
        &format!("Transform {name} Ready"),
        Duration::from_secs(90),
        || {
            let api = api.clone();
            async move {
                let t = api.get_opt(name).await.ok()??;
                let status = t.status.as_ref()?;
                let ready = status
                    .conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                (ready && status.observed_generation == t.metadata.generation).then_some(t)
            }
        },
    )
    .await
}

fn tenant_client(env: &Env) -> TenantClient {
    let mut config = TenantClientConfig::new(
        &env.sim.base_url(),
        USER_CLIENT_ID,
        SecretString::from(USER_CLIENT_SECRET.to_string()),
    )
    .expect("client config");
    config.allow_insecure_http = true;
    TenantClient::new(config).expect("tenant client")
}

/// Checks one tenant after convergence; returns the ids its profile resolved the names to.
async fn check_tenant(env: &Env, source_id: &str) -> Value {
    let profile = env.wait_ready("employees").await;
    let transform = wait_transform_ready(env, "department-from-hr").await;
    let transform_id = transform.status.clone().unwrap().id.expect("transform id");

    let refused: Vec<String> = env
        .admin
        .journal()
        .await
        .into_iter()
        .filter(|e| e.status >= 400 && e.operation_id.as_deref() != Some("token"))
        .map(|e| format!("{} {} {}", e.method, e.path, e.status))
        .collect();
    assert!(refused.is_empty(), "{}: refused calls {refused:?}", env.ns);

    let tenant_profiles = env.tenant_profiles().await;
    let created = tenant_profiles
        .iter()
        .find(|p| p["name"] == "Employees")
        .expect("profile created");
    assert_eq!(created["authoritativeSource"]["id"], json!(source_id));
    assert_eq!(created["owner"]["id"], json!(ADA_ID));
    let mappings = created["identityAttributeConfig"]["attributeTransforms"]
        .as_array()
        .expect("mappings");
    let mapping = |attribute: &str| {
        mappings
            .iter()
            .find(|m| m["identityAttributeName"] == attribute)
            .unwrap_or_else(|| panic!("{attribute} mapped: {mappings:?}"))["transformDefinition"]
            ["attributes"]
            .clone()
    };
    assert_eq!(mapping("email")["sourceId"], json!(source_id));
    assert_eq!(mapping("department")["id"], json!(TRANSFORM));

    let transforms = tenant_client(env)
        .list_all_transforms(&ListParams::default())
        .await
        .expect("transforms");
    let saved = transforms
        .iter()
        .find(|t| t.name == TRANSFORM)
        .expect("transform created");
    assert_eq!(saved.id.as_deref(), Some(transform_id.as_str()));
    let attributes = saved.attributes.clone().expect("attributes");
    assert_eq!(attributes["sourceId"], json!(source_id));
    assert_eq!(attributes["sourceName"], json!(SOURCE));

    let resolved = profile.status.expect("status").resolved_references;
    assert_eq!(
        resolved.get("source/HR Employees").map(String::as_str),
        Some(source_id)
    );
    assert_eq!(
        resolved.get("identity/ada.lovelace").map(String::as_str),
        Some(ADA_ID)
    );
    assert_eq!(
        resolved.get("transform/Department From HR"),
        Some(&transform_id)
    );
    json!({"source": source_id, "transform": transform_id})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_directory_of_manifests_converges_on_two_tenants_with_their_own_ids() {
    let (sandbox, sandbox_source) = tenant_env("sandbox").await;
    let (production, production_source) = tenant_env("production").await;
    assert_ne!(sandbox_source, production_source, "the tenants' ids differ");

    // Planned on each tenant first: both objects would be created.
    for env in [&sandbox, &production] {
        let (code, printed) = plan(env);
        assert_eq!(code, Some(2), "{}: {printed}", env.ns);
        assert!(
            printed.contains("IdentityProfile employees (\"Employees\"): create"),
            "{printed}"
        );
    }

    // The same directory, unchanged, one `kubectl apply` per tenant (the profile's file comes
    // first: it waits for the transform).
    for env in [&sandbox, &production] {
        let out = env.kubectl(&["apply", "-f", MANIFESTS]).await;
        assert_success(&out, "kubectl apply -f tests/e2e_manifests/promotion");
    }

    let sandbox_ids = check_tenant(&sandbox, &sandbox_source).await;
    let production_ids = check_tenant(&production, &production_source).await;
    assert_ne!(sandbox_ids["source"], production_ids["source"]);

    // `plan` of the same directory resolves the names on each tenant: nothing left to change.
    for env in [&sandbox, &production] {
        let (code, printed) = plan(env);
        assert_eq!(code, Some(0), "{}: {printed}", env.ns);
        assert!(!printed.contains("invalid"), "{printed}");
    }
}

/// `isc-operator plan --detailed-exitcode` of the promotion directory against `env`'s tenant:
/// exit code and output.
fn plan(env: &Env) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isc-operator"))
        .args(["plan", "--base-url", &env.sim.base_url()])
        .args(["--client-id", USER_CLIENT_ID, "--detailed-exitcode"])
        .args(["--preview-identities", "0", "-f", MANIFESTS])
        .env("ISC_CLIENT_SECRET", USER_CLIENT_SECRET)
        .env("ISC_LOG", "warn")
        .output()
        .expect("plan runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), printed)
}

/// `kubectl apply` of a profile with `spec` is rejected: kubectl's error output.
async fn rejected(env: &Env, spec: &str) -> String {
    let out = env.try_apply(&profile_yaml("bad", "Bad", spec)).await;
    assert!(!out.status.success(), "admitted: {spec}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_requires_an_id_or_a_name_for_the_source_and_the_owner() {
    let env = Env::new("references-admission").await;
    let no_source = rejected(&env, "  authoritativeSource: {}\n").await;
    assert!(
        no_source.contains("authoritativeSource needs id (the source's tenant id) or name"),
        "{no_source}"
    );
    let no_owner = rejected(
        &env,
        "  authoritativeSource:\n    name: HR Employees\n  owner:\n    name: Ada Lovelace\n",
    )
    .await;
    assert!(
        no_owner.contains("owner needs id (the identity's tenant id) or alias"),
        "{no_owner}"
    );
    // By name alone, both are admitted.
    env.apply(&profile_yaml(
        "good",
        "Good",
        "  authoritativeSource:\n    name: HR Employees\n  owner:\n    alias: ada.lovelace\n",
    ))
    .await;
}
