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

use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::patch;
use crate::state::{NewTask, State, Tenant, new_id, now_rfc3339};
use crate::tasks::TaskEffect;
use isc_wire::filter::{CmpOp, FilterOp};
use isc_wire::models::{
    ErrorMessageDto, IdentityAttributeConfig, IdentityAttributePreview, IdentityAttributeTransform,
    IdentityPreviewRequest, IdentityPreviewResponse, IdentityProfile,
    IdentityProfileExportedObject, ImportObject, ObjectImportResult, ObjectRef, SpConfigMessage,
    TransformDefinition,
};

use super::{
    HandlerResult, Notes, Reply, Req, filters, json_body, list_reply, paging, select, sorters,
};

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

/// The attributes the tenant maps by default from an authoritative source.
const DEFAULT_ATTRIBUTES: [&str; 5] = ["uid", "email", "firstname", "lastname", "displayName"];

fn view(p: &IdentityProfile) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn find(state: &State, id: &str) -> Result<usize, Reply> {
    state
        .tenant
        .profile_index(id)
        .ok_or_else(|| Reply::not_found(format!("Identity profile '{id}' was not found")))
}

fn error_message(text: impl Into<String>) -> ErrorMessageDto {
    ErrorMessageDto {
        locale: Some("en-US".to_string()),
        locale_origin: Some("DEFAULT".to_string()),
        text: text.into(),
    }
}

/// Validates a profile body (create and import): required fields, shape and a known source.
/// Read-only fields are dropped.
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
    profile.authoritative_source = tenant
        .canonical_source(&profile.authoritative_source)
        .ok_or_else(|| {
            format!("'authoritativeSource.id' '{source_id}' does not name a known source")
        })?;
    Ok(profile)
}

/// `GET /identity-profiles`
pub(super) fn list(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
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
pub(super) fn get(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let idx = find(state, req.param(0))?;
    Ok(Reply::json(StatusCode::OK, &state.tenant.profiles[idx]))
}

/// `POST /identity-profiles`
pub(super) fn create(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let body = json_body(req, "application/json", false)?;
    let mut profile = parse_profile(&state.tenant, body).map_err(Reply::bad_request)?;
    if state.tenant.profile_named(&profile.name, None).is_some() {
        return Err(Reply::bad_request(format!(
            "'name': an identity profile named '{}' already exists",
            profile.name
        )));
    }
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
    Ok(Reply::json(StatusCode::CREATED, &profile))
}

/// `PATCH /identity-profiles/{identity-profile-id}` (RFC 6902, applied atomically).
pub(super) fn update(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    const MEDIA: &str = "application/json-patch+json";
    match req.content_type() {
        Some(ct) if ct == MEDIA => {}
        Some(ct) => {
            return Err(Reply::bad_request(format!(
                "Content-Type '{ct}' is not supported; this operation consumes {MEDIA}"
            )));
        }
        None => {
            return Err(Reply::bad_request(format!(
                "Content-Type header is missing; this operation consumes {MEDIA}"
            )));
        }
    }
    let text = std::str::from_utf8(&req.body)
        .map_err(|e| Reply::bad_request(format!("The request body is not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(Reply::bad_request(
            "The request body is required but was empty",
        ));
    }
    let raw: Value = serde_json::from_str(text)
        .map_err(|e| Reply::bad_request(format!("Malformed JSON request body: {e}")))?;
    if !raw.is_array() {
        return Err(Reply::bad_request(
            "The request body must be a JSON Patch array of operations (RFC 6902)",
        ));
    }
    let ops = patch::parse_patch(text).map_err(Reply::bad_request)?;
    let id = req.param(0).to_string();
    let idx = find(state, &id)?;

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
    let new = settle_update(&state.tenant, &old, new);
    state.tenant.profiles[idx] = new.clone();
    Ok(Reply::json(StatusCode::OK, &new))
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
pub(super) fn delete(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let id = req.param(0).to_string();
    find(state, &id)?;
    Ok(start_delete(state, req, vec![id], Vec::new()))
}

/// `POST /identity-profiles/bulk-delete`: unknown ids are skipped with a task warning.
pub(super) fn bulk_delete(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
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
pub(super) fn export(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
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
/// Updates follow the PATCH rules for `identityRefreshRequired` and `modified`, but may change
/// `authoritativeSource` and `identityAttributeConfig` together (import is not PATCH). An object
/// whose authoritative source is unknown gets an `errors` entry with key
/// `UNKNOWN_REFERENCE_RESOLVER` and is skipped; an object of another `self.type`
/// (`UNSUPPORTED_TYPE`), without `object` (`MISSING_OBJECT`), that is not a valid profile
/// (`INVALID_OBJECT`) or that would rename a profile onto another's name (`DUPLICATE_NAME`) is
/// skipped the same way. A body that is not an array of exported objects is a 400. Every
/// imported object is listed in `importedObjects` as `{type: "IDENTITY_PROFILE", id, name}`.
pub(super) fn import(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let body = json_body(req, "application/json", false)?;
    let Value::Array(items) = body else {
        return Err(Reply::bad_request(
            "The request body must be a JSON array of IdentityProfileExportedObject",
        ));
    };
    let mut result = ObjectImportResult::default();
    for (i, item) in items.into_iter().enumerate() {
        let exported: IdentityProfileExportedObject = serde_json::from_value(item.clone())
            .map_err(|e| {
                Reply::bad_request(format!(
                    "Element {i} is not an IdentityProfileExportedObject: {e}"
                ))
            })?;
        let self_ref = exported.self_ref.unwrap_or_default();
        let raw = item.get("object").cloned().unwrap_or(Value::Null);
        let name = raw
            .get("name")
            .and_then(Value::as_str)
            .or(self_ref.name.as_deref())
            .map(str::to_string);
        let name = name.as_deref();
        if let Some(kind) = self_ref
            .kind
            .as_deref()
            .filter(|k| *k != "IDENTITY_PROFILE")
        {
            result.errors.push(import_message(
                "UNSUPPORTED_TYPE",
                format!("Object {i} has type {kind}; this endpoint imports IDENTITY_PROFILE objects only"),
                i,
                name,
            ));
            continue;
        }
        if raw.is_null() {
            result.errors.push(import_message(
                "MISSING_OBJECT",
                format!("Object {i} has no 'object' to import"),
                i,
                name,
            ));
            continue;
        }
        if let Some(source_id) = raw
            .pointer("/authoritativeSource/id")
            .and_then(Value::as_str)
        {
            if state.tenant.source(source_id).is_none() {
                result.errors.push(import_message(
                    "UNKNOWN_REFERENCE_RESOLVER",
                    format!(
                        "Unable to resolve reference SOURCE '{source_id}' of IDENTITY_PROFILE '{}'",
                        name.unwrap_or_default()
                    ),
                    i,
                    name,
                ));
                continue;
            }
        }
        let wanted_id = raw
            .get("id")
            .and_then(Value::as_str)
            .or(self_ref.id.as_deref())
            .map(str::to_string);
        let profile = match parse_profile(&state.tenant, raw) {
            Ok(p) => p,
            Err(text) => {
                result.errors.push(import_message(
                    "INVALID_OBJECT",
                    format!("Object {i}: {text}"),
                    i,
                    name,
                ));
                continue;
            }
        };
        let target = wanted_id
            .as_deref()
            .and_then(|id| state.tenant.profile_index(id))
            .or_else(|| state.tenant.profile_named(&profile.name, None));
        let stored = match target {
            Some(idx) => {
                let old = state.tenant.profiles[idx].clone();
                if state
                    .tenant
                    .profile_named(&profile.name, old.id.as_deref())
                    .is_some()
                {
                    result.errors.push(import_message(
                        "DUPLICATE_NAME",
                        format!(
                            "Object {i}: another identity profile is already named '{}'",
                            profile.name
                        ),
                        i,
                        name,
                    ));
                    continue;
                }
                let new = settle_update(&state.tenant, &old, profile);
                state.tenant.profiles[idx] = new.clone();
                new
            }
            None => {
                let mut new = profile;
                let now = now_rfc3339();
                new.id = Some(new_id());
                new.created = Some(now.clone());
                new.modified = Some(now);
                new.identity_refresh_required = false;
                new.identity_count = Some(
                    state
                        .tenant
                        .count_for_source(new.authoritative_source.id.as_deref()),
                );
                new.identity_attribute_config
                    .get_or_insert_with(Tenant::empty_attribute_config);
                state.tenant.profiles.push(new.clone());
                new
            }
        };
        result.imported_objects.push(ImportObject {
            kind: Some("IDENTITY_PROFILE".to_string()),
            id: stored.id.clone(),
            name: Some(stored.name.clone()),
        });
    }
    Ok(Reply::json(StatusCode::OK, &result))
}

/// `POST /identity-profiles/{identity-profile-id}/process-identities`
pub(super) fn process(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let id = req.param(0).to_string();
    let idx = find(state, &id)?;
    let profile = &state.tenant.profiles[idx];
    let name = profile.name.clone();
    let identity_ids = state.tenant.identity_ids_of_source(
        profile
            .authoritative_source
            .id
            .as_deref()
            .unwrap_or_default(),
    );
    let duration = state.settings.task_duration;
    state.tenant.start_task(
        NewTask {
            unique_name: "Identity Profile Process",
            description: format!("Process the identities of identity profile '{name}'"),
            launcher: &req.client_id,
            identity_count: identity_ids.len(),
            effect: TaskEffect::ProcessProfile {
                profile_id: id,
                identity_ids,
            },
            warnings: Vec::new(),
            fail: req.fail_task,
        },
        duration,
        req.now,
    );
    Ok(Reply::json(StatusCode::ACCEPTED, &json!({})))
}

/// `GET /identity-profiles/{identity-profile-id}/default-identity-attribute-config`
pub(super) fn default_config(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let idx = find(state, req.param(0))?;
    let source = &state.tenant.profiles[idx].authoritative_source;
    let attribute_transforms = DEFAULT_ATTRIBUTES
        .iter()
        .map(|attr| {
            let mut attributes = Map::new();
            attributes.insert("attributeName".to_string(), json!(attr));
            attributes.insert("sourceName".to_string(), json!(source.name));
            attributes.insert("sourceId".to_string(), json!(source.id));
            IdentityAttributeTransform {
                identity_attribute_name: Some((*attr).to_string()),
                transform_definition: Some(TransformDefinition {
                    kind: Some("accountAttribute".to_string()),
                    attributes: Some(attributes),
                }),
            }
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        &IdentityAttributeConfig {
            enabled: true,
            attribute_transforms,
        },
    ))
}

/// `POST /identity-profiles/identity-preview`: evaluates `accountAttribute` (reading the
/// identity attribute named by `attributes.attributeName`) and `static` (`attributes.value`)
/// transforms; other transform types get an error message. Nothing is stored.
pub(super) fn preview(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let body = json_body(req, "application/json", false)?;
    let request: IdentityPreviewRequest = serde_json::from_value(body).map_err(|e| {
        Reply::bad_request(format!(
            "The request body is not an IdentityPreviewRequest: {e}"
        ))
    })?;
    let Some(identity_id) = request.identity_id else {
        return Err(Reply::bad_request("'identityId' is required"));
    };
    let identity = state.tenant.identity(&identity_id).ok_or_else(|| {
        Reply::bad_request(format!(
            "'identityId' '{identity_id}' does not name a known identity"
        ))
    })?;
    let config = request.identity_attribute_config.unwrap_or_default();
    let preview_attributes = config
        .attribute_transforms
        .iter()
        .map(|t| {
            let name = t.identity_attribute_name.clone();
            let previous_value = name.as_deref().and_then(|n| identity.attribute_str(n));
            let def = t.transform_definition.clone().unwrap_or_default();
            let arg = |key: &str| {
                def.attributes
                    .as_ref()
                    .and_then(|a| a.get(key))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            let (value, errors) = match def.kind.as_deref() {
                Some("accountAttribute") => match arg("attributeName") {
                    Some(attr) => match identity.attribute_str(&attr) {
                        Some(v) => (Some(v), Vec::new()),
                        None => (
                            None,
                            vec![format!("The account has no value for attribute '{attr}'")],
                        ),
                    },
                    None => (
                        None,
                        vec![
                            "An accountAttribute transform needs 'attributes.attributeName'"
                                .to_string(),
                        ],
                    ),
                },
                Some("static") => match arg("value") {
                    Some(v) => (Some(v), Vec::new()),
                    None => (
                        None,
                        vec!["A static transform needs 'attributes.value'".to_string()],
                    ),
                },
                Some(other) => (
                    None,
                    vec![format!(
                        "The simulator cannot evaluate transforms of type '{other}'"
                    )],
                ),
                None => (
                    None,
                    vec!["'transformDefinition.type' is required".to_string()],
                ),
            };
            IdentityAttributePreview {
                name,
                value,
                previous_value,
                error_messages: errors.into_iter().map(error_message).collect(),
            }
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        &IdentityPreviewResponse {
            identity: Some(ObjectRef {
                kind: Some("IDENTITY".to_string()),
                id: Some(identity_id.clone()),
                name: Some(identity.identity.name.clone()),
            }),
            preview_attributes,
        },
    ))
}
