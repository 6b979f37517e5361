//! PATCH and delete of identity profiles.

use http::StatusCode;
use json_patch::Patch;
use serde_json::Value;

use crate::patch;
use crate::state::{NewTask, State};
use crate::tasks::TaskEffect;
use isc_wire::models::IdentityProfile;

use super::{HandlerResult, Notes, READ_ONLY, Reply, Req, find, json_body, settle_update, view};
use crate::routes::json_patch_body;

fn start_delete(state: &mut State, req: &Req, ids: Vec<String>, warnings: Vec<String>) -> Reply {
    let (unique_name, description) = if ids.len() == 1 && warnings.is_empty() {
        (
            "Identity Profile Delete",
            format!("Delete identity profile {}", ids[0]),
        )
    } else {
        (
            "Identity Profile Bulk Delete",
            format!("Delete {} identity profiles", ids.len()),
        )
    };
    let duration = state.settings.task_duration;
    let task = state.tenant.start_task(
        NewTask {
            unique_name,
            description,
            launcher: &req.client_id,
            effect: TaskEffect::DeleteProfiles(ids),
            identity_count: 0,
            warnings,
            fail: req.fail_task,
        },
        duration,
        req.now,
    );
    Reply::json(StatusCode::ACCEPTED, &task.simplified(req.now))
}

/// `DELETE /identity-profiles/{identity-profile-id}`: the profile disappears when the task
/// completes.
pub(in crate::routes) fn delete(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let id = req.param(0).to_string();
    find(state, &id)?;
    Ok(start_delete(state, req, vec![id], Vec::new()))
}

/// `POST /identity-profiles/bulk-delete`: unknown ids are skipped with a task warning.
pub(in crate::routes) fn bulk_delete(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let body = json_body(req, "application/json", false)?;
    let Value::Array(items) = body else {
        return Err(Reply::bad_request(
            "The request body must be a JSON array of identity profile ids",
        ));
    };
    let mut ids = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Value::String(id) => ids.push(id),
            _ => {
                return Err(Reply::bad_request(format!(
                    "Element {i} of the request body must be a string (an identity profile id)"
                )));
            }
        }
    }
    if ids.is_empty() {
        return Err(Reply::bad_request(
            "At least one identity profile id is required",
        ));
    }
    let (known, unknown): (Vec<String>, Vec<String>) = ids
        .into_iter()
        .partition(|id| state.tenant.profile_index(id).is_some());
    let warnings = unknown
        .iter()
        .map(|id| format!("Identity profile '{id}' was not found and was skipped"))
        .collect();
    Ok(start_delete(state, req, known, warnings))
}
/// `PATCH /identity-profiles/{identity-profile-id}` (RFC 6902, applied atomically).
pub(in crate::routes) fn update(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let ops = json_patch_body(req)?;
    let id = req.param(0).to_string();
    let idx = find(state, &id)?;
    check_written_fields(&ops)?;

    let old = state.tenant.profiles[idx].clone();
    let patched = patch::apply_patch(&view(&old), &ops)
        .map_err(|e| Reply::bad_request(format!("The patch could not be applied: {e}")))?;
    let mut new: IdentityProfile = serde_json::from_value(patched).map_err(|e| {
        Reply::bad_request(format!(
            "The patched identity profile is not a valid IdentityProfile: {e}"
        ))
    })?;
    if new.name.trim().is_empty() {
        return Err(Reply::bad_request("'name' must not be empty"));
    }
    if state.tenant.profile_named(&new.name, Some(&id)).is_some() {
        return Err(Reply::bad_request(format!(
            "'name': an identity profile named '{}' already exists",
            new.name
        )));
    }
    new.authoritative_source = state
        .tenant
        .canonical_source(&new.authoritative_source)
        .ok_or_else(|| {
            Reply::bad_request(format!(
                "'authoritativeSource.id' '{}' does not name a known source",
                new.authoritative_source.id.as_deref().unwrap_or_default()
            ))
        })?;
    if new.identity_attribute_config != old.identity_attribute_config {
        state
            .tenant
            .identity_model
            .check_mappings(new.identity_attribute_config.as_ref())
            .map_err(Reply::bad_request)?;
    }
    let new = settle_update(&state.tenant, &old, new);
    state.tenant.profiles[idx] = new.clone();
    Ok(Reply::json(StatusCode::OK, &new))
}

/// Rejects whole-document and read-only writes, and source and config changed together.
fn check_written_fields(ops: &Patch) -> Result<(), Reply> {
    let (mut touches_source, mut touches_config) = (false, false);
    for (i, op) in ops.0.iter().enumerate() {
        for path in patch::written_paths(op) {
            match patch::top_level_field(&path).as_deref() {
                None => {
                    return Err(Reply::bad_request(format!(
                        "Operation {i}: the whole profile cannot be replaced; patch individual fields"
                    )));
                }
                Some(field) if READ_ONLY.contains(&field) => {
                    return Err(Reply::bad_request(format!(
                        "Operation {i}: '/{field}' is read-only and cannot be updated"
                    )));
                }
                Some("authoritativeSource") => touches_source = true,
                Some("identityAttributeConfig") => touches_config = true,
                Some(_) => {}
            }
        }
    }
    if touches_source && touches_config {
        return Err(Reply::bad_request(
            "'authoritativeSource' and 'identityAttributeConfig' cannot be updated in the same request; send two PATCH requests",
        ));
    }
    Ok(())
}
