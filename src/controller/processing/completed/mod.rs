//! The record of finished runs, so a request recreated with the same namespace, name and spec
//! (a GitOps tool restoring what `ttlSecondsAfterFinished` deleted) does not run again.
//!
//! One ConfigMap per namespace ([`CONFIG_MAP_NAME`], labelled managed-by isc-operator) holds
//! one data key per request name: the spec's hash, the outcome, when it finished and the
//! object's uid. Entries older than the retention window (`--completed-run-retention`,
//! default 7 days) are dropped whenever the ConfigMap is written, and read as absent before
//! that; at most [`MAX_ENTRIES`] entries and [`MAX_BYTES`] of data are kept (the oldest go
//! first), far below the API server's 1 MiB object limit. This module is pure; `store` reads
//! and writes the ConfigMap.

mod store;
pub use store::KnownRecord;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::ProcessingRequestStatus;
use crate::api::processing_request::{Phase, PreviousRun, ProcessingRequestSpec};
use crate::controller::status::{FALSE, TRUE, condition, remove_condition, set_condition};

/// Name of the ConfigMap (one per namespace) that records finished runs.
pub const CONFIG_MAP_NAME: &str = "isc-operator-completed-runs";
/// Label key marking the ConfigMap as the operator's.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY: &str = "isc-operator";
/// Most entries kept per namespace (the oldest are dropped first).
pub const MAX_ENTRIES: usize = 1000;
/// Most bytes of entries (names and values) kept per namespace: half the API server's object
/// limit, whatever the names' lengths.
pub const MAX_BYTES: usize = 512 * 1024;
/// Default retention window of a record (`--completed-run-retention`).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// One finished run, as recorded under the request's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletedRun {
    /// [`spec_hash`] of the request's spec.
    pub spec_hash: String,
    /// `Succeeded` or `Failed`.
    pub outcome: Phase,
    /// When it finished.
    pub completed_at: Time,
    /// The request object's uid (a recreated object has another one).
    pub uid: String,
}

impl CompletedRun {
    /// As `status.previousRun` shows it.
    pub fn previous_run(&self) -> PreviousRun {
        PreviousRun {
            outcome: self.outcome,
            completed_at: self.completed_at.clone(),
            uid: self.uid.clone(),
        }
    }
}

/// SHA-256 (hex) of the spec's canonical JSON (object keys sorted at every level), so the same
/// manifest hashes the same whatever the serializer's key order.
pub fn spec_hash(spec: &ProcessingRequestSpec) -> String {
    let value = serde_json::to_value(spec).expect("a spec serializes");
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    sha256_hex(canonical.as_bytes())
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// SHA-256 with ring (the crypto provider the operator already links for TLS).
fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The records of one namespace, by request name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompletedRuns {
    entries: BTreeMap<String, CompletedRun>,
}

impl CompletedRuns {
    /// The records in a ConfigMap's data; entries that do not parse are dropped.
    pub fn from_data(data: Option<&BTreeMap<String, String>>) -> Self {
        let entries = data
            .into_iter()
            .flatten()
            .filter_map(|(name, text)| Some((name.clone(), serde_json::from_str(text).ok()?)))
            .collect();
        CompletedRuns { entries }
    }

    /// The ConfigMap data holding these records.
    pub fn to_data(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|(name, run)| {
                let text = serde_json::to_string(run).expect("a record serializes");
                (name.clone(), text)
            })
            .collect()
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The record under `name`, if any.
    pub fn get(&self, name: &str) -> Option<&CompletedRun> {
        self.entries.get(name)
    }

    /// The finished run that a request `name` (object `uid`, spec hash `hash`) must not repeat:
    /// another object's run of the same spec, finished within `retention` before `now`.
    pub fn earlier_run(
        &self,
        name: &str,
        uid: &str,
        hash: &str,
        now: Timestamp,
        retention: Duration,
    ) -> Option<&CompletedRun> {
        self.entries
            .get(name)
            .filter(|run| run.uid != uid && run.spec_hash == hash)
            .filter(|run| within(run, now, retention))
    }

    /// Records `run` under `name` (replacing what was there), then drops records older than
    /// `retention` and the oldest beyond the bounds.
    pub fn record(&mut self, name: &str, run: CompletedRun, now: Timestamp, retention: Duration) {
        self.entries.insert(name.to_string(), run);
        self.prune(now, retention);
    }

    /// Drops records older than `retention`, then the oldest until at most [`MAX_ENTRIES`]
    /// records of at most [`MAX_BYTES`] remain.
    pub fn prune(&mut self, now: Timestamp, retention: Duration) {
        self.entries.retain(|_, run| within(run, now, retention));
        let mut bytes: usize = self.to_data().iter().map(|(k, v)| k.len() + v.len()).sum();
        while self.entries.len() > MAX_ENTRIES || bytes > MAX_BYTES {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, run)| run.completed_at.0)
                .map(|(name, _)| name.clone())
            else {
                break;
            };
            if let Some(run) = self.entries.remove(&oldest) {
                let text = serde_json::to_string(&run).unwrap_or_default();
                bytes = bytes.saturating_sub(oldest.len() + text.len());
            }
        }
    }
}

/// Ends a request that found `earlier` (a run of itself) at once: phase `Succeeded`,
/// `status.previousRun`, `Complete=True` and `Failed=False` with reason `AlreadyCompleted`
/// (the kstatus `Ready=True` follows from them). Returns the message.
pub fn mark_already_completed(
    status: &mut ProcessingRequestStatus,
    earlier: &CompletedRun,
    retention: Duration,
    generation: Option<i64>,
) -> String {
    let message = already_completed_message(earlier, retention);
    let now = crate::controller::status::now();
    status.phase = Some(Phase::Succeeded);
    status.start_time.get_or_insert_with(|| now.clone());
    status.completion_time = Some(now);
    status.previous_run = Some(earlier.previous_run());
    let reason = super::progress::ALREADY_COMPLETED;
    set_condition(
        &mut status.conditions,
        condition::COMPLETE,
        TRUE,
        reason,
        &message,
        generation,
    );
    set_condition(
        &mut status.conditions,
        condition::FAILED,
        FALSE,
        reason,
        "",
        generation,
    );
    remove_condition(&mut status.conditions, condition::BLOCKED);
    message
}

/// What the `Ready` condition and the Event of a request that was not repeated say.
fn already_completed_message(earlier: &CompletedRun, retention: Duration) -> String {
    let days = retention.as_secs_f64() / 86_400.0;
    format!(
        "not run again: the same request (same namespace, name and spec) already ran and {} at {} (object uid {}); finished runs are remembered for {days:.1} day(s). To run it again, create it under a new name (e.g. with metadata.generateName)",
        match earlier.outcome {
            Phase::Failed => "failed",
            _ => "succeeded",
        },
        earlier.completed_at.0,
        earlier.uid,
    )
}

/// Whether `run` finished within `retention` before `now` (a time in the future counts).
fn within(run: &CompletedRun, now: Timestamp, retention: Duration) -> bool {
    let age = now.duration_since(run.completed_at.0);
    SignedDuration::try_from(retention).is_ok_and(|window| age < window)
}
