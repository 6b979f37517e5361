//! `isc-sim`: serves the in-memory ISC tenant simulator on loopback.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use isc_sim::{Seed, SimClient, SimConfig};

/// An in-memory SailPoint ISC tenant (v2024 API, OAuth, legacy cc refresh) for tests and demos.
///
/// Prints one line, `listening on URL`, once it accepts connections; stops on Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "isc-sim", version, about)]
struct Cli {
    /// Log filter (tracing `EnvFilter` syntax); logs go to stderr.
    #[arg(long, env = "ISC_SIM_LOG", default_value = "info")]
    log: String,
    /// Address to listen on; port 0 picks a free port (printed on the `listening on` line).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Client id of a credential with user context (like a personal access token).
    #[arg(long, env = "ISC_SIM_CLIENT_ID")]
    client_id: String,
    /// Its secret (prefer the environment variable: arguments are visible in `ps`).
    #[arg(long, env = "ISC_SIM_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Client id of an extra API client WITHOUT user context (gets 403 where the API requires one).
    #[arg(long, requires = "app_client_secret")]
    app_client_id: Option<String>,
    /// Secret of that API client.
    #[arg(long, env = "ISC_SIM_APP_CLIENT_SECRET", hide_env_values = true)]
    app_client_secret: Option<String>,
    /// JSON seed file with sources, identities and identity profiles (default: built-in seed).
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Serve every seed source under ids derived from this tenant name (32 hex, stable): two
    /// simulators started with different names have the same sources under different ids.
    #[arg(long, value_name = "TENANT")]
    tenant_source_ids: Option<String>,
    /// Serve the seed source named NAME under ID (repeatable; applied after
    /// `--tenant-source-ids`); its identities and seeded profiles follow it.
    #[arg(long = "source-id", value_name = "NAME=ID")]
    source_ids: Vec<String>,
    /// Access-token lifetime in seconds.
    #[arg(long, default_value_t = 749)]
    token_ttl_secs: u64,
    /// How long a task stays pending/running before it completes, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    task_duration_ms: u64,
    /// Requests allowed per client id and API version per 10 s window (the tenant's is 100).
    #[arg(long, default_value_t = 100)]
    rate_limit: u32,
    /// Turn the rate limit off.
    #[arg(long)]
    no_rate_limit: bool,
}

async fn run_simulator(args: Cli) -> Result<(), String> {
    let mut clients = vec![SimClient {
        id: args.client_id,
        secret: args.client_secret,
        user_context: true,
    }];
    if let (Some(id), Some(secret)) = (args.app_client_id, args.app_client_secret) {
        clients.push(SimClient {
            id,
            secret,
            user_context: false,
        });
    }
    let seed = match &args.seed {
        Some(path) => Seed::from_file(path)
            .map_err(|e| format!("cannot load seed {}: {e}", path.display()))?,
        None => Seed::builtin(),
    };
    let seed = with_source_ids(seed, args.tenant_source_ids.as_deref(), &args.source_ids)?;
    let mut config = SimConfig::new(&clients[0].id, &clients[0].secret);
    config.clients = clients;
    config.seed = seed;
    config.token_ttl = Duration::from_secs(args.token_ttl_secs.max(1));
    config.task_duration = Duration::from_millis(args.task_duration_ms);
    config.rate_limit =
        (!args.no_rate_limit).then_some((args.rate_limit.max(1), Duration::from_secs(10)));
    let running = isc_sim::start(config, args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", running.base_url())
            .and_then(|_| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}

/// Applies `--tenant-source-ids` and then each `--source-id NAME=ID` to the seed.
fn with_source_ids(seed: Seed, tenant: Option<&str>, pairs: &[String]) -> Result<Seed, String> {
    let mut seed = match tenant {
        Some(tenant) => seed.with_tenant_source_ids(tenant),
        None => seed,
    };
    for pair in pairs {
        let (name, id) = pair
            .split_once('=')
            .ok_or_else(|| format!("--source-id {pair:?} is not NAME=ID"))?;
        seed = seed
            .with_source_id(name, id)
            .map_err(|e| format!("--source-id {pair:?}: {e}"))?;
    }
    Ok(seed)
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
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_simulator(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
