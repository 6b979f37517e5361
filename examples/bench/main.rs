//! The performance benchmark: the real control plane, simulated tenants at the tenant's rate
//! limit (100 requests / 10 s per credential) and the release operator as its own process.
//!
//! ```sh
//! export ISC_CONTROLPLANE_BIN=...   # optional: cached etcd/kube-apiserver/kubectl
//! cargo run --release --example bench -- --profiles 1000 --identities 50000
//! ```
//! Progress goes to stderr; one markdown table goes to stdout. Each tenant (import, one by
//! one, adoption) is its own simulator, so their journals and rate limits are separate. On any
//! failure the rows measured so far are printed and the process exits non-zero with the cause.

mod args;
mod calls;
mod content;
mod edits;
mod operator;
mod phases;
mod processing;
mod report;
mod wait;
mod world;

use std::time::Duration;

use clap::Parser;
use isc_sim::RunningSimulator;
use isc_sim::testing::SimAdmin;
use serde_json::json;

use args::{BenchArgs, Phase};
use calls::JournalCursor;
use operator::OperatorProcess;
use report::{BenchResult, Row};
use world::{World, simulator};

const NS_IMPORT: &str = "bench-import";
const NS_INDIVIDUAL: &str = "bench-individual";
const NS_ADOPT: &str = "bench-adopt";

#[tokio::main]
async fn main() {
    let args = BenchArgs::parse();
    isc_client::client::install_crypto_provider();
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let cause = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        eprintln!(
            "bench: failed: {}",
            cause.lines().next().unwrap_or_default()
        );
        eprintln!("{cause}");
    }));
    let mut rows = Vec::new();
    let outcome = run(&args, &mut rows).await;
    if !rows.is_empty() {
        println!("{}", caption(&args));
        print!("{}", report::markdown(&rows));
    }
    if let Err(e) = outcome {
        eprintln!("bench: failed: {e}");
        std::process::exit(1);
    }
}

fn caption(args: &BenchArgs) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "N = {} profiles, M = {} identities, R = {} requests, resync {} s; tenant limit 100 calls / 10 s; {cpus} CPUs\n",
        args.profiles, args.identities, args.requests, args.resync
    )
}

/// Runs every phase not skipped, pushing one row each.
async fn run(args: &BenchArgs, rows: &mut Vec<Row>) -> BenchResult<()> {
    let bin = operator::operator_binary(args.operator_bin.as_deref())?;
    let world = World::start(&bin).await?;
    let mut extra = Vec::new();
    if args.identities > 100_000 {
        extra = vec![
            "--max-identities-ceiling".to_string(),
            args.identities.to_string(),
        ];
    }
    // Started here, on the main thread, which lives as long as the benchmark.
    let log = world.dir.join("operator.log");
    let mut op = OperatorProcess::start(&bin, world.cp.kubeconfig_path(), log, &extra)?;
    eprintln!(
        "» operator {} (log {})",
        bin.display(),
        op.log_path().display()
    );

    let identities = match args.runs(Phase::Processing) {
        true => args.identities,
        false => 0,
    };
    let sim_import = simulator(content::seed_with_identities(identities)).await?;
    world.namespace(NS_IMPORT).await?;
    let base_url = sim_import.base_url();
    world
        .tenant(NS_IMPORT, &base_url, args.resync, json!({}))
        .await?;
    let mut import = JournalCursor::new(SimAdmin::new(&sim_import));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let figure = "operator RSS, one Tenant, no other objects";
    rows.push(memory_row(figure, op.memory()?));

    let converged = args.runs(Phase::ColdImport);
    if converged {
        import_phases(args, &world.kube, &mut import, &mut op, rows).await?;
    }
    // The other tenants stay up until the end: their Tenants keep resyncing.
    let _sim_individual = individual_phase(args, &world, rows).await?;
    op.check_alive()?;
    let _sim_adopt = adopt_phase(args, &world, rows).await?;
    op.check_alive()?;
    later_phases(args, &world, &mut import, converged, rows).await?;
    // The memory figures that follow are for N profiles (and R requests), as the goal states.
    for ns in [NS_INDIVIDUAL, NS_ADOPT] {
        let deleted = world.delete_profiles(ns).await?;
        if deleted > 0 {
            eprintln!("» deleted the {deleted} IdentityProfiles in {ns} (Orphan: no tenant call)");
        }
    }
    if args.runs(Phase::Requests) {
        rows.push(processing::small(&world.kube, NS_IMPORT, &mut import, args.requests).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = held_objects(&world.kube).await?;
    let figure = format!("operator RSS at the end, {held}");
    rows.push(memory_row(&figure, op.memory()?));
    if args.runs(Phase::Restart) {
        op = restarted(&bin, &world, &extra, op).await?;
        let figure = format!("operator RSS after a restart, {held}");
        rows.push(memory_row(&figure, op.memory()?));
    }
    eprintln!("» done; operator log: {}", op.log_path().display());
    Ok(())
}

/// How long a restarted operator runs before its RSS is read: every object reconciled once
/// (10 000 + 10 000 objects take under a minute) and the start-up burst returned.
const RESTART_SETTLE: Duration = Duration::from_secs(120);

/// Stops `op` and starts the operator again on everything the bench created (the figure that
/// counts: what a restarted operator holds, without the history of the run); returns it once
/// it has run [`RESTART_SETTLE`].
async fn restarted(
    bin: &std::path::Path,
    world: &World,
    extra: &[String],
    op: OperatorProcess,
) -> BenchResult<OperatorProcess> {
    drop(op);
    let log = world.dir.join("operator-restarted.log");
    let mut op = OperatorProcess::start(bin, world.cp.kubeconfig_path(), log, extra)?;
    eprintln!(
        "» restart: operator restarted, RSS read in {} s",
        RESTART_SETTLE.as_secs()
    );
    tokio::time::sleep(RESTART_SETTLE).await;
    op.check_alive()?;
    Ok(op)
}

/// Cold converge through import, then steady state and RSS with those N profiles.
async fn import_phases(
    args: &BenchArgs,
    kube: &kube::Client,
    import: &mut JournalCursor,
    op: &mut OperatorProcess,
    rows: &mut Vec<Row>,
) -> BenchResult<()> {
    let n = args.profiles;
    let what = "cold converge (import)";
    let c = phases::converge(kube, NS_IMPORT, import, "Bench Import", n, what).await?;
    rows.push(phases::cold_row("through import", n, &c));
    if args.runs(Phase::Steady) {
        rows.push(phases::steady(import, n, args.resync).await?);
    }
    let figure = format!("operator RSS, {n} IdentityProfiles");
    rows.push(memory_row(&figure, op.memory()?));
    Ok(())
}

/// Cold converge with one POST per profile, on a tenant of its own.
async fn individual_phase(
    args: &BenchArgs,
    world: &World,
    rows: &mut Vec<Row>,
) -> BenchResult<Option<RunningSimulator>> {
    let n = args.profiles;
    if !args.runs(Phase::ColdIndividual) {
        return Ok(None);
    }
    if !world.supports.tenant_creation {
        let figure = format!("cold converge, {n} new profiles → all Ready, one POST each");
        let why = "n/a (not supported by this build: no Tenant spec.creation)";
        rows.push(Row::not_run(figure, why));
        return Ok(None);
    }
    let sim = simulator(isc_sim::Seed::builtin()).await?;
    world.namespace(NS_INDIVIDUAL).await?;
    let creation = json!({"creation": {"method": "Individual"}});
    world
        .tenant(NS_INDIVIDUAL, &sim.base_url(), args.resync, creation)
        .await?;
    let mut cursor = JournalCursor::new(SimAdmin::new(&sim));
    let what = "cold converge (one by one)";
    let prefix = "Bench Individual";
    let c = phases::converge(&world.kube, NS_INDIVIDUAL, &mut cursor, prefix, n, what).await?;
    let label = "one POST each (spec.creation.method: Individual)";
    rows.push(phases::cold_row(label, n, &c));
    Ok(Some(sim))
}

/// Adoption of N profiles that exist on a tenant of its own (with N/2 others).
async fn adopt_phase(
    args: &BenchArgs,
    world: &World,
    rows: &mut Vec<Row>,
) -> BenchResult<Option<RunningSimulator>> {
    if !args.runs(Phase::Adopt) {
        return Ok(None);
    }
    let n = args.profiles;
    let others = n.div_ceil(2);
    let prefix = "Adopt Profile";
    let sim = simulator(content::seed_with_profiles(prefix, n, others)?).await?;
    world.namespace(NS_ADOPT).await?;
    world
        .tenant(NS_ADOPT, &sim.base_url(), args.resync, json!({}))
        .await?;
    let mut cursor = JournalCursor::new(SimAdmin::new(&sim));
    let c = phases::converge(&world.kube, NS_ADOPT, &mut cursor, prefix, n, "adoption").await?;
    rows.push(phases::adopt_row(n, others, &c));
    Ok(Some(sim))
}

/// Edits and the large request, on the import tenant.
async fn later_phases(
    args: &BenchArgs,
    world: &World,
    import: &mut JournalCursor,
    converged: bool,
    rows: &mut Vec<Row>,
) -> BenchResult<()> {
    let kube = &world.kube;
    if args.runs(Phase::Edits) {
        match converged {
            true => {
                rows.push(edits::edits(kube, NS_IMPORT, import, args.edits, args.resync).await?)
            }
            false => rows.push(Row::not_run(
                "apply → PATCH latency",
                "n/a (needs cold-import)",
            )),
        }
    }
    if args.runs(Phase::Processing) {
        let supported = world.supports.max_identities;
        let m = args.identities;
        rows.push(processing::large(kube, NS_IMPORT, import, m, supported).await?);
    }
    Ok(())
}

fn memory_row(figure: &str, memory: operator::Memory) -> Row {
    Row {
        figure: figure.to_string(),
        result: memory.to_string(),
        calls: "–".into(),
        reference: "goal ≤ 64 MiB (10 000 profiles + 10 000 finished requests)".into(),
        notes: "VmRSS (VmHWM) of the release operator".into(),
    }
}

/// `3000 IdentityProfiles, 1 ProcessingRequests` across every namespace.
async fn held_objects(kube: &kube::Client) -> BenchResult<String> {
    use isc_operator::api::{IdentityProfile, ProcessingRequest};
    use kube::api::{Api, ListParams};
    let lp = ListParams::default();
    let profiles = Api::<IdentityProfile>::all(kube.clone())
        .list_metadata(&lp)
        .await
        .map_err(report::BenchError::kube("count IdentityProfiles"))?;
    let requests = Api::<ProcessingRequest>::all(kube.clone())
        .list_metadata(&lp)
        .await
        .map_err(report::BenchError::kube("count ProcessingRequests"))?;
    Ok(format!(
        "{} IdentityProfiles, {} ProcessingRequests",
        profiles.items.len(),
        requests.items.len()
    ))
}
