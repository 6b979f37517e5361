//! Admin edits of lifecycle states, as if made in the ISC UI (no ISC validation): for tests
//! that need a state on the tenant before the operator sees it, or changed behind its back.

use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;

use isc_wire::models::ProfileLifecycleState;

use super::parse_json;
use crate::routes::Reply;
use crate::state::{State, new_id, now_rfc3339};

fn profile_idx(state: &mut State, profile_id: &str) -> Result<usize, Reply> {
    state.tenant.drop_orphan_lifecycle_states();
    state
        .tenant
        .profile_index(profile_id)
        .ok_or_else(|| Reply::not_found(format!("Identity profile '{profile_id}' was not found")))
}

/// `GET /__sim/identity-profiles/{id}/lifecycle-states`: the states as served.
pub(super) fn list(state: &mut State, profile_id: &str) -> Result<Reply, Reply> {
    let idx = profile_idx(state, profile_id)?;
    let tenant = &state.tenant;
    let served: Vec<ProfileLifecycleState> = tenant
        .lifecycle_states
        .of(profile_id)
        .iter()
        .map(|s| tenant.served_lifecycle_state(idx, s))
        .collect();
    Ok(Reply::json(StatusCode::OK, &served))
}

/// `POST /__sim/identity-profiles/{id}/lifecycle-states`: stores a state (id and times
/// generated when absent; a state with the same id is replaced).
pub(super) fn put(state: &mut State, profile_id: &str, body: &Bytes) -> Result<Reply, Reply> {
    profile_idx(state, profile_id)?;
    let mut new: ProfileLifecycleState = serde_json::from_value(parse_json(body)?)
        .map_err(|e| Reply::bad_request(format!("Not a valid LifecycleState: {e}")))?;
    let now = now_rfc3339();
    let id = new.id.get_or_insert_with(new_id).clone();
    new.created.get_or_insert_with(|| now.clone());
    new.modified.get_or_insert(now);
    new.identity_count = None;
    let states = state.tenant.lifecycle_states.of_mut(profile_id);
    match states
        .iter()
        .position(|s| s.id.as_deref() == Some(id.as_str()))
    {
        Some(idx) => states[idx] = new.clone(),
        None => states.push(new.clone()),
    }
    Ok(Reply::json(StatusCode::CREATED, &new))
}

/// `PATCH /__sim/identity-profiles/{id}/lifecycle-states/{lifecycle-state-id}`: a JSON merge
/// patch that may touch any field; `modified` is bumped unless the patch sets it.
pub(super) fn merge(
    state: &mut State,
    profile_id: &str,
    id: &str,
    body: &Bytes,
) -> Result<Reply, Reply> {
    profile_idx(state, profile_id)?;
    let patch = parse_json(body)?;
    let idx = state
        .tenant
        .lifecycle_states
        .index(profile_id, id)
        .ok_or_else(|| Reply::not_found(format!("Lifecycle state '{id}' was not found")))?;
    let states = state.tenant.lifecycle_states.of_mut(profile_id);
    let mut doc = serde_json::to_value(&states[idx]).unwrap_or(Value::Null);
    json_patch::merge(&mut doc, &patch);
    let mut merged: ProfileLifecycleState = serde_json::from_value(doc).map_err(|e| {
        Reply::bad_request(format!(
            "The merged state is not a valid LifecycleState: {e}"
        ))
    })?;
    merged.id = Some(id.to_string());
    if patch.get("modified").is_none() {
        merged.modified = Some(now_rfc3339());
    }
    states[idx] = merged.clone();
    Ok(Reply::json(StatusCode::OK, &merged))
}
