//! Waiting until every object of a kind reached its end state, from one watch (no polling of
//! thousands of objects).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use isc_operator::api::{IdentityProfile, ProcessingRequest};
use isc_operator::controller::status::{condition, is_true};
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};

use crate::report::{BenchError, BenchResult};

/// When the last object reached its end state.
#[derive(Debug, Clone, Copy)]
pub struct Reached {
    /// Monotonic time.
    pub at: Instant,
    /// Wall-clock time (to compare with the journal's timestamps).
    pub wall: DateTime<Utc>,
}

/// Ready for the generation it has now.
pub fn profile_ready(p: &IdentityProfile) -> bool {
    p.status.as_ref().is_some_and(|s| {
        s.observed_generation == p.metadata.generation && is_true(&s.conditions, condition::READY)
    })
}

/// Succeeded or Failed.
pub fn request_finished(r: &ProcessingRequest) -> bool {
    r.status
        .as_ref()
        .and_then(|s| s.phase)
        .is_some_and(|p| p.is_finished())
}

/// Waits until `expected` objects matching `config` satisfy `done`; prints progress to stderr
/// every 10 s; fails after `timeout` saying how many got there.
pub async fn wait_all<K>(
    api: Api<K>,
    config: watcher::Config,
    expected: usize,
    done: impl Fn(&K) -> bool,
    timeout: Duration,
    what: &str,
) -> BenchResult<Reached>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let started = Instant::now();
    let deadline = started + timeout;
    let mut next_progress = started + Duration::from_secs(10);
    let mut finished: HashSet<String> = HashSet::new();
    let stream = watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    loop {
        if finished.len() >= expected {
            return Ok(Reached {
                at: Instant::now(),
                wall: Utc::now(),
            });
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(BenchError::Timeout(format!(
                "{what}: {}/{expected} after {:.0} s",
                finished.len(),
                timeout.as_secs_f64()
            )));
        }
        if now >= next_progress {
            eprintln!(
                "  {what}: {}/{expected} after {:.0} s",
                finished.len(),
                started.elapsed().as_secs_f64()
            );
            next_progress += Duration::from_secs(10);
        }
        let wake = next_progress.min(deadline);
        let event = match tokio::time::timeout_at(wake.into(), stream.try_next()).await {
            Err(_) => continue,
            Ok(Err(e)) => {
                eprintln!("  {what}: watch error (retrying): {e}");
                continue;
            }
            Ok(Ok(None)) => {
                return Err(BenchError::Unexpected(format!("{what}: the watch ended")));
            }
            Ok(Ok(Some(event))) => event,
        };
        match event {
            watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
                match done(&o) {
                    true => finished.insert(o.name_any()),
                    false => finished.remove(&o.name_any()),
                };
            }
            watcher::Event::Delete(o) => {
                finished.remove(&o.name_any());
            }
            watcher::Event::Init | watcher::Event::InitDone => {}
        }
    }
}
