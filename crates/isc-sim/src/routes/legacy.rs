//! The legacy private `POST /cc/api/system/refreshIdentities`.
//!
//! Its dangerous behaviour is reproduced on purpose: a missing, empty or unparseable filter, or
//! one that matches no identity, refreshes EVERY identity. The journal flags that as
//! `fullRefresh`, so tests can prove the operator never lets it happen by accident.

use http::StatusCode;
use serde_json::{Value, json};

use crate::legacy_filter::LegacyFilter;
use crate::state::{NewTask, State};
use crate::tasks::TaskEffect;

use super::{HandlerResult, Notes, Reply, Req, json_body};

const REFRESH_ARGS: [&str; 6] = [
    "correlateEntitlements",
    "promoteAttributes",
    "refreshManagerStatus",
    "synchronizeAttributes",
    "pruneIdentities",
    "provision",
];

/// `refreshArgs` values may be booleans or the strings `"true"`/`"false"` (the spec's own
/// example uses strings); unknown keys are ignored.
fn check_refresh_args(args: Option<&Value>) -> Result<(), Reply> {
    let map = match args {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(Reply::bad_request("'refreshArgs' must be an object")),
    };
    for key in REFRESH_ARGS {
        match map.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(_)) => {}
            Some(Value::String(s))
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {}
            Some(other) => {
                return Err(Reply::bad_request(format!(
                    "'refreshArgs.{key}' must be a boolean, got {other}"
                )));
            }
        }
    }
    Ok(())
}

/// `POST /cc/api/system/refreshIdentities`
pub(super) fn refresh(state: &mut State, req: &Req, notes: &mut Notes) -> HandlerResult {
    let mut body = json_body(req, "application/json", true)?;
    // The spec's example sends the object JSON-encoded as a string.
    if let Value::String(text) = &body {
        body = serde_json::from_str(text).map_err(|e| {
            Reply::bad_request(format!("Malformed JSON in the string request body: {e}"))
        })?;
    }
    if !body.is_object() {
        return Err(Reply::bad_request(
            "The request body must be an object with 'filter' and 'refreshArgs'",
        ));
    }
    let filter_text = match body.get("filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Reply::bad_request("'filter' must be a string")),
    };
    check_refresh_args(body.get("refreshArgs"))?;

    let targeted: Vec<String> = filter_text
        .as_deref()
        .and_then(|text| LegacyFilter::parse(text).ok())
        .map(|filter| {
            state
                .tenant
                .identities
                .iter()
                .filter(|i| filter.matches(&|attr: &str| i.legacy_attribute(attr)))
                .map(|i| i.id().to_string())
                .collect()
        })
        .unwrap_or_default();
    let full = targeted.is_empty();
    let ids: Vec<String> = if full {
        notes.flags.full_refresh = true;
        state
            .tenant
            .identities
            .iter()
            .map(|i| i.id().to_string())
            .collect()
    } else {
        targeted
    };
    let count = ids.len();
    let duration = state.settings.task_duration;
    let task = state.tenant.start_task(
        NewTask {
            unique_name: if full {
                "Refresh Identities (full)"
            } else {
                "Refresh Identities"
            },
            description: format!("Refresh {count} identities"),
            launcher: &req.client_id,
            identity_count: count,
            effect: TaskEffect::ProcessIdentities(ids),
            warnings: Vec::new(),
            fail: req.fail_task,
        },
        duration,
        req.now,
    );
    Ok(Reply::json(
        StatusCode::OK,
        &json!({ "id": task.id, "type": "TASK_RESULT", "identityCount": count }),
    ))
}
