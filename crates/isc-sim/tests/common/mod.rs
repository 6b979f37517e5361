//! The harness the simulator's HTTP tests share: a running simulator with a PAT token, raw
//! requests (status, headers and body exactly as sent), the typed admin client, and the
//! seed's source ids. Each test file declares `pub mod common;` because each uses a subset.

pub mod openapi;

pub use std::time::{Duration, Instant};

pub use isc_sim::testing::SimAdmin;
pub use isc_sim::{JournalEntry, RunningSimulator, SimConfig};
pub use reqwest::{Method, StatusCode, header::HeaderMap};
pub use serde_json::{Value, json};

pub const PAT_ID: &str = isc_sim::testing::USER_CLIENT_ID;
pub const PAT_SECRET: &str = isc_sim::testing::USER_CLIENT_SECRET;
pub const APP_ID: &str = isc_sim::testing::APP_CLIENT_ID;
pub const APP_SECRET: &str = isc_sim::testing::APP_CLIENT_SECRET;
/// The seed's "HR Employees" source (200 identities).
pub const EMPLOYEES: &str = "2c9180835d2e5168015d32f890ca1581";
/// The seed's "HR Contractors" source (100 identities).
pub const CONTRACTORS: &str = "2c9180835d2e5168015d32f890ca1582";
pub const PATCH_JSON: &str = "application/json-patch+json";

/// One test's simulator, with a PAT token for API calls.
pub struct Env {
    pub sim: RunningSimulator,
    pub admin: SimAdmin,
    pub http: reqwest::Client,
    pub base: String,
    pub pat: String,
}

/// What a call returned.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn text(&self) -> &str {
        self.body["messages"][0]["text"]
            .as_str()
            .unwrap_or_default()
    }

    /// Asserts an ErrorResponseDto with this status and a message mentioning `needle`.
    pub fn assert_error(&self, status: StatusCode, detail: &str, needle: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["detailCode"], detail, "body: {}", self.body);
        assert!(is_hex32(
            self.body["trackingId"].as_str().unwrap_or_default()
        ));
        assert!(
            self.text().contains(needle),
            "expected {needle:?} in {:?}",
            self.text()
        );
    }
}

pub fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// The shared test configuration (both kinds of credential), with fast tasks and no rate limit.
pub fn config() -> SimConfig {
    let mut config = isc_sim::testing::sim_config();
    config.task_duration = Duration::from_millis(200);
    config.rate_limit = None;
    config
}

pub async fn start_with(config: SimConfig) -> Env {
    let sim = isc_sim::testing::start_sim(config).await;
    let admin = SimAdmin::new(&sim);
    let base = sim.base_url();
    // Redirects are answers under test (a fault can send one), never followed.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut env = Env {
        sim,
        admin,
        http,
        base,
        pat: String::new(),
    };
    env.pat = env.token(PAT_ID, PAT_SECRET).await;
    env
}

pub async fn start() -> Env {
    start_with(config()).await
}

impl Env {
    pub async fn token(&self, id: &str, secret: &str) -> String {
        let r = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// A request with a bearer token, an optional body and content type, and extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, String)>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            rb = rb.bearer_auth(token);
        }
        if let Some((content_type, text)) = body {
            rb = rb.header("content-type", content_type).body(text);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let r = rb.send().await.expect("request completes");
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("non-JSON body: {}", String::from_utf8_lossy(&bytes)))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, Some(&self.pat), None, &[])
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(
            Method::POST,
            path,
            Some(&self.pat),
            Some(("application/json", body.to_string())),
            &[],
        )
        .await
    }

    pub async fn post_exp(&self, path: &str, body: Option<Value>) -> Resp {
        self.send(
            Method::POST,
            path,
            Some(&self.pat),
            body.map(|b| ("application/json", b.to_string())),
            &[("X-SailPoint-Experimental", "true")],
        )
        .await
    }

    pub async fn patch(&self, id: &str, ops: Value) -> Resp {
        self.send(
            Method::PATCH,
            &format!("/v2024/identity-profiles/{id}"),
            Some(&self.pat),
            Some((PATCH_JSON, ops.to_string())),
            &[],
        )
        .await
    }

    /// A raw admin request, for tests of the admin API's own answers.
    pub async fn admin_request(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.send(
            method,
            path,
            None,
            body.map(|b| ("application/json", b.to_string())),
            &[],
        )
        .await
    }

    pub async fn create_profile(&self, name: &str, source: &str, priority: i64) -> Value {
        let r = self
            .post(
                "/v2024/identity-profiles",
                json!({"name": name, "priority": priority, "authoritativeSource": {"type": "SOURCE", "id": source, "name": "x"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// Polls a task until it completes; returns its final TaskStatus.
    pub async fn wait_task(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = self.get(&format!("/v2024/task-status/{id}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            if !r.body["completionStatus"].is_null() {
                return r.body;
            }
            assert!(Instant::now() < deadline, "task {id} never completed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub fn names(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn identity_ids(env: &Env, n: usize) -> Vec<String> {
    let r = env
        .get(&format!("/v2024/identities?defaultFilter=NONE&limit={n}"))
        .await;
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// A tenant client (user agent `isc-operator/…`, so its request bodies are validated) for the
/// simulator, with fast retries so tests stay quick.
pub fn tenant_client(
    sim: &isc_sim::RunningSimulator,
    id: &str,
    secret: &str,
) -> isc_client::TenantClient {
    let mut config = isc_client::TenantClientConfig::new(
        &sim.base_url(),
        id,
        secrecy::SecretString::from(secret.to_string()),
    )
    .expect("valid config");
    config.retry.min_delay = Duration::from_millis(20);
    config.retry.max_delay = Duration::from_millis(200);
    config.request_timeout = Duration::from_secs(5);
    // The simulator serves plain http on loopback.
    config.allow_insecure_http = true;
    isc_client::TenantClient::new(config).expect("client builds")
}
