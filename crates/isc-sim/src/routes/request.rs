//! A request as handlers see it, what they note for the journal, and body decoding.

use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use json_patch::Patch;
use serde_json::Value;

use super::Reply;
use crate::journal::JournalFlags;

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

/// The request's JSON Patch (RFC 6902), after checking media type, emptiness and shape.
pub(crate) fn json_patch_body(req: &Req) -> Result<Patch, Reply> {
    const MEDIA: &str = "application/json-patch+json";
    match req.content_type() {
        Some(ct) if ct == MEDIA => {}
        Some(ct) => {
            return Err(Reply::bad_request(format!(
                "Content-Type '{ct}' is not supported; this operation consumes {MEDIA}"
            )));
        }
        None => {
            return Err(Reply::bad_request(format!(
                "Content-Type header is missing; this operation consumes {MEDIA}"
            )));
        }
    }
    let text = std::str::from_utf8(&req.body)
        .map_err(|e| Reply::bad_request(format!("The request body is not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(Reply::bad_request(
            "The request body is required but was empty",
        ));
    }
    let raw: Value = serde_json::from_str(text)
        .map_err(|e| Reply::bad_request(format!("Malformed JSON request body: {e}")))?;
    if !raw.is_array() {
        return Err(Reply::bad_request(
            "The request body must be a JSON Patch array of operations (RFC 6902)",
        ));
    }
    crate::patch::parse_patch(text).map_err(Reply::bad_request)
}
