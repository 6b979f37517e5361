//! OAuth2 client credentials: the cached access token, refreshed shortly before it expires and
//! once after a 401. Concurrent callers wait for one refresh (single flight).

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use super::TenantClient;
use super::body::{MAX_ERROR_BODY_BYTES, read_capped};
use super::http::without_url;
use super::observe::bump;
use super::retry::{
    LastTry, RetryCount, RetryDecision, RetryPolicy, TransportFailure, decide_retry,
};
use crate::error::IscError;
use crate::models::TokenResponse;

/// Path of the token endpoint.
const TOKEN_PATH: &str = "/oauth/token";

/// Longest token lifetime believed, whatever `expires_in` says.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Most 429 retries of the token request, which holds the token lock while it waits.
const MAX_TOKEN_RATE_LIMITED_RETRIES: usize = 2;
/// Longest `Retry-After` the token request waits for (with the lock held).
const MAX_TOKEN_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The retry policy of the token request: the client's, with 429 waits bounded tighter, because
/// every caller of the client waits for the token while it runs.
fn token_retry_policy(policy: &RetryPolicy) -> RetryPolicy {
    RetryPolicy {
        max_rate_limited_retries: policy
            .max_rate_limited_retries
            .min(MAX_TOKEN_RATE_LIMITED_RETRIES),
        max_retry_after: policy.max_retry_after.min(MAX_TOKEN_RETRY_AFTER),
        ..*policy
    }
}

/// When a token of `expires_in` seconds, received `now`, is replaced: the lifetime is capped
/// at [`MAX_TOKEN_LIFETIME`] and the arithmetic saturates.
fn refresh_time(now: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in.max(1)).min(MAX_TOKEN_LIFETIME);
    now.checked_add(usable_for(lifetime)).unwrap_or(now)
}

/// The current access token and when to replace it.
pub(super) struct CachedToken {
    access_token: SecretString,
    refresh_at: Instant,
}

/// How long a token of `lifetime` is used before it is refreshed: until 80% of the lifetime is
/// used, and at least 60 s before expiry (but never less than half the lifetime).
fn usable_for(lifetime: Duration) -> Duration {
    let margin = (lifetime / 5)
        .max(Duration::from_secs(60))
        .min(lifetime / 2);
    lifetime - margin
}

/// The error text for a refusal by the token endpoint; says what to check, never the secret.
fn token_error_text(status: reqwest::StatusCode) -> String {
    match status.as_u16() {
        300..=399 => "the token endpoint answered with a redirect, which is not followed (check the tenant URL)".to_string(),
        400 | 401 => "the tenant rejected the client credentials (check client_id and client_secret in the Secret)".to_string(),
        403 => "the OAuth client is not allowed to use the client-credentials grant".to_string(),
        _ => format!("token endpoint answered {status}"),
    }
}

/// The error for a token request the endpoint refused: a 429 is [`IscError::RateLimited`]
/// (with its wait capped by `policy`), anything else [`IscError::Auth`].
fn token_refusal(
    url: &url::Url,
    last: &LastTry,
    status: reqwest::StatusCode,
    policy: &RetryPolicy,
) -> IscError {
    if last.is_rate_limited() {
        return IscError::RateLimited {
            method: "POST".into(),
            path: TOKEN_PATH.into(),
            retry_after: last.retry_after().map(|d| d.min(policy.max_retry_after)),
        };
    }
    IscError::Auth {
        token_url: url.to_string(),
        status: status.as_u16(),
        message: token_error_text(status),
    }
}

fn token_transport_error(e: &reqwest::Error) -> IscError {
    IscError::Transport {
        method: "POST".into(),
        path: TOKEN_PATH.into(),
        message: without_url(e),
        // Fetching a token creates nothing: resending it is always safe.
        outcome_unknown: false,
    }
}

impl TenantClient {
    /// A valid access token: the cached one, or a fresh one (single flight).
    pub async fn access_token(&self) -> Result<SecretString, IscError> {
        let mut guard = self.inner.token.lock().await;
        if let Some(cached) = guard.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.access_token.clone());
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.access_token.clone();
        *guard = Some(fresh);
        Ok(token)
    }

    /// Drops the cached token if it is still `stale`, so the next call fetches a new one.
    pub(super) async fn invalidate_token(&self, stale: &SecretString) {
        let mut guard = self.inner.token.lock().await;
        if guard
            .as_ref()
            .is_some_and(|c| c.access_token.expose_secret() == stale.expose_secret())
        {
            *guard = None;
        }
    }

    /// Asks the token endpoint for a token, retrying by the same rules as any resendable call.
    async fn fetch_token(&self) -> Result<CachedToken, IscError> {
        let url = self.url(TOKEN_PATH)?;
        let config = &self.inner.config;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.expose_secret()),
        ];
        let policy = token_retry_policy(&config.retry);
        let mut count = RetryCount::default();
        loop {
            self.inner.limiter.until_ready().await;
            bump(&self.inner.stats.token_requests);
            let result = self.inner.http.post(url.clone()).form(&form).send().await;
            self.observe(
                "POST",
                TOKEN_PATH,
                result.as_ref().ok().map(|r| r.status().as_u16()),
            );
            let (last, error) = match result {
                Ok(response) if response.status().is_success() => {
                    return Self::read_token(response).await;
                }
                Ok(response) => {
                    let last = self.note_status(&response);
                    (last, token_refusal(&url, &last, response.status(), &policy))
                }
                Err(e) => (
                    LastTry::NoResponse(TransportFailure::of_send_error(&e)),
                    token_transport_error(&e),
                ),
            };
            match decide_retry(count, &last, true, &policy, rand::random()) {
                RetryDecision::Retry { after } => {
                    count = count.after(&last);
                    self.wait_before_retry(&last, after).await;
                }
                RetryDecision::GiveUp => return Err(error),
            }
        }
    }

    /// Reads a successful token response (at most [`MAX_ERROR_BODY_BYTES`]: a token is small).
    async fn read_token(response: reqwest::Response) -> Result<CachedToken, IscError> {
        let decode_error = |message: String| IscError::Decode {
            method: "POST".into(),
            path: TOKEN_PATH.into(),
            message,
        };
        let body = match read_capped(response, MAX_ERROR_BODY_BYTES).await {
            Ok(body) => body,
            Err(super::body::BodyError::Transport(e)) => return Err(token_transport_error(&e)),
            Err(super::body::BodyError::TooLarge) => {
                return Err(decode_error("the token response is too large".into()));
            }
        };
        // serde's text could quote the token: only its category is kept.
        let token: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| decode_error(format!("not a token response ({:?})", e.classify())))?;
        Ok(CachedToken {
            access_token: SecretString::from(token.access_token),
            refresh_at: refresh_time(Instant::now(), token.expires_in),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_refreshed_before_they_expire() {
        // One hour: refresh after 48 minutes (80%).
        assert_eq!(
            usable_for(Duration::from_secs(3600)),
            Duration::from_secs(2880)
        );
        // Five minutes: a 60 s margin is more than 20%.
        assert_eq!(
            usable_for(Duration::from_secs(300)),
            Duration::from_secs(240)
        );
        // Very short lifetimes keep at least half.
        assert_eq!(usable_for(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(
            usable_for(Duration::from_secs(1)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn a_huge_expires_in_is_capped_and_never_overflows() {
        let now = Instant::now();
        for expires_in in [u64::MAX, u64::MAX / 2, 10 * 365 * 24 * 3600] {
            let at = refresh_time(now, expires_in);
            assert_eq!(at - now, usable_for(MAX_TOKEN_LIFETIME), "{expires_in}");
        }
        assert_eq!(refresh_time(now, 0) - now, Duration::from_millis(500));
        assert_eq!(refresh_time(now, 3600) - now, Duration::from_secs(2880));
    }

    #[test]
    fn the_token_request_waits_less_for_429s() {
        let policy = token_retry_policy(&RetryPolicy::default());
        assert_eq!(policy.max_rate_limited_retries, 2);
        assert_eq!(policy.max_retry_after, Duration::from_secs(10));
        assert_eq!(policy.max_retries, RetryPolicy::default().max_retries);
    }

    #[test]
    fn a_token_429_is_rate_limited_with_a_capped_wait() {
        let url = url::Url::parse("https://t.example/oauth/token").unwrap();
        let policy = token_retry_policy(&RetryPolicy::default());
        let last = LastTry::Status {
            status: 429,
            retry_after: Some(Duration::MAX),
        };
        let e = token_refusal(&url, &last, reqwest::StatusCode::TOO_MANY_REQUESTS, &policy);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(10)));
        assert_eq!(e.class(), crate::ErrorClass::RateLimited);
    }

    #[test]
    fn token_errors_say_what_to_check() {
        use reqwest::StatusCode;
        assert!(token_error_text(StatusCode::UNAUTHORIZED).contains("client_secret"));
        assert!(token_error_text(StatusCode::BAD_REQUEST).contains("client_id"));
        assert!(token_error_text(StatusCode::FORBIDDEN).contains("client-credentials grant"));
        assert!(token_error_text(StatusCode::TEMPORARY_REDIRECT).contains("not followed"));
        assert_eq!(
            token_error_text(StatusCode::SERVICE_UNAVAILABLE),
            "token endpoint answered 503 Service Unavailable"
        );
    }
}
