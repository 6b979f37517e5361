//! The simulator's own admin API under `/__sim/` (not ISC; no auth; never journaled).
//!
//! - `GET /__sim/requests[?since=SEQ]`: journal entries after `SEQ`, oldest first
//!   ([`JournalEntry`](super::JournalEntry)); `DELETE /__sim/requests` clears the journal.
//! - `POST /__sim/faults` `{method ("*" default), path (glob), count (1), status, retryAfter
//!   (seconds or any header text), bodyBytes, location, expiresIn, ignoreOffset, delayMs,
//!   delayAfterMs, drop, taskOutcome: "ERROR"}` → 201 `{id}`; `GET` lists, `DELETE` clears them.
//!   `location` answers a redirect (`status` 3xx, default 307) without handling the request;
//!   `bodyBytes` pads the status's body to that size; `expiresIn` puts any JSON value into a
//!   token response's `expires_in`; `ignoreOffset` serves a list as if `offset` were absent.
//! - `POST /__sim/reset`: tenant back to the seed; journal, faults and rate-limit windows cleared.
//! - `GET|POST /__sim/config` `{rateLimit: {requests, windowMs} | null, taskDurationMs,
//!   tokenTtlSecs, syncAttributesWindowMs}` (each optional): read or change settings.
//! - Direct state edits, as if made in the ISC UI (no ISC validation):
//!   `GET|POST /__sim/identity-profiles`, `GET|PATCH|DELETE /__sim/identity-profiles/{id}`
//!   (PATCH is a JSON merge patch that may touch any field), `GET|POST /__sim/identities`,
//!   `GET /__sim/tasks`, `GET /__sim/sources`.
//! - Lifecycle states, likewise: `GET|POST /__sim/identity-profiles/{id}/lifecycle-states`
//!   (POST stores one; id and times generated when absent, same id replaced) and
//!   `PATCH /__sim/identity-profiles/{id}/lifecycle-states/{lifecycle-state-id}` (JSON merge
//!   patch, any field).
//! - `POST /__sim/identity-profiles/{id}/wire-overrides` `{field: any JSON, ...}`: from now on
//!   every tenant answer carrying that profile (list, get, patch, export) shows these top-level
//!   fields verbatim (nulls and wrong types included), as a tenant with damaged data would;
//!   answers 200 with the profile as served. `DELETE` removes them (a reset does too).

mod lifecycle_states;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use isc_wire::models::IdentityProfile;

use super::faults::FaultSpec;
use super::routes::Reply;
use super::seed::SeedIdentity;
use super::server::Sim;
use super::state::{SimIdentity, State, new_id, now_rfc3339};

fn parse_json(body: &Bytes) -> Result<Value, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Reply::bad_request(
            "The request body is required but was empty",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Reply::bad_request(format!("Malformed JSON request body: {e}")))
}

fn config_view(state: &State) -> Value {
    let s = &state.settings;
    json!({
        "rateLimit": s.rate_limit.map(|(requests, window)| json!({
            "requests": requests,
            "windowMs": window.as_millis() as u64,
        })),
        "taskDurationMs": s.task_duration.as_millis() as u64,
        "tokenTtlSecs": s.token_ttl.as_secs(),
        "syncAttributesWindowMs": s.sync_window.as_millis() as u64,
    })
}

fn millis(body: &Value, key: &str) -> Result<Option<u64>, Reply> {
    match body.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| Reply::bad_request(format!("'{key}' must be a non-negative integer"))),
    }
}

fn update_config(state: &mut State, body: &Bytes) -> Result<Reply, Reply> {
    let body = parse_json(body)?;
    let Value::Object(map) = &body else {
        return Err(Reply::bad_request("The config must be a JSON object"));
    };
    for key in map.keys() {
        if ![
            "rateLimit",
            "taskDurationMs",
            "tokenTtlSecs",
            "syncAttributesWindowMs",
        ]
        .contains(&key.as_str())
        {
            return Err(Reply::bad_request(format!("Unknown config key '{key}'")));
        }
    }
    let rate_limit = match map.get("rateLimit") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => {
            let requests = millis(v, "requests")?
                .filter(|n| *n > 0 && *n <= u64::from(u32::MAX))
                .ok_or_else(|| {
                    Reply::bad_request("'rateLimit.requests' must be a positive integer")
                })?;
            let window = millis(v, "windowMs")?.filter(|n| *n > 0).ok_or_else(|| {
                Reply::bad_request("'rateLimit.windowMs' must be a positive integer")
            })?;
            Some(Some((requests as u32, Duration::from_millis(window))))
        }
    };
    let task = millis(&body, "taskDurationMs")?;
    let ttl = millis(&body, "tokenTtlSecs")?;
    let sync = millis(&body, "syncAttributesWindowMs")?;
    let s = &mut state.settings;
    if let Some(rl) = rate_limit {
        s.rate_limit = rl;
        state.limiter.clear();
    }
    if let Some(ms) = task {
        s.task_duration = Duration::from_millis(ms);
    }
    if let Some(secs) = ttl {
        s.token_ttl = Duration::from_secs(secs);
    }
    if let Some(ms) = sync {
        s.sync_window = Duration::from_millis(ms);
    }
    Ok(Reply::json(StatusCode::OK, &config_view(state)))
}

fn add_fault(state: &mut State, body: &Bytes) -> Result<Reply, Reply> {
    let body = parse_json(body)?;
    let spec: FaultSpec = serde_json::from_value(body)
        .map_err(|e| Reply::bad_request(format!("Not a valid fault: {e}")))?;
    spec.validate().map_err(Reply::bad_request)?;
    let id = state.faults.add(spec);
    Ok(Reply::json(StatusCode::CREATED, &json!({ "id": id })))
}

fn put_profile(state: &mut State, body: &Bytes) -> Result<Reply, Reply> {
    let body = parse_json(body)?;
    let mut profile: IdentityProfile = serde_json::from_value(body)
        .map_err(|e| Reply::bad_request(format!("Not a valid IdentityProfile: {e}")))?;
    let now = now_rfc3339();
    let id = profile.id.get_or_insert_with(new_id).clone();
    profile.created.get_or_insert_with(|| now.clone());
    profile.modified.get_or_insert(now);
    if profile.identity_count.is_none() {
        profile.identity_count = Some(
            state
                .tenant
                .count_for_source(profile.authoritative_source.id.as_deref()),
        );
    }
    match state.tenant.profile_index(&id) {
        Some(idx) => state.tenant.profiles[idx] = profile.clone(),
        None => state.tenant.profiles.push(profile.clone()),
    }
    Ok(Reply::json(StatusCode::CREATED, &profile))
}

fn merge_profile(state: &mut State, id: &str, body: &Bytes) -> Result<Reply, Reply> {
    let patch = parse_json(body)?;
    let idx = state
        .tenant
        .profile_index(id)
        .ok_or_else(|| Reply::not_found(format!("Identity profile '{id}' was not found")))?;
    let mut doc = serde_json::to_value(&state.tenant.profiles[idx]).unwrap_or(Value::Null);
    json_patch::merge(&mut doc, &patch);
    let mut profile: IdentityProfile = serde_json::from_value(doc).map_err(|e| {
        Reply::bad_request(format!(
            "The merged profile is not a valid IdentityProfile: {e}"
        ))
    })?;
    profile.id = Some(id.to_string());
    if patch.get("modified").is_none() {
        profile.modified = Some(now_rfc3339());
    }
    state.tenant.profiles[idx] = profile.clone();
    Ok(Reply::json(StatusCode::OK, &profile))
}

fn set_wire_overrides(state: &mut State, id: &str, body: &Bytes) -> Result<Reply, Reply> {
    let Value::Object(fields) = parse_json(body)? else {
        return Err(Reply::bad_request("The overrides must be a JSON object"));
    };
    let idx = state
        .tenant
        .profile_index(id)
        .ok_or_else(|| Reply::not_found(format!("Identity profile '{id}' was not found")))?;
    state.tenant.wire_overrides.set(id, fields);
    let mut served = serde_json::to_value(&state.tenant.profiles[idx]).unwrap_or(Value::Null);
    state.tenant.wire_overrides.apply_one(&mut served);
    Ok(Reply::json(StatusCode::OK, &served))
}

fn put_identity(state: &mut State, body: &Bytes) -> Result<Reply, Reply> {
    let body = parse_json(body)?;
    let seed: SeedIdentity = serde_json::from_value(body)
        .map_err(|e| Reply::bad_request(format!("Not a valid seed identity: {e}")))?;
    let mut identity = SimIdentity::from_seed(&seed, state.tenant.identities.len());
    let now = now_rfc3339();
    identity.identity.created = Some(now.clone());
    identity.identity.modified = Some(now);
    let id = identity.id().to_string();
    match state.tenant.identities.iter().position(|i| i.id() == id) {
        Some(idx) => state.tenant.identities[idx] = identity.clone(),
        None => state.tenant.identities.push(identity.clone()),
    }
    state.tenant.refresh_counts();
    Ok(Reply::json(StatusCode::CREATED, &identity.admin_view()))
}

fn not_found(method: &Method, path: &str) -> Reply {
    Reply::not_found(format!("No admin operation matches {method} {path}"))
}

/// Serves one admin request.
pub(crate) fn handle(
    sim: &Sim,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    body: &Bytes,
) -> Reply {
    let now = Instant::now();
    let mut state = sim.lock();
    state.tenant.advance(now);
    let segments: Vec<&str> = path
        .trim_start_matches("/__sim")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let result = match (method.as_str(), segments.as_slice()) {
        ("GET", ["requests"]) => {
            let since = query
                .iter()
                .find(|(k, _)| k == "since")
                .map(|(_, v)| v.parse::<u64>())
                .transpose();
            match since {
                Ok(since) => Ok(Reply::json(
                    StatusCode::OK,
                    &state.journal.since(since.unwrap_or(0)),
                )),
                Err(_) => Err(Reply::bad_request("'since' must be a non-negative integer")),
            }
        }
        ("DELETE", ["requests"]) => {
            state.journal.clear();
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        ("GET", ["faults"]) => Ok(Reply::json(StatusCode::OK, &state.faults.list())),
        ("POST", ["faults"]) => add_fault(&mut state, body),
        ("DELETE", ["faults"]) => {
            state.faults.clear();
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        ("POST", ["reset"]) => {
            state.reset();
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        ("GET", ["config"]) => Ok(Reply::json(StatusCode::OK, &config_view(&state))),
        ("POST", ["config"]) => update_config(&mut state, body),
        ("GET", ["identity-profiles"]) => Ok(Reply::json(StatusCode::OK, &state.tenant.profiles)),
        ("POST", ["identity-profiles"]) => put_profile(&mut state, body),
        ("GET", ["identity-profiles", id]) => match state.tenant.profile_index(id) {
            Some(idx) => Ok(Reply::json(StatusCode::OK, &state.tenant.profiles[idx])),
            None => Err(Reply::not_found(format!(
                "Identity profile '{id}' was not found"
            ))),
        },
        ("PATCH", ["identity-profiles", id]) => merge_profile(&mut state, id, body),
        ("DELETE", ["identity-profiles", id]) => match state.tenant.profile_index(id) {
            Some(idx) => {
                state.tenant.profiles.remove(idx);
                Ok(Reply::empty(StatusCode::NO_CONTENT))
            }
            None => Err(Reply::not_found(format!(
                "Identity profile '{id}' was not found"
            ))),
        },
        ("GET", ["identity-profiles", id, "lifecycle-states"]) => {
            lifecycle_states::list(&mut state, id)
        }
        ("POST", ["identity-profiles", id, "lifecycle-states"]) => {
            lifecycle_states::put(&mut state, id, body)
        }
        ("PATCH", ["identity-profiles", id, "lifecycle-states", state_id]) => {
            lifecycle_states::merge(&mut state, id, state_id, body)
        }
        ("POST", ["identity-profiles", id, "wire-overrides"]) => {
            set_wire_overrides(&mut state, id, body)
        }
        ("DELETE", ["identity-profiles", id, "wire-overrides"]) => {
            match state.tenant.wire_overrides.remove(id) {
                true => Ok(Reply::empty(StatusCode::NO_CONTENT)),
                false => Err(Reply::not_found(format!(
                    "Identity profile '{id}' has no wire overrides"
                ))),
            }
        }
        ("GET", ["identities"]) => {
            let all: Vec<Value> = state
                .tenant
                .identities
                .iter()
                .map(SimIdentity::admin_view)
                .collect();
            Ok(Reply::json(StatusCode::OK, &all))
        }
        ("POST", ["identities"]) => put_identity(&mut state, body),
        ("GET", ["tasks"]) => {
            let all: Vec<_> = state.tenant.tasks.iter().map(|t| t.status(now)).collect();
            Ok(Reply::json(StatusCode::OK, &all))
        }
        ("GET", ["sources"]) => Ok(Reply::json(StatusCode::OK, &state.tenant.sources)),
        _ => Err(not_found(method, path)),
    };
    match result {
        Ok(r) | Err(r) => r,
    }
}
