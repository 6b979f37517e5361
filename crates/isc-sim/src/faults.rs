//! Injected faults: the next N matching requests fail, stall, lose their connection or start a
//! task that ends in ERROR, so retry and recovery paths can be tested deterministically.

use serde::{Deserialize, Serialize};

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
    /// `Retry-After` seconds sent with a 429 status (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
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
        let acts = self.status.is_some()
            || self.delay_ms.is_some()
            || self.delay_after_ms.is_some()
            || self.drop == Some(true)
            || self.task_outcome.is_some();
        if !acts {
            return Err(
                "a fault needs one of status, delayMs, delayAfterMs, drop or taskOutcome"
                    .to_string(),
            );
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(method)) && glob(&self.path, path)
    }
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
