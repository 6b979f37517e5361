//! An in-memory SailPoint ISC tenant, faithful enough to test the operator against.
//!
//! No real tenant is reachable from CI, so the simulator plays one: OAuth client credentials,
//! the v2024 identity-profile, lifecycle-state, identity-attribute, transform, source, identity
//! and task-status operations, the legacy `cc` refresh call, JSON Patch semantics, the experimental-header and user-context rules, rate
//! limiting with `Retry-After`, tasks that progress, fault injection and a request journal.
//! Every response body is built from the wire models in [`isc_wire::models`], so the
//! conformance test can hold both sides to the official schemas.
//!
//! Tests drive it in-process with [`start`]; the `isc-sim` binary serves the same thing for
//! demos and outside tools. The admin API under `/__sim/` (journal, faults, reset, run-time
//! config, direct state edits) is documented in [`admin`]; [`testing`] has the typed client for
//! it ([`testing::SimAdmin`]), the shared test credentials and the API-document locator.
//! [`query`] reads and evaluates the `filters`/`sorters` parameters that clients build with
//! [`isc_wire::filter`].

pub mod admin;
mod auth;
mod faults;
mod journal;
pub mod legacy_filter;
mod overrides;
pub mod patch;
pub mod query;
mod ratelimit;
mod routes;
mod seed;
mod seed_source_ids;
mod server;
mod state;
mod tasks;
pub mod testing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use journal::{JournalEntry, JournalFlags};
pub use seed::{Seed, SeedError, SeedIdentity, SeedSource};

/// An OAuth client the token endpoint accepts.
///
/// `user_context` distinguishes a personal access token (which carries a user and may call
/// user-only operations such as `GET /identities`) from a plain API client (which gets 403 there).
#[derive(Clone)]
pub struct SimClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`; never journaled or logged.
    pub secret: String,
    /// Whether tokens of this client carry a user (a PAT does, an API client does not).
    pub user_context: bool,
}

impl std::fmt::Debug for SimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimClient")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("user_context", &self.user_context)
            .finish()
    }
}

/// Start-up settings; most can be changed later through `POST /__sim/config`.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Credentials the token endpoint accepts.
    pub clients: Vec<SimClient>,
    /// Lifetime of issued tokens (the tenant's is 749 s); short values test token expiry.
    pub token_ttl: Duration,
    /// `(requests, window)` per client id and API version; `None` disables rate limiting.
    pub rate_limit: Option<(u32, Duration)>,
    /// How long a task stays pending/running before it completes.
    pub task_duration: Duration,
    /// Minimum spacing of attribute-sync calls for one identity (the tenant's is 10 s).
    pub sync_attributes_window: Duration,
    /// Initial tenant content; `POST /__sim/reset` returns to it.
    pub seed: Seed,
}

impl SimConfig {
    /// One user-context client (like a PAT) and the tenant's documented defaults.
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        SimConfig {
            clients: vec![SimClient {
                id: client_id.to_string(),
                secret: client_secret.to_string(),
                user_context: true,
            }],
            token_ttl: Duration::from_secs(749),
            rate_limit: Some((100, Duration::from_secs(10))),
            task_duration: Duration::from_secs(2),
            sync_attributes_window: Duration::from_secs(10),
            seed: Seed::builtin(),
        }
    }
}

/// A simulator serving on a local port; dropping it stops the server too.
pub struct RunningSimulator {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    ticker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSimulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningSimulator {
    /// The URL clients use as the tenant base URL, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address (useful when listening on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests and waits (briefly) for open connections to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Binds `listen` (port 0 picks a free port), spawns the server and returns once it accepts.
pub async fn start(config: SimConfig, listen: SocketAddr) -> std::io::Result<RunningSimulator> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(server::Sim::new(config));

    let ticker = {
        let sim = Arc::clone(&sim);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(100));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                sim.tick();
            }
        })
    };

    let (tx, rx) = oneshot::channel::<()>();
    let app = server::router(sim);
    let server = tokio::spawn(async move {
        let result = axum::serve(
            server::SimListener::new(listener),
            app.into_make_service_with_connect_info::<server::ConnHandle>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "simulator server stopped");
        }
    });

    Ok(RunningSimulator {
        addr,
        shutdown: Some(tx),
        server: Some(server),
        ticker: Some(ticker),
    })
}
