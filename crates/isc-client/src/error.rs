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

impl ErrorClass {
    /// The class of an error status from the tenant; the one place statuses are classified.
    pub fn of_status(status: u16) -> ErrorClass {
        match status {
            403 => ErrorClass::Forbidden,
            404 => ErrorClass::NotFound,
            429 => ErrorClass::RateLimited,
            500.. => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        }
    }
}

/// What a failed call that creates or triggers something (a submission) did at the tenant.
///
/// A controller that must not trigger work twice records each submission by this outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionOutcome {
    /// The tenant did not act on the request: it was refused before processing (429, or a 401
    /// after the token refresh), the token could not be obtained, or the connection was never
    /// made. Sending it again later is safe.
    NotSent,
    /// The tenant may or may not have acted on it (a 5xx, or the response was lost).
    /// Sending it again may repeat the work.
    Unknown,
    /// The tenant accepted it (2xx) but the answer could not be read, so there is nothing to
    /// follow up on.
    AcceptedUnreadable,
    /// The request was refused as wrong (another 4xx), or the client refused to send it
    /// (invalid request or configuration). Sending the same again cannot succeed.
    Rejected,
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

    /// True for a 404 from the tenant's API (not from the token endpoint).
    pub fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }

    /// How a caller should react.
    pub fn class(&self) -> ErrorClass {
        match self {
            IscError::Api { status, .. } => ErrorClass::of_status(*status),
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

    /// What a failed submission (a call that creates or triggers work) did at the tenant; see
    /// [`SubmissionOutcome`]. Meant for calls that are not resent blindly, whose transport
    /// errors carry `outcome_unknown`.
    pub fn submission_outcome(&self) -> SubmissionOutcome {
        match self {
            IscError::RateLimited { .. } | IscError::Auth { .. } => SubmissionOutcome::NotSent,
            IscError::Transport {
                outcome_unknown, ..
            } => {
                if *outcome_unknown {
                    SubmissionOutcome::Unknown
                } else {
                    SubmissionOutcome::NotSent
                }
            }
            // A 401 is final only after the client refreshed the token: never processed.
            IscError::Api { status: 401, .. } => SubmissionOutcome::NotSent,
            IscError::Api { .. } => match self.class() {
                ErrorClass::RateLimited => SubmissionOutcome::NotSent,
                ErrorClass::Transient => SubmissionOutcome::Unknown,
                _ => SubmissionOutcome::Rejected,
            },
            IscError::Decode { .. } => SubmissionOutcome::AcceptedUnreadable,
            IscError::InvalidRequest(_) | IscError::Config(_) => SubmissionOutcome::Rejected,
        }
    }

    /// True when the tenant certainly did not act on the request, so sending it again is safe.
    pub fn is_definitely_not_sent(&self) -> bool {
        self.submission_outcome() == SubmissionOutcome::NotSent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> IscError {
        IscError::Api {
            method: "POST".into(),
            path: "/v2024/identities/process".into(),
            status,
            detail_code: None,
            tracking_id: None,
            message: "m".into(),
        }
    }

    fn transport(outcome_unknown: bool) -> IscError {
        IscError::Transport {
            method: "POST".into(),
            path: "/p".into(),
            message: "connection failed".into(),
            outcome_unknown,
        }
    }

    fn auth(status: u16) -> IscError {
        IscError::Auth {
            token_url: "https://t/oauth/token".into(),
            status,
            message: "m".into(),
        }
    }

    #[test]
    fn statuses_are_classified() {
        for (status, class) in [
            (400, ErrorClass::Permanent),
            (401, ErrorClass::Permanent),
            (403, ErrorClass::Forbidden),
            (404, ErrorClass::NotFound),
            (409, ErrorClass::Permanent),
            (429, ErrorClass::RateLimited),
            (500, ErrorClass::Transient),
            (503, ErrorClass::Transient),
        ] {
            assert_eq!(ErrorClass::of_status(status), class, "{status}");
            assert_eq!(api(status).class(), class, "{status}");
        }
    }

    #[test]
    fn errors_without_a_tenant_status_are_classified() {
        assert_eq!(auth(401).class(), ErrorClass::Permanent);
        assert_eq!(auth(503).class(), ErrorClass::Transient);
        assert_eq!(transport(true).class(), ErrorClass::Transient);
        let limited = IscError::RateLimited {
            method: "GET".into(),
            path: "/p".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(limited.class(), ErrorClass::RateLimited);
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(limited.status(), Some(429));
        assert_eq!(IscError::Config("x".into()).class(), ErrorClass::Permanent);
    }

    #[test]
    fn only_the_api_answers_not_found() {
        assert!(api(404).is_not_found());
        assert!(!api(403).is_not_found());
        assert!(
            !auth(404).is_not_found(),
            "a missing token endpoint is not a missing object"
        );
    }

    #[test]
    fn submission_outcomes() {
        use SubmissionOutcome::*;
        let limited = IscError::RateLimited {
            method: "POST".into(),
            path: "/p".into(),
            retry_after: None,
        };
        let decode = IscError::Decode {
            method: "POST".into(),
            path: "/p".into(),
            message: "eof".into(),
        };
        for (error, outcome) in [
            (limited, NotSent),
            (auth(401), NotSent),
            (auth(503), NotSent),
            (transport(false), NotSent),
            (api(401), NotSent),
            (api(429), NotSent),
            (transport(true), Unknown),
            (api(500), Unknown),
            (api(502), Unknown),
            (decode, AcceptedUnreadable),
            (api(400), Rejected),
            (api(403), Rejected),
            (api(404), Rejected),
            (api(409), Rejected),
            (IscError::InvalidRequest("x".into()), Rejected),
            (IscError::Config("x".into()), Rejected),
        ] {
            assert_eq!(error.submission_outcome(), outcome, "{error}");
            assert_eq!(
                error.is_definitely_not_sent(),
                outcome == NotSent,
                "{error}"
            );
        }
    }

    #[test]
    fn only_a_possibly_processed_transport_error_has_an_unknown_outcome() {
        assert!(transport(true).outcome_unknown());
        assert!(!transport(false).outcome_unknown());
        assert!(!api(500).outcome_unknown());
    }

    #[test]
    fn error_bodies_keep_detail_code_and_tracking_id() {
        let body = br#"{"detailCode":"400.1 Bad Request Content","trackingId":"t-1","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"bad name"}]}"#;
        let e = IscError::from_response("POST", "/p", 400, body);
        let text = e.to_string();
        assert!(text.contains("bad name"), "{text}");
        assert!(
            text.contains("[detailCode: 400.1 Bad Request Content]"),
            "{text}"
        );
        assert!(text.contains("[trackingId: t-1]"), "{text}");
        let e = IscError::from_response("GET", "/p", 401, br#"{"error":"JWT expired"}"#);
        assert!(e.to_string().contains("JWT expired"), "{e}");
        let e = IscError::from_response("GET", "/p", 502, b"");
        assert!(e.to_string().contains("no error message"), "{e}");
    }
}
