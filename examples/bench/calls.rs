//! Tenant calls, read from a simulator's journal and sorted by kind.

use chrono::{DateTime, Utc};
use isc_sim::JournalEntry;
use isc_sim::testing::SimAdmin;

/// The profile collection (list, create).
const PROFILES: &str = "/v2024/identity-profiles";
/// The bulk import of profiles.
const IMPORT: &str = "/v2024/identity-profiles/import";

/// Reads one simulator's journal incrementally (only entries not seen yet cross the wire).
#[derive(Debug)]
pub struct JournalCursor {
    admin: SimAdmin,
    last_seq: u64,
}

impl JournalCursor {
    /// A cursor at the start of the journal.
    pub fn new(admin: SimAdmin) -> JournalCursor {
        JournalCursor { admin, last_seq: 0 }
    }

    /// The simulator's admin client.
    pub fn admin(&self) -> &SimAdmin {
        &self.admin
    }

    /// Entries after the previous call, oldest first; moves the cursor past them.
    pub async fn advance(&mut self) -> Vec<JournalEntry> {
        let path = format!("/__sim/requests?since={}", self.last_seq);
        let entries: Vec<JournalEntry> = self.admin.get(&path).await;
        if let Some(last) = entries.last() {
            self.last_seq = last.seq;
        }
        entries
    }

    /// Forgets everything journaled so far (a measurement starts after it).
    pub async fn skip(&mut self) {
        self.advance().await;
    }
}

/// When a journal entry's request arrived.
pub fn arrived(entry: &JournalEntry) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&entry.time)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether an entry is an API call (the token endpoint is not counted).
pub fn is_api_call(entry: &JournalEntry) -> bool {
    entry.operation_id.as_deref() != Some("token")
}

/// A list of identity profiles (any page).
pub fn is_profile_list(entry: &JournalEntry) -> bool {
    entry.method == "GET" && entry.path == PROFILES
}

/// The first page of a profile list: where a full read of the tenant's profiles starts.
pub fn is_list_start(entry: &JournalEntry) -> bool {
    let offset = entry.query.get("offset").and_then(|v| match v {
        serde_json::Value::String(s) => s.parse::<u64>().ok(),
        other => other.as_u64(),
    });
    is_profile_list(entry) && offset.unwrap_or(0) == 0
}

/// Tenant calls by kind (token requests excluded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// Every API call.
    pub total: usize,
    /// GET and HEAD.
    pub reads: usize,
    /// POST, PATCH, PUT, DELETE other than imports.
    pub writes: usize,
    /// `POST /v2024/identity-profiles/import`.
    pub imports: usize,
    /// `GET /v2024/identity-profiles` pages.
    pub profile_lists: usize,
    /// `GET /v2024/identities` pages.
    pub identity_lists: usize,
    /// `POST /v2024/identities/process`.
    pub processes: usize,
    /// Calls answered 429 by the gateway.
    pub rate_limited: usize,
}

impl Calls {
    /// Counts the API calls among `entries`.
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a JournalEntry>) -> Calls {
        let mut c = Calls::default();
        for e in entries.into_iter().filter(|e| is_api_call(e)) {
            c.total += 1;
            match e.method.as_str() {
                "GET" | "HEAD" => c.reads += 1,
                "POST" if e.path == IMPORT => c.imports += 1,
                _ => c.writes += 1,
            }
            c.profile_lists += usize::from(is_profile_list(e));
            c.identity_lists += usize::from(e.method == "GET" && e.path == "/v2024/identities");
            c.processes += usize::from(e.method == "POST" && e.path == "/v2024/identities/process");
            c.rate_limited += usize::from(e.flags.rate_limited);
        }
        c
    }

    /// `37 (12 reads, 5 writes, 20 imports, 0 × 429)`.
    pub fn summary(&self) -> String {
        format!(
            "{} ({} reads, {} writes, {} imports, {} × 429)",
            self.total, self.reads, self.writes, self.imports, self.rate_limited
        )
    }
}

/// `⌈a/b⌉`.
pub fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}
