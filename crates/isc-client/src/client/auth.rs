//! OAuth2 client credentials: the cached access token, refreshed shortly before it expires and
//! once after a 401. Concurrent callers wait for one refresh (single flight).

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use super::TenantClient;
use super::http::without_url;
use super::observe::bump;
use super::retry::{LastTry, RetryCount, RetryDecision, TransportFailure, decide_retry};
use crate::error::IscError;
use crate::models::TokenResponse;

/// Path of the token endpoint.
const TOKEN_PATH: &str = "/oauth/token";

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
        400 | 401 => "the tenant rejected the client credentials (check client_id and client_secret in the Secret)".to_string(),
        403 => "the OAuth client is not allowed to use the client-credentials grant".to_string(),
        _ => format!("token endpoint answered {status}"),
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
                    let status = response.status();
                    let error = IscError::Auth {
                        token_url: url.to_string(),
                        status: status.as_u16(),
                        message: token_error_text(status),
                    };
                    (last, error)
                }
                Err(e) => (
                    LastTry::NoResponse(TransportFailure::of_send_error(&e)),
                    token_transport_error(&e),
                ),
            };
            match decide_retry(count, &last, true, &config.retry, rand::random()) {
                RetryDecision::Retry { after } => {
                    count = count.after(&last);
                    self.wait_before_retry(&last, after).await;
                }
                RetryDecision::GiveUp => return Err(error),
            }
        }
    }

    /// Reads a successful token response.
    async fn read_token(response: reqwest::Response) -> Result<CachedToken, IscError> {
        let body = response
            .bytes()
            .await
            .map_err(|e| token_transport_error(&e))?;
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| IscError::Decode {
            method: "POST".into(),
            path: TOKEN_PATH.into(),
            message: e.to_string(),
        })?;
        let lifetime = Duration::from_secs(token.expires_in.max(1));
        Ok(CachedToken {
            access_token: SecretString::from(token.access_token),
            refresh_at: Instant::now() + usable_for(lifetime),
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
    fn token_errors_say_what_to_check() {
        use reqwest::StatusCode;
        assert!(token_error_text(StatusCode::UNAUTHORIZED).contains("client_secret"));
        assert!(token_error_text(StatusCode::BAD_REQUEST).contains("client_id"));
        assert!(token_error_text(StatusCode::FORBIDDEN).contains("client-credentials grant"));
        assert_eq!(
            token_error_text(StatusCode::SERVICE_UNAVAILABLE),
            "token endpoint answered 503 Service Unavailable"
        );
    }
}
