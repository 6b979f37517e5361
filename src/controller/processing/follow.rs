//! Following: running tenant tasks are asked about with a backoff that grows with their age,
//! shared across reconciles so event-triggered reconciles do not poll more often, and paid from
//! the tenant's poll budget (polls beyond it wait).

use std::time::{Duration, Instant};

use kube::ResourceExt;

use crate::api::processing_request::{Submission, SubmissionState};
use crate::api::tenant::tenant_identity;
use crate::api::{ProcessingRequestStatus, Tenant};
use crate::controller::context::Context;
use crate::controller::status::now;
use crate::controller::tenant_pool::TenantHandle;
use isc_client::models::{TaskOutcome, TaskStatus};
use isc_client::{IscError, RateLimit};

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

impl Run<'_> {
    /// Asks the tenant about running tasks whose backoff has passed. Returns when to look again.
    pub(super) async fn follow_tasks(
        &self,
        scope: &PollScope<'_>,
        status: &mut ProcessingRequestStatus,
    ) -> Option<Duration> {
        let uid = self.obj.uid().unwrap_or_default();
        let mut next: Option<Duration> = None;
        for s in status
            .submissions
            .iter_mut()
            .filter(|s| s.state == SubmissionState::Running)
        {
            let Some(task_id) = s.task_id.clone() else {
                continue;
            };
            let delay = rules::poll_delay(age(s.submitted_at.as_ref()));
            next = Some(next.map_or(delay, |n| n.min(delay)));
            let key = format!("{uid}/{task_id}");
            let now = Instant::now();
            if !self.ctx.processing.poll_due(&key, delay, now) {
                continue;
            }
            if let Err(wait) = scope.take(self.ctx, 1, now) {
                next = next.map(|n| n.min(wait));
                continue;
            }
            self.ctx.processing.polled(key, now);
            let answer = scope.handle.client.get_task_status(&task_id).await;
            record_task_status(s, &task_id, answer);
        }
        next
    }
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
