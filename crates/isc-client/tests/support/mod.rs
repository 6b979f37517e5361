//! Tenant clients for the simulator; the simulator fixtures come from [`isc_sim::testing`].

use std::time::Duration;

use isc_client::{TenantClient, TenantClientConfig};
use isc_sim::RunningSimulator;
use secrecy::SecretString;

pub use isc_sim::testing::*;

/// A tenant client config for the simulator, with fast retries so tests stay quick.
pub fn client_config(base_url: &str, id: &str, secret: &str) -> TenantClientConfig {
    let mut config = TenantClientConfig::new(base_url, id, SecretString::from(secret.to_string()))
        .expect("valid config");
    config.retry.min_delay = Duration::from_millis(20);
    config.retry.max_delay = Duration::from_millis(200);
    config.request_timeout = Duration::from_secs(5);
    // The simulator listens on plain http on 127.0.0.1.
    config.allow_insecure_http = true;
    config
}

/// A user-context client for the simulator.
pub fn user_client(sim: &RunningSimulator) -> TenantClient {
    TenantClient::new(client_config(
        &sim.base_url(),
        USER_CLIENT_ID,
        USER_CLIENT_SECRET,
    ))
    .expect("client builds")
}

/// A client without user context.
pub fn app_client(sim: &RunningSimulator) -> TenantClient {
    TenantClient::new(client_config(
        &sim.base_url(),
        APP_CLIENT_ID,
        APP_CLIENT_SECRET,
    ))
    .expect("client builds")
}
