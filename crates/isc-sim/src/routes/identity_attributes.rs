//! Identity-attribute operations (`/v2024/identity-attributes...`): the tenant's attribute
//! catalogue, addressed by technical name.
//!
//! What the official documents say, and the simulator does: create, PUT and delete need a
//! user-context token (`userAuth` only: 403 otherwise); making an attribute searchable needs
//! `system`, `standard` and `multi` false; an attribute must have `system` and `standard` false
//! before it can be deleted; a mapped attribute cannot be deleted (said of the bulk delete).
//!
//! What they leave open, and what the simulator chose:
//! - Every tenant has built-in attributes (`uid`, `firstname`, `lastname`, `displayName`,
//!   `email`, `manager`, `department`, `phone`, `workPhone`, `location` as standard;
//!   `cloudLifecycleState` and `identityState` as system); a seed may add or replace attributes.
//! - Names are unique ignoring case; a duplicate create is 400 (the operation declares no 409).
//!   Lookups by name (`GET/PUT/DELETE /{name}`, profile mappings) are exact.
//! - A create with `system: true` is refused (400): system attributes are the tenant's own.
//! - PUT replaces the attribute, but cannot change `name` (must equal the path), `multi` or
//!   `system` (400 naming the field), and a system attribute cannot be changed at all (400).
//! - DELETE of an attribute that a profile maps to is refused too (400 naming the profiles),
//!   as the bulk delete documents.
//! - The list is one array, without paging: `includeSystem` (default false) and
//!   `searchableOnly` filter it, `includeSilent` is accepted (the simulator has no silent
//!   attributes), `count=true` adds `X-Total-Count`.

use http::StatusCode;
use http::header::HeaderName;
use serde_json::Value;

use crate::state::{State, profiles_mapping_attribute};
use isc_wire::models::IdentityAttribute;

use super::{HandlerResult, Notes, Reply, Req, json_body};

/// A boolean query parameter (`true`/`false`, any case), `false` when absent.
fn bool_query(req: &Req, key: &str) -> Result<bool, Reply> {
    match req.query(key) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(Reply::bad_request(format!(
            "Query parameter '{key}' must be true or false, got '{v}'"
        ))),
    }
}

fn find(state: &State, name: &str) -> Result<usize, Reply> {
    state
        .tenant
        .identity_model
        .attribute(name)
        .ok_or_else(|| Reply::not_found(format!("Identity attribute '{name}' was not found")))
}

/// Decodes an `IdentityAttribute` body and applies the rules every write shares.
fn parse_attribute(body: Value) -> Result<IdentityAttribute, Reply> {
    if !body.is_object() {
        return Err(Reply::bad_request(
            "The identity attribute must be a JSON object",
        ));
    }
    match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(Value::String(_)) => return Err(Reply::bad_request("'name' must not be empty")),
        None | Some(Value::Null) => return Err(Reply::bad_request("'name' is required")),
        Some(_) => return Err(Reply::bad_request("'name' must be a string")),
    }
    let attribute: IdentityAttribute = serde_json::from_value(body)
        .map_err(|e| Reply::bad_request(format!("Not a valid IdentityAttribute: {e}")))?;
    if attribute.searchable && (attribute.system || attribute.standard || attribute.multi) {
        return Err(Reply::bad_request(
            "'searchable': a searchable identity attribute must have 'system', 'standard' and 'multi' set to false",
        ));
    }
    Ok(attribute)
}

/// `GET /identity-attributes`
pub(in crate::routes) fn list(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let include_system = bool_query(req, "includeSystem")?;
    bool_query(req, "includeSilent")?;
    let searchable_only = bool_query(req, "searchableOnly")?;
    let count = bool_query(req, "count")?;
    let items: Vec<&IdentityAttribute> = state
        .tenant
        .identity_model
        .attributes
        .iter()
        .filter(|a| include_system || !a.system)
        .filter(|a| !searchable_only || a.searchable)
        .collect();
    let reply = Reply::json(StatusCode::OK, &items);
    Ok(if count {
        reply.header(HeaderName::from_static("x-total-count"), items.len())
    } else {
        reply
    })
}

/// `GET /identity-attributes/{name}`
pub(in crate::routes) fn get(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let idx = find(state, req.param(0))?;
    Ok(Reply::json(
        StatusCode::OK,
        &state.tenant.identity_model.attributes[idx],
    ))
}

/// `POST /identity-attributes` (user context)
pub(in crate::routes) fn create(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let attribute = parse_attribute(json_body(req, "application/json", false)?)?;
    if attribute.system {
        return Err(Reply::bad_request(
            "'system': system identity attributes belong to the tenant and cannot be created",
        ));
    }
    let model = &mut state.tenant.identity_model;
    if let Some(idx) = model.attribute_like(&attribute.name) {
        return Err(Reply::bad_request(format!(
            "'name': an identity attribute named '{}' already exists",
            model.attributes[idx].name
        )));
    }
    model.attributes.push(attribute.clone());
    Ok(Reply::json(StatusCode::CREATED, &attribute))
}

/// `PUT /identity-attributes/{name}` (user context)
pub(in crate::routes) fn put(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let name = req.param(0).to_string();
    let idx = find(state, &name)?;
    let new = parse_attribute(json_body(req, "application/json", false)?)?;
    let old = &state.tenant.identity_model.attributes[idx];
    if old.system {
        return Err(Reply::bad_request(format!(
            "Identity attribute '{name}' is a system attribute and cannot be changed"
        )));
    }
    if new.name != name {
        return Err(Reply::bad_request(format!(
            "'name' cannot be changed: the body names '{}' but the path names '{name}'",
            new.name
        )));
    }
    if new.multi != old.multi {
        return Err(Reply::bad_request(format!(
            "'multi' cannot be changed: identity attribute '{name}' has multi={}",
            old.multi
        )));
    }
    if new.system {
        return Err(Reply::bad_request(
            "'system' cannot be changed: only the tenant's own attributes are system attributes",
        ));
    }
    state.tenant.identity_model.attributes[idx] = new.clone();
    Ok(Reply::json(StatusCode::OK, &new))
}

/// `DELETE /identity-attributes/{name}` (user context)
pub(in crate::routes) fn delete(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let name = req.param(0).to_string();
    let idx = find(state, &name)?;
    let attribute = &state.tenant.identity_model.attributes[idx];
    if attribute.system || attribute.standard {
        return Err(Reply::bad_request(format!(
            "Identity attribute '{name}' cannot be deleted: set 'system' and 'standard' to false first"
        )));
    }
    let users = profiles_mapping_attribute(&state.tenant.profiles, &name);
    if !users.is_empty() {
        return Err(Reply::bad_request(format!(
            "Identity attribute '{name}' cannot be deleted: it is mapped in identity profiles {}",
            quoted_list(&users)
        )));
    }
    state.tenant.identity_model.attributes.remove(idx);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `'a', 'b'` for messages naming several objects.
pub(in crate::routes) fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
