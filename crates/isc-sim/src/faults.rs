//! Injected faults: the next N matching requests fail, stall, lose their connection, start a
//! task that ends in ERROR, or get a hostile answer (a huge `Retry-After` or `expires_in`, a
//! padded error body, a redirect, a list that ignores `offset`), so retry, recovery and
//! robustness paths can be tested deterministically.

use bytes::Bytes;
use http::StatusCode;
use http::header::{LOCATION, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::routes::Reply;

/// Largest padded body a fault may ask for.
const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// A `Retry-After` value: seconds, or any header text (an overflowing number, a date, junk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum RetryAfter {
    /// Sent as the decimal number.
    Seconds(u64),
    /// Sent verbatim.
    Text(String),
}

impl RetryAfter {
    fn header_value(&self) -> String {
        match self {
            RetryAfter::Seconds(secs) => secs.to_string(),
            RetryAfter::Text(text) => text.clone(),
        }
    }
}

/// A fault as `POST /__sim/faults` accepts it and `GET /__sim/faults` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FaultSpec {
    /// Assigned by the simulator.
    #[serde(default, skip_deserializing)]
    pub id: String,
    /// HTTP method or `*`.
    #[serde(default = "any_method")]
    pub method: String,
    /// Path glob; `*` matches any run of characters (including `/`).
    pub path: String,
    /// How many more requests get the fault.
    #[serde(default = "one")]
    pub count: u32,
    /// Answer with this status instead of handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` sent with the status (a 429 sends 1 when this is absent): seconds or text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<RetryAfter>,
    /// Pad the status's body to at least this many bytes (the journal keeps the short form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
    /// Redirect: answer with `status` (default 307) and this `Location`, handling nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Handle the request normally, then put this value (any JSON) into the token response's
    /// `expires_in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<Value>,
    /// Handle the request as if it had no `offset`: a list answers its first page every time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_offset: Option<bool>,
    /// Wait this long before handling (or faulting) the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Handle the request normally (state changes happen), then hold the response this long:
    /// a client that gives up or crashes meanwhile never learns the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_after_ms: Option<u64>,
    /// Close the connection without any response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<bool>,
    /// `ERROR`: handle the request normally, but the task it starts fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_outcome: Option<String>,
}

fn any_method() -> String {
    "*".to_string()
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    /// Rejects faults that would do nothing or could not be honoured.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.path.is_empty() {
            return Err("path must not be empty".to_string());
        }
        if self.count == 0 {
            return Err("count must be at least 1".to_string());
        }
        if let Some(status) = self.status {
            if !(100..=599).contains(&status) {
                return Err(format!("status {status} is not an HTTP status"));
            }
        }
        if let Some(outcome) = &self.task_outcome {
            if outcome != "ERROR" {
                return Err(format!("taskOutcome must be \"ERROR\", not \"{outcome}\""));
            }
        }
        self.validate_answer()?;
        let acts = self.status.is_some()
            || self.location.is_some()
            || self.expires_in.is_some()
            || self.ignore_offset == Some(true)
            || self.delay_ms.is_some()
            || self.delay_after_ms.is_some()
            || self.drop == Some(true)
            || self.task_outcome.is_some();
        if !acts {
            return Err(
                "a fault needs one of status, location, expiresIn, ignoreOffset, delayMs, delayAfterMs, drop or taskOutcome"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// Checks the parts that shape a canned answer: header texts, padding, redirect status.
    fn validate_answer(&self) -> Result<(), String> {
        if let Some(RetryAfter::Text(text)) = &self.retry_after {
            http::HeaderValue::from_str(text)
                .map_err(|_| "retryAfter text is not a valid header value".to_string())?;
        }
        if let Some(location) = &self.location {
            http::HeaderValue::from_str(location)
                .map_err(|_| "location is not a valid header value".to_string())?;
            if self.status.is_some_and(|s| !(300..=399).contains(&s)) {
                return Err("a fault with location needs a 3xx status (default 307)".to_string());
            }
        }
        if let Some(bytes) = self.body_bytes {
            if self.status.is_none() || self.location.is_some() {
                return Err("bodyBytes needs a status and no location".to_string());
            }
            if bytes > MAX_BODY_BYTES {
                return Err(format!("bodyBytes must be at most {MAX_BODY_BYTES}"));
            }
        }
        Ok(())
    }

    /// The answer that replaces handling the request, if the fault makes one.
    pub(crate) fn canned_reply(&self) -> Option<Reply> {
        if let Some(location) = &self.location {
            let status = StatusCode::from_u16(self.status.unwrap_or(307))
                .unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            return Some(Reply::empty(status).header(LOCATION, location));
        }
        let status =
            StatusCode::from_u16(self.status?).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = match status.as_u16() {
            429 => Reply::json(status, &json!({ "message": "Rate Limit Exceeded" })),
            401 => Reply::json(
                status,
                &json!({"error": "JWT validation failed: JWT is expired"}),
            ),
            _ => Reply::error(status, format!("Injected fault: {status}")),
        };
        match (&self.retry_after, status.as_u16()) {
            (Some(value), _) => reply = reply.header(RETRY_AFTER, value.header_value()),
            (None, 429) => reply = reply.header(RETRY_AFTER, 1),
            _ => {}
        }
        if let Some(bytes) = self.body_bytes {
            reply.raw_body = reply.body.as_ref().map(|b| padded(b, bytes));
        }
        Some(reply)
    }

    /// Changes a normally handled answer: the token response's `expires_in`.
    pub(crate) fn adjust(&self, reply: &mut Reply) {
        if let (Some(value), Some(Value::Object(body))) = (&self.expires_in, reply.body.as_mut()) {
            if body.contains_key("access_token") {
                body.insert("expires_in".to_string(), value.clone());
            }
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(method)) && glob(&self.path, path)
    }
}

/// `body` serialized with its message text (`messages[0].text`, `message` or `error`)
/// lengthened so the whole is at least `bytes` long; still valid JSON of the same shape.
fn padded(body: &Value, bytes: u64) -> Bytes {
    let plain = serde_json::to_vec(body).unwrap_or_default();
    let missing = usize::try_from(bytes)
        .unwrap_or(usize::MAX)
        .saturating_sub(plain.len());
    if missing == 0 {
        return Bytes::from(plain);
    }
    let mut body = body.clone();
    let text = match &mut body {
        Value::Object(map) if map.contains_key("messages") => map
            .get_mut("messages")
            .and_then(|m| m.get_mut(0))
            .and_then(|m| m.get_mut("text")),
        Value::Object(map) => match map.contains_key("message") {
            true => map.get_mut("message"),
            false => map.get_mut("error"),
        },
        _ => None,
    };
    if let Some(Value::String(text)) = text {
        text.push(' ');
        text.push_str(&"x".repeat(missing));
    }
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// `*` matches any run of characters; everything else matches itself.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    active: Vec<FaultSpec>,
    next_id: u64,
}

impl Faults {
    pub(crate) fn add(&mut self, mut spec: FaultSpec) -> String {
        self.next_id += 1;
        spec.id = format!("fault-{}", self.next_id);
        let id = spec.id.clone();
        self.active.push(spec);
        id
    }

    /// Consumes one use of the first fault matching the request.
    pub(crate) fn take(&mut self, method: &str, path: &str) -> Option<FaultSpec> {
        let idx = self.active.iter().position(|f| f.matches(method, path))?;
        let fault = &mut self.active[idx];
        fault.count -= 1;
        let taken = fault.clone();
        if fault.count == 0 {
            self.active.remove(idx);
        }
        Some(taken)
    }

    pub(crate) fn list(&self) -> &[FaultSpec] {
        &self.active
    }

    pub(crate) fn clear(&mut self) {
        self.active.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches() {
        assert!(glob(
            "/v2024/identity-profiles*",
            "/v2024/identity-profiles"
        ));
        assert!(glob(
            "/v2024/identity-profiles*",
            "/v2024/identity-profiles/abc/x"
        ));
        assert!(glob("*/process", "/v2024/identities/process"));
        assert!(glob("/a/*/c", "/a/b/c"));
        assert!(!glob("/a/*/c", "/a/b/d"));
        assert!(!glob("/v2024/identities", "/v2024/identities/x"));
        assert!(glob("*", ""));
    }
}
