//! Transform operations (`/v2024/transforms...`).
//!
//! What the official documents say, and the simulator does: every operation accepts a
//! client-credentials token; a create body needs `name` (1 to 50 characters), `type` (one of
//! the documented operations) and `attributes` (nullable); `internal` transforms are
//! SailPoint's (a client cannot create one); PUT changes only `attributes` (a different
//! `name` or `type` is an error); a transform used in a profile mapping cannot be deleted; the
//! list pages with `offset`/`limit`/`count` and filters `internal` (`eq`) and `name` (`eq`,
//! `sw`).
//!
//! What they leave open, and what the simulator chose:
//! - Names are unique ignoring case; a duplicate create is 400 (no 409 is declared).
//! - A create with `internal: true` is 400; `internal: false` and `id` in a body are ignored.
//! - PUT compares `name` and `type` exactly with the stored ones (400 naming the field);
//!   internal transforms cannot be changed or deleted (400).
//! - "Used in a mapping" means a profile mapping with a `reference` transform (at any depth,
//!   e.g. in another transform's `input`) whose `attributes.id` is the transform's name (as
//!   the `Reference` schema documents) or its id; the refusal (400) names the profiles.
//! - The `name` query parameter selects the transform with that name, ignoring case.
//! - The list is in creation order (the operation has no `sorters`).
//! - `attributes` is stored as given, not checked against the schema of its `type`: the
//!   document's `oneOf` over per-type schemas cannot select one (the members overlap), and some
//!   members disagree with the transform guides (`Static` requires `values`, the guide and the
//!   simulator's identity preview use `value`).
//! - Transforms can be seeded (`transforms` in the seed; only there can `internal` be true).

use http::StatusCode;
use serde_json::{Value, json};

use crate::state::{State, new_id, profiles_using_transform};
use isc_wire::filter::{CmpOp, FilterOp};
use isc_wire::models::Transform;

use super::identity_attributes::quoted_list;
use super::{HandlerResult, Notes, Reply, Req, filters, json_body, list_reply, paging, select};

/// The `type` values of the `Transform` schema.
const TRANSFORM_TYPES: [&str; 35] = [
    "accountAttribute",
    "base64Decode",
    "base64Encode",
    "concat",
    "conditional",
    "dateCompare",
    "dateFormat",
    "dateMath",
    "decomposeDiacriticalMarks",
    "e164phone",
    "firstValid",
    "rule",
    "identityAttribute",
    "indexOf",
    "iso3166",
    "lastIndexOf",
    "leftPad",
    "lookup",
    "lower",
    "normalizeNames",
    "randomAlphaNumeric",
    "randomNumeric",
    "reference",
    "replaceAll",
    "replace",
    "rightPad",
    "split",
    "static",
    "substring",
    "trim",
    "upper",
    "usernameGenerator",
    "uuid",
    "displayName",
    "rfc5646",
];

const EQ: &[FilterOp] = &[FilterOp::Cmp(CmpOp::Eq)];
const EQ_SW: &[FilterOp] = &[FilterOp::Cmp(CmpOp::Eq), FilterOp::Cmp(CmpOp::Sw)];

fn find(state: &State, id: &str) -> Result<usize, Reply> {
    state
        .tenant
        .identity_model
        .transform(id)
        .ok_or_else(|| Reply::not_found(format!("Transform '{id}' was not found")))
}

/// Decodes a `Transform` body: `name`, `type` and `attributes` are required; read-only fields
/// are dropped (an `internal: true` is refused).
fn parse_transform(body: Value) -> Result<Transform, Reply> {
    let Value::Object(mut map) = body else {
        return Err(Reply::bad_request("The transform must be a JSON object"));
    };
    match map.get("name") {
        Some(Value::String(s)) if (1..=50).contains(&s.chars().count()) => {}
        Some(Value::String(_)) => {
            return Err(Reply::bad_request(
                "'name' must have from 1 to 50 characters",
            ));
        }
        None | Some(Value::Null) => return Err(Reply::bad_request("'name' is required")),
        Some(_) => return Err(Reply::bad_request("'name' must be a string")),
    }
    match map.get("type") {
        Some(Value::String(t)) if TRANSFORM_TYPES.contains(&t.as_str()) => {}
        Some(Value::String(t)) => {
            return Err(Reply::bad_request(format!(
                "'type': '{t}' is not a transform type; supported: {}",
                TRANSFORM_TYPES.join(", ")
            )));
        }
        None | Some(Value::Null) => return Err(Reply::bad_request("'type' is required")),
        Some(_) => return Err(Reply::bad_request("'type' must be a string")),
    }
    match map.get("attributes") {
        Some(Value::Object(_) | Value::Null) => {}
        Some(_) => return Err(Reply::bad_request("'attributes' must be an object or null")),
        None => {
            return Err(Reply::bad_request(
                "'attributes' is required (it may be null)",
            ));
        }
    }
    if map.get("internal") == Some(&Value::Bool(true)) {
        return Err(Reply::bad_request(
            "'internal': only SailPoint can create or mark internal transforms",
        ));
    }
    map.remove("id");
    map.remove("internal");
    serde_json::from_value(Value::Object(map))
        .map_err(|e| Reply::bad_request(format!("Not a valid Transform: {e}")))
}

/// `GET /transforms`
pub(in crate::routes) fn list(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let paging = paging(req)?;
    let filter = filters(req, &[("internal", EQ), ("name", EQ_SW)])?;
    let name = req.query("name");
    let items = state
        .tenant
        .identity_model
        .transforms
        .iter()
        .filter(|t| name.is_none_or(|n| t.name.eq_ignore_ascii_case(n)))
        .map(|t| {
            let view = json!({"id": t.id, "name": t.name, "type": t.kind, "internal": t.internal});
            (view, t.clone())
        })
        .collect();
    let (page, total) = select(items, filter.as_ref(), &[], paging);
    Ok(list_reply(&page, total, paging))
}

/// `GET /transforms/{id}`
pub(in crate::routes) fn get(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let idx = find(state, req.param(0))?;
    Ok(Reply::json(
        StatusCode::OK,
        &state.tenant.identity_model.transforms[idx],
    ))
}

/// `POST /transforms`
pub(in crate::routes) fn create(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let mut transform = parse_transform(json_body(req, "application/json", false)?)?;
    let model = &mut state.tenant.identity_model;
    if let Some(idx) = model.transform_named(&transform.name, None) {
        return Err(Reply::bad_request(format!(
            "'name': a transform named '{}' already exists",
            model.transforms[idx].name
        )));
    }
    transform.id = Some(new_id());
    transform.internal = Some(false);
    model.transforms.push(transform.clone());
    Ok(Reply::json(StatusCode::CREATED, &transform))
}

/// `PUT /transforms/{id}`: only `attributes` changes.
pub(in crate::routes) fn update(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let id = req.param(0).to_string();
    let idx = find(state, &id)?;
    let new = parse_transform(json_body(req, "application/json", false)?)?;
    let stored = &mut state.tenant.identity_model.transforms[idx];
    if stored.internal == Some(true) {
        return Err(Reply::bad_request(format!(
            "Transform '{}' is internal and cannot be changed",
            stored.name
        )));
    }
    if new.name != stored.name {
        return Err(Reply::bad_request(format!(
            "'name' cannot be changed: transform '{id}' is named '{}'",
            stored.name
        )));
    }
    if new.kind != stored.kind {
        return Err(Reply::bad_request(format!(
            "'type' cannot be changed: transform '{id}' has type '{}'",
            stored.kind
        )));
    }
    stored.attributes = new.attributes;
    Ok(Reply::json(StatusCode::OK, &*stored))
}

/// `DELETE /transforms/{id}`: refused while a profile mapping uses the transform.
pub(in crate::routes) fn delete(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let id = req.param(0).to_string();
    let idx = find(state, &id)?;
    let transform = &state.tenant.identity_model.transforms[idx];
    if transform.internal == Some(true) {
        return Err(Reply::bad_request(format!(
            "Transform '{}' is internal and cannot be deleted",
            transform.name
        )));
    }
    let users = profiles_using_transform(&state.tenant.profiles, transform);
    if !users.is_empty() {
        return Err(Reply::bad_request(format!(
            "Transform '{}' cannot be deleted: it is used in the mappings of identity profiles {}; remove it from them first",
            transform.name,
            quoted_list(&users)
        )));
    }
    state.tenant.identity_model.transforms.remove(idx);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
