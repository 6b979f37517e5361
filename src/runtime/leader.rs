//! Leader election over a `coordination.k8s.io` Lease, so that several replicas can run and only
//! one reconciles. A leader that loses its Lease drops its controllers at once — in-flight
//! reconciles are cancelled at their next await, before any further tenant write — and the
//! process exits with an error: a restart rejoins as a standby instead of two replicas writing
//! at once. A SIGTERM, by contrast, lets in-flight reconciles finish (graceful shutdown).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::Api;
use tokio::sync::watch;

use super::RuntimeError;
use super::health::{HealthState, Role};

/// Name of the Lease the replicas compete for.
pub const LEASE_NAME: &str = "isc-operator-leader";

/// How long a leader that stops waits for the Lease to be released before exiting anyway.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the leader reads its Lease to notice a takeover (or its own expiry) without
/// waiting for the next renewal; one `get` per interval, which the leader RBAC allows.
pub const LEASE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Where and how the replicas elect a leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElection {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Seconds a leader holds the Lease without renewing it (the failover time).
    pub lease_duration_secs: u64,
}

/// The future the controllers stop on, boxed so that any mix of stop reasons fits
/// [`crate::controller::run`].
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

/// How a term as leader ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermEnd {
    /// The process was asked to stop.
    Shutdown,
    /// The Lease was lost (or the election stopped reporting).
    LeadershipLost,
}

/// Joins the election under `identity` and runs `work` (the controllers) only while holding the
/// Lease, reporting the role to `health`. `shutdown` is called once for the wait and once for
/// the term. Returns [`RuntimeError::LostLease`] when the term ended because the Lease was lost.
pub async fn run_elected<S, W, F>(
    client: kube::Client,
    election: &LeaderElection,
    identity: &str,
    health: &HealthState,
    shutdown: impl Fn() -> S,
    work: W,
) -> Result<(), RuntimeError>
where
    S: Future<Output = ()> + Send + Sync + 'static,
    W: FnOnce(StopSignal) -> F,
    F: Future<Output = ()>,
{
    let duration = election.lease_duration_secs;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &election.namespace);
    let manager = kube_lease_manager::LeaseManagerBuilder::new(client, LEASE_NAME)
        .with_namespace(&election.namespace)
        .with_identity(identity)
        .with_duration(duration)
        .with_grace((duration / 3).max(1))
        .build()
        .await
        .map_err(|source| RuntimeError::LeaderElectionSetup {
            namespace: election.namespace.clone(),
            source,
        })?;
    let (mut leader, lease_task) = manager.watch().await;
    health.set_role(Role::Standby);
    tracing::info!(
        %identity,
        lease_namespace = election.namespace,
        "waiting to become the leader"
    );
    if !await_leadership(&mut leader, shutdown()).await? {
        return Ok(());
    }
    tracing::info!(%identity, "became the leader");
    health.set_role(Role::Leader);
    let lost = lease_lost(leader.clone(), leases, identity.to_string());
    let end = serve_term(lost, shutdown(), work).await;
    if end == TermEnd::LeadershipLost {
        health.set_role(Role::Standby);
    }
    // Closing the channel releases the Lease, so a standby takes over at once.
    drop(leader);
    let _ = tokio::time::timeout(RELEASE_TIMEOUT, lease_task).await;
    match end {
        TermEnd::LeadershipLost => Err(RuntimeError::LostLease),
        TermEnd::Shutdown => Ok(()),
    }
}

/// Waits until `leader` reports that this replica holds the Lease: `Ok(true)`, or `Ok(false)`
/// when `shutdown` resolves first. The election stopping before that is an error.
pub async fn await_leadership(
    leader: &mut watch::Receiver<bool>,
    shutdown: impl Future<Output = ()>,
) -> Result<bool, RuntimeError> {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        if *leader.borrow_and_update() {
            return Ok(true);
        }
        tokio::select! {
            changed = leader.changed() => {
                changed.map_err(|_| RuntimeError::LeaderElectionStopped)?;
            }
            _ = &mut shutdown => return Ok(false),
        }
    }
}

/// Runs `work` with `shutdown` as its (graceful) stop signal until it ends, or until `lost`
/// resolves: then `work` is dropped on the spot, cancelling every in-flight reconcile at its
/// current await (a Retry-After sleep, a pending call) so that it makes no further write.
/// A loss during a graceful shutdown cancels too.
pub async fn serve_term<W, F>(
    lost: impl Future<Output = ()>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    work: W,
) -> TermEnd
where
    W: FnOnce(StopSignal) -> F,
    F: Future<Output = ()>,
{
    let work = work(Box::pin(shutdown));
    tokio::select! {
        // A loss wins over a term that ends in the same poll.
        biased;
        () = lost => {
            tracing::warn!("lost the leader lease; cancelled in-flight reconciles");
            TermEnd::LeadershipLost
        }
        () = work => TermEnd::Shutdown,
    }
}

/// Resolves as soon as this replica can no longer be sure that it holds the Lease: the Lease
/// manager reports the loss (or stops), or a read of the Lease shows another holder, no Lease,
/// or our own renewal expired (the manager notices those only at its next renewal).
pub async fn lease_lost(leader: watch::Receiver<bool>, leases: Api<Lease>, identity: String) {
    tokio::select! {
        () = manager_reports_loss(leader) => {}
        () = lease_read_shows_loss(leases, identity) => {}
    }
}

/// Resolves when `leader` says false or its sender (the Lease manager) goes away.
pub async fn manager_reports_loss(mut leader: watch::Receiver<bool>) {
    loop {
        if !*leader.borrow_and_update() || leader.changed().await.is_err() {
            return;
        }
    }
}

/// Reads the Lease every [`LEASE_CHECK_INTERVAL`] and resolves once it no longer names
/// `identity` as a current holder. A failed read keeps the last Lease seen, whose expiry still
/// counts: a leader cut off from the API server stops when its Lease runs out.
async fn lease_read_shows_loss(leases: Api<Lease>, identity: String) {
    let mut last_seen: Option<LeaseSpec> = None;
    let mut check = tokio::time::interval(LEASE_CHECK_INTERVAL);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        check.tick().await;
        match tokio::time::timeout(LEASE_CHECK_INTERVAL, leases.get_opt(LEASE_NAME)).await {
            Ok(Ok(Some(lease))) => last_seen = Some(lease.spec.unwrap_or_default()),
            Ok(Ok(None)) => {
                tracing::warn!(lease = LEASE_NAME, "the leader Lease is gone");
                return;
            }
            Ok(Err(error)) => tracing::debug!(%error, "cannot read the leader Lease"),
            Err(_) => tracing::debug!("reading the leader Lease timed out"),
        }
        if let Some(spec) = &last_seen {
            if !holds_lease(spec, &identity, SystemTime::now()) {
                tracing::warn!(
                    holder = spec.holder_identity.as_deref().unwrap_or(""),
                    "the leader Lease names another holder or has expired"
                );
                return;
            }
        }
    }
}

/// Whether `spec` names `identity` as holder with a renewal that has not expired at `now`.
pub fn holds_lease(spec: &LeaseSpec, identity: &str, now: SystemTime) -> bool {
    let holder = spec.holder_identity.as_deref() == Some(identity);
    let expiry = spec
        .renew_time
        .as_ref()
        .zip(spec.lease_duration_seconds)
        .and_then(|(renewed, secs)| {
            let renewed: SystemTime = renewed.0.into();
            renewed.checked_add(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
        });
    holder && expiry.is_some_and(|expiry| now < expiry)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use tokio::sync::oneshot;

    use super::*;

    /// A shutdown that resolves when `rx` receives (or its sender is dropped).
    async fn shutdown_on(rx: oneshot::Receiver<()>) {
        let _ = rx.await;
    }

    /// A term whose loss is reported by the Lease manager channel `rx`.
    async fn term_until_stopped(
        rx: watch::Receiver<bool>,
        stop_rx: oneshot::Receiver<()>,
    ) -> TermEnd {
        serve_term(manager_reports_loss(rx), shutdown_on(stop_rx), |stop| stop).await
    }

    /// Work like a reconcile that ignores the stop signal and writes after every `pause`
    /// (a Retry-After sleep followed by a tenant call), counting its writes.
    fn writing_every(
        pause: Duration,
        writes: Arc<AtomicUsize>,
    ) -> impl FnOnce(StopSignal) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send {
        move |_stop| {
            Box::pin(async move {
                loop {
                    tokio::time::sleep(pause).await;
                    writes.fetch_add(1, Ordering::SeqCst);
                }
            })
        }
    }

    #[tokio::test]
    async fn a_standby_waits_until_it_holds_the_lease() {
        let (tx, mut rx) = watch::channel(false);
        let waiting =
            tokio::spawn(
                async move { await_leadership(&mut rx, std::future::pending::<()>()).await },
            );
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        tx.send(true).unwrap();
        assert!(waiting.await.unwrap().unwrap());
    }

    #[tokio::test]
    async fn a_current_leader_starts_at_once_even_when_shutdown_is_ready() {
        let (_tx, mut rx) = watch::channel(true);
        assert!(await_leadership(&mut rx, async {}).await.unwrap());
    }

    #[tokio::test]
    async fn shutdown_while_waiting_ends_without_leading() {
        let (_tx, mut rx) = watch::channel(false);
        assert!(!await_leadership(&mut rx, async {}).await.unwrap());
    }

    #[tokio::test]
    async fn an_election_that_stops_while_waiting_is_an_error() {
        let (tx, mut rx) = watch::channel(false);
        drop(tx);
        let err = await_leadership(&mut rx, std::future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "leader election stopped unexpectedly");
    }

    #[tokio::test]
    async fn a_leader_that_loses_the_lease_stops_its_work() {
        let (tx, rx) = watch::channel(true);
        let (_stop_tx, stop_rx) = oneshot::channel();
        let term = tokio::spawn(term_until_stopped(rx, stop_rx));
        tokio::task::yield_now().await;
        assert!(!term.is_finished(), "works while holding the lease");
        tx.send(false).unwrap();
        assert_eq!(term.await.unwrap(), TermEnd::LeadershipLost);
    }

    #[tokio::test]
    async fn a_leader_whose_election_stops_reporting_stops_its_work() {
        let (tx, rx) = watch::channel(true);
        let (_stop_tx, stop_rx) = oneshot::channel();
        let term = tokio::spawn(term_until_stopped(rx, stop_rx));
        tokio::task::yield_now().await;
        drop(tx);
        assert_eq!(term.await.unwrap(), TermEnd::LeadershipLost);
    }

    #[tokio::test]
    async fn a_renewal_keeps_the_term_and_shutdown_ends_it_cleanly() {
        let (tx, rx) = watch::channel(true);
        let (stop_tx, stop_rx) = oneshot::channel();
        let term = tokio::spawn(term_until_stopped(rx, stop_rx));
        tx.send(true).unwrap();
        tokio::task::yield_now().await;
        assert!(!term.is_finished(), "still the leader");
        stop_tx.send(()).unwrap();
        assert_eq!(term.await.unwrap(), TermEnd::Shutdown);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_lease_cancels_in_flight_work_before_its_next_write() {
        let (tx, rx) = watch::channel(true);
        let writes = Arc::new(AtomicUsize::new(0));
        let work = writing_every(Duration::from_secs(10), Arc::clone(&writes));
        let term = tokio::spawn(async move {
            serve_term(manager_reports_loss(rx), std::future::pending(), work).await
        });
        tokio::time::sleep(Duration::from_secs(15)).await;
        assert_eq!(writes.load(Ordering::SeqCst), 1, "wrote while leading");
        // The loss arrives while the work sleeps before its next write.
        tx.send(false).unwrap();
        assert_eq!(term.await.unwrap(), TermEnd::LeadershipLost);
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(writes.load(Ordering::SeqCst), 1, "a write after the loss");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_lease_during_a_graceful_shutdown_cancels_too() {
        let (tx, rx) = watch::channel(true);
        let (stop_tx, stop_rx) = oneshot::channel();
        let writes = Arc::new(AtomicUsize::new(0));
        let work = writing_every(Duration::from_secs(10), Arc::clone(&writes));
        let term = tokio::spawn(async move {
            serve_term(manager_reports_loss(rx), shutdown_on(stop_rx), work).await
        });
        stop_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(false).unwrap();
        assert_eq!(term.await.unwrap(), TermEnd::LeadershipLost);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(writes.load(Ordering::SeqCst), 0);
    }

    fn lease(holder: &str, renewed_secs_ago: u64, duration_secs: i32) -> LeaseSpec {
        let renewed = SystemTime::now() - Duration::from_secs(renewed_secs_ago);
        LeaseSpec {
            holder_identity: Some(holder.to_string()),
            renew_time: Some(MicroTime(renewed.try_into().unwrap())),
            lease_duration_seconds: Some(duration_secs),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn the_lease_is_held_only_under_our_name_and_before_its_expiry() {
        let now = SystemTime::now();
        assert!(holds_lease(&lease("op-0", 1, 15), "op-0", now));
        assert!(!holds_lease(&lease("thief", 1, 15), "op-0", now), "taken");
        assert!(!holds_lease(&lease("op-0", 20, 15), "op-0", now), "expired");
        assert!(!holds_lease(&lease("op-0", 1, -5), "op-0", now), "negative");
        assert!(!holds_lease(&LeaseSpec::default(), "op-0", now), "empty");
        let unrenewed = LeaseSpec {
            renew_time: None,
            ..lease("op-0", 1, 15)
        };
        assert!(!holds_lease(&unrenewed, "op-0", now), "never renewed");
    }
}
