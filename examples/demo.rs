//! The main job on the embedded default: a local control plane (real etcd + kube-apiserver),
//! the ISC simulator as the tenant, and the operator, with `deploy/examples/` applied.
//!
//! ```sh
//! cargo run --example demo            # runs, shows the result, cleans up
//! cargo run --example demo -- --keep  # keeps everything running until Ctrl-C
//! ```
//! It prints `kubectl get isc` (every kind of the operator) once every object is Ready, and the
//! tenant calls the operator made, from the simulator's journal.

use std::time::{Duration, Instant};

use isc_operator::api::{IdentityAttribute, IdentityProfile, LifecycleState, Transform};
use isc_operator::controller::status::{condition, is_true};
use isc_operator::controller::tenant_policy::TenantPolicy;
use isc_sim::testing::SimAdmin;
use isc_sim::{RunningSimulator, SimClient, SimConfig};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{ApiResource, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, ResourceExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SIM_LISTEN: &str = "127.0.0.1:18085";

fn show(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Starts etcd + kube-apiserver and installs the CRDs.
async fn start_control_plane(root: &str) -> kube_testenv::ControlPlane {
    eprintln!("» starting etcd + kube-apiserver (the first run builds them from Go modules)");
    let cp = kube_testenv::ControlPlane::start().await;
    let out = cp
        .kubectl_async(&["apply", "-f", &format!("{root}/crds/isc-operator.yaml")])
        .await;
    assert!(
        out.status.success(),
        "installing the CRDs failed: {}",
        show(&out)
    );
    let out = cp
        .kubectl_async(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "-l",
            "",
            "--all",
        ])
        .await;
    assert!(out.status.success(), "CRDs not established: {}", show(&out));
    cp
}

/// The simulator on the fixed port `deploy/examples/tenant.yaml` points at.
async fn start_simulator() -> RunningSimulator {
    eprintln!("» starting the ISC simulator on http://{SIM_LISTEN}");
    let mut config = SimConfig::new("demo-client", "demo-secret");
    config.clients = vec![SimClient {
        id: "demo-client".into(),
        secret: "demo-secret".into(),
        user_context: true,
    }];
    isc_sim::start(config, SIM_LISTEN.parse().expect("listen address"))
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {SIM_LISTEN} (is another demo running?): {e}"))
}

/// The operator's controllers in this process, stopped by sending on the returned channel.
async fn start_operator(
    cp: &kube_testenv::ControlPlane,
) -> (kube::Client, oneshot::Sender<()>, JoinHandle<()>) {
    eprintln!("» starting the operator");
    let kubeconfig = Kubeconfig::read_from(cp.kubeconfig_path()).expect("kubeconfig");
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("kube config"),
    )
    .expect("kube client");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let operator = tokio::spawn(isc_operator::controller::run(
        client.clone(),
        isc_operator::controller::Settings {
            instance: Some("demo".into()),
            // The simulator listens on loopback over plain http: allowed for this demo only.
            ..isc_operator::controller::Settings::new(
                Some("default".into()),
                TenantPolicy::new(vec!["127.0.0.1".into()], true),
            )
        },
        std::sync::Arc::new(isc_operator::controller::metrics::Metrics::default()),
        std::sync::Arc::new(isc_operator::runtime::health::HealthState::new(
            isc_operator::runtime::health::Role::Only,
        )),
        async {
            let _ = stop_rx.await;
        },
    ));
    (client, stop_tx, operator)
}

/// Waits (at most 120 s) until every object of the tenant-object kinds (identity profiles,
/// identity attributes, transforms, lifecycle states) in `default` is Ready.
async fn wait_until_ready(client: &kube::Client) {
    let kinds = [
        ApiResource::erase::<IdentityProfile>(&()),
        ApiResource::erase::<IdentityAttribute>(&()),
        ApiResource::erase::<Transform>(&()),
        ApiResource::erase::<LifecycleState>(&()),
    ];
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut not_ready = Vec::new();
        let mut seen = 0;
        for kind in &kinds {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", kind);
            let list = api.list(&Default::default()).await.expect("list objects");
            seen += list.items.len();
            for object in &list.items {
                let conditions: Vec<Condition> = object
                    .data
                    .pointer("/status/conditions")
                    .and_then(|c| serde_json::from_value(c.clone()).ok())
                    .unwrap_or_default();
                if !is_true(&conditions, condition::READY) {
                    not_ready.push(format!("{}/{}", kind.kind, object.name_any()));
                }
            }
        }
        if not_ready.is_empty() && seen > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not Ready after 120 s: {not_ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Prints every tenant call the operator made, from the simulator's journal.
async fn print_tenant_calls(simulator: &RunningSimulator) {
    println!("\nTenant calls made by the operator (from the simulator's journal):");
    let journal = SimAdmin::new(simulator).journal().await;
    for e in &journal {
        println!(
            "  {:>6} {:<60} {}  {}",
            e.method,
            e.path,
            e.status,
            e.operation_id.as_deref().unwrap_or_default()
        );
    }
    let writes = journal
        .iter()
        .filter(|e| matches!(e.method.as_str(), "POST" | "PATCH" | "DELETE"))
        .filter(|e| e.operation_id.as_deref() != Some("token"))
        .count();
    let full = journal.iter().filter(|e| e.flags.full_refresh).count();
    println!(
        "  {} calls, {writes} writes, {full} full refreshes",
        journal.len()
    );
}

#[tokio::main]
async fn main() {
    let keep = std::env::args().any(|a| a == "--keep");
    isc_client::client::install_crypto_provider();
    let root = env!("CARGO_MANIFEST_DIR");
    let cp = start_control_plane(root).await;
    let simulator = start_simulator().await;
    let (client, stop_tx, operator) = start_operator(&cp).await;

    eprintln!("» kubectl apply -f deploy/examples/");
    let out = cp
        .kubectl_async(&[
            "apply",
            "-n",
            "default",
            "-f",
            &format!("{root}/deploy/examples"),
        ])
        .await;
    print!("{}", show(&out));
    assert!(out.status.success(), "applying the examples failed");
    wait_until_ready(&client).await;
    // Give one-shot requests (if any example has them) a moment to finish.
    tokio::time::sleep(Duration::from_secs(3)).await;

    println!("\n$ kubectl get isc");
    print!(
        "{}",
        show(&cp.kubectl_async(&["get", "isc", "-n", "default"]).await)
    );
    print_tenant_calls(&simulator).await;

    if keep {
        println!(
            "\nRunning. Try: KUBECONFIG={} {}/kubectl get isc -A\nSimulator: {} (admin API under /__sim/). Ctrl-C stops everything.",
            cp.kubeconfig_path().display(),
            cp.bin_dir().display(),
            simulator.base_url()
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), operator).await;
    simulator.shutdown().await;
    drop(cp);
}
