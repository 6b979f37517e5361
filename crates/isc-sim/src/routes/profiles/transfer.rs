//! Export and import of identity profiles as sp-config objects.
//!
//! # What the official documents leave open about import, and what the simulator does
//!
//! The v2024 document gives import's shapes only: the body is an array of
//! `IdentityProfileExportedObject`, the 200 answer an `ObjectImportResult` (`infos`, `warnings`,
//! `errors` of `SpConfigMessage {key, text, details}`, and `importedObjects` of
//! `ImportObject {type, id, name}`), user context required. It does not say:
//!
//! - **how an object is matched to an existing profile.** The simulator matches by `id`
//!   (`object.id`, else `self.id`), else by `name` compared case-insensitively (the tenant's
//!   uniqueness rule); a match is updated in place and keeps its id, otherwise a profile is
//!   created with a new id. A case-only difference renames the matched profile.
//! - **whether a failure is per object or for the whole request.** Per object: each refused
//!   object gets one `errors` entry and is skipped; the others are imported (partial success).
//!   Only a body that is not an array of exported objects fails the whole request (400), and
//!   then nothing is imported.
//! - **how an error names its object.** `details` holds `index` (the object's position in the
//!   request, from 0), `type` and, when known, `objectName`.
//! - **the order of `importedObjects`.** Request order; an `ImportObject` carries no request
//!   index, so clients map it back by name.
//! - **two objects with the same name in one request.** The second (case-insensitively) is
//!   refused with `DUPLICATE_NAME`; import never leaves two profiles with one name, so a
//!   duplicate in a list is always visible as a bug.
//! - **atomicity and limits.** Objects are applied in order, one by one (no rollback of
//!   earlier ones when a later one fails); there is no batch size limit.

use std::collections::HashSet;

use http::StatusCode;
use serde_json::{Map, Value, json};

use isc_wire::models::{
    IdentityProfile, IdentityProfileExportedObject, ImportObject, ObjectImportResult, ObjectRef,
    SpConfigMessage,
};

use super::{
    EQ_NE, HandlerResult, Notes, Reply, Req, filters, insert_new, json_body, list_reply, paging,
    parse_profile, select, settle_update, sorters, view,
};
use crate::state::State;

fn exported(p: &IdentityProfile) -> IdentityProfileExportedObject {
    IdentityProfileExportedObject {
        version: Some(1),
        self_ref: Some(ObjectRef {
            kind: Some("IDENTITY_PROFILE".to_string()),
            id: p.id.clone(),
            name: Some(p.name.clone()),
        }),
        object: Some(p.clone()),
    }
}

/// `GET /identity-profiles/export`
pub(in crate::routes) fn export(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let paging = paging(req)?;
    let filter = filters(req, &[("id", EQ_NE), ("name", EQ_NE), ("priority", EQ_NE)])?;
    let sorters = sorters(req, &["id", "name", "priority"])?;
    let items = state
        .tenant
        .profiles
        .iter()
        .map(|p| (view(p), exported(p)))
        .collect();
    let (page, total) = select(items, filter.as_ref(), &sorters, paging);
    Ok(list_reply(&page, total, paging))
}

fn import_message(key: &str, text: String, index: usize, name: Option<&str>) -> SpConfigMessage {
    let mut details = Map::new();
    details.insert("index".to_string(), json!(index));
    details.insert("type".to_string(), json!("IDENTITY_PROFILE"));
    if let Some(name) = name {
        details.insert("objectName".to_string(), json!(name));
    }
    SpConfigMessage {
        key: key.to_string(),
        text,
        details,
    }
}

/// `POST /identity-profiles/import` (user context only).
///
/// For each exported object, in order:
/// - an object whose `id` (from `object.id`, else `self.id`) names an existing profile updates
///   that profile;
/// - else an object whose `name` matches an existing profile (case-insensitively) updates that
///   profile, which keeps its id;
/// - else a new profile is created with a new id.
///
/// An object whose name an earlier object of the same request already used
/// (case-insensitively) gets a `DUPLICATE_NAME` error and is skipped.
///
/// Updates follow the PATCH rules for `identityRefreshRequired` and `modified`, but may change
/// `authoritativeSource` and `identityAttributeConfig` together (import is not PATCH). An object
/// whose authoritative source is unknown gets an `errors` entry with key
/// `UNKNOWN_REFERENCE_RESOLVER` and is skipped; an object of another `self.type`
/// (`UNSUPPORTED_TYPE`), without `object` (`MISSING_OBJECT`), that is not a valid profile
/// (`INVALID_OBJECT`) or that would rename a profile onto another's name (`DUPLICATE_NAME`) is
/// skipped the same way. A body that is not an array of exported objects is a 400. Every
/// imported object is listed in `importedObjects` as `{type: "IDENTITY_PROFILE", id, name}`.
pub(in crate::routes) fn import(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let body = json_body(req, "application/json", false)?;
    let Value::Array(items) = body else {
        return Err(Reply::bad_request(
            "The request body must be a JSON array of IdentityProfileExportedObject",
        ));
    };
    // Every element is checked first, so a 400 imports nothing.
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let exported: IdentityProfileExportedObject = serde_json::from_value(item.clone())
            .map_err(|e| {
                Reply::bad_request(format!(
                    "Element {i} is not an IdentityProfileExportedObject: {e}"
                ))
            })?;
        let raw = item.get("object").cloned().unwrap_or(Value::Null);
        parsed.push((exported.self_ref.unwrap_or_default(), raw));
    }
    let mut result = ObjectImportResult::default();
    let mut names_seen = HashSet::new();
    for (i, (self_ref, raw)) in parsed.into_iter().enumerate() {
        match import_one(state, i, &self_ref, raw, &mut names_seen) {
            Ok(stored) => result.imported_objects.push(ImportObject {
                kind: Some("IDENTITY_PROFILE".to_string()),
                id: stored.id.clone(),
                name: Some(stored.name.clone()),
            }),
            Err(message) => result.errors.push(message),
        }
    }
    Ok(Reply::json(StatusCode::OK, &result))
}

/// Imports object `i` (see [`import`]); the error is its `errors` entry.
fn import_one(
    state: &mut State,
    i: usize,
    self_ref: &ObjectRef,
    raw: Value,
    names_seen: &mut HashSet<String>,
) -> Result<IdentityProfile, SpConfigMessage> {
    let name = raw
        .get("name")
        .and_then(Value::as_str)
        .or(self_ref.name.as_deref())
        .map(str::to_string);
    let name = name.as_deref();
    check_importable(state, i, self_ref, &raw, name)?;
    if let Some(name) = name
        && !names_seen.insert(name.to_lowercase())
    {
        return Err(import_message(
            "DUPLICATE_NAME",
            format!("Object {i}: an earlier object of this import is already named '{name}'"),
            i,
            Some(name),
        ));
    }
    let wanted_id = raw
        .get("id")
        .and_then(Value::as_str)
        .or(self_ref.id.as_deref())
        .map(str::to_string);
    let profile = parse_profile(&state.tenant, raw)
        .map_err(|text| import_message("INVALID_OBJECT", format!("Object {i}: {text}"), i, name))?;
    let target = wanted_id
        .as_deref()
        .and_then(|id| state.tenant.profile_index(id))
        .or_else(|| state.tenant.profile_named(&profile.name, None));
    let Some(idx) = target else {
        return Ok(insert_new(state, profile));
    };
    let old = state.tenant.profiles[idx].clone();
    if state
        .tenant
        .profile_named(&profile.name, old.id.as_deref())
        .is_some()
    {
        return Err(import_message(
            "DUPLICATE_NAME",
            format!(
                "Object {i}: another identity profile is already named '{}'",
                profile.name
            ),
            i,
            name,
        ));
    }
    let new = settle_update(&state.tenant, &old, profile);
    state.tenant.profiles[idx] = new.clone();
    Ok(new)
}

/// Rejects an object of another type, without `object`, or naming an unknown source.
fn check_importable(
    state: &State,
    i: usize,
    self_ref: &ObjectRef,
    raw: &Value,
    name: Option<&str>,
) -> Result<(), SpConfigMessage> {
    if let Some(kind) = self_ref
        .kind
        .as_deref()
        .filter(|k| *k != "IDENTITY_PROFILE")
    {
        return Err(import_message(
            "UNSUPPORTED_TYPE",
            format!(
                "Object {i} has type {kind}; this endpoint imports IDENTITY_PROFILE objects only"
            ),
            i,
            name,
        ));
    }
    if raw.is_null() {
        return Err(import_message(
            "MISSING_OBJECT",
            format!("Object {i} has no 'object' to import"),
            i,
            name,
        ));
    }
    if let Some(source_id) = raw
        .pointer("/authoritativeSource/id")
        .and_then(Value::as_str)
    {
        if state.tenant.source(source_id).is_none() {
            return Err(import_message(
                "UNKNOWN_REFERENCE_RESOLVER",
                format!(
                    "Unable to resolve reference SOURCE '{source_id}' of IDENTITY_PROFILE '{}'",
                    name.unwrap_or_default()
                ),
                i,
                name,
            ));
        }
    }
    Ok(())
}
