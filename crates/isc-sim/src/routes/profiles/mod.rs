//! Identity-profile operations (`/v2024/identity-profiles...`).
//!
//! Tenant behaviour the simulator commits to (and the operator must cope with):
//! - `name` is unique per tenant, compared case-insensitively.
//! - `authoritativeSource` must name a known source by `id`; the tenant fills in `type`
//!   (`SOURCE`) and `name` from the source, whatever the request said.
//! - A profile created without `identityAttributeConfig` gets the schema default
//!   `{"enabled": false, "attributeTransforms": []}`; read-only fields in a create body
//!   (`id`, `created`, `modified`, `identityCount`, `identityRefreshRequired`) are ignored.
//! - A PATCH or import that really changes `authoritativeSource` or `identityAttributeConfig`
//!   sets `identityRefreshRequired`; processing the profile clears it when the task completes.
//! - `modified` changes only when the stored profile changed.
//! - A create or import whose `identityAttributeConfig` maps to an identity attribute the tenant
//!   does not have, or whose `reference` transform (at any depth) names a transform the tenant
//!   does not have (by name, as the `Reference` schema documents, or by id), is refused: 400
//!   naming the mapping and the missing object (an import answers it as that object's error).
//!   A PATCH is checked the same way when it changes `identityAttributeConfig`, so a profile
//!   whose mapping went stale can still get other edits. The official documents do not say
//!   what the tenant does (a community provider reports such mappings rejected, or accepted
//!   and then dropped); the simulator refuses, the stricter of the two.
//! - Import matches by id, else by name (case-insensitively), answers per object and never
//!   leaves two profiles with one name; what the official documents leave open about it, and
//!   what the simulator chose, is listed in the `transfer` module.

mod processing;
mod transfer;
mod update;

use http::StatusCode;
use serde_json::Value;

use crate::state::{State, Tenant, new_id, now_rfc3339};
use isc_wire::filter::{CmpOp, FilterOp};
use isc_wire::models::IdentityProfile;

use super::{
    HandlerResult, Notes, Reply, Req, filters, json_body, list_reply, paging, select, sorters,
};

pub(super) use processing::{default_config, preview, process};
pub(super) use transfer::{export, import};
pub(super) use update::{bulk_delete, delete, update};

/// Fields clients cannot set (PATCH rejects them; create and import ignore them).
const READ_ONLY: [&str; 5] = [
    "id",
    "created",
    "modified",
    "identityCount",
    "identityRefreshRequired",
];

const LIST_OPS: &[FilterOp] = &[
    FilterOp::Cmp(CmpOp::Eq),
    FilterOp::Cmp(CmpOp::Ne),
    FilterOp::Cmp(CmpOp::Ge),
    FilterOp::Cmp(CmpOp::Gt),
    FilterOp::In,
    FilterOp::Cmp(CmpOp::Le),
    FilterOp::Cmp(CmpOp::Sw),
];
const EQ_NE: &[FilterOp] = &[FilterOp::Cmp(CmpOp::Eq), FilterOp::Cmp(CmpOp::Ne)];

fn view(p: &IdentityProfile) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn find(state: &State, id: &str) -> Result<usize, Reply> {
    state
        .tenant
        .profile_index(id)
        .ok_or_else(|| Reply::not_found(format!("Identity profile '{id}' was not found")))
}

/// Validates a profile body (create and import): required fields, shape, a known source and
/// mappings to known identity attributes and transforms. Read-only fields are dropped.
fn parse_profile(tenant: &Tenant, body: Value) -> Result<IdentityProfile, String> {
    let Value::Object(mut map) = body else {
        return Err("The identity profile must be a JSON object".to_string());
    };
    match map.get("name") {
        None | Some(Value::Null) => return Err("'name' is required".to_string()),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err("'name' must not be empty".to_string());
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err("'name' must be a string".to_string()),
    }
    let source_id = match map.get("authoritativeSource") {
        None | Some(Value::Null) => return Err("'authoritativeSource' is required".to_string()),
        Some(source) => match source.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => return Err("'authoritativeSource.id' is required".to_string()),
        },
    };
    for key in READ_ONLY {
        map.remove(key);
    }
    let mut profile: IdentityProfile = serde_json::from_value(Value::Object(map))
        .map_err(|e| format!("Not a valid IdentityProfile: {e}"))?;
    tenant
        .identity_model
        .check_mappings(profile.identity_attribute_config.as_ref())?;
    profile.authoritative_source = tenant
        .canonical_source(&profile.authoritative_source)
        .ok_or_else(|| {
            format!("'authoritativeSource.id' '{source_id}' does not name a known source")
        })?;
    Ok(profile)
}

/// Stores a new profile: fresh id and timestamps, counted identities, default attribute config.
fn insert_new(state: &mut State, mut profile: IdentityProfile) -> IdentityProfile {
    let now = now_rfc3339();
    profile.id = Some(new_id());
    profile.created = Some(now.clone());
    profile.modified = Some(now);
    profile.identity_refresh_required = false;
    profile.identity_count = Some(
        state
            .tenant
            .count_for_source(profile.authoritative_source.id.as_deref()),
    );
    profile
        .identity_attribute_config
        .get_or_insert_with(Tenant::empty_attribute_config);
    state.tenant.profiles.push(profile.clone());
    profile
}

/// Keeps read-only fields, flags a needed refresh and bumps `modified` if anything changed.
fn settle_update(
    tenant: &Tenant,
    old: &IdentityProfile,
    mut new: IdentityProfile,
) -> IdentityProfile {
    new.id.clone_from(&old.id);
    new.created.clone_from(&old.created);
    new.modified.clone_from(&old.modified);
    new.identity_refresh_required = old.identity_refresh_required;
    new.identity_count = old.identity_count;
    let source_changed = new.authoritative_source != old.authoritative_source;
    let config_changed = new.identity_attribute_config != old.identity_attribute_config;
    if source_changed || config_changed {
        new.identity_refresh_required = true;
    }
    if source_changed {
        new.identity_count = Some(tenant.count_for_source(new.authoritative_source.id.as_deref()));
    }
    if new != *old {
        new.modified = Some(now_rfc3339());
    }
    new
}

/// `GET /identity-profiles`
pub(in crate::routes) fn list(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let paging = paging(req)?;
    let filter = filters(
        req,
        &[("id", LIST_OPS), ("name", LIST_OPS), ("priority", EQ_NE)],
    )?;
    let sorters = sorters(
        req,
        &[
            "id",
            "name",
            "priority",
            "created",
            "modified",
            "owner.id",
            "owner.name",
        ],
    )?;
    let items = state
        .tenant
        .profiles
        .iter()
        .map(|p| (view(p), p.clone()))
        .collect();
    let (page, total) = select(items, filter.as_ref(), &sorters, paging);
    Ok(list_reply(&page, total, paging))
}

/// `GET /identity-profiles/{identity-profile-id}`
pub(in crate::routes) fn get(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let idx = find(state, req.param(0))?;
    Ok(Reply::json(StatusCode::OK, &state.tenant.profiles[idx]))
}

/// `POST /identity-profiles`
pub(in crate::routes) fn create(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let body = json_body(req, "application/json", false)?;
    let profile = parse_profile(&state.tenant, body).map_err(Reply::bad_request)?;
    if state.tenant.profile_named(&profile.name, None).is_some() {
        return Err(Reply::bad_request(format!(
            "'name': an identity profile named '{}' already exists",
            profile.name
        )));
    }
    let profile = insert_new(state, profile);
    Ok(Reply::json(StatusCode::CREATED, &profile))
}
