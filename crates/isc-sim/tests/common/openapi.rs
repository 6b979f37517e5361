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
        let components = convert(doc.get("components").cloned().unwrap_or(json!({})));
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
