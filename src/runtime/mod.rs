//! The long-running `isc-operator run` process around the controllers: Kubernetes client,
//! health and metrics endpoints, optional leader election, and stopping on SIGTERM/Ctrl-C.

pub mod health;
pub mod leader;
pub mod logging;
pub mod memory;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::controller;
use crate::controller::metrics::Metrics;
use leader::LeaderElection;

/// Why the operator process could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The `--log` filter does not parse.
    #[error("invalid --log filter {filter:?}: {source}")]
    InvalidLogFilter {
        /// The filter as given.
        filter: String,
        /// The parser's complaint.
        source: tracing_subscriber::filter::ParseError,
    },
    /// No kubeconfig or in-cluster configuration could be used.
    #[error("cannot configure the Kubernetes client: {0}")]
    KubeClient(#[source] kube::Error),
    /// The health and metrics address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The bind error.
        source: std::io::Error,
    },
    /// The Lease manager could not be set up.
    #[error("cannot set up leader election in namespace {namespace}: {source}")]
    LeaderElectionSetup {
        /// Namespace of the Lease.
        namespace: String,
        /// The Lease manager's error.
        source: kube_lease_manager::LeaseManagerError,
    },
    /// The election stopped reporting before this replica became the leader.
    #[error("leader election stopped unexpectedly")]
    LeaderElectionStopped,
    /// This replica was the leader and lost the Lease.
    #[error("lost the leader lease; exiting so a restart can rejoin as a standby")]
    LostLease,
}

/// What `isc-operator run` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorConfig {
    /// Watch only this namespace (`None`: all namespaces).
    pub namespace: Option<String>,
    /// Elect a leader among replicas (`None`: this is the only replica).
    pub leader_election: Option<LeaderElection>,
    /// Address of `/healthz`, `/readyz` and `/metrics`.
    pub health_listen: SocketAddr,
    /// Where Tenants may send credentials (`--allowed-tenant-hosts`, `--allow-insecure-http`).
    pub tenant_policy: controller::tenant_policy::TenantPolicy,
    /// The most identities a `ProcessingRequest` may raise its limit to (`--max-identities-ceiling`).
    pub max_identities_ceiling: usize,
    /// How long finished `ProcessingRequest`s are remembered (`--completed-run-retention`).
    pub completed_run_retention: std::time::Duration,
}

/// Most Kubernetes API requests the operator has in flight at once. kube's HTTP/1.1 client opens
/// one connection per concurrent request and keeps each one idle afterwards: unbounded, a start
/// with thousands of objects opened thousands of TLS connections (tens of KiB each) and overloaded
/// the API server. Watches hold no slot once their response has started.
pub const KUBE_MAX_IN_FLIGHT: usize = 32;

/// The Kubernetes client (kubeconfig or in-cluster), with at most [`KUBE_MAX_IN_FLIGHT`]
/// requests in flight.
pub async fn kube_client() -> Result<kube::Client, kube::Error> {
    let config = kube::Config::infer()
        .await
        .map_err(kube::Error::InferConfig)?;
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&tower::limit::ConcurrencyLimitLayer::new(
            KUBE_MAX_IN_FLIGHT,
        ))
        .build())
}

/// Runs the operator until SIGTERM/Ctrl-C (or, when elected, until the Lease is lost, which is
/// an error so that the process restarts as a standby).
pub async fn run_operator(config: OperatorConfig) -> Result<(), RuntimeError> {
    let client = kube_client().await.map_err(RuntimeError::KubeClient)?;
    let listener = tokio::net::TcpListener::bind(config.health_listen)
        .await
        .map_err(|source| RuntimeError::Listen {
            addr: config.health_listen,
            source,
        })?;
    let metrics = Arc::new(Metrics::default());
    let role = match config.leader_election {
        Some(_) => health::Role::Standby,
        None => health::Role::Only,
    };
    let health = Arc::new(health::HealthState::new(role));
    health::spawn(listener, Arc::clone(&metrics), Arc::clone(&health));
    memory::spawn_release_loop();
    let instance = instance_name(|name| std::env::var(name).ok());
    tracing::info!(namespace = ?config.namespace, "isc-operator starting");
    let settings = controller::Settings {
        namespace: config.namespace,
        instance: instance.clone(),
        tenant_policy: config.tenant_policy,
        max_identities_ceiling: config.max_identities_ceiling,
        completed_run_retention: config.completed_run_retention,
    };
    let Some(election) = config.leader_election else {
        controller::run(client, settings, metrics, health, shutdown_signal()).await;
        return Ok(());
    };
    // Only the holder of the Lease reconciles; the others wait to take over.
    let identity = instance
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let term_health = Arc::clone(&health);
    leader::run_elected(
        client.clone(),
        &election,
        &identity,
        &health,
        shutdown_signal,
        move |stop| controller::run(client, settings, metrics, term_health, stop),
    )
    .await
}

/// This replica's name in events and Lease holders: the pod name (`POD_NAME`, else `HOSTNAME`).
fn instance_name(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    var("POD_NAME").or_else(|| var("HOSTNAME"))
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM, the signal Kubernetes sends before killing a pod.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_is_the_pod_name_else_the_host_name() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            instance_name(env(&[("POD_NAME", "op-0"), ("HOSTNAME", "host")])),
            Some("op-0".into())
        );
        assert_eq!(
            instance_name(env(&[("HOSTNAME", "host")])),
            Some("host".into())
        );
        assert_eq!(instance_name(env(&[])), None);
    }

    #[test]
    fn errors_read_as_before() {
        assert_eq!(
            RuntimeError::LostLease.to_string(),
            "lost the leader lease; exiting so a restart can rejoin as a standby"
        );
        let listen = RuntimeError::Listen {
            addr: "127.0.0.1:8080".parse().unwrap(),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert!(
            listen
                .to_string()
                .starts_with("cannot listen on 127.0.0.1:8080: "),
            "{listen}"
        );
    }
}
