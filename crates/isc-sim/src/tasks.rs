//! Asynchronous tenant tasks: they stay pending/running for the configured duration, then
//! complete, and only then do their side effects (a deleted profile disappearing, a refresh flag
//! clearing) become visible, as on a real tenant.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use isc_wire::models::{LocalizedMessage, TaskResultSimplified, TaskStatus, TaskStatusMessage};

use super::state::rfc3339;

/// What a task does to the tenant when it completes successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TaskEffect {
    /// Remove these profiles.
    DeleteProfiles(Vec<String>),
    /// Clear the profile's refresh flag and refresh its identities.
    ProcessProfile {
        profile_id: String,
        identity_ids: Vec<String>,
    },
    /// Refresh these identities.
    ProcessIdentities(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub id: String,
    pub unique_name: String,
    pub description: String,
    pub launcher: String,
    pub created: DateTime<Utc>,
    pub started: Instant,
    pub duration: Duration,
    /// An injected fault made this task end in ERROR (without side effects).
    pub fail: bool,
    pub identity_count: usize,
    /// WARN messages; a task with warnings ends in WARNING.
    pub warnings: Vec<String>,
    pub effect: TaskEffect,
    /// Side effects were applied (or skipped, for a failed task).
    pub applied: bool,
}

fn message(kind: &str, key: &str, text: &str) -> TaskStatusMessage {
    TaskStatusMessage {
        kind: kind.to_string(),
        localized_text: Some(LocalizedMessage {
            locale: "en-US".to_string(),
            message: text.to_string(),
        }),
        key: key.to_string(),
        parameters: None,
    }
}

impl Task {
    pub(crate) fn is_complete(&self, now: Instant) -> bool {
        now.duration_since(self.started) >= self.duration
    }

    fn at(&self, elapsed: Duration) -> String {
        rfc3339(self.created + chrono::Duration::from_std(elapsed).unwrap_or_default())
    }

    fn final_status(&self) -> &'static str {
        if self.fail {
            "ERROR"
        } else if self.warnings.is_empty() {
            "SUCCESS"
        } else {
            "WARNING"
        }
    }

    /// The `TaskStatus` body at `now`: queued for the first fifth of the duration (not yet
    /// launched), then running with a percentage, then complete.
    pub(crate) fn status(&self, now: Instant) -> TaskStatus {
        let elapsed = now.duration_since(self.started);
        let complete = self.is_complete(now);
        let queued = !complete && elapsed < self.duration / 5;
        let mut messages: Vec<TaskStatusMessage> = self
            .warnings
            .iter()
            .map(|w| message("WARN", "sim_task_warning", w))
            .collect();
        if complete && self.fail {
            messages.push(message(
                "ERROR",
                "sim_task_failed",
                &format!("{} failed (injected fault)", self.unique_name),
            ));
        }
        let percent = if complete {
            100
        } else if queued {
            0
        } else {
            ((elapsed.as_secs_f64() / self.duration.as_secs_f64()) * 100.0).clamp(1.0, 99.0) as i64
        };
        let mut attributes = Map::new();
        attributes.insert("identityCount".to_string(), json!(self.identity_count));
        TaskStatus {
            id: self.id.clone(),
            kind: "QUEUED_TASK".to_string(),
            unique_name: self.unique_name.clone(),
            description: self.description.clone(),
            parent_name: None,
            launcher: self.launcher.clone(),
            target: None,
            created: rfc3339(self.created),
            modified: Some(if complete {
                self.at(self.duration)
            } else {
                self.at(elapsed)
            }),
            launched: (!queued).then(|| self.at(self.duration / 5)),
            completed: complete.then(|| self.at(self.duration)),
            completion_status: complete.then(|| self.final_status().to_string()),
            messages,
            returns: Vec::new(),
            attributes,
            progress: Some(
                if complete {
                    "Completed"
                } else if queued {
                    "Queued"
                } else {
                    "Running"
                }
                .to_string(),
            ),
            percent_complete: percent,
        }
    }

    /// The `TaskResultSimplified` reference returned by deletes (mixed-case status).
    pub(crate) fn simplified(&self, now: Instant) -> TaskResultSimplified {
        let complete = self.is_complete(now);
        TaskResultSimplified {
            id: Some(self.id.clone()),
            name: Some(self.unique_name.clone()),
            description: Some(self.description.clone()),
            launcher: Some(self.launcher.clone()),
            completed: complete.then(|| self.at(self.duration)),
            launched: Some(rfc3339(self.created)),
            completion_status: complete.then(|| {
                match self.final_status() {
                    "ERROR" => "Error",
                    "WARNING" => "Warning",
                    _ => "Success",
                }
                .to_string()
            }),
        }
    }

    /// The status as a JSON view for filters and sorters.
    pub(crate) fn view(&self, now: Instant) -> Value {
        serde_json::to_value(self.status(now)).unwrap_or(Value::Null)
    }
}
