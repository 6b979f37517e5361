//! Shared helpers for integration tests: an in-process simulator, a tenant client for it, and
//! the simulator's admin API.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use isc_client::{TenantClient, TenantClientConfig};
use isc_sim::{RunningSimulator, SimClient, SimConfig};
use secrecy::SecretString;
use serde_json::Value;

/// Credential with user context (like a personal access token).
pub const USER_CLIENT_ID: &str = "test-pat";
/// Its secret.
pub const USER_CLIENT_SECRET: &str = "test-pat-secret-Zq9";
/// API client without user context.
pub const APP_CLIENT_ID: &str = "test-app";
/// Its secret.
pub const APP_CLIENT_SECRET: &str = "test-app-secret-Xy7";

/// A simulator config with both kinds of credential and fast tasks.
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

/// Starts a simulator on a free loopback port.
pub async fn start_sim(config: SimConfig) -> RunningSimulator {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
    isc_sim::start(config, addr)
        .await
        .expect("simulator starts")
}

/// A tenant client config for the simulator, with fast retries so tests stay quick.
pub fn client_config(base_url: &str, id: &str, secret: &str) -> TenantClientConfig {
    let mut config = TenantClientConfig::new(base_url, id, SecretString::from(secret.to_string()))
        .expect("valid config");
    config.retry.min_delay = Duration::from_millis(20);
    config.retry.max_delay = Duration::from_millis(200);
    config.request_timeout = Duration::from_secs(5);
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

/// Talks to the simulator's `/__sim/` admin API.
pub struct Admin {
    base: String,
    http: reqwest::Client,
}

impl Admin {
    /// Admin handle for a running simulator.
    pub fn new(sim: &RunningSimulator) -> Self {
        isc_client::client::install_crypto_provider();
        Admin {
            base: sim.base_url(),
            http: reqwest::Client::new(),
        }
    }

    /// The request journal.
    pub async fn journal(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/__sim/requests", self.base))
            .send()
            .await
            .expect("journal request")
            .json()
            .await
            .expect("journal is JSON");
        v.as_array().expect("journal is an array").clone()
    }

    /// Journal entries that are API calls (not token requests).
    pub async fn api_calls(&self) -> Vec<Value> {
        self.journal()
            .await
            .into_iter()
            .filter(|e| e["operationId"] != "token")
            .collect()
    }

    /// Journal entries for the token endpoint.
    pub async fn token_calls(&self) -> Vec<Value> {
        self.journal()
            .await
            .into_iter()
            .filter(|e| e["operationId"] == "token")
            .collect()
    }

    /// Clears the journal.
    pub async fn clear_journal(&self) {
        let r = self
            .http
            .delete(format!("{}/__sim/requests", self.base))
            .send()
            .await
            .expect("clear journal");
        assert!(r.status().is_success(), "clear journal: {}", r.status());
    }

    /// POSTs an admin command and returns the JSON answer.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Injects a fault.
    pub async fn fault(&self, fault: Value) {
        self.post("/__sim/faults", fault).await;
    }

    /// Changes simulator settings at run time.
    pub async fn configure(&self, settings: Value) {
        self.post("/__sim/config", settings).await;
    }
}
