//! A call described before it is sent ([`ApiRequest`]) and its successful answer
//! ([`ApiResponse`]).

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::IscError;

/// A request body and its content type.
#[derive(Debug, Clone)]
pub enum RequestBody {
    /// `application/json`.
    Json(serde_json::Value),
    /// `application/json-patch+json`.
    JsonPatch(serde_json::Value),
}

impl RequestBody {
    /// The `Content-Type` header value.
    pub fn content_type(&self) -> &'static str {
        match self {
            RequestBody::Json(_) => "application/json",
            RequestBody::JsonPatch(_) => "application/json-patch+json",
        }
    }

    /// The serialized body.
    pub fn to_text(&self) -> String {
        match self {
            RequestBody::Json(v) | RequestBody::JsonPatch(v) => v.to_string(),
        }
    }
}

/// One API call, described before it is sent.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Option<RequestBody>,
    pub(super) experimental: bool,
    pub(super) idempotent: bool,
}

impl ApiRequest {
    /// A call to `path` (relative to the base URL, e.g. `/v2024/identity-profiles`). GET, HEAD,
    /// PUT and DELETE count as idempotent; everything else does not unless marked.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE
        );
        ApiRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            experimental: false,
            idempotent,
        }
    }

    /// Adds a query parameter (URL-encoded when sent).
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize>(mut self, body: &T) -> Result<Self, IscError> {
        let value = serde_json::to_value(body)
            .map_err(|e| IscError::InvalidRequest(format!("body does not serialize: {e}")))?;
        self.body = Some(RequestBody::Json(value));
        Ok(self)
    }

    /// Sets a JSON Patch body (`application/json-patch+json`).
    pub fn json_patch<T: Serialize>(mut self, ops: &T) -> Result<Self, IscError> {
        let value = serde_json::to_value(ops)
            .map_err(|e| IscError::InvalidRequest(format!("patch does not serialize: {e}")))?;
        self.body = Some(RequestBody::JsonPatch(value));
        Ok(self)
    }

    /// Sends `X-SailPoint-Experimental: true` (required by some v2024 endpoints).
    pub fn experimental(mut self) -> Self {
        self.experimental = true;
        self
    }

    /// HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Path relative to the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Query parameters in the order they were added (not yet URL-encoded).
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Declares the call safe to repeat, so 5xx and transport errors are retried.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// True when the call is safe to send again (idempotent, or declared so).
    pub fn is_resendable(&self) -> bool {
        self.idempotent
    }
}

/// A successful response: status, selected headers and the raw body.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status (2xx).
    pub status: u16,
    /// `X-Total-Count`, when the call asked for `count=true`.
    pub total_count: Option<u64>,
    /// Raw body.
    pub body: bytes::Bytes,
}

impl ApiResponse {
    /// Parses the body; an empty body parses as JSON `null`.
    pub fn parse<T: DeserializeOwned>(&self, method: &str, path: &str) -> Result<T, IscError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| IscError::Decode {
            method: method.to_string(),
            path: path.to_string(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_methods_are_resendable_by_default() {
        for (method, resendable) in [
            (Method::GET, true),
            (Method::HEAD, true),
            (Method::PUT, true),
            (Method::DELETE, true),
            (Method::POST, false),
            (Method::PATCH, false),
        ] {
            assert_eq!(
                ApiRequest::new(method.clone(), "/x").is_resendable(),
                resendable,
                "{method}"
            );
        }
        assert!(
            ApiRequest::new(Method::POST, "/x")
                .idempotent(true)
                .is_resendable()
        );
    }

    #[test]
    fn bodies_carry_their_content_type() {
        let req = ApiRequest::new(Method::PATCH, "/x")
            .json_patch(&serde_json::json!([{"op": "remove", "path": "/a"}]))
            .unwrap();
        let body = req.body.as_ref().unwrap();
        assert_eq!(body.content_type(), "application/json-patch+json");
        assert_eq!(body.to_text(), r#"[{"op":"remove","path":"/a"}]"#);
        let req = ApiRequest::new(Method::POST, "/x")
            .json(&serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(
            req.body.as_ref().unwrap().content_type(),
            "application/json"
        );
    }

    #[test]
    fn an_empty_body_parses_as_null_and_junk_is_a_decode_error() {
        let empty = ApiResponse {
            status: 204,
            total_count: None,
            body: bytes::Bytes::from_static(b" \n"),
        };
        let parsed: Option<u32> = empty.parse("GET", "/x").unwrap();
        assert_eq!(parsed, None);
        let junk = ApiResponse {
            status: 200,
            total_count: None,
            body: bytes::Bytes::from_static(b"<html>"),
        };
        let err = junk.parse::<u32>("GET", "/x").unwrap_err();
        assert!(matches!(err, IscError::Decode { .. }), "{err}");
    }
}
