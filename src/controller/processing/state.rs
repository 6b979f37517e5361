//! State of the processing controller shared by every reconcile of the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::budget::PollBudget;
use super::completed::KnownRecord;
use super::gate::SyncGate;

/// Poll times older than this are forgotten (a task is polled at least every few seconds).
const POLL_MEMORY: Duration = Duration::from_secs(600);

/// Process-wide state of the processing controller.
#[derive(Debug)]
pub struct ProcessingState {
    /// The most identities a request may raise its own limit to (operator-wide).
    pub max_identities_ceiling: usize,
    /// How long a finished run is remembered so a recreated copy does not run again
    /// (`--completed-run-retention`; zero: not remembered).
    pub completed_run_retention: Duration,
    /// Spaces attribute syncs of one identity across all requests.
    pub sync_gate: SyncGate,
    /// When each followed task was last asked about, so event-triggered reconciles do not
    /// poll the tenant more often than the backoff allows.
    polls: Mutex<HashMap<String, Instant>>,
    /// The share of each tenant's rate budget that task polling may use.
    pub(super) poll_budget: PollBudget,
    /// Per namespace, the completed-runs record as this process last read or wrote it, behind
    /// one lock: reconciles take turns with it (finishing together they would otherwise race
    /// on its `resourceVersion`), and read it from memory instead of a GET each.
    record_writers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<KnownRecord>>>>,
    /// Every request's running tasks, so one task-status list call asks about many requests'.
    pub(super) task_board: super::task_board::TaskBoard,
    /// Identity ids the tenant confirmed recently (a request naming them looks them up once).
    pub(super) verified_ids: super::verified::VerifiedIds,
}

impl Default for ProcessingState {
    fn default() -> Self {
        ProcessingState {
            max_identities_ceiling: super::rules::DEFAULT_MAX_IDENTITIES_CEILING,
            completed_run_retention: super::completed::DEFAULT_RETENTION,
            sync_gate: SyncGate::default(),
            polls: Mutex::default(),
            poll_budget: PollBudget::default(),
            record_writers: Mutex::default(),
            task_board: Default::default(),
            verified_ids: Default::default(),
        }
    }
}

impl ProcessingState {
    /// Whether the task under `key` may be asked about at `now`, `delay` after the last time.
    pub(super) fn poll_due(&self, key: &str, delay: Duration, now: Instant) -> bool {
        let polls = self.polls.lock().expect("polls lock");
        polls
            .get(key)
            .is_none_or(|last| now.saturating_duration_since(*last) >= delay)
    }

    /// The lock writers of `namespace`'s completed-runs record take (one per namespace; the
    /// map is bounded by the namespaces that finished requests).
    pub(super) fn record_writer(&self, namespace: &str) -> Arc<tokio::sync::Mutex<KnownRecord>> {
        let mut writers = self.record_writers.lock().expect("record writers lock");
        writers.entry(namespace.to_string()).or_default().clone()
    }

    /// Records that the task under `key` was asked about at `now`.
    pub(super) fn polled(&self, key: String, now: Instant) {
        let mut polls = self.polls.lock().expect("polls lock");
        polls.retain(|_, t| now.saturating_duration_since(*t) < POLL_MEMORY);
        polls.insert(key, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_polled_again_only_after_the_delay() {
        let state = ProcessingState::default();
        let t0 = Instant::now();
        let delay = Duration::from_secs(2);
        assert!(state.poll_due("uid/t1", delay, t0), "never polled");
        state.polled("uid/t1".into(), t0);
        assert!(!state.poll_due("uid/t1", delay, t0 + Duration::from_secs(1)));
        assert!(state.poll_due("uid/t1", delay, t0 + delay));
        assert!(state.poll_due("uid/t2", delay, t0), "other task");
    }

    #[test]
    fn old_poll_times_are_forgotten() {
        let state = ProcessingState::default();
        let t0 = Instant::now();
        state.polled("uid/old".into(), t0);
        state.polled("uid/new".into(), t0 + POLL_MEMORY);
        let polls = state.polls.lock().unwrap();
        assert!(!polls.contains_key("uid/old"));
        assert!(polls.contains_key("uid/new"));
    }
}
