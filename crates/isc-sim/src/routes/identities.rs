//! Identity operations (`/v2024/identities...`).

use std::borrow::Cow;
use std::collections::HashSet;

use http::StatusCode;
use http::header::RETRY_AFTER;
use serde_json::{Value, json};

use crate::query::{Fields, FilterExt};
use crate::state::{NewTask, SimIdentity, State};
use crate::tasks::TaskEffect;
use isc_wire::filter::{CmpOp, FilterOp};
use isc_wire::models::{
    Identity, IdentitySyncJob, IdentitySyncPayload, ProcessIdentitiesRequest, TaskResultResponse,
};

use super::{
    HandlerResult, Notes, Reply, Req, filters, json_body, list_reply, paging, select, sorters,
};

const EQ: &[FilterOp] = &[FilterOp::Cmp(CmpOp::Eq)];
const EQ_IN: &[FilterOp] = &[FilterOp::Cmp(CmpOp::Eq), FilterOp::In];
const EQ_SW: &[FilterOp] = &[FilterOp::Cmp(CmpOp::Eq), FilterOp::Cmp(CmpOp::Sw)];

/// Most identities one processing request may name.
const MAX_PROCESS_IDS: usize = 250;

/// `GET /identities` (user context only). `defaultFilter=CORRELATED_ONLY` (the default) hides
/// uncorrelated identities; `NONE` shows all.
pub(super) fn list(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let paging = paging(req)?;
    let correlated_only = match req.query("defaultFilter") {
        None | Some("CORRELATED_ONLY") => true,
        Some("NONE") => false,
        Some(other) => {
            return Err(Reply::bad_request(format!(
                "Query parameter 'defaultFilter' must be CORRELATED_ONLY or NONE, got '{other}'"
            )));
        }
    };
    let filter = filters(
        req,
        &[
            ("id", EQ_IN),
            ("name", EQ_SW),
            ("alias", EQ_SW),
            ("firstname", EQ_SW),
            ("lastname", EQ_SW),
            ("email", EQ_SW),
            ("cloudStatus", EQ),
            ("processingState", EQ),
            ("correlated", EQ),
            ("protected", EQ),
        ],
    )?;
    let sorters = sorters(req, &["name", "alias", "cloudStatus"])?;
    // The filter reads only the fields it names: no JSON view, no copy of every identity,
    // page after page of a large tenant. Only the page's identities are serialized.
    let matched: Vec<&SimIdentity> = state
        .tenant
        .identities
        .iter()
        .filter(|i| i.correlated || !correlated_only)
        .filter(|i| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches_fields(&IdentityFields(i)))
        })
        .collect();
    if sorters.is_empty() {
        let page: Vec<&Identity> = matched
            .iter()
            .skip(paging.offset)
            .take(paging.limit)
            .map(|i| &i.identity)
            .collect();
        return Ok(list_reply(&page, matched.len(), paging));
    }
    let items = matched.iter().map(|i| (i.view(), &i.identity)).collect();
    let (page, total) = select(items, None, &sorters, paging);
    Ok(list_reply(&page, total, paging))
}

/// The fields `GET /identities` filters on, read straight from a stored identity (the same
/// values as [`SimIdentity::view`]).
struct IdentityFields<'a>(&'a SimIdentity);

impl Fields for IdentityFields<'_> {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        let i = self.0;
        let value = match path {
            "id" => json!(i.id()),
            "name" => json!(i.identity.name),
            "alias" => json!(i.identity.alias),
            "firstname" => json!(i.attribute_str("firstname")),
            "lastname" => json!(i.attribute_str("lastname")),
            "email" => json!(i.identity.email_address),
            "cloudStatus" => json!(i.identity.identity_status),
            "processingState" => json!(i.identity.processing_state),
            "correlated" => json!(i.correlated),
            "protected" => json!(false),
            _ => return None,
        };
        Some(Cow::Owned(value))
    }
}

/// `GET /identities/{id}` (user context only).
pub(super) fn get(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let id = req.param(0);
    let identity = state
        .tenant
        .identity(id)
        .ok_or_else(|| Reply::not_found(format!("Identity '{id}' was not found")))?;
    Ok(Reply::json(StatusCode::OK, &identity.identity))
}

/// `POST /identities/process`: 1..=250 known identity ids.
pub(super) fn process(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let body = json_body(req, "application/json", false)?;
    if !body.get("identityIds").is_some_and(Value::is_array) {
        return Err(Reply::bad_request(
            "'identityIds' is required and must be an array of identity ids",
        ));
    }
    let request: ProcessIdentitiesRequest = serde_json::from_value(body).map_err(|e| {
        Reply::bad_request(format!(
            "The request body is not a ProcessIdentitiesRequest: {e}"
        ))
    })?;
    let ids = request.identity_ids;
    if ids.is_empty() || ids.len() > MAX_PROCESS_IDS {
        return Err(Reply::bad_request(format!(
            "'identityIds' must contain 1 to {MAX_PROCESS_IDS} identity ids, got {}",
            ids.len()
        )));
    }
    let known: HashSet<&str> = state.tenant.identities.iter().map(|i| i.id()).collect();
    let unknown: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| !known.contains(id))
        .collect();
    if !unknown.is_empty() {
        return Err(Reply::bad_request(format!(
            "'identityIds' contains unknown identities: {}",
            unknown.join(", ")
        )));
    }
    let duration = state.settings.task_duration;
    let task = state.tenant.start_task(
        NewTask {
            unique_name: "Identity Processing",
            description: format!("Process {} identities", ids.len()),
            launcher: &req.client_id,
            identity_count: ids.len(),
            effect: TaskEffect::ProcessIdentities(ids),
            warnings: Vec::new(),
            fail: req.fail_task,
        },
        duration,
        req.now,
    );
    Ok(Reply::json(
        StatusCode::ACCEPTED,
        &TaskResultResponse {
            kind: Some("TASK_RESULT".to_string()),
            id: Some(task.id.clone()),
            name: None,
        },
    ))
}

/// `POST /identities/{identityId}/synchronize-attributes`: at most once per window per identity;
/// an earlier call inside the window is answered 429 and flagged in the journal.
pub(super) fn synchronize(state: &mut State, req: &Req, notes: &mut Notes) -> HandlerResult {
    let id = req.param(0).to_string();
    if state.tenant.identity(&id).is_none() {
        return Err(Reply::not_found(format!("Identity '{id}' was not found")));
    }
    let window = state.settings.sync_window;
    if let Some(last) = state.tenant.last_sync.get(&id) {
        let since = req.now.duration_since(*last);
        if since < window {
            notes.flags.sync_within_window = true;
            let wait = (window - since).as_secs_f64().ceil().max(1.0) as u64;
            return Err(Reply::json(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({
                    "message": format!(
                        "Attributes of identity {id} were synchronized less than {} ms ago; at most one call per {} ms per identity",
                        since.as_millis(),
                        window.as_millis()
                    )
                }),
            )
            .header(RETRY_AFTER, wait));
        }
    }
    state.tenant.last_sync.insert(id.clone(), req.now);
    Ok(Reply::json(
        StatusCode::ACCEPTED,
        &IdentitySyncJob {
            id: uuid::Uuid::new_v4().to_string(),
            status: "QUEUED".to_string(),
            payload: IdentitySyncPayload {
                kind: "SYNCHRONIZE_IDENTITY_ATTRIBUTES".to_string(),
                data_json: json!({ "identityId": id }).to_string(),
            },
        },
    ))
}
