//! The standard collection parameters of list operations: paging, `filters`, `sorters`, and
//! the selection they make from a collection.

use std::cmp::Ordering;

use http::StatusCode;
use http::header::HeaderName;
use serde::Serialize;
use serde_json::Value;

use isc_wire::filter::{Filter, FilterOp};

use super::{Reply, Req};
use crate::query::{FilterExt, parse_sorters};

/// `limit`, `offset` and `count` of a list operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub limit: usize,
    pub offset: usize,
    pub count: bool,
}

pub(crate) fn paging(req: &Req) -> Result<Paging, Reply> {
    let limit = match req.query("limit") {
        None => 250,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (0..=250).contains(&n) => n as usize,
            _ => {
                return Err(Reply::bad_request(format!(
                    "Query parameter 'limit' must be an integer from 0 to 250, got '{v}'"
                )));
            }
        },
    };
    let offset = match req.query("offset") {
        None => 0,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 && n <= i64::from(i32::MAX) => n as usize,
            _ => {
                return Err(Reply::bad_request(format!(
                    "Query parameter 'offset' must be a non-negative integer, got '{v}'"
                )));
            }
        },
    };
    let count = match req.query("count") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(Reply::bad_request(format!(
                "Query parameter 'count' must be true or false, got '{v}'"
            )));
        }
    };
    Ok(Paging {
        limit,
        offset,
        count,
    })
}

/// Parses `filters=` and checks each `(field, operator)` against what the operation supports.
pub(crate) fn filters(req: &Req, allowed: &[(&str, &[FilterOp])]) -> Result<Option<Filter>, Reply> {
    let Some(text) = req.query("filters") else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let filter = Filter::parse(text)
        .map_err(|e| Reply::bad_request(format!("Invalid query parameter 'filters': {e}")))?;
    for (field, op) in filter.predicates() {
        let Some((_, ops)) = allowed.iter().find(|(f, _)| *f == field) else {
            let fields: Vec<&str> = allowed.iter().map(|(f, _)| *f).collect();
            return Err(Reply::bad_request(format!(
                "Invalid query parameter 'filters': filtering is not supported for field '{field}'; supported fields: {}",
                fields.join(", ")
            )));
        };
        if !ops.contains(&op) {
            let names: Vec<String> = ops.iter().map(ToString::to_string).collect();
            return Err(Reply::bad_request(format!(
                "Invalid query parameter 'filters': operator '{op}' is not supported for field '{field}'; supported operators: {}",
                names.join(", ")
            )));
        }
    }
    Ok(Some(filter))
}

/// Parses `sorters=` and checks each field against what the operation supports.
pub(crate) fn sorters(req: &Req, allowed: &[&str]) -> Result<Vec<(String, bool)>, Reply> {
    let Some(text) = req.query("sorters") else {
        return Ok(Vec::new());
    };
    let sorters = parse_sorters(text);
    for (field, _) in &sorters {
        if !allowed.contains(&field.as_str()) {
            return Err(Reply::bad_request(format!(
                "Invalid query parameter 'sorters': sorting is not supported for field '{field}'; supported fields: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(sorters)
}

fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(object, |v, key| v.get(key))
}

/// Orders JSON values the way sorters do: missing and null first, strings case-insensitively.
fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let rank = |v: Option<&Value>| match v {
        None | Some(Value::Null) => 0,
        Some(Value::Bool(_)) => 1,
        Some(Value::Number(_)) => 2,
        Some(Value::String(_)) => 3,
        Some(_) => 4,
    };
    match (a, b) {
        (Some(Value::String(x)), Some(Value::String(y))) => x
            .to_lowercase()
            .cmp(&y.to_lowercase())
            .then_with(|| x.cmp(y)),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Filters, sorts (stable) and pages `(view, item)` pairs; returns the page and the total.
pub(crate) fn select<T>(
    items: Vec<(Value, T)>,
    filter: Option<&Filter>,
    sorters: &[(String, bool)],
    paging: Paging,
) -> (Vec<T>, usize) {
    let mut items: Vec<(Value, T)> = items
        .into_iter()
        .filter(|(view, _)| filter.is_none_or(|f| f.matches(view)))
        .collect();
    if !sorters.is_empty() {
        items.sort_by(|(a, _), (b, _)| {
            sorters
                .iter()
                .map(|(field, desc)| {
                    let o = compare_values(lookup(a, field), lookup(b, field));
                    if *desc { o.reverse() } else { o }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    let total = items.len();
    let page = items
        .into_iter()
        .skip(paging.offset)
        .take(paging.limit)
        .map(|(_, item)| item)
        .collect();
    (page, total)
}

/// A 200 list reply, with `X-Total-Count` when `count=true` was asked.
pub(crate) fn list_reply<T: Serialize>(page: &[T], total: usize, paging: Paging) -> Reply {
    let reply = Reply::json(StatusCode::OK, &page);
    if paging.count {
        reply.header(HeaderName::from_static("x-total-count"), total)
    } else {
        reply
    }
}
