//! Fixtures for tests and tools that drive the simulator: the shared credentials, a fast
//! configuration, a typed client for the `/__sim/` admin API ([`SimAdmin`]) and the locator of
//! the official API documents the conformance tests validate against ([`api_docs_dir`]).
//!
//! Every test suite in the workspace (simulator, client, operator) uses these, so the
//! credentials and the journal shape are defined once.

mod admin_client;
mod api_docs;

use std::net::SocketAddr;
use std::time::Duration;

use crate::{RunningSimulator, SimClient, SimConfig};

pub use admin_client::SimAdmin;
pub use api_docs::{API_DOCS_PIN, api_docs_dir};

/// Credential with user context (like a personal access token).
pub const USER_CLIENT_ID: &str = "test-pat";
/// Secret of [`USER_CLIENT_ID`].
pub const USER_CLIENT_SECRET: &str = "test-pat-secret-Zq9";
/// API client without user context.
pub const APP_CLIENT_ID: &str = "test-app";
/// Secret of [`APP_CLIENT_ID`].
pub const APP_CLIENT_SECRET: &str = "test-app-secret-Xy7";

/// A simulator config with both kinds of credential and fast (300 ms) tasks.
pub fn sim_config() -> SimConfig {
    let mut config = SimConfig::new(USER_CLIENT_ID, USER_CLIENT_SECRET);
    config.clients.push(SimClient {
        id: APP_CLIENT_ID.to_string(),
        secret: APP_CLIENT_SECRET.to_string(),
        user_context: false,
    });
    config.task_duration = Duration::from_millis(300);
    config
}

/// Starts a simulator on a free loopback port; panics if it cannot bind.
pub async fn start_sim(config: SimConfig) -> RunningSimulator {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
    crate::start(config, addr).await.expect("simulator starts")
}
