//! The tenant simulator, exercised over HTTP the way the operator and outside tools use it.

mod support;

use std::time::{Duration, Instant};

use isc_sim::{RunningSimulator, SimConfig};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

const PAT_ID: &str = support::USER_CLIENT_ID;
const PAT_SECRET: &str = support::USER_CLIENT_SECRET;
const APP_ID: &str = support::APP_CLIENT_ID;
const APP_SECRET: &str = support::APP_CLIENT_SECRET;
const EMPLOYEES: &str = "2c9180835d2e5168015d32f890ca1581";
const CONTRACTORS: &str = "2c9180835d2e5168015d32f890ca1582";
const PATCH_JSON: &str = "application/json-patch+json";

struct Env {
    sim: RunningSimulator,
    http: reqwest::Client,
    base: String,
    pat: String,
}

/// What a call returned.
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Resp {
    fn text(&self) -> &str {
        self.body["messages"][0]["text"]
            .as_str()
            .unwrap_or_default()
    }

    /// Asserts an ErrorResponseDto with this status and a message mentioning `needle`.
    fn assert_error(&self, status: StatusCode, detail: &str, needle: &str) {
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

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// The shared test configuration (both kinds of credential), with fast tasks and no rate limit.
fn config() -> SimConfig {
    let mut config = support::sim_config();
    config.task_duration = Duration::from_millis(200);
    config.rate_limit = None;
    config
}

async fn start_with(config: SimConfig) -> Env {
    isc_client::client::install_crypto_provider();
    let sim = isc_sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts");
    let base = sim.base_url();
    let http = reqwest::Client::builder().build().unwrap();
    let mut env = Env {
        sim,
        http,
        base,
        pat: String::new(),
    };
    env.pat = env.token(PAT_ID, PAT_SECRET).await;
    env
}

async fn start() -> Env {
    start_with(config()).await
}

impl Env {
    async fn token(&self, id: &str, secret: &str) -> String {
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
    async fn send(
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

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, Some(&self.pat), None, &[])
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(
            Method::POST,
            path,
            Some(&self.pat),
            Some(("application/json", body.to_string())),
            &[],
        )
        .await
    }

    async fn post_exp(&self, path: &str, body: Option<Value>) -> Resp {
        self.send(
            Method::POST,
            path,
            Some(&self.pat),
            body.map(|b| ("application/json", b.to_string())),
            &[("X-SailPoint-Experimental", "true")],
        )
        .await
    }

    async fn patch(&self, id: &str, ops: Value) -> Resp {
        self.send(
            Method::PATCH,
            &format!("/v2024/identity-profiles/{id}"),
            Some(&self.pat),
            Some((PATCH_JSON, ops.to_string())),
            &[],
        )
        .await
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.send(
            method,
            path,
            None,
            body.map(|b| ("application/json", b.to_string())),
            &[],
        )
        .await
    }

    async fn journal(&self) -> Vec<Value> {
        let r = self.admin(Method::GET, "/__sim/requests", None).await;
        r.body.as_array().unwrap().clone()
    }

    async fn create_profile(&self, name: &str, source: &str, priority: i64) -> Value {
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
    async fn wait_task(&self, id: &str) -> Value {
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

fn names(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn token_endpoint_and_bearer_checks() {
    let mut config = config();
    config.token_ttl = Duration::from_millis(400);
    let env = start_with(config).await;

    let r = env
        .http
        .post(format!("{}/oauth/token", env.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 0);
    assert_eq!(body["scope"], "sp:scopes:all");
    assert_eq!(body["user_id"], "");
    assert_eq!(body["identity_id"], "");
    assert!(body["jti"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(body["tenant_id"].as_str().is_some_and(is_hex32));

    // Query-string credentials work too, and a PAT carries a user.
    let r = env
        .http
        .post(format!(
            "{}/oauth/token?grant_type=client_credentials&client_id={PAT_ID}&client_secret={PAT_SECRET}",
            env.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert!(body["identity_id"].as_str().is_some_and(is_hex32));

    let r = env
        .http
        .post(format!("{}/oauth/token", env.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", PAT_ID),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "Bad credentials"})
    );

    let r = env
        .send(Method::GET, "/v2024/identity-profiles", None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({"error": "JWT validation failed: JWT is missing"})
    );

    let fresh = env.token(PAT_ID, PAT_SECRET).await;
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&fresh),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&fresh),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({"error": "JWT validation failed: JWT is expired"})
    );

    // The journal records token calls without the secret, and API calls without the bearer.
    let journal = env.journal().await;
    let text = serde_json::to_string(&journal).unwrap();
    assert!(!text.contains(PAT_SECRET) && !text.contains(APP_SECRET));
    assert!(
        !text.contains(&fresh),
        "bearer tokens must not be journaled"
    );
    let token_calls: Vec<&Value> = journal
        .iter()
        .filter(|e| e["operationId"] == "token")
        .collect();
    assert_eq!(token_calls.len(), 5);
    assert_eq!(token_calls[0]["body"]["client_secret"], "<redacted>");
    assert_eq!(token_calls[0]["clientId"], PAT_ID);
    assert_eq!(token_calls[2]["query"]["client_secret"], "<redacted>");
    let expired = journal.last().unwrap();
    assert_eq!(expired["status"], 401);
    assert_eq!(expired["clientId"], PAT_ID);
    assert!(expired["headers"].get("authorization").is_none());
    env.sim.shutdown().await;
}

#[tokio::test]
async fn profile_create_list_filters_sorters_paging() {
    let env = start().await;
    let hr = env
        .create_profile("HR Employees Profile", EMPLOYEES, 10)
        .await;
    assert!(is_hex32(hr["id"].as_str().unwrap()));
    assert_eq!(hr["identityCount"], 200);
    assert_eq!(hr["identityRefreshRequired"], false);
    assert_eq!(
        hr["authoritativeSource"],
        json!({"type": "SOURCE", "id": EMPLOYEES, "name": "HR Employees"})
    );
    assert_eq!(
        hr["identityAttributeConfig"],
        json!({"enabled": false, "attributeTransforms": []})
    );
    assert_eq!(hr["created"], hr["modified"]);
    env.create_profile("Contractors", CONTRACTORS, 20).await;

    // Read-only fields in a create body are ignored.
    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"id": "not-mine", "identityCount": 999, "identityRefreshRequired": true,
                   "name": "Alpha", "priority": 5, "authoritativeSource": {"id": CONTRACTORS}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_ne!(r.body["id"], "not-mine");
    assert_eq!(r.body["identityCount"], 100);
    assert_eq!(r.body["identityRefreshRequired"], false);

    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"name": "alpha", "authoritativeSource": {"id": EMPLOYEES}}),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", "name");
    assert!(r.text().contains("already exists"));
    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"name": "Nope", "authoritativeSource": {"id": "ffffffffffffffffffffffffffffffff"}}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "authoritativeSource.id",
    );
    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"authoritativeSource": {"id": EMPLOYEES}}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "'name' is required",
    );
    let r = env
        .post(
            "/v2024/identity-profiles",
            json!({"name": "P", "priority": "high", "authoritativeSource": {"id": EMPLOYEES}}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "IdentityProfile",
    );

    let r = env.get("/v2024/identity-profiles").await;
    assert_eq!(
        names(&r.body),
        ["HR Employees Profile", "Contractors", "Alpha"]
    );
    assert!(r.headers.get("x-total-count").is_none());

    let q = |f: &str| format!("/v2024/identity-profiles?filters={}", urlencode(f));
    assert_eq!(
        names(&env.get(&q(r#"name sw "hr""#)).await.body),
        ["HR Employees Profile"]
    );
    assert_eq!(
        names(&env.get(&q("priority eq 20")).await.body),
        ["Contractors"]
    );
    assert_eq!(
        names(&env.get(&q(r#"name in ("Alpha","Contractors")"#)).await.body),
        ["Contractors", "Alpha"]
    );
    assert_eq!(
        names(
            &env.get(&q(&format!(r#"id eq "{}""#, hr["id"].as_str().unwrap())))
                .await
                .body
        ),
        ["HR Employees Profile"]
    );
    env.get(&q(r#"name lt "B""#)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "operator 'lt' is not supported for field 'name'",
    );
    env.get(&q("priority gt 1")).await.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "operator 'gt' is not supported for field 'priority'",
    );
    env.get(&q(r#"description eq "x""#)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "field 'description'",
    );
    env.get(&q(r#"name EQ "x""#)).await.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "lowercase",
    );

    let r = env.get("/v2024/identity-profiles?sorters=-priority").await;
    assert_eq!(
        names(&r.body),
        ["Contractors", "HR Employees Profile", "Alpha"]
    );
    let r = env.get("/v2024/identity-profiles?sorters=name").await;
    assert_eq!(
        names(&r.body),
        ["Alpha", "Contractors", "HR Employees Profile"]
    );
    env.get("/v2024/identity-profiles?sorters=description")
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "'description'",
        );

    let r = env
        .get("/v2024/identity-profiles?sorters=name&limit=2&offset=1&count=true")
        .await;
    assert_eq!(names(&r.body), ["Contractors", "HR Employees Profile"]);
    assert_eq!(r.headers["x-total-count"], "3");
    let r = env.get("/v2024/identity-profiles?limit=0&count=true").await;
    assert_eq!(r.body, json!([]));
    assert_eq!(r.headers["x-total-count"], "3");
    for bad in [
        "limit=251",
        "limit=-1",
        "limit=x",
        "offset=-1",
        "count=maybe",
    ] {
        let r = env.get(&format!("/v2024/identity-profiles?{bad}")).await;
        let param = bad.split('=').next().unwrap();
        r.assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", param);
    }

    let r = env
        .get(&format!(
            "/v2024/identity-profiles/{}",
            hr["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, hr);
    env.get("/v2024/identity-profiles/ffffffffffffffffffffffffffffffff")
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "404 Not found",
            "ffffffffffffffffffffffffffffffff",
        );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn patch_rules() {
    let env = start().await;
    let p = env.create_profile("Employees", EMPLOYEES, 1).await;
    env.create_profile("Taken", CONTRACTORS, 2).await;
    let id = p["id"].as_str().unwrap().to_string();
    let bad = "400.1 Bad Request Content";

    let r = env
        .send(
            Method::PATCH,
            &format!("/v2024/identity-profiles/{id}"),
            Some(&env.pat),
            Some(("application/json", "[]".to_string())),
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "application/json-patch+json");

    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = env
        .patch(
            &id,
            json!([{"op": "replace", "path": "/description", "value": "People"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["description"], "People");
    assert_eq!(r.body["identityRefreshRequired"], false);
    assert_ne!(r.body["modified"], p["modified"]);
    assert_eq!(r.body["created"], p["created"]);
    let after_description = r.body.clone();

    for field in [
        "id",
        "created",
        "modified",
        "identityCount",
        "identityRefreshRequired",
    ] {
        let r = env
            .patch(
                &id,
                json!([{"op": "replace", "path": format!("/{field}"), "value": 1}]),
            )
            .await;
        r.assert_error(
            StatusCode::BAD_REQUEST,
            bad,
            &format!("'/{field}' is read-only"),
        );
    }
    let r = env
        .patch(
            &id,
            json!([{"op": "move", "from": "/id", "path": "/description"}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "'/id' is read-only");

    let r = env
        .patch(
            &id,
            json!([
                {"op": "replace", "path": "/authoritativeSource/id", "value": CONTRACTORS},
                {"op": "replace", "path": "/identityAttributeConfig/enabled", "value": true}
            ]),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        bad,
        "'authoritativeSource' and 'identityAttributeConfig'",
    );

    // A failing test op makes the whole patch fail, atomically.
    let r = env
        .patch(
            &id,
            json!([
                {"op": "replace", "path": "/description", "value": "changed"},
                {"op": "test", "path": "/priority", "value": 99}
            ]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "did not match");
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{id}"))
            .await
            .body,
        after_description
    );

    let r = env
        .patch(
            &id,
            json!([{"op": "replace", "path": "/priority", "value": "high"}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "not a valid IdentityProfile");
    let r = env
        .patch(
            &id,
            json!([{"op": "remove", "path": "/authoritativeSource"}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "not a valid IdentityProfile");
    let r = env
        .patch(
            &id,
            json!([{"op": "replace", "path": "/name", "value": "TAKEN"}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "already exists");
    let r = env
        .patch(
            &id,
            json!([{"op": "replace", "path": "/nosuch/deep", "value": 1}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "could not be applied");
    let r = env
        .send(
            Method::PATCH,
            &format!("/v2024/identity-profiles/{id}"),
            Some(&env.pat),
            Some((PATCH_JSON, "[{\"op\": ".to_string())),
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "Malformed JSON");
    let r = env.patch(&id, json!({"op": "add"})).await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "JSON Patch array");
    let r = env
        .patch(&id, json!([{"op": "frobnicate", "path": "/x"}]))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "invalid JSON Patch document");

    // A patch that changes nothing leaves `modified` alone.
    let r = env
        .patch(
            &id,
            json!([{"op": "test", "path": "/description", "value": "People"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, after_description);

    let r = env
        .patch(
            &id,
            json!([{"op": "add", "path": "/identityAttributeConfig/attributeTransforms/-", "value": {
                "identityAttributeName": "email",
                "transformDefinition": {"type": "accountAttribute", "attributes": {"attributeName": "email", "sourceName": "HR Employees", "sourceId": EMPLOYEES}}
            }}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["identityRefreshRequired"], true);
    assert_eq!(
        r.body["identityAttributeConfig"]["attributeTransforms"][0]["identityAttributeName"],
        "email"
    );

    let r = env
        .patch(&id, json!([{"op": "replace", "path": "/authoritativeSource", "value": {"id": CONTRACTORS}}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["identityCount"], 100);
    assert_eq!(
        r.body["authoritativeSource"],
        json!({"type": "SOURCE", "id": CONTRACTORS, "name": "HR Contractors"})
    );
    let r = env
        .patch(&id, json!([{"op": "replace", "path": "/authoritativeSource/id", "value": "ffffffffffffffffffffffffffffffff"}]))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "authoritativeSource.id");

    env.patch("ffffffffffffffffffffffffffffffff", json!([]))
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "404 Not found",
            "ffffffffffffffffffffffffffffffff",
        );
}

const TASK_STATUS_FIELDS: [&str; 16] = [
    "id",
    "type",
    "uniqueName",
    "description",
    "parentName",
    "launcher",
    "created",
    "modified",
    "launched",
    "completed",
    "completionStatus",
    "messages",
    "returns",
    "attributes",
    "progress",
    "percentComplete",
];

#[tokio::test]
async fn delete_runs_a_task_and_task_outcome_faults() {
    let env = start().await;
    let p = env.create_profile("Doomed", EMPLOYEES, 1).await;
    let id = p["id"].as_str().unwrap();

    let r = env
        .send(
            Method::DELETE,
            &format!("/v2024/identity-profiles/{id}"),
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let task_id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["launcher"], PAT_ID);
    assert!(r.body.get("completionStatus").is_none());
    assert!(r.body.get("completed").is_none());

    let pending = env.get(&format!("/v2024/task-status/{task_id}")).await;
    assert_eq!(pending.status, StatusCode::OK);
    for field in TASK_STATUS_FIELDS {
        assert!(
            pending.body.get(field).is_some(),
            "missing {field}: {}",
            pending.body
        );
    }
    assert_eq!(pending.body["type"], "QUEUED_TASK");
    assert_eq!(pending.body["completionStatus"], Value::Null);
    assert_eq!(pending.body["completed"], Value::Null);
    assert_eq!(pending.body["parentName"], Value::Null);
    // Still there while the task runs.
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{id}"))
            .await
            .status,
        StatusCode::OK
    );

    let done = env.wait_task(&task_id).await;
    assert_eq!(done["completionStatus"], "SUCCESS");
    assert_eq!(done["percentComplete"], 100);
    assert!(done["completed"].is_string());
    assert_eq!(done["messages"], json!([]));
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The spec declares this 404 without a body.
    let missing = env
        .get("/v2024/task-status/ffffffffffffffffffffffffffffffff")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body, Value::Null);

    // A taskOutcome fault: the request succeeds, the task fails, the profile stays.
    let keep = env.create_profile("Survivor", EMPLOYEES, 1).await;
    let keep_id = keep["id"].as_str().unwrap();
    let r = env
        .admin(
            Method::POST,
            "/__sim/faults",
            Some(json!({"method": "DELETE", "path": "/v2024/identity-profiles/*", "taskOutcome": "ERROR"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = env
        .send(
            Method::DELETE,
            &format!("/v2024/identity-profiles/{keep_id}"),
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let failed = env.wait_task(r.body["id"].as_str().unwrap()).await;
    assert_eq!(failed["completionStatus"], "ERROR");
    assert_eq!(failed["messages"][0]["type"], "ERROR");
    assert!(failed["messages"][0]["localizedText"]["message"].is_string());
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{keep_id}"))
            .await
            .status,
        StatusCode::OK
    );
    let journal = env.journal().await;
    let faulted: Vec<&Value> = journal
        .iter()
        .filter(|e| e["flags"]["fault"] == true)
        .collect();
    assert_eq!(faulted.len(), 1);
    assert_eq!(faulted[0]["operationId"], "deleteIdentityProfile");

    // Bulk delete: unknown ids are skipped with a warning.
    let r = env
        .post(
            "/v2024/identity-profiles/bulk-delete",
            json!([keep_id, "ffffffffffffffffffffffffffffffff"]),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let done = env.wait_task(r.body["id"].as_str().unwrap()).await;
    assert_eq!(done["completionStatus"], "WARNING");
    assert_eq!(done["messages"][0]["type"], "WARN");
    assert_eq!(
        env.get(&format!("/v2024/identity-profiles/{keep_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    env.post("/v2024/identity-profiles/bulk-delete", json!([1]))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "Element 0",
        );

    // Pending tasks are findable with `completionStatus isnull`.
    let r = env
        .get(&format!(
            "/v2024/task-status?filters={}&count=true",
            urlencode("completionStatus isnull")
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["x-total-count"], "0");
    let r = env
        .get(&format!(
            "/v2024/task-status?filters={}",
            urlencode(r#"completionStatus eq "Success""#)
        ))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn export_and_import_semantics() {
    let env = start().await;
    let alpha = env.create_profile("Alpha", EMPLOYEES, 1).await;
    let gamma = env.create_profile("Gamma", CONTRACTORS, 3).await;

    let r = env
        .get("/v2024/identity-profiles/export?sorters=-name")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body[0]["version"], 1);
    assert_eq!(
        r.body[0]["self"],
        json!({"type": "IDENTITY_PROFILE", "id": gamma["id"], "name": "Gamma"})
    );
    assert_eq!(r.body[0]["object"], gamma);
    let r = env
        .get(&format!(
            "/v2024/identity-profiles/export?filters={}",
            urlencode(r#"name eq "Alpha""#)
        ))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    env.get(&format!(
        "/v2024/identity-profiles/export?filters={}",
        urlencode(r#"name sw "A""#)
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", "'sw'");

    let mut alpha_changed = alpha.clone();
    alpha_changed["description"] = json!("by id");
    let import = json!([
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "id": alpha["id"], "name": "Alpha"}, "object": alpha_changed},
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "id": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Gamma"},
         "object": {"id": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Gamma", "description": "by name", "priority": 3,
                    "authoritativeSource": {"type": "SOURCE", "id": CONTRACTORS, "name": "HR Contractors"}}},
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "name": "Beta"},
         "object": {"name": "Beta", "authoritativeSource": {"id": EMPLOYEES}}},
        {"version": 1, "self": {"type": "IDENTITY_PROFILE", "name": "Lost"},
         "object": {"name": "Lost", "authoritativeSource": {"id": "dddddddddddddddddddddddddddddddd"}}}
    ]);
    let r = env
        .post("/v2024/identity-profiles/import", import.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["infos"], json!([]));
    assert_eq!(r.body["warnings"], json!([]));
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["errors"][0]["key"], "UNKNOWN_REFERENCE_RESOLVER");
    assert!(
        r.body["errors"][0]["text"]
            .as_str()
            .unwrap()
            .contains("dddddddddddddddddddddddddddddddd")
    );
    let imported = r.body["importedObjects"].as_array().unwrap();
    assert_eq!(imported.len(), 3);
    assert_eq!(
        imported[0],
        json!({"type": "IDENTITY_PROFILE", "id": alpha["id"], "name": "Alpha"})
    );
    assert_eq!(
        imported[1],
        json!({"type": "IDENTITY_PROFILE", "id": gamma["id"], "name": "Gamma"})
    );
    let beta_id = imported[2]["id"].as_str().unwrap();
    assert!(is_hex32(beta_id));

    let list = env.get("/v2024/identity-profiles?sorters=name").await.body;
    assert_eq!(names(&list), ["Alpha", "Beta", "Gamma"]);
    assert_eq!(list[0]["description"], "by id");
    assert_eq!(list[0]["identityRefreshRequired"], false);
    assert_eq!(list[1]["id"], beta_id);
    assert_eq!(list[1]["identityCount"], 200);
    assert_eq!(list[2]["description"], "by name");
    assert_eq!(list[2]["id"], gamma["id"]);

    // Import needs a user context.
    let app = env.token(APP_ID, APP_SECRET).await;
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles/import",
            Some(&app),
            Some(("application/json", import.to_string())),
            &[],
        )
        .await;
    r.assert_error(
        StatusCode::FORBIDDEN,
        "403 Forbidden",
        "personal access token",
    );
    let r = env
        .post(
            "/v2024/identity-profiles/import",
            json!({"not": "an array"}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "JSON array",
    );
}

#[tokio::test]
async fn identities_list_get_and_user_context() {
    let env = start().await;
    let r = env.get("/v2024/identities?count=true&limit=10").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 10);
    assert_eq!(r.headers["x-total-count"], "288");
    let r = env
        .get("/v2024/identities?defaultFilter=NONE&count=true&limit=1")
        .await;
    assert_eq!(r.headers["x-total-count"], "300");
    let r = env
        .get(&format!(
            "/v2024/identities?defaultFilter=NONE&count=true&filters={}",
            urlencode("correlated eq false")
        ))
        .await;
    assert_eq!(r.headers["x-total-count"], "12");
    let r = env
        .get(&format!(
            "/v2024/identities?filters={}",
            urlencode(r#"email eq "ada.lovelace@example.com""#)
        ))
        .await;
    assert_eq!(names(&r.body), ["Ada Lovelace"]);
    let ada = r.body[0].clone();
    assert_eq!(ada["alias"], "ada.lovelace");
    assert_eq!(ada["attributes"]["department"], "Engineering");
    let r = env
        .get(&format!(
            "/v2024/identities?sorters=-name&filters={}",
            urlencode(r#"firstname sw "ad" and lastname eq "Turing""#)
        ))
        .await;
    assert_eq!(names(&r.body), ["Ada Turing"]);
    let r = env
        .get(&format!(
            "/v2024/identities?filters={}",
            urlencode(&format!(
                r#"id in ("{}","nope")"#,
                ada["id"].as_str().unwrap()
            ))
        ))
        .await;
    assert_eq!(names(&r.body), ["Ada Lovelace"]);
    let r = env.get("/v2024/identities?sorters=-name&limit=1").await;
    // "Yukihiro Wirth" sorts first but is uncorrelated, so hidden by default.
    assert_eq!(names(&r.body), ["Yukihiro Turing"]);
    env.get(&format!(
        "/v2024/identities?filters={}",
        urlencode(r#"department eq "x""#)
    ))
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "'department'",
    );
    env.get(&format!(
        "/v2024/identities?filters={}",
        urlencode(r#"name co "x""#)
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", "'co'");
    env.get("/v2024/identities?sorters=email")
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "'email'",
        );
    env.get("/v2024/identities?defaultFilter=SOME")
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "defaultFilter",
        );

    let r = env
        .get(&format!(
            "/v2024/identities/{}",
            ada["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, ada);
    env.get("/v2024/identities/ffffffffffffffffffffffffffffffff")
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "404 Not found",
            "ffffffffffffffffffffffffffffffff",
        );

    let app = env.token(APP_ID, APP_SECRET).await;
    for path in [
        "/v2024/identities".to_string(),
        format!("/v2024/identities/{}", ada["id"].as_str().unwrap()),
    ] {
        let r = env.send(Method::GET, &path, Some(&app), None, &[]).await;
        r.assert_error(
            StatusCode::FORBIDDEN,
            "403 Forbidden",
            "personal access token",
        );
    }
    // Other operations are fine without a user.
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&app),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn identity_ids(env: &Env, n: usize) -> Vec<String> {
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

#[tokio::test]
async fn process_identities_and_experimental_header() {
    let env = start().await;
    let ids = identity_ids(&env, 250).await;
    let mut too_many = ids.clone();
    too_many.push(ids[0].clone());
    let bad = "400.1 Bad Request Content";

    let r = env
        .post(
            "/v2024/identities/process",
            json!({"identityIds": ids[..2]}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        bad,
        "X-SailPoint-Experimental: true",
    );
    let r = env
        .send(
            Method::POST,
            "/v2024/identities/process",
            Some(&env.pat),
            Some((
                "application/json",
                json!({"identityIds": ids[..2]}).to_string(),
            )),
            &[("X-SailPoint-Experimental", "false")],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "X-SailPoint-Experimental");

    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": too_many})),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "1 to 250");
    assert!(r.text().contains("got 251"));
    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": []})),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "identityIds");
    let r = env
        .post_exp("/v2024/identities/process", Some(json!({})))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "'identityIds' is required");
    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": ["nope"]})),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "nope");

    let before =
        env.get(&format!("/v2024/identities/{}", ids[0])).await.body["lastRefresh"].clone();
    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": ids})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let object = r.body.as_object().unwrap();
    assert_eq!(object.len(), 2, "name must be omitted: {}", r.body);
    assert_eq!(r.body["type"], "TASK_RESULT");
    let done = env.wait_task(r.body["id"].as_str().unwrap()).await;
    assert_eq!(done["completionStatus"], "SUCCESS");
    assert_eq!(done["attributes"], json!({"identityCount": 250}));
    let after = env.get(&format!("/v2024/identities/{}", ids[0])).await.body["lastRefresh"].clone();
    assert_ne!(before, after);

    // The header is accepted (and ignored) elsewhere.
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&env.pat),
            None,
            &[("X-SailPoint-Experimental", "true")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn synchronize_attributes_window() {
    let env = start().await;
    let ids = identity_ids(&env, 2).await;
    let path = |id: &str| format!("/v2024/identities/{id}/synchronize-attributes");

    let r = env
        .send(Method::POST, &path(&ids[0]), Some(&env.pat), None, &[])
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "X-SailPoint-Experimental",
    );

    let r = env.post_exp(&path(&ids[0]), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["status"], "QUEUED");
    assert_eq!(r.body["payload"]["type"], "SYNCHRONIZE_IDENTITY_ATTRIBUTES");
    let data: Value =
        serde_json::from_str(r.body["payload"]["dataJson"].as_str().unwrap()).unwrap();
    assert_eq!(data, json!({"identityId": ids[0]}));

    let r = env.post_exp(&path(&ids[0]), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body["message"].as_str().unwrap().contains(&ids[0]));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");

    let r = env.post_exp(&path(&ids[1]), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    env.post_exp(&path("ffffffffffffffffffffffffffffffff"), None)
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "404 Not found",
            "ffffffffffffffffffffffffffffffff",
        );

    let journal = env.journal().await;
    let flagged: Vec<&Value> = journal
        .iter()
        .filter(|e| e["flags"]["syncWithinWindow"] == true)
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["status"], 429);
    assert_eq!(
        flagged[0]["route"],
        "/v2024/identities/{identityId}/synchronize-attributes"
    );
}

#[tokio::test]
async fn legacy_refresh_and_full_refresh_flag() {
    let env = start().await;
    let refresh = |body: String| {
        env.send(
            Method::POST,
            "/cc/api/system/refreshIdentities",
            Some(&env.pat),
            Some(("application/json", body)),
            &[],
        )
    };
    let args =
        json!({"correlateEntitlements": "true", "promoteAttributes": true, "refreshLinks": 1});

    let r =
        refresh(json!({"filter": r#"alias == "ada.lovelace""#, "refreshArgs": args}).to_string())
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["type"], "TASK_RESULT");
    assert_eq!(r.body["identityCount"], 1);
    let done = env.wait_task(r.body["id"].as_str().unwrap()).await;
    assert_eq!(done["completionStatus"], "SUCCESS");

    let r = refresh(
        json!({"filter": r#"department == "Finance" && (uid == "ada.lovelace" || lastname != "Turing")"#})
            .to_string(),
    )
    .await;
    assert_eq!(r.body["identityCount"], 56);

    for body in [
        json!({"filter": r#"uid == "nobody""#, "refreshArgs": args}),
        json!({"filter": r#"uid eq "ada.lovelace""#}),
        json!({"filter": ""}),
        json!({"refreshArgs": args}),
    ] {
        let r = refresh(body.to_string()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["identityCount"], 300, "{body}");
    }
    // The spec's own example sends the object as a JSON-encoded string.
    let r =
        refresh(json!(json!({"filter": r#"uid == "grace.hopper""#}).to_string()).to_string()).await;
    assert_eq!(r.body["identityCount"], 1);

    let r = refresh(json!({"filter": "", "refreshArgs": {"provision": 5}}).to_string()).await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "refreshArgs.provision",
    );

    let journal = env.journal().await;
    let refreshes: Vec<&Value> = journal
        .iter()
        .filter(|e| e["operationId"] == "refreshIdentities")
        .collect();
    assert_eq!(refreshes.len(), 8);
    let full: Vec<bool> = refreshes
        .iter()
        .map(|e| e["flags"]["fullRefresh"].as_bool().unwrap())
        .collect();
    assert_eq!(full, [false, false, true, true, true, true, false, false]);
    assert_eq!(refreshes[0]["route"], "/cc/api/system/refreshIdentities");
    assert_eq!(refreshes[0]["body"]["filter"], r#"alias == "ada.lovelace""#);
}

#[tokio::test]
async fn profile_processing_preview_and_default_config() {
    let env = start().await;
    let p = env.create_profile("Employees", EMPLOYEES, 1).await;
    let id = p["id"].as_str().unwrap();

    let r = env
        .get(&format!(
            "/v2024/identity-profiles/{id}/default-identity-attribute-config"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["enabled"], true);
    let transforms = r.body["attributeTransforms"].as_array().unwrap();
    let attr_names: Vec<&str> = transforms
        .iter()
        .map(|t| t["identityAttributeName"].as_str().unwrap())
        .collect();
    assert_eq!(
        attr_names,
        ["uid", "email", "firstname", "lastname", "displayName"]
    );
    assert_eq!(
        transforms[1]["transformDefinition"],
        json!({"type": "accountAttribute", "attributes": {"attributeName": "email", "sourceName": "HR Employees", "sourceId": EMPLOYEES}})
    );
    let config = r.body.clone();

    let r = env
        .patch(
            id,
            json!([{"op": "replace", "path": "/identityAttributeConfig", "value": config}]),
        )
        .await;
    assert_eq!(r.body["identityRefreshRequired"], true);

    let ada = &env
        .get(&format!(
            "/v2024/identities?filters={}",
            urlencode(r#"alias eq "ada.lovelace""#)
        ))
        .await
        .body[0];
    let before = ada["lastRefresh"].clone();
    let r = env
        .post(
            &format!("/v2024/identity-profiles/{id}/process-identities"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body, json!({}));
    let tasks = env.admin(Method::GET, "/__sim/tasks", None).await.body;
    let task_id = tasks[0]["id"].as_str().unwrap().to_string();
    assert_eq!(tasks[0]["attributes"]["identityCount"], 200);
    let done = env.wait_task(&task_id).await;
    assert_eq!(done["completionStatus"], "SUCCESS");
    let profile = env
        .get(&format!("/v2024/identity-profiles/{id}"))
        .await
        .body;
    assert_eq!(profile["identityRefreshRequired"], false);
    let after = env
        .get(&format!(
            "/v2024/identities/{}",
            ada["id"].as_str().unwrap()
        ))
        .await
        .body["lastRefresh"]
        .clone();
    assert_ne!(before, after);

    let r = env
        .post(
            "/v2024/identity-profiles/identity-preview",
            json!({"identityId": ada["id"], "identityAttributeConfig": {"enabled": true, "attributeTransforms": [
                {"identityAttributeName": "email", "transformDefinition": {"type": "accountAttribute", "attributes": {"attributeName": "email"}}},
                {"identityAttributeName": "title", "transformDefinition": {"type": "static", "attributes": {"value": "Countess"}}},
                {"identityAttributeName": "x", "transformDefinition": {"type": "rule", "attributes": {}}}
            ]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["identity"],
        json!({"type": "IDENTITY", "id": ada["id"], "name": "Ada Lovelace"})
    );
    let preview = &r.body["previewAttributes"];
    assert_eq!(preview[0]["value"], "ada.lovelace@example.com");
    assert_eq!(preview[0]["previousValue"], "ada.lovelace@example.com");
    assert_eq!(preview[1]["value"], "Countess");
    assert!(preview[1].get("previousValue").is_none());
    assert!(preview[2].get("value").is_none());
    assert!(
        preview[2]["errorMessages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("rule")
    );
    env.post(
        "/v2024/identity-profiles/identity-preview",
        json!({"identityId": "nope"}),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "identityId",
    );

    env.post(
        "/v2024/identity-profiles/ffffffffffffffffffffffffffffffff/process-identities",
        json!({}),
    )
    .await
    .assert_error(
        StatusCode::NOT_FOUND,
        "404 Not found",
        "ffffffffffffffffffffffffffffffff",
    );
}

#[tokio::test]
async fn rate_limit_per_client_and_version() {
    let mut config = config();
    config.rate_limit = Some((5, Duration::from_secs(2)));
    let env = start_with(config).await;
    for _ in 0..5 {
        assert_eq!(
            env.get("/v2024/identity-profiles").await.status,
            StatusCode::OK
        );
    }
    let r = env.get("/v2024/identity-profiles").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body, json!({"message": "Rate Limit Exceeded"}));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");

    // Other API versions and other clients have their own budget; tokens are never limited.
    let r = env
        .send(
            Method::POST,
            "/cc/api/system/refreshIdentities",
            Some(&env.pat),
            Some((
                "application/json",
                json!({"filter": r#"uid == "ada.lovelace""#}).to_string(),
            )),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let app = env.token(APP_ID, APP_SECRET).await;
    let r = env
        .send(
            Method::GET,
            "/v2024/identity-profiles",
            Some(&app),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let journal = env.journal().await;
    assert_eq!(
        journal
            .iter()
            .filter(|e| e["flags"]["rateLimited"] == true)
            .count(),
        1
    );

    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(
        env.get("/v2024/identity-profiles").await.status,
        StatusCode::OK
    );

    // Turned off at run time.
    let r = env
        .admin(
            Method::POST,
            "/__sim/config",
            Some(json!({"rateLimit": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["rateLimit"], Value::Null);
    for _ in 0..8 {
        assert_eq!(
            env.get("/v2024/identity-profiles").await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn injected_faults() {
    let env = start().await;
    let fault = |body: Value| env.admin(Method::POST, "/__sim/faults", Some(body));

    let r = fault(
        json!({"method": "GET", "path": "/v2024/identity-profiles*", "count": 2, "status": 503}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body["id"].is_string());
    let listed = env.admin(Method::GET, "/__sim/faults", None).await.body;
    assert_eq!(listed[0]["count"], 2);
    for _ in 0..2 {
        env.get("/v2024/identity-profiles").await.assert_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Unavailable",
            "Injected",
        );
    }
    assert_eq!(
        env.get("/v2024/identity-profiles").await.status,
        StatusCode::OK
    );
    assert_eq!(
        env.admin(Method::GET, "/__sim/faults", None).await.body,
        json!([])
    );

    fault(json!({"path": "/v2024/identities", "status": 429, "retryAfter": 7})).await;
    let r = env.get("/v2024/identities").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(r.body, json!({"message": "Rate Limit Exceeded"}));

    fault(json!({"method": "*", "path": "/v2024/task-status*", "drop": true})).await;
    let started = Instant::now();
    let err = env
        .http
        .get(format!("{}/v2024/task-status", env.base))
        .bearer_auth(&env.pat)
        .send()
        .await
        .expect_err("the connection is dropped without a response");
    assert!(!err.is_status(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(env.get("/v2024/task-status").await.status, StatusCode::OK);

    fault(json!({"path": "/v2024/identity-profiles", "delayMs": 300})).await;
    let started = Instant::now();
    assert_eq!(
        env.get("/v2024/identity-profiles").await.status,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    let r = fault(json!({"path": "/x"})).await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "one of status",
    );
    let r = fault(json!({"path": "/x", "status": 503, "color": "red"})).await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "color",
    );

    fault(json!({"path": "/nothing", "status": 500})).await;
    assert_eq!(
        env.admin(Method::DELETE, "/__sim/faults", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        env.admin(Method::GET, "/__sim/faults", None).await.body,
        json!([])
    );

    let journal = env.journal().await;
    let statuses: Vec<u64> = journal
        .iter()
        .filter(|e| e["flags"]["fault"] == true)
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 503, 429, 0, 200]);
}

#[tokio::test]
async fn bad_input_gets_proper_error_shapes() {
    let env = start().await;
    let bad = "400.1 Bad Request Content";
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles",
            Some(&env.pat),
            Some(("application/json", "{\"name\": ".to_string())),
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "Malformed JSON request body");
    assert!(r.text().contains("line 1"), "{}", r.text());
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles",
            Some(&env.pat),
            Some(("text/plain", "{}".to_string())),
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "Content-Type 'text/plain'");
    let r = env
        .send(
            Method::POST,
            "/v2024/identity-profiles",
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "Content-Type");
    let r = env.post("/v2024/identity-profiles", json!([1, 2])).await;
    r.assert_error(StatusCode::BAD_REQUEST, bad, "JSON object");

    let r = env.get("/v2024/no-such-thing").await;
    r.assert_error(
        StatusCode::NOT_FOUND,
        "404 Not found",
        "/v2024/no-such-thing",
    );
    let r = env
        .send(
            Method::PUT,
            "/v2024/identity-profiles",
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body["errorName"], "NotSupportedException");
    assert!(
        r.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("GET, POST")
    );
    assert!(is_hex32(r.body["trackingId"].as_str().unwrap()));
    assert_eq!(r.headers["allow"], "GET, POST");

    // `/identity-profiles/export` is not a profile id, but DELETE on it is a (missing) profile.
    let r = env.get("/v2024/identity-profiles/export").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = env
        .send(
            Method::DELETE,
            "/v2024/identity-profiles/export",
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "404 Not found", "export");

    let journal = env.journal().await;
    let unknown = journal
        .iter()
        .find(|e| e["path"] == "/v2024/no-such-thing")
        .unwrap();
    assert_eq!(unknown["route"], Value::Null);
    assert_eq!(unknown["operationId"], Value::Null);
    assert_eq!(unknown["status"], 404);
    let malformed = journal
        .iter()
        .find(|e| e["operationId"] == "createIdentityProfile")
        .unwrap();
    assert_eq!(malformed["body"], "{\"name\": ");
}

#[tokio::test]
async fn journal_reset_and_admin_state_edits() {
    let env = start().await;
    let p = env.create_profile("Employees", EMPLOYEES, 1).await;
    let id = p["id"].as_str().unwrap();
    let r = env
        .send(
            Method::GET,
            &format!("/v2024/identity-profiles/{id}?count=true&count=false"),
            Some(&env.pat),
            None,
            &[("X-Custom", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let journal = env.journal().await;
    let last = journal.last().unwrap();
    assert_eq!(last["method"], "GET");
    assert_eq!(last["path"], format!("/v2024/identity-profiles/{id}"));
    assert_eq!(
        last["route"],
        "/v2024/identity-profiles/{identity-profile-id}"
    );
    assert_eq!(last["operationId"], "getIdentityProfile");
    assert_eq!(last["query"], json!({"count": "true"}));
    assert_eq!(last["headers"]["x-custom"], "yes");
    assert!(last["headers"].get("authorization").is_none());
    assert_eq!(last["clientId"], PAT_ID);
    assert_eq!(last["body"], Value::Null);
    assert_eq!(last["status"], 200);
    assert_eq!(last["responseBody"], p);
    assert_eq!(
        last["flags"],
        json!({"fullRefresh": false, "rateLimited": false, "fault": false, "syncWithinWindow": false})
    );
    chrono::DateTime::parse_from_rfc3339(last["time"].as_str().unwrap()).unwrap();
    let seq = last["seq"].as_u64().unwrap();
    let newer = env
        .admin(
            Method::GET,
            &format!("/__sim/requests?since={}", seq - 1),
            None,
        )
        .await
        .body;
    assert_eq!(newer.as_array().unwrap().len(), 1);
    assert_eq!(newer[0]["seq"], seq);

    // A change made "in the UI": bypasses the read-only rules.
    let r = env
        .admin(
            Method::PATCH,
            &format!("/__sim/identity-profiles/{id}"),
            Some(json!({"identityRefreshRequired": true, "description": "edited in UI", "priority": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = env.get(&format!("/v2024/identity-profiles/{id}")).await;
    assert_eq!(r.body["identityRefreshRequired"], true);
    assert_eq!(r.body["description"], "edited in UI");
    assert!(r.body.get("priority").is_none());
    assert_ne!(r.body["modified"], p["modified"]);

    let r = env
        .admin(
            Method::POST,
            "/__sim/identity-profiles",
            Some(json!({"name": "From UI", "authoritativeSource": {"type": "SOURCE", "id": CONTRACTORS, "name": "HR Contractors"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(is_hex32(r.body["id"].as_str().unwrap()));
    assert_eq!(r.body["identityCount"], 100);
    assert_eq!(
        env.admin(Method::GET, "/__sim/identity-profiles", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let ui_id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        env.admin(
            Method::DELETE,
            &format!("/__sim/identity-profiles/{ui_id}"),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );

    let r = env
        .admin(
            Method::POST,
            "/__sim/identities",
            Some(json!({"name": "New Hire", "alias": "new.hire", "sourceId": EMPLOYEES, "correlated": false,
                        "attributes": {"uid": "new.hire"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["correlated"], false);
    let r = env.get(&format!("/v2024/identity-profiles/{id}")).await;
    assert_eq!(r.body["identityCount"], 201);
    assert_eq!(
        env.admin(Method::GET, "/__sim/identities", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        301
    );
    assert_eq!(
        env.admin(Method::GET, "/__sim/sources", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        env.admin(Method::GET, "/__sim/nope", None).await.status,
        StatusCode::NOT_FOUND
    );

    // Admin calls are not journaled.
    assert!(
        env.journal()
            .await
            .iter()
            .all(|e| !e["path"].as_str().unwrap().starts_with("/__sim"))
    );

    // Reset: seed state back, journal and faults gone, tokens still valid.
    env.admin(
        Method::POST,
        "/__sim/faults",
        Some(json!({"path": "/x", "status": 500})),
    )
    .await;
    let r = env.admin(Method::POST, "/__sim/reset", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(env.journal().await, Vec::<Value>::new());
    assert_eq!(
        env.admin(Method::GET, "/__sim/faults", None).await.body,
        json!([])
    );
    assert_eq!(env.get("/v2024/identity-profiles").await.body, json!([]));
    assert_eq!(
        env.admin(Method::GET, "/__sim/identities", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        300
    );

    let r = env
        .admin(
            Method::POST,
            "/__sim/config",
            Some(json!({"taskDurationMs": 50, "syncAttributesWindowMs": 0, "tokenTtlSecs": 60})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["taskDurationMs"], 50);
    assert_eq!(r.body["tokenTtlSecs"], 60);
    let r = env
        .admin(
            Method::POST,
            "/__sim/config",
            Some(json!({"taskDurationMs": -1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    env.sim.shutdown().await;
}
