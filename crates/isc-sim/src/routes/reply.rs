//! Responses, kept as JSON so the journal can record them, and the tenant's error body.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName};
use serde::Serialize;
use serde_json::{Value, json};

use isc_wire::models::ErrorResponseDto;

use crate::state::new_id;

/// A response, kept as JSON so the journal can record it.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<Value>,
    /// Bytes sent instead of `body` (a padded fault body too large to journal); `body` then
    /// holds the short form the journal records.
    pub raw_body: Option<Bytes>,
}

/// `ErrorResponseDto.detailCode` for a status, in the tenant's style.
fn detail_code(status: StatusCode) -> String {
    match status.as_u16() {
        400 => "400.1 Bad Request Content".to_string(),
        403 => "403 Forbidden".to_string(),
        404 => "404 Not found".to_string(),
        500 => "500.0 Internal Fault".to_string(),
        code => format!("{code} {}", status.canonical_reason().unwrap_or("Error")),
    }
}

/// A fresh 32-hex tracking id for an error body.
pub(crate) fn tracking_id() -> String {
    new_id()
}

impl Reply {
    pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(serde_json::to_value(body).unwrap_or(Value::Null)),
            raw_body: None,
        }
    }

    pub(crate) fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
            raw_body: None,
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: impl ToString) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }

    /// An `ErrorResponseDto` with one message.
    pub(crate) fn error(status: StatusCode, text: impl Into<String>) -> Reply {
        Reply::json(
            status,
            &ErrorResponseDto::new(&detail_code(status), &tracking_id(), text),
        )
    }

    pub(crate) fn bad_request(text: impl Into<String>) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, text)
    }

    pub(crate) fn not_found(text: impl Into<String>) -> Reply {
        Reply::error(StatusCode::NOT_FOUND, text)
    }

    /// The gateway's 429 body, with `Retry-After`.
    pub(crate) fn too_many(message: &str, retry_after_secs: u64) -> Reply {
        Reply::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({ "message": message }),
        )
        .header(http::header::RETRY_AFTER, retry_after_secs.max(1))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match (&self.raw_body, &self.body) {
            (Some(raw), _) => (
                self.status,
                [(CONTENT_TYPE, "application/json")],
                raw.clone(),
            )
                .into_response(),
            (None, Some(body)) => (
                self.status,
                [(CONTENT_TYPE, "application/json")],
                serde_json::to_vec(body).unwrap_or_default(),
            )
                .into_response(),
            (None, None) => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}
