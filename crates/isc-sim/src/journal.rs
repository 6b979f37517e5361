//! The request journal: what the operator (or any client) sent and what it got back.
//!
//! Tests assert on calls rather than on logs ("exactly one PATCH", "no full refresh"), and the
//! conformance test validates every journaled request and response against the official schema.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Notable things about one request, so tests can find them without re-deriving them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalFlags {
    /// A legacy refresh whose filter was missing, empty, unparseable or matched nobody, so the
    /// tenant refreshed every identity.
    pub full_refresh: bool,
    /// Answered 429 by the gateway rate limiter.
    pub rate_limited: bool,
    /// An injected fault applied to this request.
    pub fault: bool,
    /// An attribute sync for an identity synced less than the window ago (answered 429).
    pub sync_within_window: bool,
}

/// One journaled request (admin calls under `/__sim/` are not journaled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Increasing sequence number, starting at 1 (survives `DELETE /__sim/requests`).
    pub seq: u64,
    /// When the request arrived (RFC 3339).
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Request path without the query.
    pub path: String,
    /// OpenAPI path template with the version prefix, or null when no operation matched.
    pub route: Option<String>,
    /// OpenAPI operationId (`refreshIdentities` for cc, `token` for `/oauth/token`), or null.
    pub operation_id: Option<String>,
    /// Query parameters (first value per key; `client_secret` redacted).
    pub query: Map<String, Value>,
    /// Request headers with lowercased names, without `authorization`.
    pub headers: Map<String, Value>,
    /// The client the bearer token (or token request) belongs to.
    pub client_id: Option<String>,
    /// Request body: JSON when it parsed, else the raw text as a string, else null.
    pub body: Value,
    /// Response status; 0 when the connection was dropped without a response.
    pub status: u16,
    /// Response body, or null when there was none (`access_token` values are redacted).
    pub response_body: Value,
    /// See [`JournalFlags`].
    pub flags: JournalFlags,
}

/// Bounded so a long-running demo simulator does not grow without limit.
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: std::collections::VecDeque<JournalEntry>,
    next_seq: u64,
}

impl Journal {
    pub(crate) fn push(&mut self, mut entry: JournalEntry) {
        self.next_seq += 1;
        entry.seq = self.next_seq;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub(crate) fn since(&self, seq: u64) -> Vec<JournalEntry> {
        self.entries
            .iter()
            .filter(|e| e.seq > seq)
            .cloned()
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}
