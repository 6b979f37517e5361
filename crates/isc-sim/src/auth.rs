//! OAuth client credentials (`POST /oauth/token`) and bearer-token checks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use http::StatusCode;
use http::header::AUTHORIZATION;
use serde_json::{Map, Value, json};

use super::routes::{HandlerResult, Notes, Reply, Req};
use super::state::{State, new_id};

/// The tenant id every token reports.
pub(crate) const TENANT_ID: &str = "2c9180845d2e5168015d32f890ca0000";
/// The identity a user-context token acts as.
const USER_IDENTITY_ID: &str = "2c9180845d2e5168015d32f890ca0001";

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub client_id: String,
    pub user_context: bool,
    pub expires: Instant,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    Missing,
    Expired,
    Invalid,
}

impl AuthFailure {
    /// The 401 body the gateway sends (`{"error": ...}`).
    pub(crate) fn reply(self) -> Reply {
        let text = match self {
            AuthFailure::Missing => "JWT validation failed: JWT is missing",
            AuthFailure::Expired => "JWT validation failed: JWT is expired",
            AuthFailure::Invalid => "JWT validation failed: JWT is invalid",
        };
        Reply::json(StatusCode::UNAUTHORIZED, &json!({ "error": text }))
    }
}

/// Issued access tokens (opaque random strings).
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: HashMap<String, Token>,
}

impl Tokens {
    fn issue(
        &mut self,
        client_id: &str,
        user_context: bool,
        ttl: Duration,
        now: Instant,
    ) -> String {
        // Forget tokens that expired long ago, so the map stays small.
        self.issued.retain(|_, t| {
            t.expires
                .checked_add(Duration::from_secs(3600))
                .is_none_or(|e| e > now)
        });
        let token = format!("{}{}", new_id(), new_id());
        self.issued.insert(
            token.clone(),
            Token {
                client_id: client_id.to_string(),
                user_context,
                // An absurd TTL from the admin API must not overflow the clock.
                expires: now
                    .checked_add(ttl)
                    .unwrap_or_else(|| now + Duration::from_secs(1 << 30)),
            },
        );
        token
    }

    /// Checks an `Authorization` header; on failure also returns the client when the token was
    /// known (so the journal can name who used an expired token).
    pub(crate) fn check(
        &self,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<&Token, (AuthFailure, Option<String>)> {
        let Some(value) = authorization else {
            return Err((AuthFailure::Missing, None));
        };
        let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Err((AuthFailure::Missing, None));
        };
        match self.issued.get(token) {
            None => Err((AuthFailure::Invalid, None)),
            Some(t) if t.expires <= now => Err((AuthFailure::Expired, Some(t.client_id.clone()))),
            Some(t) => Ok(t),
        }
    }
}

/// The `Authorization` header of a request.
pub(crate) fn authorization(req: &Req) -> Option<&str> {
    req.headers.get(AUTHORIZATION)?.to_str().ok()
}

/// Fields of a `multipart/form-data` body (text fields only).
fn multipart_fields(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    let Some(boundary) = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_string())
    else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    text.split(delimiter.as_str())
        .filter_map(|part| {
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("name="))
                .next()?
                .trim_matches('"')
                .to_string();
            Some((name, value.trim_end_matches("\r\n").to_string()))
        })
        .collect()
}

/// The token request's form fields (urlencoded or multipart); journals them with the secret
/// redacted.
fn form_fields(req: &Req, notes: &mut Notes) -> Vec<(String, String)> {
    let content_type = req.header("content-type").unwrap_or_default();
    let body_fields: Vec<(String, String)> =
        if req.content_type().as_deref() == Some("multipart/form-data") {
            multipart_fields(content_type, &req.body)
        } else {
            url::form_urlencoded::parse(&req.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        };
    if !req.body.is_empty() {
        let mut recorded = Map::new();
        for (k, v) in &body_fields {
            let v = if k == "client_secret" {
                "<redacted>"
            } else {
                v
            };
            recorded
                .entry(k.clone())
                .or_insert_with(|| Value::String(v.to_string()));
        }
        notes.journal_body = Some(Value::Object(recorded));
    }
    body_fields
}

/// `POST /oauth/token`: client credentials from the form body, multipart body or query string.
pub(crate) fn token(state: &mut State, req: &Req, notes: &mut Notes) -> HandlerResult {
    let body_fields = form_fields(req, notes);
    let param = |key: &str| {
        body_fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| req.query(key))
    };
    notes.client_id = param("client_id").map(str::to_string);

    let Some(grant) = param("grant_type") else {
        return Err(Reply::json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Missing grant type"}),
        ));
    };
    if !grant.eq_ignore_ascii_case("client_credentials") {
        return Err(Reply::json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "unsupported_grant_type", "error_description": format!("Unsupported grant type: {grant}")}),
        ));
    }
    let (id, secret) = (param("client_id"), param("client_secret"));
    let Some(client) = state
        .clients
        .iter()
        .find(|c| Some(c.id.as_str()) == id && Some(c.secret.as_str()) == secret)
        .cloned()
    else {
        return Err(Reply::json(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client", "error_description": "Bad credentials"}),
        ));
    };
    let ttl = state.settings.token_ttl;
    let access_token = state
        .tokens
        .issue(&client.id, client.user_context, ttl, req.now);
    let (user_id, identity_id) = if client.user_context {
        ("sim.admin", USER_IDENTITY_ID)
    } else {
        ("", "")
    };
    Ok(Reply::json(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": ttl.as_secs(),
            "scope": "sp:scopes:all",
            "accessType": "OFFLINE",
            "tenant_id": TENANT_ID,
            "internal": true,
            "pod": "sim",
            "strong_auth_supported": false,
            "org": "sim",
            "user_id": user_id,
            "identity_id": identity_id,
            "strong_auth": false,
            "enabled": true,
            "jti": uuid::Uuid::new_v4().to_string(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multipart_fields() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\nabc\r\n--XX\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--XX--\r\n";
        let fields = multipart_fields("multipart/form-data; boundary=XX", body.as_bytes());
        assert_eq!(
            fields,
            vec![
                ("client_id".to_string(), "abc".to_string()),
                ("grant_type".to_string(), "client_credentials".to_string())
            ]
        );
    }
}
