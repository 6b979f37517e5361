//! A mocked Kubernetes API for reconciler tests: a `tower` service (the way kube-rs's
//! `controller-rs` mocks the API with `tower-test`) that keeps objects in memory, answers the
//! calls the reconcilers make (get, create, status merge patches with `resourceVersion`
//! preconditions, finalizer JSON patches, deletes, event creation) and records every request,
//! so a test can assert on the Kubernetes requests one reconcile made.
//!
//! Unlike a fixed request/response script it does not break when a reconciler reorders reads;
//! tests assert on the writes (status patches, finalizers, events), which is what matters.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// One request the reconciler made.
#[derive(Debug, Clone)]
pub struct KubeRequest {
    /// HTTP method.
    pub method: Method,
    /// Path without the query.
    pub path: String,
    /// `Content-Type` of the body, if any.
    pub content_type: Option<String>,
    /// JSON body, or `Null`.
    pub body: Value,
}

impl KubeRequest {
    /// A write (anything but GET/LIST/WATCH).
    pub fn is_write(&self) -> bool {
        self.method != Method::GET
    }

    /// A patch of the `status` subresource.
    pub fn is_status_patch(&self) -> bool {
        self.method == Method::PATCH && self.path.ends_with("/status")
    }

    /// An Event created or updated.
    pub fn is_event(&self) -> bool {
        self.path.contains("/apis/events.k8s.io/")
    }
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    requests: Vec<KubeRequest>,
    next_version: u64,
    /// Paths of objects whose next status patch answers 409 (a simulated racing writer).
    conflict_once: Vec<String>,
    /// Paths of objects whose next status patch finds the status changed by another writer
    /// (this merge patch applied first, `resourceVersion` bumped) and answers 409.
    race_once: Vec<(String, Value)>,
    /// Paths of objects whose next (non-status) patch finds the object changed by another
    /// writer (this merge patch applied first, `resourceVersion` bumped).
    race_object_once: Vec<(String, Value)>,
}

/// The mocked API server; clone it freely (all clones share one state).
#[derive(Clone, Default)]
pub struct FakeKube {
    state: Arc<Mutex<State>>,
}

fn object_path<K: Resource<DynamicType = ()>>(namespace: &str, name: &str) -> String {
    format!("{}/{name}", K::url_path(&(), Some(namespace)))
}

fn status_reply(code: u16, reason: &str, message: &str) -> Response<Body> {
    reply(
        StatusCode::from_u16(code).expect("valid status"),
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}),
    )
}

fn reply(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).expect("json")))
        .expect("response")
}

impl FakeKube {
    /// An empty API server.
    pub fn new() -> Self {
        FakeKube::default()
    }

    /// A kube client whose every request goes to this fake.
    pub fn client(&self) -> Client {
        let fake = self.clone();
        let service = tower::service_fn(move |req: Request<Body>| {
            let fake = fake.clone();
            async move { Ok::<_, Infallible>(fake.handle(req).await) }
        });
        Client::new(service, "default")
    }

    /// Stores an object (filling `resourceVersion`, `uid`, `generation` and `creationTimestamp`
    /// when missing) and returns it as stored.
    pub fn insert<K>(&self, obj: &K) -> K
    where
        K: Resource<DynamicType = ()> + Serialize + DeserializeOwned,
    {
        let mut value = serde_json::to_value(obj).expect("object serializes");
        let meta = value["metadata"].as_object_mut().expect("metadata");
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .expect("namespaced object")
            .to_string();
        let name = meta["name"].as_str().expect("name").to_string();
        meta.entry("uid")
            .or_insert_with(|| json!(format!("uid-{namespace}-{name}")));
        meta.entry("generation").or_insert(json!(1));
        meta.entry("creationTimestamp")
            .or_insert(json!("2026-01-01T00:00:00Z"));
        value["apiVersion"] = json!(K::api_version(&()));
        value["kind"] = json!(K::kind(&()));
        let mut state = self.state.lock().expect("state");
        state.next_version += 1;
        value["metadata"]["resourceVersion"] = json!(state.next_version.to_string());
        state
            .objects
            .insert(object_path::<K>(&namespace, &name), value.clone());
        serde_json::from_value(value).expect("object deserializes")
    }

    /// The object as stored now, if it exists.
    pub fn get<K>(&self, namespace: &str, name: &str) -> Option<K>
    where
        K: Resource<DynamicType = ()> + DeserializeOwned,
    {
        let state = self.state.lock().expect("state");
        state
            .objects
            .get(&object_path::<K>(namespace, name))
            .map(|v| serde_json::from_value(v.clone()).expect("object deserializes"))
    }

    /// Makes the next status patch of this object fail with 409, as if another writer won.
    pub fn conflict_next_status_write<K: Resource<DynamicType = ()>>(
        &self,
        namespace: &str,
        name: &str,
    ) {
        let mut state = self.state.lock().expect("state");
        state.conflict_once.push(object_path::<K>(namespace, name));
    }

    /// Makes the next status patch of this object lose a race: another writer first merges
    /// `status_patch` into the status (a new `resourceVersion`), then the patch answers 409.
    pub fn race_next_status_write<K: Resource<DynamicType = ()>>(
        &self,
        namespace: &str,
        name: &str,
        status_patch: Value,
    ) {
        let mut state = self.state.lock().expect("state");
        state
            .race_once
            .push((object_path::<K>(namespace, name), status_patch));
    }

    /// Makes the next patch of this object (not its status) lose a race: another writer first
    /// merges `patch` into the object (a new `resourceVersion`); a patch guarded by the old
    /// `resourceVersion` then answers 409.
    pub fn race_next_write<K: Resource<DynamicType = ()>>(
        &self,
        namespace: &str,
        name: &str,
        patch: Value,
    ) {
        let mut state = self.state.lock().expect("state");
        state
            .race_object_once
            .push((object_path::<K>(namespace, name), patch));
    }

    /// Every request made so far, oldest first.
    pub fn requests(&self) -> Vec<KubeRequest> {
        self.state.lock().expect("state").requests.clone()
    }

    /// Forgets the recorded requests (objects stay).
    pub fn clear_requests(&self) {
        self.state.lock().expect("state").requests.clear();
    }

    /// Every write request made so far.
    pub fn writes(&self) -> Vec<KubeRequest> {
        self.requests()
            .into_iter()
            .filter(KubeRequest::is_write)
            .collect()
    }

    /// The bodies of every status patch made so far.
    pub fn status_patches(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(KubeRequest::is_status_patch)
            .map(|r| r.body)
            .collect()
    }

    /// `(type, reason, note)` of every Event published so far.
    pub fn events(&self) -> Vec<(String, String, String)> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_event() && r.method == Method::POST)
            .map(|r| {
                let field = |k: &str| r.body[k].as_str().unwrap_or_default().to_string();
                (field("type"), field("reason"), field("note"))
            })
            .collect()
    }

    /// Reasons of every Event published so far.
    pub fn event_reasons(&self) -> Vec<String> {
        self.events().into_iter().map(|(_, r, _)| r).collect()
    }

    async fn handle(&self, req: Request<Body>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let bytes = body.collect_bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let path = parts.uri.path().to_string();
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut state = self.state.lock().expect("state");
        state.requests.push(KubeRequest {
            method: parts.method.clone(),
            path: path.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
        });
        if path.contains("/apis/events.k8s.io/") {
            // Events are recorded, not stored: echo them back.
            return reply(StatusCode::CREATED, &body);
        }
        let (key, subresource) = match path.strip_suffix("/status") {
            Some(key) => (key.to_string(), true),
            None => (path.clone(), false),
        };
        match parts.method {
            Method::GET => match state.objects.get(&key) {
                Some(obj) => reply(StatusCode::OK, obj),
                None => status_reply(404, "NotFound", &format!("{key} not found")),
            },
            Method::PATCH => state.patch(&key, subresource, content_type.as_deref(), &body),
            Method::DELETE => state.delete(&key, &body),
            Method::POST => state.create(&key, body),
            _ => status_reply(405, "MethodNotAllowed", "not supported by the fake"),
        }
    }
}

impl State {
    fn bump(&mut self, obj: &mut Value) {
        self.next_version += 1;
        obj["metadata"]["resourceVersion"] = json!(self.next_version.to_string());
    }

    fn patch(
        &mut self,
        key: &str,
        subresource: bool,
        content_type: Option<&str>,
        body: &Value,
    ) -> Response<Body> {
        if subresource && let Some(i) = self.race_once.iter().position(|(k, _)| k == key) {
            let (_, status_patch) = self.race_once.remove(i);
            if let Some(mut obj) = self.objects.get(key).cloned() {
                json_patch::merge(&mut obj["status"], &status_patch);
                self.bump(&mut obj);
                self.objects.insert(key.to_string(), obj);
            }
        }
        if !subresource && let Some(i) = self.race_object_once.iter().position(|(k, _)| k == key) {
            let (_, patch) = self.race_object_once.remove(i);
            if let Some(mut obj) = self.objects.get(key).cloned() {
                json_patch::merge(&mut obj, &patch);
                self.bump(&mut obj);
                self.objects.insert(key.to_string(), obj);
            }
        }
        // Like the API server, a server-side apply creates what does not exist yet.
        let created = (content_type == Some("application/apply-patch+yaml"))
            .then(|| json!({"metadata": {"uid": format!("uid-{key}")}}));
        let Some(mut obj) = self.objects.get(key).cloned().or(created) else {
            return status_reply(404, "NotFound", &format!("{key} not found"));
        };
        let expected = body["metadata"]["resourceVersion"].as_str();
        let conflict_forced = subresource && self.conflict_once.iter().any(|k| k == key);
        if conflict_forced
            || expected.is_some_and(|v| Some(v) != obj["metadata"]["resourceVersion"].as_str())
        {
            self.conflict_once.retain(|k| k != key);
            return status_reply(409, "Conflict", "the object has been modified");
        }
        if subresource {
            // Only status changes through the status subresource.
            let mut status = obj.get("status").cloned().unwrap_or(json!({}));
            json_patch::merge(&mut status, &body["status"]);
            obj["status"] = status;
        } else if content_type == Some("application/json-patch+json") {
            // Like the API server, a `test` for `null` succeeds where the path is missing
            // (kube's finalizer helper relies on it); json-patch would fail it.
            let mut ops = body.as_array().cloned().unwrap_or_default();
            ops.retain(|op| {
                let missing_null_test = op["op"] == "test"
                    && op["value"].is_null()
                    && op["path"]
                        .as_str()
                        .is_some_and(|p| obj.pointer(p).is_none());
                !missing_null_test
            });
            let patch: json_patch::Patch = match serde_json::from_value(Value::Array(ops)) {
                Ok(p) => p,
                Err(e) => return status_reply(400, "BadRequest", &e.to_string()),
            };
            if let Err(e) = json_patch::patch(&mut obj, &patch) {
                return status_reply(422, "Invalid", &e.to_string());
            }
        } else {
            let mut patch = body.clone();
            if let Some(status) = patch.as_object_mut() {
                status.remove("status");
            }
            json_patch::merge(&mut obj, &patch);
        }
        self.bump(&mut obj);
        let finalizers_gone = obj["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if obj["metadata"]["deletionTimestamp"].is_string() && finalizers_gone {
            self.objects.remove(key);
        } else {
            self.objects.insert(key.to_string(), obj.clone());
        }
        reply(StatusCode::OK, &obj)
    }

    /// Creates the object POSTed to collection `collection` (409 when it exists, like the API
    /// server).
    fn create(&mut self, collection: &str, mut obj: Value) -> Response<Body> {
        let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string) else {
            return status_reply(422, "Invalid", "metadata.name is required");
        };
        let key = format!("{collection}/{name}");
        if self.objects.contains_key(&key) {
            return status_reply(409, "AlreadyExists", &format!("{key} already exists"));
        }
        obj["metadata"]["uid"] = json!(format!("uid-{key}"));
        obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        self.bump(&mut obj);
        self.objects.insert(key, obj.clone());
        reply(StatusCode::CREATED, &obj)
    }

    fn delete(&mut self, key: &str, body: &Value) -> Response<Body> {
        let Some(mut obj) = self.objects.get(key).cloned() else {
            return status_reply(404, "NotFound", &format!("{key} not found"));
        };
        if let Some(uid) = body["preconditions"]["uid"].as_str()
            && Some(uid) != obj["metadata"]["uid"].as_str()
        {
            return status_reply(409, "Conflict", "precondition failed: uid");
        }
        let has_finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if has_finalizers {
            obj["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:01Z");
            self.bump(&mut obj);
            self.objects.insert(key.to_string(), obj.clone());
        } else {
            self.objects.remove(key);
        }
        reply(StatusCode::OK, &obj)
    }
}
