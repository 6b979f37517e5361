//! Asynchronous tasks: the references calls return, task status and its normalised outcome.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Reference to an asynchronous task, returned by deletes (`TaskResultSimplified`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskResultSimplified {
    /// Task id; look it up with `GET /task-status/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Task name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Task description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who launched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launcher: Option<String>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Launch time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched: Option<String>,
    /// Mixed-case status (`Success`, `Error`, ...); compare case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_status: Option<String>,
}

/// Reference to a processing task (`TaskResultResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaskResultResponse {
    /// Usually `TASK_RESULT`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unused by the tenant (null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Localized text of a task message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LocalizedMessage {
    /// Locale, e.g. `en-US`.
    pub locale: String,
    /// The text.
    pub message: String,
}

/// A message attached to a task (`TaskStatusMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusMessage {
    /// `INFO`, `WARN` or `ERROR`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Localized text; nullable.
    #[serde(default)]
    pub localized_text: Option<LocalizedMessage>,
    /// Message key.
    pub key: String,
    /// Message parameters; nullable.
    #[serde(default)]
    pub parameters: Option<Vec<Value>>,
}

/// A named return value of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskReturnDetails {
    /// Display name.
    pub name: String,
    /// Attribute holding the value.
    pub attribute_name: String,
}

/// Status of an asynchronous task (`TaskStatus`). `completion_status == None` means running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    /// Task id.
    pub id: String,
    /// `QUARTZ`, `QPOC` or `QUEUED_TASK`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unique task name.
    pub unique_name: String,
    /// Description.
    pub description: String,
    /// Parent task name; nullable.
    #[serde(default)]
    pub parent_name: Option<String>,
    /// Who launched it.
    pub launcher: String,
    /// Target object; nullable, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Value>,
    /// Creation time.
    pub created: String,
    /// Last update; nullable.
    #[serde(default)]
    pub modified: Option<String>,
    /// Launch time; nullable.
    #[serde(default)]
    pub launched: Option<String>,
    /// Completion time; nullable.
    #[serde(default)]
    pub completed: Option<String>,
    /// `SUCCESS`, `WARNING`, `ERROR`, `TERMINATED`, `TEMPERROR` or null while running.
    #[serde(default)]
    pub completion_status: Option<String>,
    /// Messages.
    #[serde(default)]
    pub messages: Vec<TaskStatusMessage>,
    /// Return values.
    #[serde(default)]
    pub returns: Vec<TaskReturnDetails>,
    /// Free-form attributes, e.g. `identityCount`.
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// Progress text; nullable.
    #[serde(default)]
    pub progress: Option<String>,
    /// 0..=100.
    #[serde(default)]
    pub percent_complete: i64,
}

/// How a finished task ended, normalised across the two casings the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Still pending or running.
    Running,
    /// `SUCCESS` or `WARNING`.
    Succeeded,
    /// `ERROR`, `TERMINATED`, `TEMPERROR` or anything unknown.
    Failed,
}

impl TaskOutcome {
    /// Classifies a `completionStatus` value (case-insensitive; `None` = running).
    pub fn from_completion_status(status: Option<&str>) -> Self {
        match status.map(str::to_ascii_uppercase).as_deref() {
            None => TaskOutcome::Running,
            Some("SUCCESS") | Some("WARNING") => TaskOutcome::Succeeded,
            Some(_) => TaskOutcome::Failed,
        }
    }
}

impl TaskStatus {
    /// The normalised outcome of this task.
    pub fn outcome(&self) -> TaskOutcome {
        TaskOutcome::from_completion_status(self.completion_status.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_outcomes_ignore_case() {
        assert_eq!(
            TaskOutcome::from_completion_status(None),
            TaskOutcome::Running
        );
        for s in ["SUCCESS", "Success", "WARNING", "Warning"] {
            assert_eq!(
                TaskOutcome::from_completion_status(Some(s)),
                TaskOutcome::Succeeded
            );
        }
        for s in ["ERROR", "TempError", "TERMINATED", "whatever"] {
            assert_eq!(
                TaskOutcome::from_completion_status(Some(s)),
                TaskOutcome::Failed
            );
        }
    }
}
