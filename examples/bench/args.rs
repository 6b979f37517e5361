//! Command-line flags of the benchmark and the phases they select.

use clap::Parser;

/// `cargo run --release --example bench -- --profiles N --identities M`
#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Measures the operator against the simulated tenant at its rate limit and prints one table"
)]
pub struct BenchArgs {
    /// IdentityProfiles per phase (cold converge, adoption, RSS).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub profiles: u32,
    /// Identities the large ProcessingRequest resolves to.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..=250_000))]
    pub identities: u32,
    /// Finished ProcessingRequests (one identity each) to hold while measuring RSS; each costs
    /// about one process call at the tenant's 10/s, so the default is none.
    #[arg(long, default_value_t = 0)]
    pub requests: u32,
    /// Edits timed from the API write to the tenant PATCH.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub edits: u32,
    /// The Tenants' `resyncIntervalSeconds` (the steady-state window is one interval).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(5..=3600))]
    pub resync: u32,
    /// Phases to leave out, comma-separated: cold-import, cold-individual, steady, adopt,
    /// edits, processing, requests, restart.
    #[arg(long, value_delimiter = ',', value_parser = parse_phase)]
    pub skip: Vec<Phase>,
    /// The operator binary to run (default: build `--release --bin isc-operator` into the
    /// target directory this example runs from, and use it).
    #[arg(long, env = "ISC_BENCH_OPERATOR_BIN")]
    pub operator_bin: Option<std::path::PathBuf>,
}

/// One measured part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// N new profiles created through import.
    ColdImport,
    /// N new profiles created one POST each (`spec.creation.method: Individual`).
    ColdIndividual,
    /// Tenant reads and writes over one resync interval after converging.
    Steady,
    /// N profiles that already exist on the tenant, applied and adopted.
    Adopt,
    /// Apply→PATCH latency of single edits.
    Edits,
    /// One ProcessingRequest of M identities.
    Processing,
    /// R small ProcessingRequests kept while measuring RSS.
    Requests,
    /// The operator restarted on every object the bench created, and its RSS once settled.
    Restart,
}

impl Phase {
    const ALL: [(Phase, &'static str); 8] = [
        (Phase::ColdImport, "cold-import"),
        (Phase::ColdIndividual, "cold-individual"),
        (Phase::Steady, "steady"),
        (Phase::Adopt, "adopt"),
        (Phase::Edits, "edits"),
        (Phase::Processing, "processing"),
        (Phase::Requests, "requests"),
        (Phase::Restart, "restart"),
    ];
}

fn parse_phase(text: &str) -> Result<Phase, String> {
    Phase::ALL
        .iter()
        .find(|(_, n)| *n == text.trim())
        .map(|(p, _)| *p)
        .ok_or_else(|| {
            let names: Vec<&str> = Phase::ALL.iter().map(|(_, n)| *n).collect();
            format!("unknown phase '{text}' (phases: {})", names.join(", "))
        })
}

impl BenchArgs {
    /// Whether `phase` runs (not skipped, and `requests` only when `--requests` > 0).
    pub fn runs(&self, phase: Phase) -> bool {
        !self.skip.contains(&phase) && (phase != Phase::Requests || self.requests > 0)
    }
}
