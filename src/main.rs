//! `isc-operator` command line: a thin front end over the library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Kubernetes operator for SailPoint Identity Security Cloud.
#[derive(Debug, Parser)]
#[command(name = "isc-operator", version, about)]
struct Cli {
    /// Log filter (tracing `EnvFilter` syntax); logs go to stderr.
    #[arg(long, global = true, env = "ISC_LOG", default_value = "info")]
    log: String,
    /// Log format: `text` for people, `json` (one object per line) for log pipelines.
    #[arg(
        long,
        global = true,
        env = "ISC_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the operator: reconcile Tenants and IdentityProfiles (uses KUBECONFIG or in-cluster config).
    Run(RunArgs),
    /// Print the CustomResourceDefinitions as YAML (what `crds/` holds).
    Crds,
    /// Print the tenant's identity profiles as IdentityProfile manifests (adopted unchanged when applied).
    Export(ExportArgs),
    /// Show what applying IdentityProfile manifests would change on the tenant (no cluster needed).
    Plan(PlanArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "ISC_WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Namespace of the Lease used for leader election; without it, no election (one replica).
    #[arg(long, env = "ISC_LEADER_ELECTION_NAMESPACE")]
    leader_election_namespace: Option<String>,
    /// Seconds a leader holds the Lease without renewing it (failover time).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(3..=300))]
    lease_duration_secs: u64,
    /// Address of the health and metrics endpoints (`/healthz`, `/readyz`, `/metrics`).
    #[arg(long, default_value = "0.0.0.0:8080", env = "ISC_HEALTH_LISTEN")]
    health_listen: SocketAddr,
}

/// How the CLI reaches a tenant (export, plan).
#[derive(Debug, Args)]
struct TenantArgs {
    /// Tenant base URL, e.g. https://acme.api.identitynow.com.
    #[arg(long, env = "ISC_BASE_URL")]
    base_url: String,
    /// OAuth client id.
    #[arg(long, env = "ISC_CLIENT_ID")]
    client_id: String,
    /// Environment variable holding the client secret (never an argument: `ps` and shell
    /// history would show it).
    #[arg(long = "client-secret-env", default_value = "ISC_CLIENT_SECRET")]
    client_secret_env: String,
}

impl TenantArgs {
    fn client(&self) -> Result<isc_client::TenantClient, String> {
        let secret = std::env::var(&self.client_secret_env).map_err(|_| {
            format!(
                "set the client secret in the environment variable {}",
                self.client_secret_env
            )
        })?;
        let config = isc_client::TenantClientConfig::new(
            &self.base_url,
            &self.client_id,
            secrecy::SecretString::from(secret),
        )
        .map_err(|e| e.to_string())?;
        isc_client::TenantClient::new(config).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Args)]
struct ExportArgs {
    #[command(flatten)]
    tenant: TenantArgs,
    /// Name of the `Tenant` object the manifests refer to.
    #[arg(long, default_value = "tenant")]
    tenant_ref: String,
}

#[derive(Debug, Args)]
struct PlanArgs {
    #[command(flatten)]
    tenant: TenantArgs,
    /// Manifest files or directories of `*.yaml` (several documents per file allowed; kinds
    /// other than IdentityProfile are ignored).
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// Exit with status 2 when something would change (for CI checks).
    #[arg(long)]
    detailed_exitcode: bool,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn init_logging(filter: &str, format: LogFormat) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| format!("invalid --log filter {filter:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

async fn run_export(args: ExportArgs) -> Result<(), String> {
    let client = args.tenant.client()?;
    let profiles = client
        .list_all_identity_profiles(&Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut taken = std::collections::BTreeSet::new();
    let mut manifests = Vec::new();
    for profile in &profiles {
        let name = isc_operator::cli::export::manifest_name(&profile.name, &mut taken);
        match isc_operator::cli::export::profile_manifest(profile, &name, &args.tenant_ref) {
            Ok(m) => manifests.push(m),
            Err(e) => eprintln!("warning: not exported: {e}"),
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(isc_operator::cli::export::manifests_yaml(&manifests).as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

/// Prints what applying the manifests would change; `Ok(true)` when something would.
async fn run_plan(args: PlanArgs) -> Result<bool, String> {
    let mut files = Vec::new();
    for path in &args.files {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut manifests = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        manifests.extend(
            isc_operator::cli::preview::load_profiles(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?,
        );
    }
    let client = args.tenant.client()?;
    let tenant = client
        .list_all_identity_profiles(&Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let previews = isc_operator::cli::preview::preview(&manifests, &tenant);
    print!("{}", isc_operator::cli::preview::render(&previews));
    Ok(previews
        .iter()
        .any(isc_operator::cli::preview::Preview::changes))
}

async fn run_operator(args: RunArgs) -> Result<(), String> {
    let client = kube::Client::try_default()
        .await
        .map_err(|e| format!("cannot configure the Kubernetes client: {e}"))?;
    let listener = tokio::net::TcpListener::bind(args.health_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.health_listen))?;
    let metrics = std::sync::Arc::new(isc_operator::controller::metrics::Metrics::default());
    let scrape = std::sync::Arc::clone(&metrics);
    let health = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(|| async { "ok" }))
        .route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = std::sync::Arc::clone(&scrape);
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        metrics.encode(),
                    )
                }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, health).await {
            tracing::error!(error = %e, "health endpoint stopped");
        }
    });
    let instance = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok());
    tracing::info!(namespace = ?args.namespace, "isc-operator starting");
    let Some(lease_namespace) = args.leader_election_namespace else {
        isc_operator::controller::run(client, args.namespace, instance, metrics, shutdown_signal())
            .await;
        return Ok(());
    };

    // Only the holder of the Lease reconciles; the others wait to take over.
    let identity = instance
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let manager =
        kube_lease_manager::LeaseManagerBuilder::new(client.clone(), "isc-operator-leader")
            .with_namespace(&lease_namespace)
            .with_identity(&identity)
            .with_duration(args.lease_duration_secs)
            .with_grace((args.lease_duration_secs / 3).max(1))
            .build()
            .await
            .map_err(|e| {
                format!("cannot set up leader election in namespace {lease_namespace}: {e}")
            })?;
    let (mut leader, lease_task) = manager.watch().await;
    tracing::info!(%identity, lease_namespace, "waiting to become the leader");
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        if *leader.borrow_and_update() {
            break;
        }
        tokio::select! {
            changed = leader.changed() => {
                changed.map_err(|_| "leader election stopped unexpectedly".to_string())?;
            }
            _ = &mut stop => return Ok(()),
        }
    }
    tracing::info!(%identity, "became the leader");
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    let mut watch_leader = leader.clone();
    let lost = tokio::spawn(async move {
        loop {
            if watch_leader.changed().await.is_err() || !*watch_leader.borrow_and_update() {
                let _ = lost_tx.send(());
                return;
            }
        }
    });
    let stopping = async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = lost_rx => {}
        }
    };
    isc_operator::controller::run(client, args.namespace, instance, metrics, stopping).await;
    let lost_leadership = lost.is_finished();
    lost.abort();
    // Closing the channel releases the Lease, so a standby takes over at once.
    drop(leader);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), lease_task).await;
    if lost_leadership {
        return Err("lost the leader lease; exiting so a restart can rejoin as a standby".into());
    }
    Ok(())
}

async fn shutdown_signal() {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.log, cli.log_format) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    isc_client::client::install_crypto_provider();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Ok(code): 0 success, 2 "plan found changes" (with --detailed-exitcode).
    let result: Result<u8, String> = runtime.block_on(async {
        match cli.command {
            Command::Crds => {
                print!("{}", isc_operator::api::crds_yaml());
                Ok(0)
            }
            Command::Run(args) => run_operator(args).await.map(|_| 0),
            Command::Export(args) => run_export(args).await.map(|_| 0),
            Command::Plan(args) => {
                let detailed = args.detailed_exitcode;
                run_plan(args)
                    .await
                    .map(|changes| if changes && detailed { 2 } else { 0 })
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
