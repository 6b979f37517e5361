//! Profile phases: cold converge, steady state over one resync interval, adoption.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use isc_operator::api::IdentityProfile;
use isc_sim::JournalEntry;
use kube::api::Api;
use kube::runtime::watcher;
use serde_json::Value;

use crate::calls::{Calls, JournalCursor, arrived, div_ceil, is_list_start};
use crate::content::{create_all, profiles};
use crate::report::{BenchError, BenchResult, Row, secs};
use crate::wait::{profile_ready, wait_all};

/// Tenant calls the simulator allows per second (100 per 10 s).
pub const CALLS_PER_SECOND: f64 = 10.0;

/// What applying N objects at once and waiting for all of them cost.
#[derive(Debug)]
pub struct Converged {
    /// Apply → all Ready.
    pub elapsed: Duration,
    /// How long creating the objects in the API server took.
    pub burst: Duration,
    /// Tenant calls until the last one was Ready.
    pub calls: Calls,
    /// Tenant profiles whose name starts with the prefix, and names held more than once.
    pub tenant_profiles: usize,
    /// Lower-cased names the tenant holds more than once (a bug if not zero).
    pub duplicates: usize,
}

/// Applies `p-00001..=p-<n>` (tenant names `<prefix> NNNNN`) in `ns` at once and waits until
/// all are Ready, counting the tenant calls in between.
pub async fn converge(
    kube: &kube::Client,
    ns: &str,
    cursor: &mut JournalCursor,
    prefix: &str,
    n: u32,
    what: &str,
) -> BenchResult<Converged> {
    let api: Api<IdentityProfile> = Api::namespaced(kube.clone(), ns);
    let objects = profiles(prefix, n)?;
    let timeout = Duration::from_secs_f64(120.0 + 6.0 * f64::from(n) / CALLS_PER_SECOND);
    cursor.skip().await;
    eprintln!("» {what}: applying {n} IdentityProfiles in {ns}");
    let started = Instant::now();
    let (burst, reached) = tokio::try_join!(
        create_all(&api, objects),
        wait_all(
            api.clone(),
            watcher::Config::default(),
            n as usize,
            profile_ready,
            timeout,
            what
        )
    )?;
    let entries = cursor.advance().await;
    let calls = Calls::of(
        entries
            .iter()
            .filter(|e| arrived(e).is_some_and(|t| t <= reached.wall)),
    );
    let (tenant_profiles, duplicates) = tenant_names(cursor, prefix).await;
    eprintln!(
        "  {what}: all Ready in {}, {} tenant calls",
        secs(reached.at - started),
        calls.total
    );
    Ok(Converged {
        elapsed: reached.at - started,
        burst,
        calls,
        tenant_profiles,
        duplicates,
    })
}

/// Tenant profiles named `<prefix> …` and how many names are held more than once.
async fn tenant_names(cursor: &JournalCursor, prefix: &str) -> (usize, usize) {
    let all: Vec<Value> = cursor.admin().get("/__sim/identity-profiles").await;
    let prefix = prefix.to_lowercase();
    let mut names: HashMap<String, usize> = HashMap::new();
    for p in &all {
        let name = p["name"].as_str().unwrap_or_default().to_lowercase();
        if name.starts_with(&prefix) {
            *names.entry(name).or_default() += 1;
        }
    }
    let total = names.values().sum();
    (total, names.values().filter(|c| **c > 1).count())
}

/// The row of a cold converge, compared with one create call per profile at 10/s.
pub fn cold_row(label: &str, n: u32, c: &Converged) -> Row {
    let floor = f64::from(n) / CALLS_PER_SECOND;
    Row {
        figure: format!("cold converge, {n} new profiles applied at once → all Ready, {label}"),
        result: secs(c.elapsed),
        calls: c.calls.summary(),
        reference: format!("floor {floor:.1} s ({n} creates at 10/s)"),
        notes: format!(
            "{:.2} × floor; tenant holds {} of them, {} duplicate names; API creates took {}",
            c.elapsed.as_secs_f64() / floor,
            c.tenant_profiles,
            c.duplicates,
            secs(c.burst)
        ),
    }
}

/// The row of an adoption of `n` existing profiles among `others`.
pub fn adopt_row(n: u32, others: u32, c: &Converged) -> Row {
    let lists = div_ceil(u64::from(n + others), 250);
    Row {
        figure: format!("adoption, {n} existing profiles ({others} others present) → all Ready"),
        result: secs(c.elapsed),
        calls: c.calls.summary(),
        reference: format!("≤ 60 s; 0 writes; {lists} list calls per full read"),
        notes: format!(
            "{} profile list pages; tenant holds {} of them, {} duplicate names; API creates took {}",
            c.calls.profile_lists,
            c.tenant_profiles,
            c.duplicates,
            secs(c.burst)
        ),
    }
}

/// Tenant calls over one resync interval once `n` profiles converged: from the start of one
/// full list of the tenant's profiles to the start of the next (at least half an interval
/// later), or one interval when no list starts.
pub async fn steady(cursor: &mut JournalCursor, n: u32, resync: u32) -> BenchResult<Row> {
    eprintln!("» steady state: watching one resync interval ({resync} s)");
    tokio::time::sleep(Duration::from_secs(2)).await;
    cursor.skip().await;
    let interval = Duration::from_secs(u64::from(resync));
    let started = Instant::now();
    let mut seen: Vec<JournalEntry> = Vec::new();
    let mut first: Option<usize> = None;
    let window = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        seen.extend(cursor.advance().await);
        first = first.or_else(|| seen.iter().position(is_list_start));
        let Some(start) = first else {
            if started.elapsed() > interval * 2 {
                break (0, seen.len(), "no full list in two intervals".to_string());
            }
            continue;
        };
        let t0 = arrived(&seen[start]).ok_or_else(|| bad_time(&seen[start]))?;
        let next = seen[start + 1..].iter().position(|e| {
            is_list_start(e)
                && arrived(e).is_some_and(|t| (t - t0).to_std().unwrap_or_default() >= interval / 2)
        });
        if let Some(offset) = next {
            let end = start + 1 + offset;
            let span = arrived(&seen[end]).map_or(0.0, |t| (t - t0).as_seconds_f64());
            break (
                start,
                end,
                format!("between two list starts {span:.1} s apart"),
            );
        }
        if started.elapsed() > interval * 3 {
            break (
                start,
                seen.len(),
                "no second list start in two intervals".to_string(),
            );
        }
    };
    let (from, to, how) = window;
    let calls = Calls::of(&seen[from..to]);
    Ok(Row {
        figure: format!("steady state, {n} converged profiles, per resync ({resync} s)"),
        result: format!(
            "{} writes, {} reads",
            calls.writes + calls.imports,
            calls.reads
        ),
        calls: calls.summary(),
        reference: format!("0 writes, {} reads", div_ceil(u64::from(n), 250)),
        notes: how,
    })
}

fn bad_time(entry: &JournalEntry) -> BenchError {
    BenchError::Unexpected(format!(
        "journal entry {} has no valid time '{}'",
        entry.seq, entry.time
    ))
}
