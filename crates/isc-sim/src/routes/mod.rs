//! The tenant's operations: the route table (paths and operationIds as the OpenAPI documents
//! spell them) and the request/response plumbing the handlers share.

mod identities;
mod legacy;
mod profiles;
mod tasks;

use std::cmp::Ordering;
use std::time::Instant;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName};
use http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use isc_wire::filter::{Filter, FilterOp, parse_sorters};
use isc_wire::models::ErrorResponseDto;

use super::auth;
use super::journal::JournalFlags;
use super::state::{State, new_id};

/// Which gateway bucket (and auth rule) a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `/oauth/token`: no bearer, no rate limit.
    Token,
    /// `/v2024/...`
    V2024,
    /// `/cc/api/...`
    Cc,
}

impl Api {
    /// The rate-limit bucket name.
    pub(crate) fn bucket(self) -> &'static str {
        match self {
            Api::Token => "token",
            Api::V2024 => "v2024",
            Api::Cc => "cc",
        }
    }
}

/// A handler runs with the state locked; it never awaits.
pub(crate) type Handler = fn(&mut State, &Req, &mut Notes) -> HandlerResult;

/// Either reply is sent; `Err` lets handlers use `?` on validation helpers.
pub(crate) type HandlerResult = Result<Reply, Reply>;

/// One operation.
pub(crate) struct Route {
    pub method: &'static str,
    pub template: &'static str,
    pub operation_id: &'static str,
    pub api: Api,
    /// Requires `X-SailPoint-Experimental: true`.
    pub experimental: bool,
    /// `userAuth` only: a token without user context gets 403.
    pub user_only: bool,
    pub handler: Handler,
}

const fn route(
    method: &'static str,
    template: &'static str,
    operation_id: &'static str,
    handler: Handler,
) -> Route {
    Route {
        method,
        template,
        operation_id,
        api: Api::V2024,
        experimental: false,
        user_only: false,
        handler,
    }
}

const fn experimental(mut r: Route) -> Route {
    r.experimental = true;
    r
}

const fn user_only(mut r: Route) -> Route {
    r.user_only = true;
    r
}

const fn api(mut r: Route, api: Api) -> Route {
    r.api = api;
    r
}

/// Every operation the simulator serves.
pub(crate) static ROUTES: &[Route] = &[
    api(
        route("POST", "/oauth/token", "token", auth::token),
        Api::Token,
    ),
    route(
        "GET",
        "/v2024/identity-profiles",
        "listIdentityProfiles",
        profiles::list,
    ),
    route(
        "POST",
        "/v2024/identity-profiles",
        "createIdentityProfile",
        profiles::create,
    ),
    route(
        "POST",
        "/v2024/identity-profiles/bulk-delete",
        "deleteIdentityProfiles",
        profiles::bulk_delete,
    ),
    route(
        "GET",
        "/v2024/identity-profiles/export",
        "exportIdentityProfiles",
        profiles::export,
    ),
    user_only(route(
        "POST",
        "/v2024/identity-profiles/import",
        "importIdentityProfiles",
        profiles::import,
    )),
    route(
        "POST",
        "/v2024/identity-profiles/identity-preview",
        "generateIdentityPreview",
        profiles::preview,
    ),
    route(
        "GET",
        "/v2024/identity-profiles/{identity-profile-id}",
        "getIdentityProfile",
        profiles::get,
    ),
    route(
        "PATCH",
        "/v2024/identity-profiles/{identity-profile-id}",
        "updateIdentityProfile",
        profiles::update,
    ),
    route(
        "DELETE",
        "/v2024/identity-profiles/{identity-profile-id}",
        "deleteIdentityProfile",
        profiles::delete,
    ),
    route(
        "GET",
        "/v2024/identity-profiles/{identity-profile-id}/default-identity-attribute-config",
        "getDefaultIdentityAttributeConfig",
        profiles::default_config,
    ),
    route(
        "POST",
        "/v2024/identity-profiles/{identity-profile-id}/process-identities",
        "syncIdentityProfile",
        profiles::process,
    ),
    user_only(route(
        "GET",
        "/v2024/identities",
        "listIdentities",
        identities::list,
    )),
    user_only(route(
        "GET",
        "/v2024/identities/{id}",
        "getIdentity",
        identities::get,
    )),
    experimental(route(
        "POST",
        "/v2024/identities/process",
        "startIdentityProcessing",
        identities::process,
    )),
    experimental(route(
        "POST",
        "/v2024/identities/{identityId}/synchronize-attributes",
        "synchronizeAttributesForIdentity",
        identities::synchronize,
    )),
    route(
        "GET",
        "/v2024/task-status",
        "getTaskStatusList",
        tasks::list,
    ),
    route(
        "GET",
        "/v2024/task-status/{id}",
        "getTaskStatus",
        tasks::get,
    ),
    api(
        route(
            "POST",
            "/cc/api/system/refreshIdentities",
            "refreshIdentities",
            legacy::refresh,
        ),
        Api::Cc,
    ),
];

/// How a request path relates to the route table.
pub(crate) enum RouteMatch {
    /// An operation, with its decoded path parameters.
    Found(&'static Route, Vec<String>),
    /// The path is known but not with this method.
    WrongMethod(&'static Route, Vec<&'static str>),
    /// No operation has this path.
    NotFound,
}

fn match_template(template: &str, path: &str) -> Option<Vec<String>> {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (ts, ps) in t.iter().zip(&p) {
        if ts.starts_with('{') {
            if ps.is_empty() {
                return None;
            }
            params.push(percent_decode(ps));
        } else if ts != ps {
            return None;
        }
    }
    Some(params)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(b)) = (bytes[i], hex) {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Finds the operation for a request; literal segments win over parameters
/// (`/identity-profiles/export` is not a profile id).
pub(crate) fn find(method: &str, path: &str) -> RouteMatch {
    let candidates: Vec<(&'static Route, Vec<String>)> = ROUTES
        .iter()
        .filter_map(|r| match_template(r.template, path).map(|p| (r, p)))
        .collect();
    let best = candidates
        .iter()
        .filter(|(r, _)| r.method == method)
        .min_by_key(|(_, params)| params.len());
    if let Some((r, params)) = best {
        return RouteMatch::Found(r, params.clone());
    }
    match candidates.iter().min_by_key(|(_, params)| params.len()) {
        Some((r, params)) => {
            let allowed = candidates
                .iter()
                .filter(|(_, p)| p.len() == params.len())
                .map(|(r, _)| r.method)
                .collect();
            RouteMatch::WrongMethod(r, allowed)
        }
        None => RouteMatch::NotFound,
    }
}

/// A request as handlers see it.
pub(crate) struct Req {
    pub method: http::Method,
    pub path: String,
    /// All query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Decoded path parameters, in template order.
    pub params: Vec<String>,
    /// The authenticated client (empty for the token endpoint).
    pub client_id: String,
    /// An injected fault says the task this request starts must fail.
    pub fail_task: bool,
    pub now: Instant,
}

impl Req {
    /// First value of a query parameter.
    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or_default()
    }

    /// The media type of the body, lowercased, without parameters.
    pub(crate) fn content_type(&self) -> Option<String> {
        let ct = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        Some(
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase(),
        )
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// What a handler wants recorded in the journal beyond the request and response.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub flags: JournalFlags,
    /// Replaces the recorded request body (the token endpoint redacts the secret).
    pub journal_body: Option<Value>,
    pub client_id: Option<String>,
}

/// A response, kept as JSON so the journal can record it.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<Value>,
}

/// `ErrorResponseDto.detailCode` for a status, in the tenant's style.
fn detail_code(status: StatusCode) -> String {
    match status.as_u16() {
        400 => "400.1 Bad Request Content".to_string(),
        403 => "403 Forbidden".to_string(),
        404 => "404 Not found".to_string(),
        500 => "500.0 Internal Fault".to_string(),
        code => format!("{code} {}", status.canonical_reason().unwrap_or("Error")),
    }
}

/// A fresh 32-hex tracking id for an error body.
pub(crate) fn tracking_id() -> String {
    new_id()
}

impl Reply {
    pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(serde_json::to_value(body).unwrap_or(Value::Null)),
        }
    }

    pub(crate) fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: impl ToString) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }

    /// An `ErrorResponseDto` with one message.
    pub(crate) fn error(status: StatusCode, text: impl Into<String>) -> Reply {
        Reply::json(
            status,
            &ErrorResponseDto::new(&detail_code(status), &tracking_id(), text),
        )
    }

    pub(crate) fn bad_request(text: impl Into<String>) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, text)
    }

    pub(crate) fn not_found(text: impl Into<String>) -> Reply {
        Reply::error(StatusCode::NOT_FOUND, text)
    }

    /// The gateway's 429 body, with `Retry-After`.
    pub(crate) fn too_many(message: &str, retry_after_secs: u64) -> Reply {
        Reply::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({ "message": message }),
        )
        .header(http::header::RETRY_AFTER, retry_after_secs.max(1))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match &self.body {
            Some(body) => (
                self.status,
                [(CONTENT_TYPE, "application/json")],
                serde_json::to_vec(body).unwrap_or_default(),
            )
                .into_response(),
            None => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

/// The request body as JSON, after checking the media type (`accept_missing` tolerates a
/// request without `Content-Type`, as the legacy `cc` API did).
pub(crate) fn json_body(req: &Req, media_type: &str, accept_missing: bool) -> Result<Value, Reply> {
    match req.content_type() {
        Some(ct) if ct == media_type => {}
        None if accept_missing => {}
        None => {
            return Err(Reply::bad_request(format!(
                "Content-Type header is missing; this operation consumes {media_type}"
            )));
        }
        Some(ct) => {
            return Err(Reply::bad_request(format!(
                "Content-Type '{ct}' is not supported; this operation consumes {media_type}"
            )));
        }
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(Reply::bad_request(
            "The request body is required but was empty",
        ));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| Reply::bad_request(format!("Malformed JSON request body: {e}")))
}

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
