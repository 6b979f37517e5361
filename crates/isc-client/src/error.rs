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
        /// Messages from a tenant error body (shortened), or a note that there were none; never
        /// the raw body.
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
    /// The response body did not match the expected schema (or was larger than allowed).
    #[error("{method} {path}: unexpected response body: {}", clip(.message, MAX_DECODE_TEXT))]
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

/// Longest `detailCode` or `trackingId` kept from an error body.
const MAX_CODE_TEXT: usize = 100;
/// Longest message text kept from an error body.
const MAX_MESSAGE_TEXT: usize = 500;
/// Longest decode error text shown.
const MAX_DECODE_TEXT: usize = 200;
/// What a 3xx shows: the redirect target (`Location`) is never quoted.
const REDIRECT_REFUSED: &str = "the tenant answered with a redirect, which is not followed";
/// What an error shows when the body was not a tenant error response.
const NO_TENANT_MESSAGE: &str = "no error message from the tenant";

fn describe_api_error(
    detail_code: &Option<String>,
    tracking_id: &Option<String>,
    message: &str,
) -> String {
    let mut out = clip(message, MAX_MESSAGE_TEXT);
    if let Some(code) = detail_code {
        out = format!("{out} [detailCode: {}]", clip(code, MAX_CODE_TEXT));
    }
    if let Some(id) = tracking_id {
        out = format!("{out} [trackingId: {}]", clip(id, MAX_CODE_TEXT));
    }
    out
}

/// The documented 401 body `{"error": "..."}` (e.g. "JWT is expired"), shortened.
fn unauthorized_text(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(|t| clip(t, MAX_MESSAGE_TEXT)))
        .unwrap_or_default()
}

/// `text` without control characters and at most `max` characters long (`…` marks a cut), so
/// tenant text is safe to put in a status, an Event or a log line.
pub fn clip(text: &str, max: usize) -> String {
    let mut chars = text.chars().map(|c| if c.is_control() { ' ' } else { c });
    let mut out: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

impl IscError {
    /// Builds an [`IscError::Api`] from a status and the (capped) body. Only a tenant error body
    /// is quoted: an `ErrorResponseDto` (detailCode, trackingId, messages) or the documented
    /// 401 `{"error": ...}`, each shortened; any other body is never shown.
    pub fn from_response(method: &str, path: &str, status: u16, body: &[u8]) -> Self {
        let parsed: Option<ErrorResponseDto> = serde_json::from_slice(body).ok();
        let (detail_code, tracking_id, message) = match parsed {
            Some(dto) if dto.detail_code.is_some() || !dto.messages.is_empty() => {
                let text = clip(&dto.message_text(), MAX_MESSAGE_TEXT);
                let code = dto.detail_code.map(|c| clip(&c, MAX_CODE_TEXT));
                let tracking = dto.tracking_id.map(|t| clip(&t, MAX_CODE_TEXT));
                (code, tracking, text)
            }
            _ if (300..400).contains(&status) => (None, None, REDIRECT_REFUSED.to_string()),
            _ if status == 401 => (None, None, unauthorized_text(body)),
            _ => (None, None, String::new()),
        };
        let message = if message.trim().is_empty() {
            NO_TENANT_MESSAGE.to_string()
        } else {
            message
        };
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

    #[test]
    fn other_bodies_are_never_quoted() {
        for body in [
            &b"<html>internal admin console at 10.0.0.7</html>"[..],
            br#"{"message":"internal detail"}"#,
            br#"{"errorMessage":"internal detail"}"#,
            br#"{"error":"internal detail"}"#,
        ] {
            let e = IscError::from_response("GET", "/v2024/x", 500, body);
            let text = e.to_string();
            assert!(!text.contains("internal"), "{text}");
            assert_eq!(
                text,
                "GET /v2024/x failed with HTTP 500: no error message from the tenant"
            );
        }
    }

    #[test]
    fn tenant_error_fields_are_shortened_and_cleaned() {
        let long = "x".repeat(5000);
        let body = serde_json::json!({
            "detailCode": long, "trackingId": long,
            "messages": [{"text": format!("line1\nline2 {long}")}]
        });
        let e = IscError::from_response("POST", "/p", 400, body.to_string().as_bytes());
        let text = e.to_string();
        assert!(text.len() < 1200, "{}", text.len());
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains("line1 line2"), "{text}");
        assert!(text.contains('…'), "{text}");
    }

    #[test]
    fn a_redirect_is_a_permanent_error_without_its_target() {
        let e = IscError::from_response("GET", "/v2024/x", 307, b"see http://evil.example/");
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert!(e.to_string().contains("redirect"), "{e}");
        assert!(!e.to_string().contains("evil"), "{e}");
    }

    #[test]
    fn decode_errors_are_shortened() {
        let e = IscError::Decode {
            method: "GET".into(),
            path: "/p".into(),
            message: "y".repeat(10_000),
        };
        assert!(e.to_string().len() < 300);
    }

    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("ab", 2), "ab");
        assert_eq!(clip("a\u{7}b", 5), "a b");
    }
}
