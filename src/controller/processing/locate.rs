//! Locating: a call whose outcome is unknown (a lost response, or a `Submitting` entry left by
//! a stopped operator) is looked for on the tenant's task lists instead of being sent again.
//! Each lookup reads one page of the completed list (`GET /v2024/task-status`, narrowed by
//! type, newest first) and one page of the running list (`/task-status/pending-tasks`); a
//! submission gets at most [`MAX_OUTCOME_LOOKUPS`] lookups, spaced and paid from the poll
//! budget. Exactly one candidate is followed to its real outcome; none or several leave the
//! outcome unknown, with what was found in the submission's message.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::events::EventType;

use crate::api::ProcessingRequestStatus;
use crate::api::processing_request::{Submission, SubmissionState};
use crate::controller::status::{now, reason};
use isc_client::models::TaskOutcome;
use isc_client::{ErrorClass, Filter, IscError, ListParams};

use super::follow::{PollScope, record_task};
use super::run::Run;
use super::task_match::{
    TaskMatch, TaskPage, TaskQuery, describe_candidates, reaches_back, task_type,
};

/// Lookups per submission before its outcome stays unknown.
pub const MAX_OUTCOME_LOOKUPS: u32 = 3;
/// Least time between two lookups of one submission (a tenant's lists may lag a little).
pub const LOOKUP_SPACING: Duration = Duration::from_secs(2);
/// Task-list calls of one lookup (completed and pending), paid from the poll budget.
const CALLS_PER_LOOKUP: u32 = 2;

impl Run<'_> {
    /// Looks for the tasks of the submissions whose outcome is unknown. Returns when to look
    /// again.
    pub(super) async fn locate_tasks(
        &self,
        scope: &PollScope<'_>,
        status: &mut ProcessingRequestStatus,
    ) -> Option<Duration> {
        let locating: Vec<usize> = (0..status.submissions.len())
            .filter(|i| status.submissions[*i].state == SubmissionState::Locating)
            .collect();
        if locating.is_empty() {
            return None;
        }
        let Some(task_type) = task_type(self.action()) else {
            for i in locating {
                give_up(
                    &mut status.submissions[i],
                    "this action creates no task to look for",
                );
            }
            return None;
        };
        let launcher = scope.handle.client.client_id().to_string();
        let known: HashSet<String> = status
            .submissions
            .iter()
            .filter_map(|s| s.task_id.clone())
            .collect();
        let uid = self.obj.uid().unwrap_or_default();
        let mut next: Option<Duration> = None;
        for i in locating {
            let s = &mut status.submissions[i];
            let Some(submitted_at) = s.submitted_at.as_ref().map(|t| t.0) else {
                give_up(s, "no submission time was recorded to search around");
                continue;
            };
            let key = format!("{uid}/locate/{i}");
            let at = Instant::now();
            let wait = if !self.ctx.processing.poll_due(&key, LOOKUP_SPACING, at) {
                Some(LOOKUP_SPACING)
            } else {
                scope.take(self.ctx, CALLS_PER_LOOKUP, at).err()
            };
            if let Some(wait) = wait {
                next = Some(next.map_or(wait, |n| n.min(wait)));
                continue;
            }
            self.ctx.processing.polled(key, at);
            let query = TaskQuery {
                task_type,
                launcher: launcher.clone(),
                submitted_at,
                known_task_ids: known.clone(),
                identity_count: s.identity_count.map(|n| n as usize),
            };
            let answer = search(scope, &query).await;
            if let Some(found) = record_lookup(s, answer) {
                let note = format!("call {} of the request: {found}", i + 1);
                self.event(EventType::Normal, reason::TASK_FOUND, &note)
                    .await;
            }
            if s.state == SubmissionState::Locating {
                next = Some(next.map_or(LOOKUP_SPACING, |n| n.min(LOOKUP_SPACING)));
            }
        }
        next
    }
}

/// One lookup: a page of each list, matched against the query.
async fn search(scope: &PollScope<'_>, query: &TaskQuery) -> Result<TaskMatch, IscError> {
    let limit = isc_client::api::MAX_PAGE_SIZE;
    let client = &scope.handle.client;
    let completed = client
        .list_task_status(&ListParams {
            filter: Some(Filter::eq("type", query.task_type)),
            sorters: Some("-created".to_string()),
            limit: Some(limit),
            ..Default::default()
        })
        .await?;
    let pending = client
        .list_pending_tasks(&ListParams {
            limit: Some(limit),
            ..Default::default()
        })
        .await?;
    let (start, _) = query.window();
    let completed = TaskPage {
        complete: reaches_back(&completed, limit as usize, start),
        tasks: completed,
    };
    let pending = TaskPage {
        complete: pending.len() < limit as usize,
        tasks: pending,
    };
    Ok(query.match_tasks(&completed, &pending))
}

/// Records what one lookup found. Returns the Event note when the call's task was found.
fn record_lookup(s: &mut Submission, answer: Result<TaskMatch, IscError>) -> Option<String> {
    let lookups = s.outcome_lookups.unwrap_or(0).saturating_add(1);
    s.outcome_lookups = Some(lookups);
    let last = lookups >= MAX_OUTCOME_LOOKUPS;
    match answer {
        Ok(TaskMatch::One(task)) => {
            let id = task.id.clone();
            s.task_id = Some(id.clone());
            let found = format!(
                "the response was lost; found its task {id} on the tenant's task lists (the only task of this operator's client created around the call)"
            );
            if task.outcome() == TaskOutcome::Running {
                s.state = SubmissionState::Running;
                s.message = Some(format!("{found}; following it"));
            } else {
                record_task(s, &id, &task);
                s.message = Some(match s.message.take() {
                    Some(ended) => format!("{found}: {ended}"),
                    None => format!(
                        "{found}: it ended with {}",
                        task.completion_status.clone().unwrap_or_default()
                    ),
                });
            }
            Some(found)
        }
        Ok(TaskMatch::Several(ids)) => {
            let why = format!(
                "the tenant's task lists show {} created by this operator's client around the call, so which one is the call's is not known",
                describe_candidates(&ids)
            );
            give_up(s, &why);
            None
        }
        Ok(TaskMatch::None) if last => {
            give_up(
                s,
                &format!(
                    "no task of this operator's client created around the call was found in {lookups} lookups (0 candidate tasks); the tenant may not have received it"
                ),
            );
            None
        }
        Ok(TaskMatch::Incomplete) if last => {
            give_up(
                s,
                &format!(
                    "no task was found in {lookups} lookups, and the task lists hold more tasks than one page, so it may exist"
                ),
            );
            None
        }
        Ok(TaskMatch::None | TaskMatch::Incomplete) => {
            s.message = Some(format!(
                "the outcome is unknown; lookup {lookups} of {MAX_OUTCOME_LOOKUPS} found no task of this call yet (0 candidate tasks); looking again, the call is not sent again"
            ));
            None
        }
        Err(e) if last || !matches!(e.class(), ErrorClass::Transient | ErrorClass::RateLimited) => {
            give_up(
                s,
                &format!("the tenant's task lists could not be searched: {e}"),
            );
            None
        }
        Err(e) => {
            s.message = Some(format!(
                "the outcome is unknown; lookup {lookups} of {MAX_OUTCOME_LOOKUPS} failed ({e}); looking again, the call is not sent again"
            ));
            None
        }
    }
}

/// The outcome stays unknown: the submission ends `Unknown` with the reason.
fn give_up(s: &mut Submission, why: &str) {
    s.state = SubmissionState::Unknown;
    s.finished_at = Some(now());
    s.message = Some(format!(
        "the tenant may or may not have processed this call, and it is not sent again: {why}"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use isc_client::models::TaskStatus;

    fn locating() -> Submission {
        let mut s = Submission::pending(Some(1), None);
        s.state = SubmissionState::Locating;
        s.submitted_at = Some(now());
        s
    }

    fn task(completion: Option<&str>) -> TaskStatus {
        TaskStatus {
            id: "t9".into(),
            completion_status: completion.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn a_found_task_is_followed_or_ends_the_submission() {
        let mut s = locating();
        let note = record_lookup(&mut s, Ok(TaskMatch::One(Box::new(task(None)))));
        assert!(note.unwrap().contains("t9"));
        assert_eq!(s.state, SubmissionState::Running);
        assert_eq!(s.task_id.as_deref(), Some("t9"));
        let mut s = locating();
        record_lookup(&mut s, Ok(TaskMatch::One(Box::new(task(Some("SUCCESS"))))));
        assert_eq!(s.state, SubmissionState::Succeeded);
        let mut s = locating();
        record_lookup(&mut s, Ok(TaskMatch::One(Box::new(task(Some("ERROR"))))));
        assert_eq!(s.state, SubmissionState::Failed);
        assert!(s.message.unwrap().contains("task t9 ended with ERROR"));
    }

    #[test]
    fn several_candidates_stay_unknown_and_are_named() {
        let mut s = locating();
        let ids = vec!["t1".to_string(), "t2".to_string()];
        assert_eq!(record_lookup(&mut s, Ok(TaskMatch::Several(ids))), None);
        assert_eq!(s.state, SubmissionState::Unknown);
        assert!(s.finished_at.is_some());
        let message = s.message.unwrap();
        assert!(message.contains("2 candidate tasks (t1, t2)"), "{message}");
    }

    #[test]
    fn no_candidate_is_looked_for_a_bounded_number_of_times() {
        let mut s = locating();
        for lookup in 1..MAX_OUTCOME_LOOKUPS {
            record_lookup(&mut s, Ok(TaskMatch::None));
            assert_eq!(s.state, SubmissionState::Locating, "lookup {lookup}");
        }
        record_lookup(&mut s, Ok(TaskMatch::Incomplete));
        assert_eq!(s.state, SubmissionState::Unknown);
        assert_eq!(s.outcome_lookups, Some(MAX_OUTCOME_LOOKUPS));
    }

    #[test]
    fn a_transient_error_counts_as_a_lookup_and_a_refusal_ends_them() {
        let unavailable = IscError::Transport {
            method: "GET".into(),
            path: "/v2024/task-status".into(),
            message: "timed out".into(),
            outcome_unknown: false,
        };
        let mut s = locating();
        record_lookup(&mut s, Err(unavailable));
        assert_eq!(s.state, SubmissionState::Locating);
        assert_eq!(s.outcome_lookups, Some(1));
        let forbidden = IscError::Api {
            method: "GET".into(),
            path: "/v2024/task-status".into(),
            status: 403,
            detail_code: None,
            tracking_id: None,
            message: "no scope".into(),
        };
        record_lookup(&mut s, Err(forbidden));
        assert_eq!(s.state, SubmissionState::Unknown);
        assert!(s.message.unwrap().contains("could not be searched"));
    }
}
