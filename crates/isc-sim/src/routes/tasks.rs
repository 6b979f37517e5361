//! Task status (`/v2024/task-status...`).

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

/// `GET /task-status`: every task the simulator knows (pending ones too, so
/// `filters=completionStatus isnull` finds them, as the deprecation note suggests).
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
    let sorters = sorters(req, &["created"])?;
    let items = state
        .tenant
        .tasks
        .iter()
        .map(|t| (t.view(req.now), t.status(req.now)))
        .collect();
    let (page, total) = select(items, filter.as_ref(), &sorters, paging);
    Ok(list_reply(&page, total, paging))
}
