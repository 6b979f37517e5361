//! Property test: whatever a server answers (any status, hostile headers, garbage, truncated,
//! huge or endless bodies), on the token endpoint and on API calls, the client never panics,
//! every call returns within a bound, and body caps hold (an endless body is cut off).
//!
//! The server is a raw loopback TCP listener writing the answer byte by byte, so it can lie in
//! ways a real HTTP server library would not allow.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use isc_client::models::IdentityProfile;
use isc_client::{ErrorClass, Filter, ListParams, RateLimit, TenantClient, TenantClientConfig};
use proptest::prelude::*;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The bound on every call of a case (the policy below keeps real calls far under it).
const CALL_BOUND: Duration = Duration::from_secs(10);
/// The client's body cap in this test.
const BODY_CAP: usize = 256 * 1024;
/// The most an endless body writes before the server gives up (far above the cap).
const ENDLESS_LIMIT: usize = 64 * 1024 * 1024;

/// A response body as the server sends it.
#[derive(Debug, Clone)]
enum Body {
    /// These bytes, with a correct `Content-Length`.
    Exact(Vec<u8>),
    /// These bytes, with a `Content-Length` that lies.
    Lying { bytes: Vec<u8>, claimed: u64 },
    /// Bytes until the client hangs up, without a length.
    Endless,
}

/// One answer of the server.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop_oneof![Just(200u16), Just(201), Just(204), Just(301), Just(302), Just(307),
            Just(308), Just(400), Just(401), Just(403), Just(404), Just(429), Just(500), Just(503)],
        1 => 100u16..=999,
    ]
}

fn retry_after() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(u64::MAX.to_string()),
        Just("1e308".to_string()),
        Just("-5".to_string()),
        Just("NaN".to_string()),
        Just("0.01".to_string()),
        Just("Wed, 21 Oct 2999 07:28:00 GMT".to_string()),
        "[ -~]{0,20}",
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let one = prop_oneof![
        retry_after().prop_map(|v| ("Retry-After".to_string(), v)),
        Just((
            "Location".to_string(),
            "http://127.0.0.1:1/steal".to_string()
        )),
        "[0-9a-z]{0,30}".prop_map(|v| ("X-Total-Count".to_string(), v)),
        (1usize..200_000).prop_map(|n| ("X-Huge".to_string(), "h".repeat(n))),
        ("[A-Za-z-]{1,12}", "[ -~]{0,40}"),
    ];
    prop::collection::vec(one, 0..4)
}

fn json_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(br#"[{"id":"p1","name":"a","authoritativeSource":{"id":"s"}},{"id":"p2","name":"b","owner":5,"authoritativeSource":null}]"#.to_vec()),
        Just(br#"{"detailCode":"400.1","trackingId":"t","messages":[{"text":"no"}]}"#.to_vec()),
        Just(br#"{"access_token":"tok","expires_in":18446744073709551615}"#.to_vec()),
        Just(br#"{"access_token":"tok","expires_in":-1}"#.to_vec()),
        Just(br#"[{"id":"p1","name":"a","authoritativeSource":{}}"#.to_vec()),
        Just(b"[]".to_vec()),
        Just(vec![b'['; 10_000]),
        prop::collection::vec(any::<u8>(), 0..512),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => json_like().prop_map(Body::Exact),
        1 => (json_like(), any::<u64>()).prop_map(|(bytes, claimed)| Body::Lying { bytes, claimed }),
        1 => (1usize..4).prop_map(|mb| Body::Exact(vec![b' '; mb * BODY_CAP])),
        1 => Just(Body::Endless),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    (status(), headers(), body()).prop_map(|(status, headers, body)| Answer {
        status,
        headers,
        body,
    })
}

/// A token answer: usually a valid token (with any `expires_in`), so API calls are reached.
fn token_answer() -> impl Strategy<Value = Answer> {
    let valid = (any::<u64>(), headers()).prop_map(|(expires_in, headers)| Answer {
        status: 200,
        headers,
        body: Body::Exact(
            format!(r#"{{"access_token":"tok","token_type":"bearer","expires_in":{expires_in}}}"#)
                .into_bytes(),
        ),
    });
    prop_oneof![3 => valid, 1 => answer()]
}

/// Reads one request (head and a `Content-Length` body), bounded.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let mut have = buf.len() - head_end;
    while have < length.min(1024 * 1024) {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some(head)
}

async fn write_answer(stream: &mut TcpStream, answer: &Answer) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} Fuzz\r\nConnection: close\r\n", answer.status);
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match &answer.body {
        Body::Exact(bytes) => head.push_str(&format!("Content-Length: {}\r\n", bytes.len())),
        Body::Lying { claimed, .. } => head.push_str(&format!("Content-Length: {claimed}\r\n")),
        Body::Endless => {}
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    match &answer.body {
        Body::Exact(bytes) | Body::Lying { bytes, .. } => stream.write_all(bytes).await?,
        Body::Endless => {
            let chunk = vec![b'['; 64 * 1024];
            let mut sent = 0;
            while sent < ENDLESS_LIMIT {
                stream.write_all(&chunk).await?;
                sent += chunk.len();
            }
        }
    }
    stream.shutdown().await
}

/// Serves `token` on `/oauth/token` and `api` on every other path; returns the base URL.
async fn serve(token: Answer, api: Answer) -> String {
    serve_recording(token, api).await.0
}

/// Like [`serve`], also returning the request heads received (connections that sent none are
/// recorded as an empty head).
async fn serve_recording(token: Answer, api: Answer) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answers = Arc::new((token, api));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answers = answers.clone();
            let record = record.clone();
            tokio::spawn(async move {
                let head = read_request(&mut stream).await;
                record
                    .lock()
                    .unwrap()
                    .push(head.clone().unwrap_or_default());
                let Some(head) = head else {
                    return;
                };
                let answer = if head.contains("/oauth/token") {
                    &answers.0
                } else {
                    &answers.1
                };
                let _ = write_answer(&mut stream, answer).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

fn fuzz_client(base_url: &str) -> TenantClient {
    let mut config =
        TenantClientConfig::new(base_url, "fuzz", SecretString::from("fuzz-secret")).unwrap();
    config.allow_insecure_http = true;
    config.request_timeout = Duration::from_secs(1);
    config.max_body_bytes = BODY_CAP;
    config.rate_limit = RateLimit {
        requests: 10_000,
        per: Duration::from_secs(1),
    };
    config.retry.max_retries = 2;
    config.retry.min_delay = Duration::from_millis(1);
    config.retry.max_delay = Duration::from_millis(10);
    config.retry.max_rate_limited_retries = 2;
    config.retry.max_retry_after = Duration::from_millis(50);
    TenantClient::new(config).unwrap()
}

/// Runs every kind of call against one server; each must end within [`CALL_BOUND`] without
/// a panic. Returns the error texts.
async fn run_case(token: Answer, api: Answer) -> Vec<Result<(), String>> {
    let client = fuzz_client(&serve(token, api).await);
    let profile = IdentityProfile {
        name: "p".into(),
        ..Default::default()
    };
    let (c1, c2, c3, c4) = (
        client.clone(),
        client.clone(),
        client.clone(),
        client.clone(),
    );
    let calls: Vec<tokio::task::JoinHandle<Result<(), String>>> = vec![
        tokio::spawn(async move {
            let r = c1
                .list_all_identity_profiles_lenient(&ListParams::default())
                .await;
            r.map(drop).map_err(|e| e.to_string())
        }),
        tokio::spawn(async move {
            let r = c2.get_task_status("t1").await;
            r.map(drop).map_err(|e| e.to_string())
        }),
        tokio::spawn(async move {
            let r = c3.create_identity_profile(&profile).await;
            r.map(drop).map_err(|e| e.to_string())
        }),
        tokio::spawn(async move {
            let r = c4.list_pending_tasks(&ListParams::default()).await;
            r.map(drop).map_err(|e| e.to_string())
        }),
    ];
    let mut out = Vec::new();
    for call in calls {
        let joined = tokio::time::timeout(CALL_BOUND, call)
            .await
            .expect("a call returns within the bound");
        out.push(joined.expect("a call never panics"));
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_answer_ends_every_call_in_bounded_time_without_a_panic(
        token in token_answer(),
        api in answer(),
    ) {
        let results = runtime().block_on(run_case(token, api.clone()));
        for result in &results {
            if let Err(text) = result {
                prop_assert!(!text.contains("fuzz-secret"), "{}", text);
                prop_assert!(!text.contains("/steal"), "{}", text);
                prop_assert!(text.len() < 2000, "{}", text.len());
            }
        }
    }
}

/// The server's answer with an endless body.
fn endless(status: u16) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body: Body::Endless,
    }
}

fn valid_token() -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        body: Body::Exact(br#"{"access_token":"tok","expires_in":3600}"#.to_vec()),
    }
}

#[tokio::test]
async fn an_endless_success_body_is_cut_off_at_the_cap() {
    let client = fuzz_client(&serve(valid_token(), endless(200)).await);
    let err = tokio::time::timeout(CALL_BOUND, client.get_task_status("t1"))
        .await
        .expect("returns in time")
        .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[tokio::test]
async fn an_endless_error_body_is_truncated() {
    let client = fuzz_client(&serve(valid_token(), endless(400)).await);
    let err = tokio::time::timeout(CALL_BOUND, client.get_task_status("t1"))
        .await
        .expect("returns in time")
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}

#[tokio::test]
async fn an_endless_token_body_is_cut_off() {
    let client = fuzz_client(&serve(endless(200), valid_token()).await);
    let err = tokio::time::timeout(CALL_BOUND, client.get_task_status("t1"))
        .await
        .expect("returns in time")
        .unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
}

#[tokio::test]
async fn a_huge_retry_after_gives_up_at_once_with_a_capped_wait() {
    let limited = Answer {
        status: 429,
        headers: vec![("Retry-After".into(), u64::MAX.to_string())],
        body: Body::Exact(Vec::new()),
    };
    let client = fuzz_client(&serve(valid_token(), limited).await);
    let started = std::time::Instant::now();
    let err = client.get_task_status("t1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(err.retry_after(), Some(Duration::from_millis(50)), "{err}");
}

fn redirect_to(target: &str) -> Answer {
    Answer {
        status: 307,
        headers: vec![("Location".into(), format!("{target}/oauth/token"))],
        body: Body::Exact(Vec::new()),
    }
}

#[tokio::test]
async fn a_redirect_on_the_token_endpoint_is_not_followed() {
    let (target, received) = serve_recording(valid_token(), valid_token()).await;
    let client = fuzz_client(&serve(redirect_to(&target), valid_token()).await);
    let err = client.get_task_status("t1").await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(err.to_string().contains("redirect"), "{err}");
    assert!(!err.to_string().contains(&target), "{err}");
    assert!(
        received.lock().unwrap().is_empty(),
        "the redirect target got nothing"
    );
}

#[tokio::test]
async fn a_redirect_on_an_api_call_is_a_permanent_error_without_its_target() {
    let (target, received) = serve_recording(valid_token(), valid_token()).await;
    let client = fuzz_client(&serve(valid_token(), redirect_to(&target)).await);
    let err = client.get_task_status("t1").await.unwrap_err();
    assert_eq!(err.status(), Some(307));
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(!err.to_string().contains(&target), "{err}");
    assert!(
        received.lock().unwrap().is_empty(),
        "the redirect target got nothing"
    );
}

fn json_answer(body: &str) -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        body: Body::Exact(body.as_bytes().to_vec()),
    }
}

#[tokio::test]
async fn a_server_ignoring_offset_ends_the_listing_with_an_error() {
    let page: Vec<String> = (0..250)
        .map(|i| format!(r#"{{"id":"p{i}","name":"n{i}","authoritativeSource":{{}}}}"#))
        .collect();
    let (url, received) =
        serve_recording(valid_token(), json_answer(&format!("[{}]", page.join(",")))).await;
    let client = fuzz_client(&url);
    let err = client
        .list_all_identity_profiles_lenient(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("repeats the previous page"),
        "{err}"
    );
    let api_calls = received
        .lock()
        .unwrap()
        .iter()
        .filter(|h| !h.contains("/oauth/token"))
        .count();
    assert_eq!(api_calls, 2, "stops at the first repeated page");
}

#[tokio::test]
async fn a_full_page_that_reaches_the_total_count_ends_the_listing() {
    let page: Vec<String> = (0..250)
        .map(|i| format!(r#"{{"id":"p{i}","name":"n{i}","authoritativeSource":{{}}}}"#))
        .collect();
    let mut answer = json_answer(&format!("[{}]", page.join(",")));
    answer
        .headers
        .push(("X-Total-Count".to_string(), "250".to_string()));
    let (url, received) = serve_recording(valid_token(), answer).await;
    let client = fuzz_client(&url);
    let list = client
        .list_all_identity_profiles_lenient(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(list.items.len(), 250);
    let api_calls: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|h| !h.contains("/oauth/token"))
        .cloned()
        .collect();
    assert_eq!(api_calls.len(), 1, "no second call for an empty page");
    assert!(api_calls[0].contains("count=true"), "{}", api_calls[0]);
}

#[tokio::test]
async fn task_lists_send_the_documented_parameters() {
    let (url, received) = serve_recording(valid_token(), json_answer("[]")).await;
    let client = fuzz_client(&url);
    let params = ListParams {
        filter: Some(Filter::eq("type", "QUARTZ")),
        sorters: Some("-created".into()),
        limit: Some(50),
        offset: Some(100),
        count: false,
    };
    assert!(client.list_task_status(&params).await.unwrap().is_empty());
    assert!(client.list_pending_tasks(&params).await.unwrap().is_empty());
    let heads = received.lock().unwrap().clone();
    let lines: Vec<&str> = heads
        .iter()
        .filter_map(|h| h.lines().next())
        .filter(|l| l.contains("/v2024/"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("GET /v2024/task-status?"),
        "{}",
        lines[0]
    );
    for part in [
        "filters=type+eq+%22QUARTZ%22",
        "sorters=-created",
        "limit=50",
        "offset=100",
    ] {
        assert!(lines[0].contains(part), "{part} in {}", lines[0]);
    }
    assert!(
        lines[1].starts_with("GET /v2024/task-status/pending-tasks?limit=50&offset=100 "),
        "{}",
        lines[1]
    );
}

#[tokio::test]
async fn an_empty_pending_tasks_answer_is_an_empty_list() {
    let no_content = Answer {
        status: 204,
        headers: Vec::new(),
        body: Body::Exact(Vec::new()),
    };
    let client = fuzz_client(&serve(valid_token(), no_content).await);
    assert!(
        client
            .list_pending_tasks(&ListParams::default())
            .await
            .unwrap()
            .is_empty()
    );
}
