//! Pure: which tenant task a call with an unknown outcome created, judged from one page of the
//! tenant's task lists. A task is a candidate when its type fits the call's action, it was
//! launched by this operator's client, it was created in a window around the recorded
//! submission, and it is not already known as another call's task. Exactly one candidate is
//! the call's task; none or several leave the outcome unknown.

use std::collections::HashSet;
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::api::processing_request::ProcessingAction;
use isc_client::models::TaskStatus;

/// How long before the recorded submission a task may have been created: clock skew between
/// the operator and the tenant, and the second precision of `submittedAt`.
pub const WINDOW_BEFORE: Duration = Duration::from_secs(30);
/// How long after the recorded submission a task may have been created: the call's timeout
/// (30 s) plus clock skew and the tenant's queueing.
pub const WINDOW_AFTER: Duration = Duration::from_secs(120);
/// Candidate ids quoted in a message.
const IDS_SHOWN: usize = 10;

/// The `type` of the task an action's call creates (`TaskStatus.type`), or `None` when the
/// call creates no task (an attribute sync starts a sync job, which no list shows).
pub fn task_type(action: ProcessingAction) -> Option<&'static str> {
    match action {
        ProcessingAction::ProcessIdentities
        | ProcessingAction::ProcessProfile
        | ProcessingAction::LegacyRefresh => Some("QUEUED_TASK"),
        ProcessingAction::SynchronizeAttributes => None,
    }
}

/// What the lost call's task must look like.
#[derive(Debug, Clone)]
pub struct TaskQuery {
    /// `TaskStatus.type` (see [`task_type`]).
    pub task_type: &'static str,
    /// The client id the calls are made with (`TaskStatus.launcher`, compared ignoring case).
    pub launcher: String,
    /// The recorded submission time.
    pub submitted_at: Timestamp,
    /// Tasks already known as the request's other calls' tasks.
    pub known_task_ids: HashSet<String>,
    /// Identities of the call, when it names them (compared with `attributes.identityCount`
    /// when the task reports one).
    pub identity_count: Option<usize>,
}

/// One page of a task list, as the tenant returned it.
#[derive(Debug, Clone, Default)]
pub struct TaskPage {
    /// The tasks of the page.
    pub tasks: Vec<TaskStatus>,
    /// Whether the page may hold every candidate: shorter than the limit, or (for a list
    /// sorted newest first) reaching back beyond the window.
    pub complete: bool,
}

/// What the task lists say about the lost call.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskMatch {
    /// Exactly one candidate: the call's task.
    One(Box<TaskStatus>),
    /// No candidate (on pages that hold every candidate).
    None,
    /// Several candidates: which one is the call's is not known.
    Several(Vec<String>),
    /// No candidate, but a page was full, so one may be on a page not read.
    Incomplete,
}

impl TaskQuery {
    /// The earliest and latest creation time of the call's task.
    pub fn window(&self) -> (Timestamp, Timestamp) {
        let before = SignedDuration::try_from(WINDOW_BEFORE).unwrap_or_default();
        let after = SignedDuration::try_from(WINDOW_AFTER).unwrap_or_default();
        let start = self
            .submitted_at
            .checked_sub(before)
            .unwrap_or(Timestamp::MIN);
        let end = self
            .submitted_at
            .checked_add(after)
            .unwrap_or(Timestamp::MAX);
        (start, end)
    }

    /// Whether `task` could be the call's task.
    pub fn is_candidate(&self, task: &TaskStatus) -> bool {
        let (start, end) = self.window();
        task.kind.eq_ignore_ascii_case(self.task_type)
            && task.launcher.eq_ignore_ascii_case(&self.launcher)
            && !self.known_task_ids.contains(&task.id)
            && created(task).is_some_and(|t| start <= t && t <= end)
            && self.count_fits(task)
    }

    fn count_fits(&self, task: &TaskStatus) -> bool {
        let reported = task.attributes.get("identityCount").and_then(Value::as_u64);
        match (self.identity_count, reported) {
            (Some(mine), Some(theirs)) => u64::try_from(mine).is_ok_and(|m| m == theirs),
            _ => true,
        }
    }

    /// Matches the pages of the completed and the pending list (a task on both counts once,
    /// as its completed version).
    pub fn match_tasks(&self, completed: &TaskPage, pending: &TaskPage) -> TaskMatch {
        let mut seen = HashSet::new();
        let candidates: Vec<&TaskStatus> = completed
            .tasks
            .iter()
            .chain(&pending.tasks)
            .filter(|t| self.is_candidate(t))
            .filter(|t| seen.insert(t.id.clone()))
            .collect();
        match candidates.as_slice() {
            [one] => TaskMatch::One(Box::new((*one).clone())),
            [] if completed.complete && pending.complete => TaskMatch::None,
            [] => TaskMatch::Incomplete,
            several => TaskMatch::Several(several.iter().map(|t| t.id.clone()).collect()),
        }
    }
}

/// When the task was created, if the tenant's timestamp parses.
pub fn created(task: &TaskStatus) -> Option<Timestamp> {
    task.created.parse().ok()
}

/// Whether a page sorted newest first (`sorters=-created`) holds every task created since
/// `start`: it is shorter than `limit`, or its oldest task is older than `start`.
pub fn reaches_back(tasks: &[TaskStatus], limit: usize, start: Timestamp) -> bool {
    tasks.len() < limit || tasks.iter().filter_map(created).any(|t| t < start)
}

/// `3 candidate tasks (t1, t2, t3)`, for messages.
pub fn describe_candidates(ids: &[String]) -> String {
    let shown: Vec<&str> = ids.iter().take(IDS_SHOWN).map(String::as_str).collect();
    let more = ids.len() - shown.len();
    let tail = if more > 0 {
        format!(", … {more} more")
    } else {
        String::new()
    };
    format!("{} candidate tasks ({}{tail})", ids.len(), shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBMITTED: &str = "2026-03-01T12:00:00Z";

    fn query(identity_count: Option<usize>) -> TaskQuery {
        TaskQuery {
            task_type: "QUEUED_TASK",
            launcher: "op-client".into(),
            submitted_at: SUBMITTED.parse().unwrap(),
            known_task_ids: HashSet::from(["known".to_string()]),
            identity_count,
        }
    }

    fn task(id: &str, created: &str) -> TaskStatus {
        TaskStatus {
            id: id.into(),
            kind: "QUEUED_TASK".into(),
            launcher: "OP-CLIENT".into(),
            created: created.into(),
            ..Default::default()
        }
    }

    fn page(tasks: Vec<TaskStatus>) -> TaskPage {
        TaskPage {
            tasks,
            complete: true,
        }
    }

    #[test]
    fn exactly_one_candidate_is_the_calls_task() {
        let q = query(None);
        let completed = page(vec![task("t1", "2026-03-01T12:00:02Z")]);
        let found = q.match_tasks(&completed, &page(vec![]));
        assert!(matches!(found, TaskMatch::One(t) if t.id == "t1"));
        // The same task on both lists counts once.
        let pending = page(vec![task("t1", "2026-03-01T12:00:02Z")]);
        assert!(matches!(
            q.match_tasks(&completed, &pending),
            TaskMatch::One(_)
        ));
    }

    #[test]
    fn none_or_several_stay_unknown() {
        let q = query(None);
        assert_eq!(q.match_tasks(&page(vec![]), &page(vec![])), TaskMatch::None);
        let completed = page(vec![task("t1", "2026-03-01T12:00:01Z")]);
        let pending = page(vec![task("t2", "2026-03-01T12:00:05Z")]);
        assert_eq!(
            q.match_tasks(&completed, &pending),
            TaskMatch::Several(vec!["t1".into(), "t2".into()])
        );
        let full = TaskPage {
            tasks: vec![],
            complete: false,
        };
        assert_eq!(q.match_tasks(&full, &page(vec![])), TaskMatch::Incomplete);
    }

    #[test]
    fn only_tasks_created_in_the_window_count() {
        let q = query(None);
        let (start, end) = q.window();
        assert_eq!(start.to_string(), "2026-03-01T11:59:30Z");
        assert_eq!(end.to_string(), "2026-03-01T12:02:00Z");
        for (created, expected) in [
            ("2026-03-01T11:59:29Z", false),
            ("2026-03-01T11:59:30Z", true),
            ("2026-03-01T12:02:00Z", true),
            ("2026-03-01T12:02:01Z", false),
            ("not a time", false),
        ] {
            assert_eq!(q.is_candidate(&task("t", created)), expected, "{created}");
        }
    }

    #[test]
    fn type_launcher_known_ids_and_counts_narrow_the_candidates() {
        let at = "2026-03-01T12:00:01Z";
        let q = query(Some(250));
        let mut other_type = task("t", at);
        other_type.kind = "QUARTZ".into();
        let mut other_launcher = task("t", at);
        other_launcher.launcher = "someone-else".into();
        let mut wrong_count = task("t", at);
        wrong_count
            .attributes
            .insert("identityCount".into(), 3.into());
        let mut right_count = task("t", at);
        right_count
            .attributes
            .insert("identityCount".into(), 250.into());
        assert!(!q.is_candidate(&other_type));
        assert!(!q.is_candidate(&other_launcher));
        assert!(!q.is_candidate(&task("known", at)), "another call's task");
        assert!(!q.is_candidate(&wrong_count));
        assert!(q.is_candidate(&right_count));
        assert!(
            query(None).is_candidate(&wrong_count),
            "no count to compare"
        );
    }

    #[test]
    fn every_action_but_attribute_sync_creates_a_queued_task() {
        assert_eq!(
            task_type(ProcessingAction::ProcessIdentities),
            Some("QUEUED_TASK")
        );
        assert_eq!(
            task_type(ProcessingAction::ProcessProfile),
            Some("QUEUED_TASK")
        );
        assert_eq!(
            task_type(ProcessingAction::LegacyRefresh),
            Some("QUEUED_TASK")
        );
        assert_eq!(task_type(ProcessingAction::SynchronizeAttributes), None);
    }

    #[test]
    fn a_newest_first_page_reaches_back_when_short_or_older_than_the_window() {
        let start: Timestamp = "2026-03-01T11:59:30Z".parse().unwrap();
        let newer = vec![task("a", "2026-03-01T12:00:00Z"); 2];
        assert!(reaches_back(&newer, 3, start), "short page");
        assert!(
            !reaches_back(&newer, 2, start),
            "full and all in the window"
        );
        let mut mixed = newer.clone();
        mixed[1].created = "2026-03-01T11:00:00Z".into();
        assert!(reaches_back(&mixed, 2, start));
    }

    #[test]
    fn candidates_are_named_in_messages() {
        let ids: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
        assert_eq!(describe_candidates(&ids[..2]), "2 candidate tasks (t0, t1)");
        assert!(describe_candidates(&ids).ends_with("t9, … 2 more)"));
    }
}
