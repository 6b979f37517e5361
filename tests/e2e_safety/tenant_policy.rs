//! Credentials go only where the admin allowed (`--allowed-tenant-hosts`, https unless
//! `--allow-insecure-http` for loopback, labelled Secrets), and the tenant client follows the
//! Tenant's identity (a recreated Tenant gets a new client).

use std::time::Duration;

use isc_operator::api::Tenant;
use isc_sim::testing::SimAdmin;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::support::e2e::*;
use crate::support::{USER_CLIENT_ID, USER_CLIENT_SECRET, sim_config};

const LABELLED: &str = "\n  labels:\n    isc.identitynow.dev/credentials: \"true\"";

/// A Secret `{name}-creds` (labelled or not) and a Tenant `name` using it at `base_url`.
fn tenant_with_secret(name: &str, base_url: &str, labelled: bool) -> String {
    let labels = if labelled { LABELLED } else { "" };
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: {name}-creds{labels}
stringData:
  client_id: {USER_CLIENT_ID}
  client_secret: {USER_CLIENT_SECRET}
---
apiVersion: isc.identitynow.dev/v1alpha1
kind: Tenant
metadata:
  name: {name}
spec:
  baseUrl: {base_url}
  credentialsSecretRef:
    name: {name}-creds
  resyncIntervalSeconds: 2
"#
    )
}

/// Waits until Tenant `name`'s `Ready` condition has `status` and `reason`.
async fn wait_tenant(env: &Env, name: &str, status: &str, reason: &str) -> Condition {
    let api = env.tenants();
    env.wait_for(
        &format!("Tenant {name} Ready={status} ({reason})"),
        Duration::from_secs(60),
        || {
            let api = api.clone();
            async move {
                let tenant: Tenant = api.get_opt(name).await.ok()??;
                let ready = tenant
                    .status?
                    .conditions
                    .into_iter()
                    .find(|c| c.type_ == "Ready")?;
                (ready.status == status && ready.reason == reason).then_some(ready)
            }
        },
    )
    .await
}

/// Waits for a Warning Event with `reason` on object `name`.
async fn wait_warning(env: &Env, name: &str, reason: &str) {
    env.wait_for(
        &format!("Warning {reason} on {name}"),
        Duration::from_secs(30),
        || async {
            let events = env.events_for(name).await;
            events
                .iter()
                .any(|e| {
                    e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some(reason)
                })
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn refused_tenants_get_a_clear_condition_and_nothing_leaves_the_operator() {
    let mut env = Env::new("policy-refusals").await;
    // The admin allowed `localhost` (and plain http to it), not `127.0.0.1`.
    env.kill_operator();
    env.operator = Some(env.spawn_operator(&[
        "--allowed-tenant-hosts",
        "localhost",
        "--allow-insecure-http",
    ]));
    let port = env.sim.base_url().rsplit(':').next().unwrap().to_string();
    let sim_by_ip = env.sim.base_url();
    let sim_by_name = format!("http://localhost:{port}");
    // http to a host that is not loopback (TEST-NET-1), a host outside the allow-list (the
    // simulator itself, by IP), and an unlabelled Secret (simulator by an allowed name).
    let cases = [
        (
            "remote",
            "http://192.0.2.10:8080".to_string(),
            true,
            "InsecureTransportRefused",
        ),
        ("by-ip", sim_by_ip, true, "HostNotAllowed"),
        (
            "unlabelled",
            sim_by_name.clone(),
            false,
            "SecretNotLabelled",
        ),
    ];
    for (name, url, labelled, _) in &cases {
        env.apply(&tenant_with_secret(name, url, *labelled)).await;
    }
    for (name, _, _, reason) in &cases {
        let ready = wait_tenant(&env, name, "False", reason).await;
        assert!(!ready.message.contains(USER_CLIENT_SECRET), "{ready:?}");
        // kstatus: the admin's policy refuses it, only a person can fix it: Stalled.
        let tenant: Tenant = env.tenants().get(name).await.unwrap();
        let stalled = tenant.status.unwrap().conditions;
        let stalled = stalled
            .iter()
            .find(|c| c.type_ == "Stalled")
            .expect("Stalled");
        assert_eq!(
            (stalled.status.as_str(), stalled.reason.as_str()),
            ("True", *reason)
        );
        wait_warning(&env, name, reason).await;
        match *reason {
            "InsecureTransportRefused" => assert!(ready.message.contains("loopback"), "{ready:?}"),
            "HostNotAllowed" => assert!(
                ready.message.contains("--allowed-tenant-hosts"),
                "{ready:?}"
            ),
            _ => assert!(
                ready.message.contains("isc.identitynow.dev/credentials"),
                "{ready:?}"
            ),
        }
    }
    // Several resyncs later, still nothing reached the simulator.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let journal = env.admin.journal().await;
    assert!(
        journal.is_empty(),
        "requests left the operator: {journal:?}"
    );

    // The same simulator under an allowed name and a labelled Secret works: the refusals
    // were the policy, not an unreachable tenant.
    env.apply(&tenant_with_secret("allowed", &sim_by_name, true))
        .await;
    wait_tenant(&env, "allowed", "True", "TokenObtained").await;
    wait_warning(&env, "allowed", "PlainHttpAllowed").await;
    let allowed: Tenant = env.tenants().get("allowed").await.unwrap();
    let insecure = allowed
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "InsecureTransport")
        .expect("InsecureTransport warning condition");
    assert_eq!(insecure.status, "True");
}

#[tokio::test]
async fn a_tenant_recreated_on_a_second_simulator_sends_writes_to_the_second_only() {
    let env = Env::new("policy-recreate").await;
    let second = isc_sim::start(sim_config(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("second simulator starts");
    let second_admin = SimAdmin::new(&second);
    env.apply_tenant(2).await;
    wait_tenant(&env, "demo", "True", "TokenObtained").await;

    // Deleted and recreated with the same name and Secret, on the second simulator.
    let out = env
        .kubectl(&["delete", "tenant", "demo", "--wait=true"])
        .await;
    assert_success(&out, "kubectl delete tenant demo");
    env.admin.clear_journal().await;
    env.apply(&tenant_yaml(&second.base_url(), 2)).await;
    wait_tenant(&env, "demo", "True", "TokenObtained").await;

    env.apply(&profile_yaml(
        "moved",
        "Moved",
        &format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    env.wait_ready("moved").await;
    let posts: Vec<String> = second_admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.method == "POST")
        .map(|e| e.path)
        .collect();
    assert_eq!(
        posts,
        ["/v2024/identity-profiles/import"],
        "the second got the create"
    );
    let first = env.tenant_writes().await;
    assert!(first.is_empty(), "writes reached the first: {first:?}");
    assert!(env.tenant_profiles().await.is_empty());
    second.shutdown().await;
}
