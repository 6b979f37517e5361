//! The `isc-operator` commands behind `src/main.rs`: argument types ([`args`]), and the commands
//! that work against a tenant without a cluster: `export` (the tenant's identity model as manifests) and
//! `plan` (what applying manifests would change, implemented in [`preview`]). `run` hands over
//! to [`crate::runtime`].

pub mod args;
pub mod export;
pub mod manifests;
pub mod plan_model;
pub mod plan_names;
pub mod preview;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub use args::Cli;
use args::{Command, ExportArgs, PlanArgs};

use crate::runtime::RuntimeError;

/// Exit status of `plan --detailed-exitcode` when something would change.
pub const EXIT_CHANGES: u8 = 2;
/// Exit status when the logging options are invalid (a usage error, like clap's).
pub const EXIT_USAGE: u8 = 2;

/// Why a command failed; printed as `error: …` on one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The environment variable named by `--client-secret-env` is not set.
    #[error("set the client secret in the environment variable {0}")]
    MissingSecret(String),
    /// The tenant refused or could not be reached (or its address is invalid); boxed, as
    /// tenant errors are large.
    #[error(transparent)]
    Tenant(Box<isc_client::IscError>),
    /// A manifest file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A manifest file holds an invalid document.
    #[error("{}: {source}", path.display())]
    Manifest {
        /// The file.
        path: PathBuf,
        /// Which document and why.
        source: preview::PreviewError,
    },
    /// The output could not be written.
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] std::io::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    AsyncRuntime(#[source] std::io::Error),
    /// The operator could not start or had to stop.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl From<isc_client::IscError> for CliError {
    fn from(e: isc_client::IscError) -> Self {
        CliError::Tenant(Box::new(e))
    }
}

/// Runs the parsed command line and returns the process exit status: 0 on success, 2 for
/// invalid logging options or (with `--detailed-exitcode`) a plan with changes, 1 on errors.
pub fn execute(cli: Cli) -> ExitCode {
    if let Err(e) = crate::runtime::logging::init_logging(&cli.log, cli.log_format) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    isc_client::client::install_crypto_provider();
    let result = tokio::runtime::Runtime::new()
        .map_err(CliError::AsyncRuntime)
        .and_then(|runtime| runtime.block_on(run_command(cli.command)));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command; `Ok` holds the exit status of a success.
pub async fn run_command(command: Command) -> Result<u8, CliError> {
    match command {
        Command::Crds => {
            print!("{}", crate::api::crds_yaml());
            Ok(0)
        }
        Command::Run(args) => {
            crate::runtime::run_operator(args.operator_config()).await?;
            Ok(0)
        }
        Command::Export(args) => run_export(args).await.map(|()| 0),
        Command::Plan(args) => {
            let detailed = args.detailed_exitcode;
            let changes = run_plan(args).await?;
            Ok(plan_exit_status(changes, detailed))
        }
    }
}

/// Exit status of a successful `plan`: [`EXIT_CHANGES`] only when asked for and something
/// would change.
pub fn plan_exit_status(changes: bool, detailed_exitcode: bool) -> u8 {
    if changes && detailed_exitcode {
        EXIT_CHANGES
    } else {
        0
    }
}

/// `export`: prints the tenant's identity model as manifests; objects that cannot be
/// expressed are skipped with a warning on stderr.
pub async fn run_export(args: ExportArgs) -> Result<(), CliError> {
    let client = args.tenant.client()?;
    let by_name = args.references == args::ExportReferences::Names;
    let exported = export::export_tenant(&client, &args.tenant_ref, by_name).await?;
    for skipped in &exported.skipped {
        eprintln!("warning: not exported: {skipped}");
    }
    let mut out = std::io::stdout().lock();
    out.write_all(export::manifests_yaml(&exported.manifests).as_bytes())
        .and_then(|_| out.flush())
        .map_err(CliError::Stdout)
}

/// `plan`: prints what applying the manifests would change; `Ok(true)` when something would.
pub async fn run_plan(args: PlanArgs) -> Result<bool, CliError> {
    let manifests = manifests::load_manifests(&args.files)?;
    let client = args.tenant.client()?;
    let model = plan_model::load_model_manifests(&args.files)?;
    let (manifests, unresolved) =
        plan_names::resolve_names(&client, &args.tenant.base_url, manifests, &model).await?;
    let tenant = client
        .list_all_identity_profiles(&Default::default())
        .await?;
    let mut previews = preview::preview(&manifests, &tenant);
    plan_names::mark_unresolved(&mut previews, &unresolved);
    preview::preview_identities(&mut previews, &tenant, &client, args.preview_identities).await;
    print!("{}", preview::render(&previews));
    let model_previews = plan_model::plan_model(&client, &model, &manifests, &tenant).await?;
    print!("{}", plan_model::render_model(&model_previews));
    Ok(previews.iter().any(preview::Preview::changes) || model_previews.iter().any(|p| p.writes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_signals_changes_only_when_asked() {
        assert_eq!(plan_exit_status(true, true), 2);
        assert_eq!(plan_exit_status(true, false), 0);
        assert_eq!(plan_exit_status(false, true), 0);
        assert_eq!(plan_exit_status(false, false), 0);
    }

    #[test]
    fn a_missing_secret_names_the_variable_not_the_value() {
        let args = args::TenantArgs {
            base_url: "http://127.0.0.1:9".into(),
            client_id: "a".into(),
            client_secret_env: "ISC_TEST_SECRET_THAT_IS_NOT_SET".into(),
        };
        assert_eq!(
            args.client().unwrap_err().to_string(),
            "set the client secret in the environment variable ISC_TEST_SECRET_THAT_IS_NOT_SET"
        );
    }
}
