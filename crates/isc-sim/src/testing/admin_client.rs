//! A typed client for the simulator's `/__sim/` admin API (see [`crate::admin`]).
//!
//! It is a test harness, not a production client: every call panics with the request and the
//! answer when the simulator does not accept it, so a test fails at the line that went wrong.

use std::sync::Once;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{JournalEntry, RunningSimulator};

/// Drives one simulator's admin API.
#[derive(Debug, Clone)]
pub struct SimAdmin {
    base: String,
    http: reqwest::Client,
}

impl SimAdmin {
    /// Admin client for an in-process simulator.
    pub fn new(sim: &RunningSimulator) -> Self {
        Self::for_base_url(&sim.base_url())
    }

    /// Admin client for a simulator served elsewhere (e.g. the `isc-sim` binary).
    pub fn for_base_url(base_url: &str) -> Self {
        install_crypto_provider();
        SimAdmin {
            base: base_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// Every journaled request, oldest first.
    pub async fn journal(&self) -> Vec<JournalEntry> {
        self.get("/__sim/requests").await
    }

    /// Journal entries that are API calls (not token requests).
    pub async fn api_calls(&self) -> Vec<JournalEntry> {
        let mut entries = self.journal().await;
        entries.retain(|e| !is_token_call(e));
        entries
    }

    /// Journal entries for the token endpoint.
    pub async fn token_calls(&self) -> Vec<JournalEntry> {
        let mut entries = self.journal().await;
        entries.retain(is_token_call);
        entries
    }

    /// Empties the journal (sequence numbers keep increasing).
    pub async fn clear_journal(&self) {
        self.send(reqwest::Method::DELETE, "/__sim/requests", None)
            .await;
    }

    /// Returns the tenant to its seed; clears journal, faults and rate-limit windows.
    pub async fn reset(&self) {
        self.post("/__sim/reset", Value::Null).await;
    }

    /// Injects a fault (`{method, path, count, status, retryAfter, delayMs, ...}`, see
    /// [`crate::admin`]); returns the simulator's answer (`{id}`).
    pub async fn add_fault(&self, fault: Value) -> Value {
        self.post("/__sim/faults", fault).await
    }

    /// Changes settings at run time (`{rateLimit, taskDurationMs, tokenTtlSecs, ...}`).
    pub async fn configure(&self, settings: Value) {
        self.post("/__sim/config", settings).await;
    }

    /// Stores an identity profile as if made in the UI (no ISC validation); returns it.
    pub async fn put_profile(&self, profile: Value) -> Value {
        self.post("/__sim/identity-profiles", profile).await
    }

    /// Applies a JSON merge patch to a stored profile (any field); returns the result.
    pub async fn merge_profile(&self, id: &str, merge_patch: Value) -> Value {
        let path = format!("/__sim/identity-profiles/{id}");
        self.send(reqwest::Method::PATCH, &path, Some(merge_patch))
            .await
    }

    /// The lifecycle states of a profile, as the tenant serves them.
    pub async fn lifecycle_states(&self, profile_id: &str) -> Vec<Value> {
        self.get(&format!(
            "/__sim/identity-profiles/{profile_id}/lifecycle-states"
        ))
        .await
    }

    /// Stores a lifecycle state as if made in the UI (no ISC validation); returns it.
    pub async fn put_lifecycle_state(&self, profile_id: &str, state: Value) -> Value {
        let path = format!("/__sim/identity-profiles/{profile_id}/lifecycle-states");
        self.post(&path, state).await
    }

    /// Applies a JSON merge patch to a stored lifecycle state (any field); returns the result.
    pub async fn merge_lifecycle_state(
        &self,
        profile_id: &str,
        id: &str,
        merge_patch: Value,
    ) -> Value {
        let path = format!("/__sim/identity-profiles/{profile_id}/lifecycle-states/{id}");
        self.send(reqwest::Method::PATCH, &path, Some(merge_patch))
            .await
    }

    /// Adds or replaces an identity; returns it.
    pub async fn put_identity(&self, identity: Value) -> Value {
        self.post("/__sim/identities", identity).await
    }

    /// GETs an admin resource and decodes it (e.g. `/__sim/tasks`, `/__sim/faults`).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        let value = self.send(reqwest::Method::GET, path, None).await;
        serde_json::from_value(value).unwrap_or_else(|e| panic!("GET {path}: unexpected body: {e}"))
    }

    /// POSTs an admin command and returns the JSON answer (null when there is none).
    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body.filter(|b| !b.is_null()) {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

fn is_token_call(entry: &JournalEntry) -> bool {
    entry.operation_id.as_deref() == Some("token")
}

/// reqwest is built without a bundled TLS provider; ring is the workspace's only one.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
