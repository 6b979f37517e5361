//! The main job on the embedded default: a local control plane (real etcd + kube-apiserver),
//! the ISC simulator as the tenant, and the operator, with `deploy/examples/` applied.
//!
//! ```sh
//! cargo run --example demo            # runs, shows the result, cleans up
//! cargo run --example demo -- --keep  # keeps everything running until Ctrl-C
//! ```
//! It prints `kubectl get isc` (every kind of the operator) once the profiles are Ready, and the
//! tenant calls the operator made, from the simulator's journal.

use std::time::{Duration, Instant};

use isc_operator::api::IdentityProfile;
use isc_sim::{SimClient, SimConfig};
use kube::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

const SIM_LISTEN: &str = "127.0.0.1:18085";

fn show(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::main]
async fn main() {
    let keep = std::env::args().any(|a| a == "--keep");
    isc_client::client::install_crypto_provider();
    let root = env!("CARGO_MANIFEST_DIR");

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

    eprintln!("» starting the ISC simulator on http://{SIM_LISTEN}");
    let mut config = SimConfig::new("demo-client", "demo-secret");
    config.clients = vec![SimClient {
        id: "demo-client".into(),
        secret: "demo-secret".into(),
        user_context: true,
    }];
    let simulator = isc_sim::start(config, SIM_LISTEN.parse().unwrap())
        .await
        .unwrap_or_else(|e| {
            panic!("cannot listen on {SIM_LISTEN} (is another demo running?): {e}")
        });

    eprintln!("» starting the operator");
    let kubeconfig = Kubeconfig::read_from(cp.kubeconfig_path()).expect("kubeconfig");
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("kube config"),
    )
    .expect("kube client");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let operator = tokio::spawn(isc_operator::controller::run(
        client.clone(),
        Some("default".into()),
        Some("demo".into()),
        std::sync::Arc::new(isc_operator::controller::metrics::Metrics::default()),
        async {
            let _ = stop_rx.await;
        },
    ));

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

    let profiles: Api<IdentityProfile> = Api::namespaced(client.clone(), "default");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let list = profiles
            .list(&Default::default())
            .await
            .expect("list profiles");
        let ready = list.items.iter().all(|p| {
            p.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        });
        if ready && !list.items.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "profiles did not become Ready in 90 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Give one-shot requests (if any example has them) a moment to finish.
    tokio::time::sleep(Duration::from_secs(3)).await;

    println!("\n$ kubectl get isc");
    print!(
        "{}",
        show(&cp.kubectl_async(&["get", "isc", "-n", "default"]).await)
    );

    println!("\nTenant calls made by the operator (from the simulator's journal):");
    let journal: Vec<Value> = reqwest::get(format!("{}/__sim/requests", simulator.base_url()))
        .await
        .expect("journal")
        .json()
        .await
        .expect("journal JSON");
    for e in &journal {
        println!(
            "  {:>6} {:<60} {}  {}",
            e["method"].as_str().unwrap_or_default(),
            e["path"].as_str().unwrap_or_default(),
            e["status"],
            e["operationId"].as_str().unwrap_or_default()
        );
    }
    let writes = journal
        .iter()
        .filter(|e| matches!(e["method"].as_str(), Some("POST" | "PATCH" | "DELETE")))
        .filter(|e| e["operationId"] != "token")
        .count();
    let full = journal
        .iter()
        .filter(|e| e["flags"]["fullRefresh"] == true)
        .count();
    println!(
        "  {} calls, {writes} writes, {full} full refreshes",
        journal.len()
    );

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
