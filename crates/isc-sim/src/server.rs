//! HTTP plumbing: the connection listener (which can drop a connection on purpose), and the
//! request pipeline every tenant call goes through: faults → routing → auth → rate limit →
//! experimental header → user context → handler → journal.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, State as AxState};
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use bytes::Bytes;
use http::header::ALLOW;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::SimConfig;
use super::admin;
use super::auth::authorization;
use super::faults::FaultSpec;
use super::journal::JournalEntry;
use super::routes::{self, Api, Notes, Reply, Req, RouteMatch, tracking_id};
use super::state::{State, now_rfc3339};

/// Largest request body accepted (the tenant's bodies are small).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The shared simulator.
#[derive(Debug)]
pub(crate) struct Sim {
    state: Mutex<State>,
}

impl Sim {
    pub(crate) fn new(config: SimConfig) -> Sim {
        Sim {
            state: Mutex::new(State::new(config)),
        }
    }

    /// Locks the state; a panic elsewhere must not wedge the simulator, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Background progress: applies side effects of completed tasks.
    pub(crate) fn tick(&self) {
        self.lock().tenant.advance(Instant::now());
    }
}

pub(crate) fn router(sim: Arc<Sim>) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

/// Accepts TCP connections wrapped so a handler can kill its own connection.
pub(crate) struct SimListener {
    inner: TcpListener,
}

impl SimListener {
    pub(crate) fn new(inner: TcpListener) -> Self {
        SimListener { inner }
    }
}

/// Per-connection handle given to handlers (as connect info) to drop the connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    kill: Arc<AtomicBool>,
}

impl ConnHandle {
    /// After this, every read or write on the connection fails, so hyper closes it without
    /// sending the response.
    fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }
}

/// A TCP stream that fails all I/O once killed.
pub(crate) struct KillableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection dropped by fault",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Listener for SimListener {
    type Io = KillableStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    let handle = ConnHandle { kill: kill.clone() };
                    return (
                        KillableStream {
                            inner: stream,
                            kill,
                        },
                        handle,
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        // Only used by axum for logging; the handle is not tied to a connection.
        let _: SocketAddr = self.inner.local_addr()?;
        Ok(ConnHandle {
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// What to do with a request.
enum Outcome {
    Reply(Reply),
    /// Close the connection without a response.
    Drop,
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

async fn handle(
    AxState(sim): AxState<Arc<Sim>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query = query_pairs(parts.uri.query());
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return Reply::bad_request(format!("The request body could not be read: {e}"))
                .into_response();
        }
    };
    if path == "/__sim" || path.starts_with("/__sim/") {
        return admin::handle(&sim, &parts.method, &path, &query, &body).into_response();
    }

    let fault = sim.lock().faults.take(parts.method.as_str(), &path);
    if let Some(ms) = fault.as_ref().and_then(|f| f.delay_ms) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let incoming = Incoming {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body,
    };
    let delay_after = fault.as_ref().and_then(|f| f.delay_after_ms);
    let outcome = {
        let mut state = sim.lock();
        process(&mut state, incoming, fault)
    };
    if let Some(ms) = delay_after {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match outcome {
        Outcome::Reply(reply) => reply.into_response(),
        Outcome::Drop => {
            conn.kill();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

struct Incoming {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

/// Runs one tenant request with the state locked and journals it.
fn process(state: &mut State, incoming: Incoming, fault: Option<FaultSpec>) -> Outcome {
    let now = Instant::now();
    let time = now_rfc3339();
    state.tenant.advance(now);
    let mut notes = Notes::default();
    notes.flags.fault = fault.is_some();

    let matched = routes::find(incoming.method.as_str(), &incoming.path);
    let (route_template, operation_id) = match &matched {
        RouteMatch::Found(r, _) => (Some(r.template), Some(r.operation_id)),
        RouteMatch::WrongMethod(r, _) => (Some(r.template), None),
        RouteMatch::NotFound => (None, None),
    };
    let recorded_query = recorded_query(&incoming.query);
    let mut query = incoming.query;
    if fault
        .as_ref()
        .is_some_and(|f| f.ignore_offset == Some(true))
    {
        query.retain(|(k, _)| k != "offset");
    }
    let mut req = Req {
        method: incoming.method,
        path: incoming.path,
        query,
        headers: incoming.headers,
        body: incoming.body,
        params: Vec::new(),
        client_id: String::new(),
        fail_task: fault
            .as_ref()
            .is_some_and(|f| f.task_outcome.as_deref() == Some("ERROR")),
        now,
    };
    let outcome = run(state, &matched, &mut req, fault.as_ref(), &mut notes);

    let (status, mut response_body) = match &outcome {
        Outcome::Reply(r) => (r.status.as_u16(), r.body.clone().unwrap_or(Value::Null)),
        Outcome::Drop => (0, Value::Null),
    };
    // Access tokens are credentials too; the journal never holds one.
    if let Some(token) = response_body.get_mut("access_token") {
        *token = Value::String("<redacted>".to_string());
    }
    let body = notes
        .journal_body
        .take()
        .unwrap_or_else(|| recorded_body(&req.body));
    state.journal.push(JournalEntry {
        seq: 0,
        time,
        method: req.method.to_string(),
        path: req.path.clone(),
        route: route_template.map(str::to_string),
        operation_id: operation_id.map(str::to_string),
        query: recorded_query,
        headers: recorded_headers(&req.headers),
        client_id: notes.client_id.take(),
        body,
        status,
        response_body,
        flags: notes.flags,
    });
    outcome
}

fn run(
    state: &mut State,
    matched: &RouteMatch,
    req: &mut Req,
    fault: Option<&FaultSpec>,
    notes: &mut Notes,
) -> Outcome {
    // The client behind the token, for the journal, even when the request fails early.
    if let Some(auth) = authorization(req) {
        notes.client_id = match state.tokens.check(Some(auth), req.now) {
            Ok(t) => Some(t.client_id.clone()),
            Err((_, client)) => client,
        };
    }
    if let Some(fault) = fault {
        if fault.drop == Some(true) {
            return Outcome::Drop;
        }
        if let Some(reply) = fault.canned_reply() {
            return Outcome::Reply(reply);
        }
    }
    let reply = match matched {
        RouteMatch::NotFound => Reply::not_found(format!(
            "No operation matches {} {}",
            req.method, req.path
        )),
        RouteMatch::WrongMethod(_, allowed) => Reply::json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({
                "errorName": "NotSupportedException",
                "errorMessage": format!("Method not allowed for {}; allowed: {}", req.path, allowed.join(", ")),
                "trackingId": tracking_id(),
            }),
        )
        .header(ALLOW, allowed.join(", ")),
        RouteMatch::Found(route, params) => {
            req.params.clone_from(params);
            match call(state, route, req, notes) {
                Ok(r) | Err(r) => r,
            }
        }
    };
    let mut reply = reply;
    if let Some(fault) = fault {
        fault.adjust(&mut reply);
    }
    if let RouteMatch::Found(route, _) = matched {
        state
            .tenant
            .wire_overrides
            .apply(route.operation_id, &mut reply);
    }
    Outcome::Reply(reply)
}

fn call(
    state: &mut State,
    route: &routes::Route,
    req: &mut Req,
    notes: &mut Notes,
) -> Result<Reply, Reply> {
    if route.api == Api::Token {
        return (route.handler)(state, req, notes);
    }
    let token = state
        .tokens
        .check(authorization(req), req.now)
        .map_err(|(failure, _)| failure.reply())?;
    let (client_id, user_context) = (token.client_id.clone(), token.user_context);
    req.client_id.clone_from(&client_id);
    notes.client_id = Some(client_id.clone());

    if let Err(wait) = state.limiter.admit(
        &client_id,
        route.api.bucket(),
        state.settings.rate_limit,
        req.now,
    ) {
        notes.flags.rate_limited = true;
        return Err(Reply::too_many("Rate Limit Exceeded", wait));
    }
    if route.experimental
        && !req
            .header("x-sailpoint-experimental")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        return Err(Reply::bad_request(
            "This API is experimental: the request header 'X-SailPoint-Experimental: true' is required",
        ));
    }
    if route.user_only && !user_context {
        return Err(Reply::error(
            StatusCode::FORBIDDEN,
            format!(
                "{} requires a user context: use a personal access token (or another credential with a user); the token of client '{client_id}' has none",
                route.operation_id
            ),
        ));
    }
    (route.handler)(state, req, notes)
}

fn recorded_body(body: &Bytes) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn recorded_query(query: &[(String, String)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in query {
        let v = if k == "client_secret" {
            "<redacted>"
        } else {
            v
        };
        map.entry(k.clone())
            .or_insert_with(|| Value::String(v.to_string()));
    }
    map
}

fn recorded_headers(headers: &HeaderMap) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in headers {
        if name == http::header::AUTHORIZATION || name.as_str().contains("secret") {
            continue;
        }
        map.entry(name.as_str().to_string()).or_insert_with(|| {
            Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned())
        });
    }
    map
}
