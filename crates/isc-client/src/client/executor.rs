//! The request executor: every API call goes through [`TenantClient::execute`], which takes a
//! rate-limiter permit, adds the bearer token, sends once, and asks [`decide_retry`] whether and
//! when to send again.

use std::time::Duration;

use reqwest::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::TenantClient;
use super::body::{BodyError, MAX_ERROR_BODY_BYTES, read_capped, read_truncated};
use super::http::without_url;
use super::observe::bump;
use super::request::{ApiRequest, ApiResponse};
use super::retry::{
    LastTry, RetryCount, RetryDecision, RetryPolicy, TransportFailure, decide_retry,
    retry_after_header,
};
use crate::error::IscError;

/// One try that did not succeed: enough to decide on a retry, and to build the error if not.
enum FailedTry {
    /// No usable response arrived.
    NoResponse {
        failure: TransportFailure,
        message: String,
    },
    /// The tenant answered with an error status; the body is read only if it is final.
    Status {
        response: reqwest::Response,
        last: LastTry,
    },
    /// The tenant answered 2xx with a body larger than the client reads.
    TooLarge { max_body_bytes: usize },
}

impl FailedTry {
    fn last(&self) -> LastTry {
        match self {
            FailedTry::NoResponse { failure, .. } => LastTry::NoResponse(*failure),
            FailedTry::Status { last, .. } => *last,
            // A 2xx: never retried, whatever the method.
            FailedTry::TooLarge { .. } => LastTry::Status {
                status: 200,
                retry_after: None,
            },
        }
    }

    fn is_unauthorized(&self) -> bool {
        matches!(self, FailedTry::Status { response, .. } if response.status() == StatusCode::UNAUTHORIZED)
    }

    /// The error reported when no retry follows. A `Retry-After` is capped at the policy's
    /// longest wait, and only the first [`MAX_ERROR_BODY_BYTES`] of an error body are read.
    async fn into_error(self, request: &ApiRequest, policy: &RetryPolicy) -> IscError {
        let method = request.method.as_str().to_string();
        let path = request.path.clone();
        match self {
            FailedTry::NoResponse { failure, message } => IscError::Transport {
                method,
                path,
                message,
                outcome_unknown: !request.is_resendable() && failure.may_have_reached_tenant(),
            },
            FailedTry::TooLarge { max_body_bytes } => IscError::Decode {
                method,
                path,
                message: format!("the response body is larger than {max_body_bytes} bytes"),
            },
            FailedTry::Status { last, .. } if last.is_rate_limited() => IscError::RateLimited {
                method,
                path,
                retry_after: last.retry_after().map(|d| d.min(policy.max_retry_after)),
            },
            FailedTry::Status { response, .. } => {
                let status = response.status().as_u16();
                let body = read_truncated(response, MAX_ERROR_BODY_BYTES).await;
                IscError::from_response(&method, &path, status, &body)
            }
        }
    }
}

impl TenantClient {
    /// Sends one API call with rate limiting, authentication and the retry rules of
    /// [`decide_retry`]; a 401 refreshes the token and resends once.
    pub async fn execute(&self, request: &ApiRequest) -> Result<ApiResponse, IscError> {
        let url = self.url(&request.path)?;
        let mut count = RetryCount::default();
        let mut refreshed_after_401 = false;
        loop {
            // The token first: a permit taken while waiting for the token would be spent later
            // in a burst with every other caller that waited.
            let token = self.access_token().await?;
            self.inner.limiter.until_ready().await;
            let failed = match self.send_once(request, &url, &token).await {
                Ok(response) => return Ok(response),
                Err(failed) => failed,
            };
            if failed.is_unauthorized() && !refreshed_after_401 {
                refreshed_after_401 = true;
                self.invalidate_token(&token).await;
                continue;
            }
            let last = failed.last();
            let jitter = rand::random();
            let policy = &self.inner.config.retry;
            match decide_retry(count, &last, request.is_resendable(), policy, jitter) {
                RetryDecision::Retry { after } => {
                    log_retry(request, &failed, after);
                    count = count.after(&last);
                    self.wait_before_retry(&last, after).await;
                }
                RetryDecision::GiveUp => return Err(failed.into_error(request, policy).await),
            }
        }
    }

    /// Sends a call and parses the JSON answer.
    pub async fn call<T: DeserializeOwned>(&self, request: &ApiRequest) -> Result<T, IscError> {
        let response = self.execute(request).await?;
        response.parse(request.method.as_str(), &request.path)
    }

    /// One HTTP attempt, counted and observed.
    async fn send_once(
        &self,
        request: &ApiRequest,
        url: &Url,
        token: &SecretString,
    ) -> Result<ApiResponse, FailedTry> {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url.clone())
            .bearer_auth(token.expose_secret())
            .header(header::ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if request.experimental {
            builder = builder.header("X-SailPoint-Experimental", "true");
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(header::CONTENT_TYPE, body.content_type())
                .body(body.to_text());
        }
        bump(&self.inner.stats.requests);
        let sent = builder.send().await;
        let status = sent.as_ref().ok().map(|r| r.status().as_u16());
        self.observe(request.method.as_str(), &request.path, status);
        let response = sent.map_err(|e| FailedTry::NoResponse {
            failure: TransportFailure::of_send_error(&e),
            message: without_url(&e),
        })?;
        if !response.status().is_success() {
            let last = self.note_status(&response);
            return Err(FailedTry::Status { response, last });
        }
        read_success(response, self.inner.config.max_body_bytes).await
    }

    /// What an error status means for the retry decision; counts a 429.
    pub(super) fn note_status(&self, response: &reqwest::Response) -> LastTry {
        let last = LastTry::Status {
            status: response.status().as_u16(),
            retry_after: retry_after_header(response.headers()),
        };
        if last.is_rate_limited() {
            bump(&self.inner.stats.rate_limited);
        }
        last
    }

    /// Counts a retry (429 waits are counted as `rate_limited` when received) and sleeps.
    pub(super) async fn wait_before_retry(&self, last: &LastTry, after: Duration) {
        if !last.is_rate_limited() {
            bump(&self.inner.stats.retries);
        }
        tokio::time::sleep(after).await;
    }
}

/// A 2xx response with its `X-Total-Count` and body (at most `max_body_bytes`).
async fn read_success(
    response: reqwest::Response,
    max_body_bytes: usize,
) -> Result<ApiResponse, FailedTry> {
    let status = response.status().as_u16();
    let total_count = response
        .headers()
        .get("X-Total-Count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let body = match read_capped(response, max_body_bytes).await {
        Ok(body) => body,
        Err(BodyError::Transport(e)) => {
            return Err(FailedTry::NoResponse {
                failure: TransportFailure::ResponseLost,
                message: without_url(&e),
            });
        }
        Err(BodyError::TooLarge) => return Err(FailedTry::TooLarge { max_body_bytes }),
    };
    Ok(ApiResponse {
        status,
        total_count,
        body,
    })
}

fn log_retry(request: &ApiRequest, failed: &FailedTry, after: Duration) {
    let method = request.method.as_str();
    let path = request.path.as_str();
    let delay_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
    match failed {
        FailedTry::NoResponse { message, .. } => {
            tracing::debug!(%method, %path, error = %message, delay_ms, "retrying after transport error");
        }
        FailedTry::Status { last, .. } if last.is_rate_limited() => {
            tracing::debug!(%method, %path, delay_ms, "rate limited by tenant; waiting");
        }
        FailedTry::Status { response, .. } => {
            let status = response.status().as_u16();
            tracing::debug!(%method, %path, status, delay_ms, "retrying after server error");
        }
        FailedTry::TooLarge { .. } => {}
    }
}
