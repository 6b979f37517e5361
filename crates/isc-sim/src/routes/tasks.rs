//! Task status (`/v2024/task-status...`).
//!
//! Which tasks each list shows, as the v2024 document describes them:
//! - `GET /task-status` lists **completed** tasks; a filter that names `completionStatus`
//!   decides for itself, so `completionStatus isnull` (the replacement the document gives for
//!   the deprecated pending list) finds the running ones. Filters: `id`, `sourceId`, `type`,
//!   `completionStatus` (eq, in; and isnull for `completionStatus`); sorter: `created`.
//! - `GET|HEAD /task-status/pending-tasks` (deprecated) lists tasks not yet complete, oldest
//!   first, with `limit`/`offset`/`count` only; HEAD answers the same headers without a body.
//!
//! Every task carries what a client needs to find "the task my lost call created": `type`,
//! `uniqueName` (which operation), `launcher` (the client id of the caller), `created`, and
//! `launched`/`completed` once they happened.

use http::StatusCode;

use crate::state::State;
use isc_wire::filter::{CmpOp, FilterOp};

use super::{HandlerResult, Notes, Reply, Req, filters, list_reply, paging, select, sorters};

const EQ_IN: &[FilterOp] = &[FilterOp::Cmp(CmpOp::Eq), FilterOp::In];
const EQ_IN_ISNULL: &[FilterOp] = &[FilterOp::Cmp(CmpOp::Eq), FilterOp::In, FilterOp::IsNull];

/// `GET /task-status/{id}`
pub(super) fn get(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let id = req.param(0);
    // The spec declares this 404 without a body ("TaskStatus with the given id was not found").
    let task = state
        .tenant
        .task(id)
        .ok_or_else(|| Reply::empty(StatusCode::NOT_FOUND))?;
    Ok(Reply::json(StatusCode::OK, &task.status(req.now)))
}

/// `GET /task-status`: completed tasks, unless the filter asks about `completionStatus`.
pub(super) fn list(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let paging = paging(req)?;
    let filter = filters(
        req,
        &[
            ("id", EQ_IN),
            ("sourceId", EQ_IN),
            ("completionStatus", EQ_IN_ISNULL),
            ("type", EQ_IN),
        ],
    )?;
    let by_completion = filter.as_ref().is_some_and(|f| {
        f.predicates()
            .iter()
            .any(|(field, _)| *field == "completionStatus")
    });
    let sorters = sorters(req, &["created"])?;
    let items = state
        .tenant
        .tasks
        .iter()
        .filter(|t| by_completion || t.is_complete(req.now))
        .map(|t| (t.view(req.now), t.status(req.now)))
        .collect();
    let (page, total) = select(items, filter.as_ref(), &sorters, paging);
    Ok(list_reply(&page, total, paging))
}

/// `GET /task-status/pending-tasks` (deprecated): tasks not yet complete.
pub(super) fn pending(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let paging = paging(req)?;
    let items = state
        .tenant
        .tasks
        .iter()
        .filter(|t| !t.is_complete(req.now))
        .map(|t| (t.view(req.now), t.status(req.now)))
        .collect();
    let (page, total) = select(items, None, &[], paging);
    Ok(list_reply(&page, total, paging))
}

/// `HEAD /task-status/pending-tasks` (deprecated): the pending list's headers, no body.
pub(super) fn pending_headers(state: &mut State, req: &Req, notes: &mut Notes) -> HandlerResult {
    let mut reply = pending(state, req, notes)?;
    reply.body = None;
    Ok(reply)
}
