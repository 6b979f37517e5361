//! The tenant's operations: the route table (paths and operationIds as the OpenAPI documents
//! spell them) and the request/response plumbing the handlers share.

mod collection;
mod identities;
mod identity_attributes;
mod legacy;
mod lifecycle_states;
mod profiles;
mod reply;
mod request;
mod sources;
mod tasks;
mod transforms;

use super::auth;
use super::state::State;

pub(crate) use collection::{filters, list_reply, paging, select, sorters};
pub(crate) use reply::{Reply, tracking_id};
pub(crate) use request::{Notes, Req, json_body, json_patch_body};

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
    route(
        "GET",
        "/v2024/identity-profiles/{identity-profile-id}/lifecycle-states",
        "getLifecycleStates",
        lifecycle_states::list,
    ),
    route(
        "POST",
        "/v2024/identity-profiles/{identity-profile-id}/lifecycle-states",
        "createLifecycleState",
        lifecycle_states::create,
    ),
    route(
        "GET",
        "/v2024/identity-profiles/{identity-profile-id}/lifecycle-states/{lifecycle-state-id}",
        "getLifecycleState",
        lifecycle_states::get,
    ),
    route(
        "PATCH",
        "/v2024/identity-profiles/{identity-profile-id}/lifecycle-states/{lifecycle-state-id}",
        "updateLifecycleStates",
        lifecycle_states::update,
    ),
    route(
        "DELETE",
        "/v2024/identity-profiles/{identity-profile-id}/lifecycle-states/{lifecycle-state-id}",
        "deleteLifecycleState",
        lifecycle_states::delete,
    ),
    route("GET", "/v2024/sources", "listSources", sources::list),
    route(
        "GET",
        "/v2024/identity-attributes",
        "listIdentityAttributes",
        identity_attributes::list,
    ),
    user_only(route(
        "POST",
        "/v2024/identity-attributes",
        "createIdentityAttribute",
        identity_attributes::create,
    )),
    route(
        "GET",
        "/v2024/identity-attributes/{name}",
        "getIdentityAttribute",
        identity_attributes::get,
    ),
    user_only(route(
        "PUT",
        "/v2024/identity-attributes/{name}",
        "putIdentityAttribute",
        identity_attributes::put,
    )),
    user_only(route(
        "DELETE",
        "/v2024/identity-attributes/{name}",
        "deleteIdentityAttribute",
        identity_attributes::delete,
    )),
    route(
        "GET",
        "/v2024/transforms",
        "listTransforms",
        transforms::list,
    ),
    route(
        "POST",
        "/v2024/transforms",
        "createTransform",
        transforms::create,
    ),
    route(
        "GET",
        "/v2024/transforms/{id}",
        "getTransform",
        transforms::get,
    ),
    route(
        "PUT",
        "/v2024/transforms/{id}",
        "updateTransform",
        transforms::update,
    ),
    route(
        "DELETE",
        "/v2024/transforms/{id}",
        "deleteTransform",
        transforms::delete,
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
        "/v2024/task-status/pending-tasks",
        "getPendingTasks",
        tasks::pending,
    ),
    route(
        "HEAD",
        "/v2024/task-status/pending-tasks",
        "getPendingTaskHeaders",
        tasks::pending_headers,
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
