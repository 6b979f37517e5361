//! Leader election over a `coordination.k8s.io` Lease, so that several replicas can run and only
//! one reconciles. A leader that loses its Lease stops its controllers and the process exits
//! with an error: a restart rejoins as a standby instead of two replicas writing at once.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::RuntimeError;

/// Name of the Lease the replicas compete for.
pub const LEASE_NAME: &str = "isc-operator-leader";

/// How long a leader that stops waits for the Lease to be released before exiting anyway.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

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
/// Lease. `shutdown` is called once for the wait and once for the term. Returns
/// [`RuntimeError::LostLease`] when the term ended because the Lease was lost.
pub async fn run_elected<S, W, F>(
    client: kube::Client,
    election: &LeaderElection,
    identity: &str,
    shutdown: impl Fn() -> S,
    work: W,
) -> Result<(), RuntimeError>
where
    S: Future<Output = ()> + Send + Sync + 'static,
    W: FnOnce(StopSignal) -> F,
    F: Future<Output = ()>,
{
    let duration = election.lease_duration_secs;
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
    tracing::info!(
        %identity,
        lease_namespace = election.namespace,
        "waiting to become the leader"
    );
    if !await_leadership(&mut leader, shutdown()).await? {
        return Ok(());
    }
    tracing::info!(%identity, "became the leader");
    let end = serve_term(&leader, shutdown(), work).await;
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

/// Runs `work` with a stop signal that resolves on `shutdown` or as soon as `leader` reports
/// the Lease lost (or its sender goes away), and tells which of the two ended the term.
pub async fn serve_term<W, F>(
    leader: &watch::Receiver<bool>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    work: W,
) -> TermEnd
where
    W: FnOnce(StopSignal) -> F,
    F: Future<Output = ()>,
{
    let (lost_tx, lost_rx) = oneshot::channel::<()>();
    let mut watch_leader = leader.clone();
    let lost = tokio::spawn(async move {
        loop {
            if watch_leader.changed().await.is_err() || !*watch_leader.borrow_and_update() {
                let _ = lost_tx.send(());
                return;
            }
        }
    });
    let stopping = async move {
        tokio::select! {
            _ = shutdown => {}
            _ = lost_rx => {}
        }
    };
    work(Box::pin(stopping)).await;
    let lost_leadership = lost.is_finished();
    lost.abort();
    if lost_leadership {
        TermEnd::LeadershipLost
    } else {
        TermEnd::Shutdown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shutdown that resolves when `rx` receives (or its sender is dropped).
    async fn shutdown_on(rx: oneshot::Receiver<()>) {
        let _ = rx.await;
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
        let term =
            tokio::spawn(async move { serve_term(&rx, shutdown_on(stop_rx), |stop| stop).await });
        tokio::task::yield_now().await;
        assert!(!term.is_finished(), "works while holding the lease");
        tx.send(false).unwrap();
        assert_eq!(term.await.unwrap(), TermEnd::LeadershipLost);
    }

    #[tokio::test]
    async fn a_leader_whose_election_stops_reporting_stops_its_work() {
        let (tx, rx) = watch::channel(true);
        let (_stop_tx, stop_rx) = oneshot::channel();
        let term =
            tokio::spawn(async move { serve_term(&rx, shutdown_on(stop_rx), |stop| stop).await });
        tokio::task::yield_now().await;
        drop(tx);
        assert_eq!(term.await.unwrap(), TermEnd::LeadershipLost);
    }

    #[tokio::test]
    async fn a_renewal_keeps_the_term_and_shutdown_ends_it_cleanly() {
        let (tx, rx) = watch::channel(true);
        let (stop_tx, stop_rx) = oneshot::channel();
        let term =
            tokio::spawn(async move { serve_term(&rx, shutdown_on(stop_rx), |stop| stop).await });
        tx.send(true).unwrap();
        tokio::task::yield_now().await;
        assert!(!term.is_finished(), "still the leader");
        stop_tx.send(()).unwrap();
        assert_eq!(term.await.unwrap(), TermEnd::Shutdown);
    }
}
