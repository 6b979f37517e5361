//! Processing a profile's identities, its default attribute config and the identity preview.

use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::state::{NewTask, SimIdentity, State};
use crate::tasks::TaskEffect;
use isc_wire::models::{
    ErrorMessageDto, IdentityAttributeConfig, IdentityAttributePreview, IdentityAttributeTransform,
    IdentityPreviewRequest, IdentityPreviewResponse, ObjectRef, TransformDefinition,
};

use super::{HandlerResult, Notes, Reply, Req, find, json_body};

/// The attributes the tenant maps by default from an authoritative source.
const DEFAULT_ATTRIBUTES: [&str; 5] = ["uid", "email", "firstname", "lastname", "displayName"];

fn error_message(text: impl Into<String>) -> ErrorMessageDto {
    ErrorMessageDto {
        locale: Some("en-US".to_string()),
        locale_origin: Some("DEFAULT".to_string()),
        text: text.into(),
    }
}

/// `POST /identity-profiles/{identity-profile-id}/process-identities`
pub(in crate::routes) fn process(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
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
pub(in crate::routes) fn default_config(
    state: &mut State,
    req: &Req,
    _: &mut Notes,
) -> HandlerResult {
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
pub(in crate::routes) fn preview(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
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
            let (value, errors) = evaluate_transform(identity, &def);
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

/// Evaluates the transforms the simulator understands: the value, or why there is none.
fn evaluate_transform(
    identity: &SimIdentity,
    def: &TransformDefinition,
) -> (Option<String>, Vec<String>) {
    let arg = |key: &str| {
        def.attributes
            .as_ref()
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match def.kind.as_deref() {
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
                vec!["An accountAttribute transform needs 'attributes.attributeName'".to_string()],
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
    }
}
