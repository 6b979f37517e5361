//! Following: running tenant tasks are asked about with a backoff that grows with their age,
//! shared across reconciles so event-triggered reconciles do not poll more often, and paid from
//! the tenant's poll budget (polls beyond it wait).
//!
//! The tasks of one request that are due are asked about together: one
//! `GET /v2024/task-status?filters=id in (...)` per [`TASKS_PER_LIST`] tasks (one poll of the
//! budget each), so following the 200 tasks of a 50 000-identity request costs 4 calls a round,
//! not 200. The v2024 document describes that list as holding **completed** tasks, so a task
//! missing from the answer is taken as still running and is asked about again on the next
//! round. Only a task that stays missing is asked about on its own (`GET /task-status/{id}`,
//! which also tells a task the tenant does not know, 404): once it is
//! [`rules::lone_poll_delay`] old, and then at most once per that delay. A list the tenant
//! refuses (not a transient error or a 429) falls back to one GET per task for that round.
//! Following only reads; nothing here sends a call again.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use kube::ResourceExt;

use crate::api::processing_request::{Submission, SubmissionState};
use crate::api::tenant::tenant_identity;
use crate::api::{ProcessingRequestStatus, Tenant};
use crate::controller::context::Context;
use crate::controller::status::now;
use crate::controller::tenant_pool::TenantHandle;
use isc_client::models::{TaskOutcome, TaskStatus};
use isc_client::{ErrorClass, Filter, IscError, ListParams, RateLimit};

use super::budget::PollAllowance;
use super::run::Run;
use super::{age, rules};

/// The tenant a request polls, and the share of that tenant's rate budget polling may use.
pub(super) struct PollScope<'a> {
    /// The tenant's client.
    pub(super) handle: &'a TenantHandle,
    /// The tenant identity (normalized base URL): every `Tenant` object pointing at one ISC
    /// tenant shares one budget.
    key: String,
    allowance: PollAllowance,
}

impl<'a> PollScope<'a> {
    /// The scope of `tenant`, sized from its rate limit (the client's default when unset).
    pub(super) fn new(tenant: &Tenant, handle: &'a TenantHandle) -> Self {
        let limit = tenant
            .spec
            .rate_limit
            .map(|l| RateLimit {
                requests: l.requests,
                per: Duration::from_secs(l.window_seconds.into()),
            })
            .unwrap_or_default();
        PollScope {
            handle,
            key: tenant_identity(&tenant.spec.base_url)
                .unwrap_or_else(|| handle.client.base_url().to_string()),
            allowance: PollAllowance::share_of(limit),
        }
    }

    /// Takes `polls` from the tenant's poll budget, or says how long to wait.
    pub(super) fn take(&self, ctx: &Context, polls: u32, now: Instant) -> Result<(), Duration> {
        ctx.processing
            .poll_budget
            .try_take(&self.key, self.allowance, polls, now)
    }
}

/// Task messages quoted in a failed submission's message.
const TASK_MESSAGES_SHOWN: usize = 3;
/// Most tasks one task-status list call asks about (its `id in (...)` filter and its `limit`).
pub const TASKS_PER_LIST: usize = 50;

/// A running task due for a poll: the submission's index and its task id.
type DueTask = (usize, String);

/// A task the list answer did not settle, to be asked about on its own.
struct LoneTask {
    /// Index of its submission.
    index: usize,
    /// Asked at once (the list was refused), not only after [`rules::lone_poll_delay`].
    at_once: bool,
}

impl Run<'_> {
    /// Asks the tenant about running tasks whose backoff has passed, [`TASKS_PER_LIST`] per
    /// list call. Returns when to look again.
    pub(super) async fn follow_tasks(
        &self,
        scope: &PollScope<'_>,
        status: &mut ProcessingRequestStatus,
    ) -> Option<Duration> {
        let uid = self.obj.uid().unwrap_or_default();
        self.take_board_answers(scope, &uid, &mut status.submissions);
        let (due, mut next) = self.due_tasks(&uid, &status.submissions);
        let mine: HashSet<String> = running_tasks(&status.submissions)
            .map(str::to_string)
            .collect();
        let mut lone = Vec::new();
        for batch in due.chunks(TASKS_PER_LIST) {
            if let Err(wait) = scope.take(self.ctx, 1, Instant::now()) {
                next = earliest(next, wait);
                break;
            }
            let unsettled = self
                .follow_batch(scope, &uid, &mut status.submissions, batch, &mine)
                .await;
            lone.extend(unsettled);
        }
        for task in lone {
            let s = &mut status.submissions[task.index];
            if let Some(wait) = self.follow_alone(scope, &uid, s, task.at_once).await {
                next = earliest(next, wait);
            }
        }
        next
    }

    /// Settles the running tasks another request's list call found finished (no call), and
    /// puts the others on the task board so other requests' list calls ask about them too.
    fn take_board_answers(&self, scope: &PollScope<'_>, uid: &str, submissions: &mut [Submission]) {
        let board = &self.ctx.processing.task_board;
        let now = Instant::now();
        for s in submissions.iter_mut() {
            let (SubmissionState::Running, Some(task_id)) = (s.state, s.task_id.clone()) else {
                continue;
            };
            match board.take_answer(&scope.key, &task_id, now) {
                Some(task) => record_task(s, &task_id, &task),
                None => board.waiting(&scope.key, &task_id, &poll_key(uid, &task_id), now),
            }
        }
    }

    /// The running tasks whose backoff has passed, and when the first of all running tasks
    /// is due again.
    fn due_tasks(&self, uid: &str, submissions: &[Submission]) -> (Vec<DueTask>, Option<Duration>) {
        let now = Instant::now();
        let mut next: Option<Duration> = None;
        let mut due = Vec::new();
        for (i, s) in submissions.iter().enumerate() {
            let (SubmissionState::Running, Some(task_id)) = (s.state, &s.task_id) else {
                continue;
            };
            let delay = rules::poll_delay(age(s.submitted_at.as_ref()));
            next = earliest(next, delay);
            if self
                .ctx
                .processing
                .poll_due(&poll_key(uid, task_id), delay, now)
            {
                due.push((i, task_id.clone()));
            }
        }
        (due, next)
    }

    /// One list call about `batch`, its free places filled with other requests' waiting tasks
    /// (not one of `mine`, this request's running tasks; their answers go to the task board);
    /// records what it says about `batch`. Returns the tasks of `batch` it did not settle.
    async fn follow_batch(
        &self,
        scope: &PollScope<'_>,
        uid: &str,
        submissions: &mut [Submission],
        batch: &[DueTask],
        mine: &HashSet<String>,
    ) -> Vec<LoneTask> {
        let now = Instant::now();
        let board = &self.ctx.processing.task_board;
        let own: HashSet<&str> = mine.iter().map(String::as_str).collect();
        let room = TASKS_PER_LIST.saturating_sub(batch.len());
        let companions = board.companions(&scope.key, &own, room, now);
        for (_, task_id) in batch {
            self.ctx.processing.polled(poll_key(uid, task_id), now);
        }
        for companion in &companions {
            self.ctx.processing.polled(companion.poll_key.clone(), now);
        }
        let ids = batch
            .iter()
            .map(|(_, id)| id)
            .chain(companions.iter().map(|c| &c.task_id));
        let params = ListParams {
            filter: Some(Filter::is_in("id", ids)),
            limit: u32::try_from(batch.len() + companions.len()).ok(),
            ..Default::default()
        };
        match scope.handle.client.list_task_status(&params).await {
            Ok(tasks) => {
                let by_id: HashMap<&str, &TaskStatus> =
                    tasks.iter().map(|t| (t.id.as_str(), t)).collect();
                let theirs = tasks.iter().filter(|t| !own.contains(t.id.as_str()));
                board.answered(&scope.key, theirs, now);
                let mut missing = Vec::new();
                for (index, task_id) in batch {
                    match by_id.get(task_id.as_str()) {
                        Some(task) => {
                            record_task(&mut submissions[*index], task_id, task);
                            if submissions[*index].state != SubmissionState::Running {
                                board.settled(&scope.key, task_id, now);
                            }
                        }
                        None => missing.push(LoneTask {
                            index: *index,
                            at_once: false,
                        }),
                    }
                }
                missing
            }
            Err(e) if matches!(e.class(), ErrorClass::Transient | ErrorClass::RateLimited) => {
                // Shown where the user looks; asked again after the backoff.
                tracing::warn!(error = %e, tasks = batch.len(), "could not list task statuses");
                for (index, task_id) in batch {
                    submissions[*index].message =
                        Some(format!("could not read the status of task {task_id}: {e}"));
                }
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, tasks = batch.len(), "the task-status list was refused; asking each task on its own");
                batch
                    .iter()
                    .map(|(index, _)| LoneTask {
                        index: *index,
                        at_once: true,
                    })
                    .collect()
            }
        }
    }

    /// A task the list did not settle: asked about on its own when `at_once` or when it has
    /// stayed missing for [`rules::lone_poll_delay`]; otherwise taken as still running.
    /// Returns how long to wait when the poll budget is spent.
    async fn follow_alone(
        &self,
        scope: &PollScope<'_>,
        uid: &str,
        s: &mut Submission,
        at_once: bool,
    ) -> Option<Duration> {
        let task_id = s.task_id.clone()?;
        let age = age(s.submitted_at.as_ref());
        let delay = rules::lone_poll_delay(age);
        let key = format!("{}/alone", poll_key(uid, &task_id));
        let now = Instant::now();
        if !at_once && (age < delay || !self.ctx.processing.poll_due(&key, delay, now)) {
            let running = format!("task {task_id} running");
            if !s
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with(&running))
            {
                s.message = Some(format!(
                    "{running} (not in the tenant's list of completed tasks yet)"
                ));
            }
            return None;
        }
        if let Err(wait) = scope.take(self.ctx, 1, now) {
            return Some(wait);
        }
        self.ctx.processing.polled(key, now);
        let answer = scope.handle.client.get_task_status(&task_id).await;
        record_task_status(s, &task_id, answer);
        if s.state != SubmissionState::Running {
            let board = &self.ctx.processing.task_board;
            board.settled(&scope.key, &task_id, Instant::now());
        }
        None
    }
}

/// The task ids of the submissions still running.
fn running_tasks(submissions: &[Submission]) -> impl Iterator<Item = &str> {
    submissions
        .iter()
        .filter_map(|s| match (s.state, &s.task_id) {
            (SubmissionState::Running, Some(id)) => Some(id.as_str()),
            _ => None,
        })
}

/// The key of a task's poll times (tasks of different requests never share one).
fn poll_key(uid: &str, task_id: &str) -> String {
    format!("{uid}/{task_id}")
}

/// The sooner of `next` and `d`.
fn earliest(next: Option<Duration>, d: Duration) -> Option<Duration> {
    Some(next.map_or(d, |n| n.min(d)))
}

/// Records what the tenant said about the task of a running submission.
fn record_task_status(s: &mut Submission, task_id: &str, answer: Result<TaskStatus, IscError>) {
    match answer {
        Ok(task) => record_task(s, task_id, &task),
        Err(e) if e.is_not_found() => {
            s.state = SubmissionState::Submitted;
            s.finished_at = Some(now());
            s.message = Some(format!(
                "accepted as task {task_id}, but the tenant reports no status for it, so its outcome is not tracked"
            ));
        }
        Err(e) => {
            // Shown where the user looks; asked again after the backoff.
            tracing::warn!(error = %e, task = %task_id, "could not read a task status");
            s.message = Some(format!("could not read the status of task {task_id}: {e}"));
        }
    }
}

/// Records a task's progress, or its end.
pub(super) fn record_task(s: &mut Submission, task_id: &str, task: &TaskStatus) {
    let outcome = task.outcome();
    if outcome == TaskOutcome::Running {
        s.message = Some(match &task.progress {
            Some(p) => format!("task {task_id} running: {p}"),
            None => format!("task {task_id} running ({}%)", task.percent_complete),
        });
        return;
    }
    let completion = task.completion_status.clone().unwrap_or_default();
    s.tenant_status = Some(completion.clone());
    s.finished_at = Some(now());
    if outcome == TaskOutcome::Succeeded {
        // `taskId` and `tenantStatus` say it all; no message keeps hundreds of calls small.
        s.state = SubmissionState::Succeeded;
        s.message = None;
        return;
    }
    let details: Vec<String> = task
        .messages
        .iter()
        .filter_map(|m| m.localized_text.as_ref().map(|t| t.message.clone()))
        .take(TASK_MESSAGES_SHOWN)
        .collect();
    s.state = SubmissionState::Failed;
    s.message = Some(if details.is_empty() {
        format!("task {task_id} ended with {completion}")
    } else {
        format!(
            "task {task_id} ended with {completion}: {}",
            details.join("; ")
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running() -> Submission {
        let mut s = Submission::pending(Some(1), None);
        s.state = SubmissionState::Running;
        s.task_id = Some("t1".into());
        s
    }

    fn task(completion: Option<&str>) -> TaskStatus {
        TaskStatus {
            id: "t1".into(),
            completion_status: completion.map(str::to_string),
            percent_complete: 40,
            ..Default::default()
        }
    }

    #[test]
    fn a_running_task_only_updates_the_message() {
        let mut s = running();
        record_task(&mut s, "t1", &task(None));
        assert_eq!(s.state, SubmissionState::Running);
        assert_eq!(s.message.as_deref(), Some("task t1 running (40%)"));
        assert_eq!(s.finished_at, None);
    }

    #[test]
    fn a_finished_task_ends_the_submission() {
        let mut s = running();
        record_task(&mut s, "t1", &task(Some("WARNING")));
        assert_eq!(s.state, SubmissionState::Succeeded);
        assert_eq!(s.tenant_status.as_deref(), Some("WARNING"));
        assert!(s.finished_at.is_some());
        let mut s = running();
        record_task(&mut s, "t1", &task(Some("ERROR")));
        assert_eq!(s.state, SubmissionState::Failed);
        assert_eq!(s.message.as_deref(), Some("task t1 ended with ERROR"));
    }

    #[test]
    fn an_unknown_task_counts_as_submitted_and_other_errors_are_asked_again() {
        let not_found = IscError::Api {
            method: "GET".into(),
            path: "/v2024/task-status/t1".into(),
            status: 404,
            detail_code: None,
            tracking_id: None,
            message: "not found".into(),
        };
        let mut s = running();
        record_task_status(&mut s, "t1", Err(not_found));
        assert_eq!(s.state, SubmissionState::Submitted);
        let unavailable = IscError::Transport {
            method: "GET".into(),
            path: "/v2024/task-status/t1".into(),
            message: "timeout".into(),
            outcome_unknown: false,
        };
        let mut s = running();
        record_task_status(&mut s, "t1", Err(unavailable));
        assert_eq!(s.state, SubmissionState::Running);
        assert!(
            s.message
                .unwrap()
                .starts_with("could not read the status of task t1")
        );
    }
}
