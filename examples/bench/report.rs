//! The benchmark's failures and its one output table.

use std::fmt::Write as _;

/// Why the benchmark cannot go on; printed as one line before a non-zero exit.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Something the benchmark needs could not be set up (binary, process, control plane).
    #[error("setup: {0}")]
    Setup(String),
    /// A Kubernetes API call failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A phase did not reach its end state in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The operator or the tenant did something the measurement cannot account for.
    #[error("{0}")]
    Unexpected(String),
}

impl BenchError {
    /// Wraps a kube error with what was being done.
    pub fn kube(what: impl Into<String>) -> impl FnOnce(kube::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Kube { what, source }
    }
}

/// Result of every benchmark step.
pub type BenchResult<T> = Result<T, BenchError>;

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub figure: String,
    /// The measured value (time, latency, bytes).
    pub result: String,
    /// Tenant calls during the measurement, by kind.
    pub calls: String,
    /// The floor or expectation the result compares with.
    pub reference: String,
    /// Ratio to the floor, verdicts, checks.
    pub notes: String,
}

impl Row {
    /// A row for a phase that did not run, saying why.
    pub fn not_run(figure: impl Into<String>, why: impl Into<String>) -> Row {
        Row {
            figure: figure.into(),
            result: why.into(),
            calls: "–".into(),
            reference: "–".into(),
            notes: String::new(),
        }
    }
}

/// The table of every row so far, as markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| figure | result | tenant calls | floor / expected | notes |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        let cells = [&r.figure, &r.result, &r.calls, &r.reference, &r.notes];
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// Seconds with one decimal.
pub fn secs(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
