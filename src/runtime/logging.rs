//! Logging for every command: `tracing` to stderr, as text for people or JSON for pipelines.

use super::RuntimeError;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber (once per process) with `filter` in `EnvFilter` syntax.
pub fn init_logging(filter: &str, format: LogFormat) -> Result<(), RuntimeError> {
    let env_filter = parse_filter(filter)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

fn parse_filter(filter: &str) -> Result<tracing_subscriber::EnvFilter, RuntimeError> {
    tracing_subscriber::EnvFilter::try_new(filter).map_err(|source| {
        RuntimeError::InvalidLogFilter {
            filter: filter.to_string(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_before_anything_is_installed() {
        assert!(parse_filter("info,isc_operator=debug").is_ok());
        let err = parse_filter("info,[").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid --log filter \"info,[\": "),
            "{err}"
        );
    }
}
