//! Sources (`GET /v2024/sources`), served read-only from the seed's sources.
//!
//! What the official documents say: a paged list (`limit`, `offset`, `count`) of `Source`
//! objects, which require `name`, `owner` (nullable) and `connector`; `filters` on many fields
//! (for `id`: eq, in, ge, gt, le, lt, ne, isnull, sw; for `name`: co, eq, in, sw, ge, gt, ne,
//! isnull; ...), `sorters` on many more, plus `for-subadmin` and `includeIDNSource`.
//!
//! What they leave open, and what the simulator chose:
//! - A seed source has only an id and a name, so every served source is a delimited-file
//!   source (`connector: delimited-file`, `type: DelimitedFile`, `connectorName: Delimited
//!   File`) with `owner: null`; `authoritative` is true when seed identities come from it.
//!   `created`/`modified` are a fixed seed time.
//! - Filters are supported on `id`, `name`, `type`, `connectorName` and `authoritative` with
//!   the documented operators; `name` compares case-insensitively (the API's strings mostly
//!   do). Other documented fields answer 400 (the simulator has no data for them).
//! - Sorters: the documented fields the served sources carry; without sorters the seed order.
//! - `includeIDNSource` must be a boolean (the simulator has no IdentityNow source to
//!   include); `for-subadmin` is accepted and ignored (every caller is an admin).
//! - Ids come from the seed, so two simulators seeded with the same source names and
//!   different ids stand for a sandbox and a production tenant ([`crate::Seed::with_source_id`]
//!   and the `isc-sim --source-id NAME=ID` option).

use isc_wire::filter::{CmpOp, FilterOp};
use isc_wire::models::Source;
use serde_json::Value;

use super::{HandlerResult, Notes, Reply, Req, filters, list_reply, paging, select, sorters};
use crate::seed::SeedSource;
use crate::state::{State, Tenant};

/// When the seed's sources were made, as served in `created` and `modified`.
const SEED_TIME: &str = "2024-01-15T09:00:00.000Z";

const ID_OPS: &[FilterOp] = &[
    FilterOp::Cmp(CmpOp::Eq),
    FilterOp::In,
    FilterOp::Cmp(CmpOp::Ge),
    FilterOp::Cmp(CmpOp::Gt),
    FilterOp::Cmp(CmpOp::Le),
    FilterOp::Cmp(CmpOp::Lt),
    FilterOp::Cmp(CmpOp::Ne),
    FilterOp::IsNull,
    FilterOp::Cmp(CmpOp::Sw),
];
const NAME_OPS: &[FilterOp] = &[
    FilterOp::Cmp(CmpOp::Co),
    FilterOp::Cmp(CmpOp::Eq),
    FilterOp::In,
    FilterOp::Cmp(CmpOp::Sw),
    FilterOp::Cmp(CmpOp::Ge),
    FilterOp::Cmp(CmpOp::Gt),
    FilterOp::Cmp(CmpOp::Ne),
    FilterOp::IsNull,
];
const TYPE_OPS: &[FilterOp] = &[
    FilterOp::Cmp(CmpOp::Eq),
    FilterOp::In,
    FilterOp::Cmp(CmpOp::Ge),
    FilterOp::Cmp(CmpOp::Gt),
    FilterOp::Cmp(CmpOp::Ne),
    FilterOp::IsNull,
    FilterOp::Cmp(CmpOp::Sw),
];
const AUTHORITATIVE_OPS: &[FilterOp] = &[
    FilterOp::Cmp(CmpOp::Eq),
    FilterOp::Cmp(CmpOp::Ne),
    FilterOp::IsNull,
];
const SORTERS: [&str; 8] = [
    "id",
    "name",
    "type",
    "created",
    "modified",
    "authoritative",
    "connectorName",
    "description",
];

/// A seed source as the tenant serves it.
fn served(tenant: &Tenant, source: &SeedSource) -> Source {
    Source {
        id: Some(source.id.clone()),
        name: source.name.clone(),
        description: None,
        owner: None,
        connector: Some("delimited-file".to_string()),
        r#type: Some("DelimitedFile".to_string()),
        authoritative: Some(tenant.identities.iter().any(|i| i.source_id == source.id)),
        connector_name: Some("Delimited File".to_string()),
        created: Some(SEED_TIME.to_string()),
        modified: Some(SEED_TIME.to_string()),
    }
}

/// `GET /sources` (listSources)
pub(super) fn list(state: &mut State, req: &Req, _: &mut Notes) -> HandlerResult {
    let paging = paging(req)?;
    let filter = filters(
        req,
        &[
            ("id", ID_OPS),
            ("name", NAME_OPS),
            ("type", TYPE_OPS),
            ("connectorName", TYPE_OPS),
            ("authoritative", AUTHORITATIVE_OPS),
        ],
    )?;
    let sorters = sorters(req, &SORTERS)?;
    if let Some(v) = req.query("includeIDNSource") {
        if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
            return Err(Reply::bad_request(format!(
                "Query parameter 'includeIDNSource' must be true or false, got '{v}'"
            )));
        }
    }
    let items = state
        .tenant
        .sources
        .iter()
        .map(|s| {
            let source = served(&state.tenant, s);
            (serde_json::to_value(&source).unwrap_or(Value::Null), source)
        })
        .collect();
    let (page, total) = select(items, filter.as_ref(), &sorters, paging);
    Ok(list_reply(&page, total, paging))
}
