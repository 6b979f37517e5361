//! Apply→PATCH latency: single edits of converged profiles, timed from the API write to the
//! PATCH's arrival at the tenant (the journal's timestamp), while resyncs run.

use std::time::{Duration, Instant};

use chrono::Utc;
use isc_operator::api::IdentityProfile;
use isc_sim::JournalEntry;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::calls::{Calls, JournalCursor, arrived, is_list_start};
use crate::report::{BenchError, BenchResult, Row};

/// An edit not seen at the tenant after this long counts as missed.
const EDIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Edits `k` profiles of `ns` one at a time (spread over 1.2 resync intervals, so sweeps run
/// meanwhile) and reports p50/p99 of the latency.
pub async fn edits(
    kube: &kube::Client,
    ns: &str,
    cursor: &mut JournalCursor,
    k: u32,
    resync: u32,
) -> BenchResult<Row> {
    let api: Api<IdentityProfile> = Api::namespaced(kube.clone(), ns);
    let all = api
        .list(&ListParams::default())
        .await
        .map_err(BenchError::kube(format!("list IdentityProfiles in {ns}")))?;
    let targets: Vec<(String, String)> = all
        .items
        .iter()
        .filter_map(|p| Some((p.metadata.name.clone()?, p.status.as_ref()?.id.clone()?)))
        .collect();
    if targets.is_empty() {
        return Err(BenchError::Unexpected(format!(
            "no converged profiles in {ns} to edit"
        )));
    }
    let present = Api::<IdentityProfile>::all(kube.clone())
        .list_metadata(&ListParams::default())
        .await
        .map_err(BenchError::kube("count IdentityProfiles"))?
        .items
        .len();
    let spacing = Duration::from_secs_f64(f64::from(resync) * 1.2 / f64::from(k));
    eprintln!(
        "» edits: {k} single edits in {ns}, one every {:.2} s",
        spacing.as_secs_f64()
    );
    cursor.skip().await;
    let mut seen = Vec::new();
    let mut latencies = Vec::new();
    let mut missed = 0usize;
    for i in 0..k as usize {
        let (name, id) = &targets[i * targets.len() / k as usize];
        let started = Instant::now();
        let latency = edit_once(&api, cursor, name, id, i, &mut seen).await?;
        // A missed edit counts as the timeout, so the percentiles cannot hide it.
        missed += usize::from(latency.is_none());
        latencies.push(latency.unwrap_or(EDIT_TIMEOUT));
        tokio::time::sleep(spacing.saturating_sub(started.elapsed())).await;
    }
    latencies.sort();
    let calls = Calls::of(&seen);
    let sweeps = seen.iter().filter(|e| is_list_start(e)).count();
    let ms =
        |d: Option<&Duration>| d.map_or("–".to_string(), |d| format!("{} ms", d.as_millis()));
    Ok(Row {
        figure: format!(
            "apply → PATCH latency, {k} single edits, {present} IdentityProfiles present, resyncs running"
        ),
        result: format!(
            "p50 {}, p99 {}",
            ms(percentile(&latencies, 50)),
            ms(percentile(&latencies, 99))
        ),
        calls: calls.summary(),
        reference: "p50 < 250 ms, p99 < 1 s".into(),
        notes: format!(
            "max {}; {missed} not patched within {timeout} s (counted as {timeout} s); {sweeps} full-list starts meanwhile",
            ms(latencies.last()),
            timeout = EDIT_TIMEOUT.as_secs()
        ),
    })
}

/// Changes the description of `name` (tenant id `id`) and returns how long after the API
/// write its PATCH arrived at the tenant (`None`: not within [`EDIT_TIMEOUT`]). Every journal
/// entry read meanwhile goes to `seen`.
async fn edit_once(
    api: &Api<IdentityProfile>,
    cursor: &mut JournalCursor,
    name: &str,
    id: &str,
    i: usize,
    seen: &mut Vec<JournalEntry>,
) -> BenchResult<Option<Duration>> {
    let started = Instant::now();
    let sent = Utc::now();
    let patch = json!({"spec": {"description": format!("edit {i} at {sent}")}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(BenchError::kube(format!("edit {name}")))?;
    let tenant_path = format!("/v2024/identity-profiles/{id}");
    loop {
        let fresh = cursor.advance().await;
        let hit = fresh
            .iter()
            .find(|e| e.method == "PATCH" && e.path == tenant_path)
            .and_then(arrived);
        seen.extend(fresh);
        if let Some(at) = hit {
            return Ok(Some((at - sent).to_std().unwrap_or_default()));
        }
        if started.elapsed() > EDIT_TIMEOUT {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: usize) -> Option<&Duration> {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1)
}
