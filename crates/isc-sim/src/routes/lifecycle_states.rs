//! Lifecycle states of an identity profile
//! (`/v2024/identity-profiles/{identity-profile-id}/lifecycle-states[/{lifecycle-state-id}]`).
//!
//! What the official documents say: list (paged, `sorters` on name, priority, created,
//! modified; no `filters`), create (201), get, PATCH with JSON Patch where "the following
//! fields can be updated: enabled, description, accountActions, accessProfileIds,
//! emailNotificationOption", delete (202 `LifecyclestateDeleted`); `technicalName` is
//! required, `identityCount` read-only, `accessProfileIds` and `sourceIds` unique.
//!
//! What they leave open, and what the simulator chose:
//! - An unknown profile id answers 404 on every operation (list and create declare no 404;
//!   the simulator answers it anyway, as a profile-scoped collection that does not exist).
//! - `technicalName` is unique within its profile, compared case-insensitively; a duplicate
//!   create answers 400 (no 409 is declared). The same technical name in two profiles is fine.
//! - `name` is required as a non-empty string (BaseCommonDto marks it required but nullable).
//! - PATCH refuses (400, naming the field) writes to `technicalName` (the state's key) and to
//!   the read-only `id`, `created`, `modified` and `identityCount`, and whole-document writes.
//!   `name` and `identityState` are not in the documented list but are accepted: the list
//!   reads as what is usually changed, and the operator's `name` is mutable. The value of
//!   `identityState` is not checked (the schema gives no enum).
//! - `accountActions[].action` must be `ENABLE`, `DISABLE` or `DELETE`, and each `sourceIds`
//!   entry must name a source of the tenant (400 naming it); access-profile ids are not
//!   checked (the simulator has no access profiles), only for duplicates.
//! - `identityCount` is computed on read: identities of the profile's authoritative source
//!   whose lifecycle state is this state's technical name. Deleting a state that identities
//!   are in is allowed (nothing documents a refusal).
//! - A state created without `emailNotificationOption` gets the schema defaults (three `false`
//!   flags, no addresses), so it is always present and a PATCH can `replace` its members.
//! - A new profile has no lifecycle states; deleting a profile deletes its states.
//! - `filters` is refused with 400 (not supported by the operation); `modified` changes only
//!   when the stored state changed; the delete answer has `type: LIFECYCLE_STATE`.

use http::StatusCode;
use json_patch::Patch;
use serde_json::Value;

use isc_wire::models::{EmailNotificationOption, LifecycleStateDeleted, ProfileLifecycleState};

use super::{
    HandlerResult, Notes, Reply, Req, json_body, json_patch_body, list_reply, paging, select,
    sorters,
};
use crate::patch;
use crate::state::{State, Tenant, new_id, now_rfc3339};

/// Fields clients cannot set (create ignores them, PATCH refuses them).
const READ_ONLY: [&str; 4] = ["id", "created", "modified", "identityCount"];
/// The key of a state within its profile: set on create, never changed.
const FIXED: &str = "technicalName";
const ACTIONS: [&str; 3] = ["ENABLE", "DISABLE", "DELETE"];

/// The profile named by the first path parameter (404 when unknown).
fn profile(state: &mut State, req: &Req) -> Result<(usize, String), Reply> {
    state.tenant.drop_orphan_lifecycle_states();
    let id = req.param(0).to_string();
    match state.tenant.profile_index(&id) {
        Some(idx) => Ok((idx, id)),
        None => Err(Reply::not_found(format!(
            "Identity profile '{id}' was not found"
        ))),
    }
}

/// The profile and the state named by the path (404 when either is unknown).
fn find(state: &mut State, req: &Req) -> Result<(usize, String, usize), Reply> {
    let (profile_idx, profile_id) = profile(state, req)?;
    let id = req.param(1);
    match state.tenant.lifecycle_states.index(&profile_id, id) {
        Some(idx) => Ok((profile_idx, profile_id, idx)),
        None => Err(Reply::not_found(format!(
            "Lifecycle state '{id}' was not found in identity profile '{profile_id}'"
        ))),
    }
}

/// Checks what the schema and the tenant's data require of a state (create and PATCH).
fn validate(tenant: &Tenant, s: &ProfileLifecycleState) -> Result<(), String> {
    if s.name.trim().is_empty() {
        return Err("'name' must not be empty".to_string());
    }
    if s.technical_name.trim().is_empty() {
        return Err("'technicalName' must not be empty".to_string());
    }
    for (i, action) in s.account_actions.iter().enumerate() {
        if !ACTIONS.contains(&action.action.as_str()) {
            return Err(format!(
                "'accountActions[{i}].action' must be one of {}, got '{}'",
                ACTIONS.join(", "),
                action.action
            ));
        }
        unique(
            &action.source_ids,
            &format!("accountActions[{i}].sourceIds"),
        )?;
        if let Some(unknown) = action
            .source_ids
            .iter()
            .find(|id| tenant.source(id).is_none())
        {
            return Err(format!(
                "'accountActions[{i}].sourceIds' names '{unknown}', which is not a source of this tenant"
            ));
        }
    }
    unique(&s.access_profile_ids, "accessProfileIds")
}

fn unique(items: &[String], field: &str) -> Result<(), String> {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(format!("'{field}' must be unique; '{item}' is repeated"));
        }
    }
    Ok(())
}

/// Decodes a create body: an object with a string `technicalName`; read-only fields dropped.
fn parse_new(body: Value) -> Result<ProfileLifecycleState, String> {
    let Value::Object(mut map) = body else {
        return Err("The lifecycle state must be a JSON object".to_string());
    };
    for key in ["name", FIXED] {
        match map.get(key) {
            None | Some(Value::Null) => return Err(format!("'{key}' is required")),
            Some(Value::String(_)) => {}
            Some(_) => return Err(format!("'{key}' must be a string")),
        }
    }
    for key in READ_ONLY {
        map.remove(key);
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| format!("Not a valid LifecycleState: {e}"))
}

/// `GET …/lifecycle-states` (getLifecycleStates)
pub(super) fn list(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let (profile_idx, profile_id) = profile(state, req)?;
    let paging = paging(req)?;
    if req.query("filters").is_some() {
        return Err(Reply::bad_request(
            "Invalid query parameter 'filters': this operation does not support filtering",
        ));
    }
    let sorters = sorters(req, &["name", "priority", "created", "modified"])?;
    let tenant = &state.tenant;
    let items = tenant
        .lifecycle_states
        .of(&profile_id)
        .iter()
        .map(|s| {
            let served = tenant.served_lifecycle_state(profile_idx, s);
            (serde_json::to_value(&served).unwrap_or(Value::Null), served)
        })
        .collect();
    let (page, total) = select(items, None, &sorters, paging);
    Ok(list_reply(&page, total, paging))
}

/// `POST …/lifecycle-states` (createLifecycleState)
pub(super) fn create(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let (profile_idx, profile_id) = profile(state, req)?;
    let body = json_body(req, "application/json", false)?;
    let mut new = parse_new(body).map_err(Reply::bad_request)?;
    validate(&state.tenant, &new).map_err(Reply::bad_request)?;
    let states = &state.tenant.lifecycle_states;
    if states.technical_name_taken(&profile_id, &new.technical_name, None) {
        return Err(Reply::bad_request(format!(
            "'technicalName': identity profile '{profile_id}' already has a lifecycle state '{}'",
            new.technical_name
        )));
    }
    let now = now_rfc3339();
    new.id = Some(new_id());
    new.created = Some(now.clone());
    new.modified = Some(now);
    new.identity_count = None;
    new.email_notification_option
        .get_or_insert_with(EmailNotificationOption::default);
    state
        .tenant
        .lifecycle_states
        .of_mut(&profile_id)
        .push(new.clone());
    let served = state.tenant.served_lifecycle_state(profile_idx, &new);
    Ok(Reply::json(StatusCode::CREATED, &served))
}

/// `GET …/lifecycle-states/{lifecycle-state-id}` (getLifecycleState)
pub(super) fn get(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let (profile_idx, profile_id, idx) = find(state, req)?;
    let stored = &state.tenant.lifecycle_states.of(&profile_id)[idx];
    let served = state.tenant.served_lifecycle_state(profile_idx, stored);
    Ok(Reply::json(StatusCode::OK, &served))
}

/// Refuses whole-document writes, read-only fields and the technical name.
fn check_written_fields(ops: &Patch) -> Result<(), Reply> {
    for (i, op) in ops.0.iter().enumerate() {
        for path in patch::written_paths(op) {
            match patch::top_level_field(&path).as_deref() {
                None => {
                    return Err(Reply::bad_request(format!(
                        "Operation {i}: the whole lifecycle state cannot be replaced; patch individual fields"
                    )));
                }
                Some(field) if READ_ONLY.contains(&field) => {
                    return Err(Reply::bad_request(format!(
                        "Operation {i}: '/{field}' is read-only and cannot be updated"
                    )));
                }
                Some(FIXED) => {
                    return Err(Reply::bad_request(format!(
                        "Operation {i}: '/{FIXED}' cannot be changed after the lifecycle state is created"
                    )));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// `PATCH …/lifecycle-states/{lifecycle-state-id}` (updateLifecycleStates), applied atomically.
pub(super) fn update(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let ops = json_patch_body(req)?;
    let (profile_idx, profile_id, idx) = find(state, req)?;
    check_written_fields(&ops)?;
    let old = state.tenant.lifecycle_states.of(&profile_id)[idx].clone();
    let doc = serde_json::to_value(&old).unwrap_or(Value::Null);
    let patched = patch::apply_patch(&doc, &ops)
        .map_err(|e| Reply::bad_request(format!("The patch could not be applied: {e}")))?;
    let mut new: ProfileLifecycleState = serde_json::from_value(patched).map_err(|e| {
        Reply::bad_request(format!(
            "The patched lifecycle state is not a valid LifecycleState: {e}"
        ))
    })?;
    validate(&state.tenant, &new).map_err(Reply::bad_request)?;
    if new != old {
        new.modified = Some(now_rfc3339());
    }
    state.tenant.lifecycle_states.of_mut(&profile_id)[idx] = new.clone();
    let served = state.tenant.served_lifecycle_state(profile_idx, &new);
    Ok(Reply::json(StatusCode::OK, &served))
}

/// `DELETE …/lifecycle-states/{lifecycle-state-id}` (deleteLifecycleState): gone at once.
pub(super) fn delete(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let (_, profile_id, idx) = find(state, req)?;
    let removed = state
        .tenant
        .lifecycle_states
        .of_mut(&profile_id)
        .remove(idx);
    let answer = LifecycleStateDeleted {
        kind: Some("LIFECYCLE_STATE".to_string()),
        id: removed.id,
        name: Some(removed.name),
    };
    Ok(Reply::json(StatusCode::ACCEPTED, &answer))
}
