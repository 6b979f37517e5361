//! Validates bodies against the official OpenAPI documents (found by
//! [`isc_sim::testing::api_docs_dir`]).
//!
//! OpenAPI 3.0 schemas are not quite JSON Schema: `nullable` has to become a `null` type, and
//! `$ref`s point into `components`. We convert the documents once (nullable → `null`,
//! annotations dropped) and validate with the `jsonschema` crate against draft 2020-12, with the
//! converted `components` embedded in every schema so internal `$ref`s resolve.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// One API document, converted.
pub struct ApiDocument {
    paths: Map<String, Value>,
    components: Value,
    /// Path prefix the operations are served under (`/v2024` or empty for cc).
    prefix: &'static str,
}

/// The v2024 document.
pub fn v2024() -> &'static ApiDocument {
    static DOC: OnceLock<ApiDocument> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = std::fs::read_to_string(
            isc_sim::testing::api_docs_dir().join("sailpoint-api.v2024.json"),
        )
        .expect("read sailpoint-api.v2024.json");
        ApiDocument::from_value(
            serde_json::from_str(&text).expect("v2024 is JSON"),
            "/v2024",
        )
    })
}

/// The historical cc document (legacy refresh).
pub fn cc() -> &'static ApiDocument {
    static DOC: OnceLock<ApiDocument> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = std::fs::read_to_string(
            isc_sim::testing::api_docs_dir().join("sailpoint-api.cc.historical.yaml"),
        )
        .expect("read sailpoint-api.cc.historical.yaml");
        let value: Value = serde_yaml_ng::from_str(&text).expect("cc spec is YAML");
        ApiDocument::from_value(value, "")
    })
}

/// The document that defines `operation_id`.
pub fn document_for(operation_id: &str) -> &'static ApiDocument {
    if v2024().operation(operation_id).is_some() {
        v2024()
    } else {
        cc()
    }
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// An operation found in a document.
pub struct Operation<'a> {
    /// Lowercase HTTP method.
    pub method: &'static str,
    /// Path template including the version prefix, e.g. `/v2024/identity-profiles/{identity-profile-id}`.
    pub route: String,
    /// The operation object (refs unresolved).
    pub spec: &'a Value,
}

impl ApiDocument {
    fn from_value(doc: Value, prefix: &'static str) -> Self {
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .cloned()
            .expect("document has paths");
        let mut components = convert(doc.get("components").cloned().unwrap_or(json!({})));
        relax_transform_attributes(&mut components);
        ApiDocument {
            paths,
            components,
            prefix,
        }
    }

    /// Finds an operation by its `operationId`.
    pub fn operation(&self, operation_id: &str) -> Option<Operation<'_>> {
        self.paths.iter().find_map(|(path, item)| {
            METHODS.iter().find_map(|m| {
                let op = item.get(*m)?;
                (op.get("operationId")?.as_str()? == operation_id).then(|| Operation {
                    method: m,
                    route: format!("{}{}", self.prefix, path),
                    spec: op,
                })
            })
        })
    }

    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        // Responses and request bodies may themselves be `$ref`s into components.
        for _ in 0..8 {
            let Some(r) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            let pointer = r.trim_start_matches('#');
            value = self
                .raw_components_pointer(pointer)
                .unwrap_or_else(|| panic!("unresolvable $ref {r}"));
        }
        value
    }

    fn raw_components_pointer(&self, pointer: &str) -> Option<&Value> {
        let rest = pointer.strip_prefix("/components")?;
        self.components.pointer(rest)
    }

    /// The JSON schema of a named component (`#/components/schemas/{name}`).
    pub fn component_validator(&self, name: &str) -> jsonschema::Validator {
        self.schema_validator(&json!({"$ref": format!("#/components/schemas/{name}")}))
    }

    /// Status codes the operation declares.
    pub fn declared_statuses(&self, operation_id: &str) -> BTreeSet<String> {
        let op = self
            .operation(operation_id)
            .unwrap_or_else(|| panic!("no operation {operation_id}"));
        op.spec["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn schema_validator(&self, schema: &Value) -> jsonschema::Validator {
        let mut root = schema.clone();
        match root.as_object_mut() {
            Some(obj) => {
                obj.insert("components".to_string(), self.components.clone());
            }
            None => {
                root = json!({"allOf": [schema], "components": self.components});
            }
        }
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema does not compile: {e}"))
    }

    /// The JSON schema of a response body, or `None` when the response declares no JSON body.
    pub fn response_validator(
        &self,
        operation_id: &str,
        status: u16,
    ) -> Option<jsonschema::Validator> {
        let op = self
            .operation(operation_id)
            .unwrap_or_else(|| panic!("no operation {operation_id}"));
        let response = op.spec["responses"].get(status.to_string())?;
        let response = self.resolve(&convert(response.clone())).clone();
        let content = response.get("content")?;
        let schema = content
            .get("application/json")
            .or_else(|| content.as_object()?.values().next())?
            .get("schema")?;
        Some(self.schema_validator(schema))
    }

    /// The JSON schema of the request body for a content type.
    pub fn request_validator(
        &self,
        operation_id: &str,
        content_type: &str,
    ) -> Option<jsonschema::Validator> {
        let op = self
            .operation(operation_id)
            .unwrap_or_else(|| panic!("no operation {operation_id}"));
        let body = self
            .resolve(&convert(op.spec.get("requestBody")?.clone()))
            .clone();
        let schema = body.get("content")?.get(content_type)?.get("schema")?;
        Some(self.schema_validator(schema))
    }
}

/// `Transform.attributes` is a `oneOf` over one schema per transform type, but the members
/// overlap (`lower`, `upper`, `trim`... are the same schema, and none forbids extra
/// properties), so no `attributes` object can match exactly one of them: read literally, the
/// document rejects every transform. Validated as `anyOf` (matches at least one member); the
/// transform tests also check `attributes` against the member whose title is the `type`.
fn relax_transform_attributes(components: &mut Value) {
    fn one_of_to_any_of(schema: &mut Value) {
        if let Some(obj) = schema.as_object_mut()
            && let Some(members) = obj.remove("oneOf")
        {
            obj.insert("anyOf".to_string(), members);
        }
    }
    let Some(attributes) = components.pointer_mut("/schemas/Transform/properties/attributes")
    else {
        return;
    };
    one_of_to_any_of(attributes);
    // Nullable: `anyOf: [null, {oneOf: [...]}]` after conversion.
    if let Some(members) = attributes.get_mut("anyOf").and_then(Value::as_array_mut) {
        members.iter_mut().for_each(one_of_to_any_of);
    }
}

/// Converts OpenAPI 3.0 schema dialect to JSON Schema 2020-12, recursively.
pub fn convert(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(convert).collect()),
        Value::Object(obj) => {
            let mut out = Map::new();
            let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
            // `allOf: [X, {nullable: true}]` is how the spec marks a nullable reference.
            let nullable_member = obj
                .get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|all| {
                    all.iter().any(|m| {
                        m.get("nullable").and_then(Value::as_bool) == Some(true)
                            && m.get("type").is_none()
                    })
                });
            for (k, v) in obj {
                match k.as_str() {
                    "nullable"
                    | "example"
                    | "examples"
                    | "discriminator"
                    | "xml"
                    | "externalDocs"
                    | "x-sailpoint-resource-operation-id" => {}
                    // Keep `properties` maps verbatim as maps (their keys are names, not keywords).
                    "properties" | "patternProperties" => {
                        let converted = v
                            .as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(name, s)| (name.clone(), convert(s.clone())))
                                    .collect::<Map<_, _>>()
                            })
                            .map(Value::Object)
                            .unwrap_or(v);
                        out.insert(k, converted);
                    }
                    _ => {
                        out.insert(k, convert(v));
                    }
                }
            }
            if nullable && out.contains_key("type") {
                let t = out.remove("type").expect("checked");
                let types = match t {
                    Value::Array(mut ts) => {
                        ts.push(json!("null"));
                        Value::Array(ts)
                    }
                    t => json!([t, "null"]),
                };
                out.insert("type".to_string(), types);
                if let Some(Value::Array(e)) = out.get_mut("enum")
                    && !e.contains(&Value::Null)
                {
                    e.push(Value::Null);
                }
                Value::Object(out)
            } else if nullable || nullable_member {
                json!({"anyOf": [{"type": "null"}, Value::Object(out)]})
            } else {
                Value::Object(out)
            }
        }
        v => v,
    }
}

/// What validating a journal against the documents found.
#[derive(Debug, Default)]
pub struct JournalCheck {
    /// Every `(operationId, status)` answered.
    pub covered: BTreeSet<(String, u16)>,
    /// Each way an entry breaks the documents (empty when all conform).
    pub failures: Vec<String>,
    /// Client request bodies validated.
    pub checked_requests: usize,
    /// Response bodies validated.
    pub checked_responses: usize,
}

/// Checks every journal entry: the route and method the operation has in its document, a
/// declared status, the response body against its schema, and bodies the tenant client sent
/// (user agent `isc-operator/…`) against the request schema.
pub fn check_journal(journal: &[isc_sim::JournalEntry]) -> JournalCheck {
    let mut covered: BTreeSet<(String, u16)> = BTreeSet::new();
    let mut failures = Vec::new();
    let mut checked_requests = 0;
    let mut checked_responses = 0;
    for entry in journal {
        let Some(op) = entry.operation_id.as_deref() else {
            failures.push(format!("request matched no operation: {entry:?}"));
            continue;
        };
        if op == "token" {
            continue;
        }
        let doc = document_for(op);
        let spec_op = doc
            .operation(op)
            .unwrap_or_else(|| panic!("{op} is not in the spec"));
        if entry.route.as_deref() != Some(spec_op.route.as_str())
            || entry.method != spec_op.method.to_uppercase()
        {
            failures.push(format!(
                "{op}: journal says {} {:?} but the spec has {} {}",
                entry.method, entry.route, spec_op.method, spec_op.route
            ));
        }
        let status = entry.status;
        if status == 0 {
            // A dropped connection (fault injection) has no response to check.
            continue;
        }
        covered.insert((op.to_string(), status));
        if !doc.declared_statuses(op).contains(&status.to_string()) {
            failures.push(format!("{op}: status {status} is not declared by the spec"));
            continue;
        }
        match (doc.response_validator(op, status), &entry.response_body) {
            (Some(validator), body) if !body.is_null() || status != 202 => {
                checked_responses += 1;
                for error in validator.iter_errors(body) {
                    failures.push(format!(
                        "{op} {status} response at {}: {error}; body: {body}",
                        error.instance_path()
                    ));
                }
            }
            (None, body) if !body.is_null() => failures.push(format!(
                "{op} {status}: the spec declares no body but the simulator sent {body}"
            )),
            _ => {}
        }
        let from_client = entry
            .headers
            .get("user-agent")
            .and_then(Value::as_str)
            .is_some_and(|ua| ua.starts_with("isc-operator/"));
        if from_client && !entry.body.is_null() {
            let content_type = entry.headers["content-type"]
                .as_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap()
                .trim()
                .to_string();
            match doc.request_validator(op, &content_type) {
                Some(validator) => {
                    checked_requests += 1;
                    for error in validator.iter_errors(&entry.body) {
                        failures.push(format!(
                            "{op} request at {}: {error}; body: {}",
                            error.instance_path(),
                            entry.body
                        ));
                    }
                }
                None => failures.push(format!(
                    "{op}: the client sent a {content_type:?} body the spec does not declare"
                )),
            }
        }
    }
    JournalCheck {
        covered,
        failures,
        checked_requests,
        checked_responses,
    }
}
