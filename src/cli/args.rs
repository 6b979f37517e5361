//! The command line as clap types, so parsing can be tested without running the binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use super::CliError;
use crate::controller::tenant_policy::{
    DEFAULT_ALLOWED_TENANT_HOSTS, TenantPolicy, parse_host_patterns,
};
use crate::runtime::OperatorConfig;
use crate::runtime::leader::LeaderElection;
use crate::runtime::logging::LogFormat;

/// Kubernetes operator for SailPoint Identity Security Cloud.
#[derive(Debug, Parser)]
#[command(name = "isc-operator", version, about)]
pub struct Cli {
    /// Log filter (tracing `EnvFilter` syntax); logs go to stderr.
    #[arg(long, global = true, env = "ISC_LOG", default_value = "info")]
    pub log: String,
    /// Log format: `text` for people, `json` (one object per line) for log pipelines.
    #[arg(
        long,
        global = true,
        env = "ISC_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the operator: reconcile Tenants and IdentityProfiles (uses KUBECONFIG or in-cluster config).
    Run(RunArgs),
    /// Print the CustomResourceDefinitions as YAML (what `crds/` holds).
    Crds,
    /// Print the tenant's identity profiles as IdentityProfile manifests (adopted unchanged when applied).
    Export(ExportArgs),
    /// Show what applying IdentityProfile manifests would change on the tenant (no cluster needed).
    Plan(PlanArgs),
}

/// Parsed `--allowed-tenant-hosts` (one value holding the whole list, so clap takes it as one).
pub type HostPatterns = Vec<String>;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "ISC_WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Namespace of the Lease used for leader election; without it, no election (one replica).
    #[arg(long, env = "ISC_LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Seconds a leader holds the Lease without renewing it (failover time).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(3..=300))]
    pub lease_duration_secs: u64,
    /// Address of the health and metrics endpoints (`/healthz`, `/readyz`, `/metrics`).
    #[arg(long, default_value = "0.0.0.0:8080", env = "ISC_HEALTH_LISTEN")]
    pub health_listen: SocketAddr,
    /// Hosts a Tenant's baseUrl may name, comma-separated: `acme.example.com` (exactly), or
    /// `*.example.com` (any subdomain). Credentials are never sent to any other host.
    #[arg(
        long,
        env = "ISC_ALLOWED_TENANT_HOSTS",
        default_value = DEFAULT_ALLOWED_TENANT_HOSTS,
        value_parser = parse_host_patterns,
    )]
    pub allowed_tenant_hosts: HostPatterns,
    /// Allow plain http to loopback hosts (127.0.0.0/8, ::1, localhost), for the simulator and
    /// tests; such Tenants carry a Warning condition. Never allows http to another host.
    #[arg(long, env = "ISC_ALLOW_INSECURE_HTTP")]
    pub allow_insecure_http: bool,
    /// The most identities one ProcessingRequest may raise its own limit to
    /// (`spec.maxIdentities`); requests that do not raise it keep the default of 5000.
    #[arg(
        long,
        env = "ISC_MAX_IDENTITIES_CEILING",
        default_value_t = crate::controller::processing::rules::DEFAULT_MAX_IDENTITIES_CEILING,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=250_000),
    )]
    pub max_identities_ceiling: usize,
    /// How long a finished ProcessingRequest is remembered, so a copy recreated with the same
    /// namespace, name and spec (say by a GitOps tool after `ttlSecondsAfterFinished` deleted
    /// it) does not run again: seconds, or a number with `s`, `m`, `h` or `d` (`7d`, `168h`;
    /// at most 365d). `0` turns the record off.
    #[arg(
        long,
        env = "ISC_COMPLETED_RUN_RETENTION",
        default_value = "7d",
        value_parser = parse_retention,
    )]
    pub completed_run_retention: Duration,
}

/// Longest `--completed-run-retention`.
const MAX_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses `--completed-run-retention`: seconds, or a number with `s`, `m`, `h` or `d`.
pub fn parse_retention(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let per_unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("unknown unit {unit:?}: use s, m, h or d")),
    };
    let count: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 604800, 168h or 7d"))?;
    let retention = Duration::from_secs(count.saturating_mul(per_unit));
    if retention > MAX_RETENTION {
        return Err("at most 365d".to_string());
    }
    Ok(retention)
}

impl RunArgs {
    /// The runtime's configuration: election only when a Lease namespace is given.
    pub fn operator_config(self) -> OperatorConfig {
        let lease_duration_secs = self.lease_duration_secs;
        OperatorConfig {
            namespace: self.namespace,
            leader_election: self
                .leader_election_namespace
                .map(|namespace| LeaderElection {
                    namespace,
                    lease_duration_secs,
                }),
            health_listen: self.health_listen,
            tenant_policy: TenantPolicy::new(self.allowed_tenant_hosts, self.allow_insecure_http),
            max_identities_ceiling: self.max_identities_ceiling,
            completed_run_retention: self.completed_run_retention,
        }
    }
}

/// How the CLI reaches a tenant (export, plan).
#[derive(Debug, Args)]
pub struct TenantArgs {
    /// Tenant base URL, e.g. https://acme.api.identitynow.com.
    #[arg(long, env = "ISC_BASE_URL")]
    pub base_url: String,
    /// OAuth client id.
    #[arg(long, env = "ISC_CLIENT_ID")]
    pub client_id: String,
    /// Environment variable holding the client secret (never an argument: `ps` and shell
    /// history would show it).
    #[arg(long = "client-secret-env", default_value = "ISC_CLIENT_SECRET")]
    pub client_secret_env: String,
}

impl TenantArgs {
    /// A tenant client with the secret read from the named environment variable.
    pub fn client(&self) -> Result<isc_client::TenantClient, CliError> {
        let secret = std::env::var(&self.client_secret_env)
            .map_err(|_| CliError::MissingSecret(self.client_secret_env.clone()))?;
        let mut config = isc_client::TenantClientConfig::new(
            &self.base_url,
            &self.client_id,
            secrecy::SecretString::from(secret),
        )?;
        // The person running the CLI chose the URL and the credential (no Tenant author to
        // distrust); the client still refuses plain http to anything but a loopback host.
        config.allow_insecure_http = true;
        Ok(isc_client::TenantClient::new(config)?)
    }
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant to read.
    #[command(flatten)]
    pub tenant: TenantArgs,
    /// Name of the `Tenant` object the manifests refer to.
    #[arg(long, default_value = "tenant")]
    pub tenant_ref: String,
    /// `ids` (default) writes tenant ids as the tenant holds them; `names` names the sources
    /// instead (authoritative source, `sourceId` beside a `sourceName`, lifecycle account
    /// actions), so the manifests apply unchanged to another tenant.
    #[arg(long, value_enum, default_value_t = ExportReferences::Ids)]
    pub references: ExportReferences,
}

/// How exported manifests refer to tenant sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportReferences {
    /// By tenant id.
    Ids,
    /// By name, resolved by the operator on each Tenant.
    Names,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The tenant to compare with.
    #[command(flatten)]
    pub tenant: TenantArgs,
    /// Manifest files or directories of `*.yaml` (several documents per file allowed; kinds
    /// other than IdentityProfile, IdentityAttribute, Transform and LifecycleState are ignored).
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Exit with status 2 when something would change (for CI checks).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// For a change to a profile's attribute mappings, how many identities of the profile to
    /// preview it on (the tenant's identity preview; listing identities needs a user-context
    /// credential). 0 turns previews off.
    #[arg(long, value_name = "N", default_value_t = crate::controller::profile::identity_preview::DEFAULT_SAMPLE_SIZE, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub preview_identities: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("isc-operator").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn run_elects_a_leader_only_with_a_lease_namespace() {
        let Command::Run(args) = parse(&["run", "--health-listen", "127.0.0.1:9000"])
            .unwrap()
            .command
        else {
            panic!("not run");
        };
        let config = args.operator_config();
        assert_eq!(config.leader_election, None);
        assert_eq!(config.health_listen, "127.0.0.1:9000".parse().unwrap());
        let Command::Run(args) = parse(&[
            "run",
            "--leader-election-namespace",
            "ops",
            "--lease-duration-secs",
            "30",
        ])
        .unwrap()
        .command
        else {
            panic!("not run");
        };
        assert_eq!(
            args.operator_config().leader_election,
            Some(LeaderElection {
                namespace: "ops".into(),
                lease_duration_secs: 30
            })
        );
    }

    #[test]
    fn run_sends_credentials_only_where_the_flags_allow() {
        let Command::Run(args) = parse(&["run"]).unwrap().command else {
            panic!("not run");
        };
        assert_eq!(
            args.operator_config().tenant_policy,
            TenantPolicy::default()
        );
        let Command::Run(args) = parse(&[
            "run",
            "--allowed-tenant-hosts",
            "127.0.0.1, *.Example.com",
            "--allow-insecure-http",
        ])
        .unwrap()
        .command
        else {
            panic!("not run");
        };
        let policy = args.operator_config().tenant_policy;
        assert_eq!(policy.allowed_hosts, ["127.0.0.1", "*.example.com"]);
        assert!(policy.allow_insecure_http);
        assert!(parse(&["run", "--allowed-tenant-hosts", "a/b"]).is_err());
        assert!(parse(&["run", "--allowed-tenant-hosts", ""]).is_err());
    }

    #[test]
    fn the_completed_run_retention_takes_seconds_or_a_unit() {
        let Command::Run(args) = parse(&["run"]).unwrap().command else {
            panic!("not run");
        };
        assert_eq!(
            args.operator_config().completed_run_retention,
            Duration::from_secs(7 * 86_400),
            "default: 7 days"
        );
        assert_eq!(parse_retention("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_retention("168h"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_retention("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_retention("0"), Ok(Duration::ZERO));
        assert_eq!(parse_retention("2D"), Ok(Duration::from_secs(2 * 86_400)));
        assert!(parse_retention("7w").is_err());
        assert!(parse_retention("d").is_err());
        assert!(parse_retention("-1").is_err());
        assert!(parse_retention("366d").is_err());
        assert!(parse(&["run", "--completed-run-retention", "soon"]).is_err());
    }

    #[test]
    fn lease_durations_out_of_range_are_refused() {
        assert!(parse(&["run", "--lease-duration-secs", "2"]).is_err());
        assert!(parse(&["run", "--lease-duration-secs", "301"]).is_err());
    }

    #[test]
    fn plan_needs_at_least_one_manifest() {
        let base = ["plan", "--base-url", "http://x", "--client-id", "a"];
        assert!(parse(&base).is_err());
        let mut with_file = base.to_vec();
        with_file.extend(["-f", "a.yaml", "--filename", "dir"]);
        let Command::Plan(args) = parse(&with_file).unwrap().command else {
            panic!("not plan");
        };
        assert_eq!(args.files, [PathBuf::from("a.yaml"), PathBuf::from("dir")]);
        assert!(!args.detailed_exitcode);
    }
}
