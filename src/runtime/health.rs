//! The HTTP endpoints a kubelet and a Prometheus scrape need: `/healthz`, `/readyz` and
//! `/metrics`. The counters live in [`crate::controller::metrics`]; the controllers report their
//! cache sync and progress into a [`HealthState`], which this module judges and serves.
//!
//! - `/readyz` is 503 until the watch caches of the Tenant, IdentityProfile and
//!   ProcessingRequest controllers have synced. With leader election the body names the role:
//!   `leader` (200 once synced) or `standby` (always 200: a standby serves only metrics, and a
//!   never-ready standby would block every rolling update). Without election the body is `ok`.
//! - `/healthz` is 503 when a controller loop made no progress for [`STALL_THRESHOLD`]. Every
//!   reconcile result and a [`HEARTBEAT_INTERVAL`] tick polled by the same task as the
//!   controller count as progress, so an idle operator stays healthy; a loop whose task is
//!   blocked or whose stream ended does not. A standby runs no loops and is healthy.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::controller::metrics::Metrics;

/// Content type of the OpenMetrics text exposition.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How often a controller loop proves that it is alive when it has nothing to reconcile.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// How long a controller loop may go without progress before `/healthz` fails: twelve missed
/// heartbeats, far beyond scheduling jitter on a busy node.
pub const STALL_THRESHOLD: Duration = Duration::from_secs(60);

/// What this replica does in the election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No leader election: the only replica.
    Only,
    /// Waiting for the Lease; runs no controllers.
    Standby,
    /// Holds the Lease and runs the controllers.
    Leader,
}

/// What the controllers report and the endpoints judge; shared by both.
#[derive(Debug)]
pub struct HealthState {
    role: Mutex<Role>,
    synced: AtomicBool,
    beats: Mutex<Vec<(&'static str, Instant)>>,
}

impl HealthState {
    /// A replica in `role` whose caches have not synced and whose loops have not started.
    pub fn new(role: Role) -> HealthState {
        HealthState {
            role: Mutex::new(role),
            synced: AtomicBool::new(false),
            beats: Mutex::new(Vec::new()),
        }
    }

    /// Records a change of role (standby → leader).
    pub fn set_role(&self, role: Role) {
        *self.role.lock().unwrap_or_else(|e| e.into_inner()) = role;
    }

    /// The current role.
    pub fn role(&self) -> Role {
        *self.role.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that every controller's watch cache has synced.
    pub fn mark_synced(&self) {
        self.synced.store(true, Ordering::Release);
    }

    /// Records progress of the controller loop `name` (registering it on first use).
    pub fn beat(&self, name: &'static str) {
        self.beat_at(name, Instant::now());
    }

    fn beat_at(&self, name: &'static str, at: Instant) {
        let mut beats = self.beats.lock().unwrap_or_else(|e| e.into_inner());
        match beats.iter_mut().find(|(loop_name, _)| *loop_name == name) {
            Some((_, last)) => *last = at,
            None => beats.push((name, at)),
        }
    }

    /// The `/readyz` answer now.
    pub fn readiness(&self) -> (StatusCode, &'static str) {
        readiness(self.role(), self.synced.load(Ordering::Acquire))
    }

    /// The `/healthz` answer now.
    pub fn liveness(&self, now: Instant) -> (StatusCode, String) {
        let beats = self.beats.lock().unwrap_or_else(|e| e.into_inner()).clone();
        liveness(&stalled_loops(now, &beats, STALL_THRESHOLD))
    }
}

/// The `/readyz` decision: ready once the caches synced; a standby is always ready.
pub fn readiness(role: Role, synced: bool) -> (StatusCode, &'static str) {
    match (role, synced) {
        (Role::Standby, _) => (StatusCode::OK, "standby"),
        (Role::Leader, true) => (StatusCode::OK, "leader"),
        (Role::Leader, false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "leader: watch caches not synced",
        ),
        (Role::Only, true) => (StatusCode::OK, "ok"),
        (Role::Only, false) => (StatusCode::SERVICE_UNAVAILABLE, "watch caches not synced"),
    }
}

/// The loops whose last progress is `threshold` or more before `now`.
pub fn stalled_loops(
    now: Instant,
    beats: &[(&'static str, Instant)],
    threshold: Duration,
) -> Vec<&'static str> {
    beats
        .iter()
        .filter(|(_, last)| now.saturating_duration_since(*last) >= threshold)
        .map(|(name, _)| *name)
        .collect()
}

/// The `/healthz` decision over the stalled loops.
pub fn liveness(stalled: &[&'static str]) -> (StatusCode, String) {
    if stalled.is_empty() {
        return (StatusCode::OK, "ok".to_string());
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "no progress for {} s: {}",
            STALL_THRESHOLD.as_secs(),
            stalled.join(", ")
        ),
    )
}

/// The routes: `/healthz` and `/readyz` judge `health` on every probe; `/metrics` encodes
/// `metrics` on every scrape.
pub fn router(metrics: Arc<Metrics>, health: Arc<HealthState>) -> Router {
    let live = Arc::clone(&health);
    Router::new()
        .route(
            "/healthz",
            get(move || {
                let answer = live.liveness(Instant::now());
                async move { answer }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let answer = health.readiness();
                async move { answer }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let metrics = Arc::clone(&metrics);
                async move { ([(CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], metrics.encode()) }
            }),
        )
}

/// Serves [`router`] on `listener` in a background task for the rest of the process; a serving
/// failure is logged, never fatal (reconciling matters more than being scraped).
pub fn spawn(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    health: Arc<HealthState>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(metrics, health)).await {
            tracing::error!(error = %e, "health endpoint stopped");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn serve_on_loopback(health: Arc<HealthState>) -> (String, tokio::task::JoinHandle<()>) {
        isc_client::client::install_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let metrics = Arc::new(Metrics::default());
        metrics.reconcile_error("IdentityProfile", "TenantUnavailable");
        (base, spawn(listener, metrics, health))
    }

    async fn answer(base: &str, path: &str) -> (u16, String) {
        let resp = reqwest::get(format!("{base}{path}")).await.expect(path);
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    fn ago(secs: u64) -> Instant {
        Instant::now()
            .checked_sub(Duration::from_secs(secs))
            .expect("the clock is past the test's past")
    }

    #[test]
    fn readiness_waits_for_the_caches_and_names_the_role() {
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(readiness(Role::Only, false).0, unavailable);
        assert_eq!(readiness(Role::Only, true), (StatusCode::OK, "ok"));
        assert_eq!(readiness(Role::Leader, false).0, unavailable);
        assert_eq!(readiness(Role::Leader, true), (StatusCode::OK, "leader"));
        assert_eq!(readiness(Role::Standby, false), (StatusCode::OK, "standby"));
        assert_eq!(readiness(Role::Standby, true), (StatusCode::OK, "standby"));
    }

    #[test]
    fn a_loop_stalls_only_after_the_threshold_without_progress() {
        let now = Instant::now();
        let threshold = Duration::from_secs(60);
        let beats = [
            ("profile", now - Duration::from_secs(5)),
            ("tenant", now - Duration::from_secs(59)),
            ("processing", now - Duration::from_secs(60)),
        ];
        assert_eq!(stalled_loops(now, &beats, threshold), vec!["processing"]);
        assert!(
            stalled_loops(now, &[], threshold).is_empty(),
            "no loops yet"
        );
        // A beat stamped after `now` (a probe racing a beat) is fresh, not an underflow.
        let future = [("profile", now + Duration::from_secs(1))];
        assert!(stalled_loops(now, &future, threshold).is_empty());
    }

    #[test]
    fn liveness_names_the_stalled_loops() {
        assert_eq!(liveness(&[]), (StatusCode::OK, "ok".to_string()));
        let (status, body) = liveness(&["profile", "tenant"]);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "no progress for 60 s: profile, tenant");
    }

    #[test]
    fn the_heartbeat_interval_leaves_room_below_the_threshold() {
        assert!(HEARTBEAT_INTERVAL * 10 <= STALL_THRESHOLD);
    }

    #[test]
    fn a_beat_refreshes_its_own_loop_only() {
        let health = HealthState::new(Role::Only);
        health.beat_at("profile", ago(120));
        health.beat_at("tenant", ago(120));
        health.beat("profile");
        let (status, body) = health.liveness(Instant::now());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "no progress for 60 s: tenant");
        health.beat("tenant");
        assert_eq!(health.liveness(Instant::now()).0, StatusCode::OK);
    }

    #[tokio::test]
    async fn readyz_is_503_until_the_caches_sync() {
        let health = Arc::new(HealthState::new(Role::Only));
        let (base, server) = serve_on_loopback(Arc::clone(&health)).await;
        assert_eq!(
            answer(&base, "/readyz").await,
            (503, "watch caches not synced".to_string())
        );
        health.mark_synced();
        assert_eq!(answer(&base, "/readyz").await, (200, "ok".to_string()));
        server.abort();
    }

    #[tokio::test]
    async fn readyz_reports_standby_and_leader() {
        let health = Arc::new(HealthState::new(Role::Standby));
        let (base, server) = serve_on_loopback(Arc::clone(&health)).await;
        assert_eq!(answer(&base, "/readyz").await, (200, "standby".to_string()));
        health.set_role(Role::Leader);
        assert_eq!(answer(&base, "/readyz").await.0, 503);
        health.mark_synced();
        assert_eq!(answer(&base, "/readyz").await, (200, "leader".to_string()));
        server.abort();
    }

    #[tokio::test]
    async fn healthz_is_503_when_a_loop_stops_making_progress() {
        let health = Arc::new(HealthState::new(Role::Only));
        let (base, server) = serve_on_loopback(Arc::clone(&health)).await;
        assert_eq!(answer(&base, "/healthz").await, (200, "ok".to_string()));
        health.beat("profile");
        assert_eq!(answer(&base, "/healthz").await, (200, "ok".to_string()));
        health.beat_at("profile", ago(STALL_THRESHOLD.as_secs() + 1));
        assert_eq!(
            answer(&base, "/healthz").await,
            (503, "no progress for 60 s: profile".to_string())
        );
        server.abort();
    }

    #[tokio::test]
    async fn metrics_are_served_as_openmetrics() {
        let (base, server) = serve_on_loopback(Arc::new(HealthState::new(Role::Only))).await;
        let resp = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("scrape");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()[CONTENT_TYPE.as_str()],
            OPENMETRICS_CONTENT_TYPE
        );
        let body = resp.text().await.expect("body");
        assert!(
            body.contains(
                "isc_operator_reconcile_errors_total{kind=\"IdentityProfile\",reason=\"TenantUnavailable\"} 1"
            ),
            "{body}"
        );
        assert!(body.ends_with("# EOF\n"), "{body}");
        server.abort();
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found() {
        let (base, server) = serve_on_loopback(Arc::new(HealthState::new(Role::Only))).await;
        let resp = reqwest::get(format!("{base}/nope")).await.expect("get");
        assert_eq!(resp.status(), 404);
        server.abort();
    }
}
