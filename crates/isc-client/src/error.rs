//! Errors of the tenant client, classified so reconcilers know whether to wait, retry or back off.

use std::time::Duration;

use crate::models::ErrorResponseDto;

/// What a caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request itself is wrong (4xx): retrying the same thing cannot help; wait for a spec change.
    Permanent,
    /// The credential lacks a right or a user context (403): an admin must act.
    Forbidden,
    /// The object does not exist (404).
    NotFound,
    /// Try again later with backoff (5xx, timeouts, connection errors).
    Transient,
    /// The tenant said to slow down; honour `retry_after` when present.
    RateLimited,
}

/// An error talking to an ISC tenant. Never carries a secret or token.
#[derive(Debug, thiserror::Error)]
pub enum IscError {
    /// The tenant answered with an error status and (usually) an `ErrorResponseDto`.
    #[error("{method} {path} failed with HTTP {status}: {}", describe_api_error(.detail_code, .tracking_id, .message))]
    Api {
        /// HTTP method of the failed call.
        method: String,
        /// Path of the failed call (no query string).
        path: String,
        /// HTTP status.
        status: u16,
        /// `detailCode` from the body, if any.
        detail_code: Option<String>,
        /// `trackingId` from the body, to quote to SailPoint support.
        tracking_id: Option<String>,
        /// Messages from the body (or the raw body, shortened).
        message: String,
    },
    /// The token endpoint refused the client credentials.
    #[error("authentication failed at {token_url} with HTTP {status}: {message}")]
    Auth {
        /// Token endpoint URL.
        token_url: String,
        /// HTTP status.
        status: u16,
        /// Error text from the tenant.
        message: String,
    },
    /// The tenant kept answering 429 after the client's retries.
    #[error("{method} {path} was rate limited by the tenant (retry after {retry_after:?})")]
    RateLimited {
        /// HTTP method.
        method: String,
        /// Path.
        path: String,
        /// The tenant's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// No response: connection refused or dropped, or a timeout.
    #[error("{method} {path}: could not get a response from the tenant: {message}{}", if *.outcome_unknown { " (the request may have been processed)" } else { "" })]
    Transport {
        /// HTTP method.
        method: String,
        /// Path.
        path: String,
        /// What went wrong.
        message: String,
        /// True when a non-idempotent request may have reached the tenant.
        outcome_unknown: bool,
    },
    /// The response body did not match the expected schema.
    #[error("{method} {path}: unexpected response body: {message}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Path.
        path: String,
        /// Deserialization error.
        message: String,
    },
    /// The caller asked for something the client refuses to send.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The client configuration is unusable (bad URL, ...).
    #[error("invalid tenant client configuration: {0}")]
    Config(String),
}

fn describe_api_error(
    detail_code: &Option<String>,
    tracking_id: &Option<String>,
    message: &str,
) -> String {
    let mut out = message.to_string();
    if let Some(code) = detail_code {
        out = format!("{out} [detailCode: {code}]");
    }
    if let Some(id) = tracking_id {
        out = format!("{out} [trackingId: {id}]");
    }
    out
}

impl IscError {
    /// Builds an [`IscError::Api`] from a status and raw body, keeping `detailCode`/`trackingId`.
    pub fn from_response(method: &str, path: &str, status: u16, body: &[u8]) -> Self {
        let parsed: Option<ErrorResponseDto> = serde_json::from_slice(body).ok();
        let (detail_code, tracking_id, mut message) = match parsed {
            Some(dto) if dto.detail_code.is_some() || !dto.messages.is_empty() => {
                let text = dto.message_text();
                (dto.detail_code, dto.tracking_id, text)
            }
            _ => {
                // 401 `{error}`, 429 `{message}` or something else: keep a short excerpt.
                let v: Option<serde_json::Value> = serde_json::from_slice(body).ok();
                let text = v
                    .as_ref()
                    .and_then(|v| {
                        v.get("error")
                            .or_else(|| v.get("message"))
                            .or_else(|| v.get("errorMessage"))
                    })
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
                (None, None, text)
            }
        };
        if message.trim().is_empty() {
            message = "no error message in the response".to_string();
        }
        IscError::Api {
            method: method.to_string(),
            path: path.to_string(),
            status,
            detail_code,
            tracking_id,
            message,
        }
    }

    /// HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            IscError::Api { status, .. } | IscError::Auth { status, .. } => Some(*status),
            IscError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// True for a 404 from the tenant.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// How a caller should react.
    pub fn class(&self) -> ErrorClass {
        match self {
            IscError::Api { status, .. } => match status {
                403 => ErrorClass::Forbidden,
                404 => ErrorClass::NotFound,
                429 => ErrorClass::RateLimited,
                500.. => ErrorClass::Transient,
                _ => ErrorClass::Permanent,
            },
            IscError::Auth { status, .. } if *status >= 500 => ErrorClass::Transient,
            IscError::Auth { .. } => ErrorClass::Permanent,
            IscError::RateLimited { .. } => ErrorClass::RateLimited,
            IscError::Transport { .. } | IscError::Decode { .. } => ErrorClass::Transient,
            IscError::InvalidRequest(_) | IscError::Config(_) => ErrorClass::Permanent,
        }
    }

    /// The tenant's `Retry-After`, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            IscError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True when a non-idempotent request may or may not have been processed.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            IscError::Transport {
                outcome_unknown: true,
                ..
            }
        )
    }
}
