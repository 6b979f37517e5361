//! Submission: each pending call is recorded as `Submitting` (a guarded status write), sent
//! once, and its outcome recorded. Nothing is sent unless the `Submitting` write succeeded.

use std::time::{Duration, Instant};

use kube::runtime::events::EventType;
use serde_json::Value;

use crate::api::ProcessingRequestStatus;
use crate::api::processing_request::{ProcessingAction, Submission, SubmissionState};
use crate::controller::error::ReconcileError;
use crate::controller::status::{now, reason};
use crate::controller::tenant_pool::TenantHandle;
use isc_client::error::SubmissionOutcome;
use isc_client::models::IdentitySyncJob;
use isc_client::{IscError, TenantClient};

use super::ids::{IdListError, IdListReader};
use super::progress::Trouble;
use super::rules;
use super::run::Run;
use super::task_match::task_type;

/// What became of one tenant call.
#[derive(Debug)]
pub(super) enum CallOutcome {
    /// The submission was updated (accepted, rejected, or unknown).
    Recorded,
    /// Definitely not sent (rate limited, no connection, token failure): the submission is
    /// `Pending` again and is sent on a later reconcile.
    NotSent(ReconcileError),
    /// The outcome is unknown and the manifest allows sending again: the submission is
    /// `Pending` again (which may duplicate the work on the tenant).
    SendAgain(ReconcileError),
}

/// Whether a call of the request failed or has an outcome not known yet (nothing more is
/// sent until it is known).
fn any_failed(submissions: &[Submission]) -> bool {
    submissions.iter().any(|s| {
        matches!(
            s.state,
            SubmissionState::Failed | SubmissionState::Unknown | SubmissionState::Locating
        )
    })
}

impl Run<'_> {
    /// Sends every pending call in order, each recorded as `Submitting` first. Returns how long
    /// to wait for calls the sync gate held back.
    pub(super) async fn submit_pending(
        &mut self,
        handle: &TenantHandle,
        status: &mut ProcessingRequestStatus,
    ) -> Result<Option<Duration>, ReconcileError> {
        let gate = &self.ctx.processing.sync_gate;
        let tenant_key = handle.client.base_url().to_string();
        let mut reader = status
            .resolved_ids
            .clone()
            .map(|r| IdListReader::new(self.config_maps(), r));
        let mut wait: Option<Duration> = None;
        if self.hold.is_some() {
            // Held by a suspend or pause: nothing is sent (following and locating go on).
            return Ok(None);
        }
        let mut sent = 0usize;
        for i in 0..status.submissions.len() {
            if status.submissions[i].state != SubmissionState::Pending {
                continue;
            }
            if any_failed(&status.submissions) {
                break;
            }
            let ids = match call_ids(reader.as_mut(), i, status.submissions[i].identity_count).await
            {
                Ok(ids) => ids,
                Err(IdListError::Kube(e)) => return Err(e),
                Err(IdListError::Damaged(why)) => {
                    let s = &mut status.submissions[i];
                    s.state = SubmissionState::Failed;
                    s.message = Some(IdListError::Damaged(why).to_string());
                    s.finished_at = Some(now());
                    continue;
                }
            };
            let sync_id = (self.action() == ProcessingAction::SynchronizeAttributes)
                .then(|| ids.first().cloned())
                .flatten();
            if let Some(id) = &sync_id
                && let Err(d) = gate.try_claim(&tenant_key, id, Instant::now())
            {
                wait = Some(wait.map_or(d, |w| w.min(d)));
                continue;
            }
            let s = &mut status.submissions[i];
            s.state = SubmissionState::Submitting;
            s.submitted_at = Some(now());
            s.message = None;
            // Nothing is sent unless this write succeeded.
            self.write(status).await?;
            let outcome = self.call(handle, &mut status.submissions[i], &ids).await;
            if let Some(id) = &sync_id {
                gate.release(&tenant_key, id, Instant::now());
            }
            match outcome {
                CallOutcome::Recorded => sent += 1,
                CallOutcome::NotSent(e) | CallOutcome::SendAgain(e) => {
                    self.trouble = Some(Trouble::from(&e));
                    self.write(status).await?;
                    return Err(e);
                }
            }
        }
        if sent > 0 {
            let total = status.submissions.len();
            let so_far = status
                .submissions
                .iter()
                .filter(|s| s.submitted_at.is_some())
                .count();
            let note =
                format!("sent {sent} call(s) to the tenant ({so_far} of {total} sent so far)");
            self.event(EventType::Normal, reason::SUBMITTED, &note)
                .await;
        }
        Ok(wait)
    }

    /// Makes the tenant call of one submission (exactly one HTTP call to the tenant; the
    /// client never resends it) and records its outcome in it.
    async fn call(&self, handle: &TenantHandle, s: &mut Submission, ids: &[String]) -> CallOutcome {
        let client = &handle.client;
        let result = match self.action() {
            ProcessingAction::ProcessIdentities => client.process_identities(ids).await.map(|r| {
                record_accepted(s, r.id, "accepted; the tenant returned no task to follow")
            }),
            ProcessingAction::ProcessProfile => {
                let id = s.profile_id.clone().unwrap_or_default();
                client
                    .process_identity_profile(&id)
                    .await
                    .map(|()| record_profile_accepted(s))
            }
            ProcessingAction::SynchronizeAttributes => {
                let id = ids.first().cloned().unwrap_or_default();
                client
                    .synchronize_identity_attributes(&id)
                    .await
                    .map(|job| record_sync_job(s, job))
            }
            ProcessingAction::LegacyRefresh => {
                self.send_legacy_refresh(client, ids).await.map(|body| {
                    let task = legacy_task_id(&body);
                    record_accepted(
                        s,
                        task,
                        "accepted; the legacy endpoint returned no task to follow",
                    )
                })
            }
        };
        match result {
            Ok(()) => {
                if s.state.is_terminal() {
                    s.finished_at = Some(now());
                }
                CallOutcome::Recorded
            }
            Err(error) => {
                let locatable = task_type(self.action()).is_some();
                record_failure(s, error, self.retry_unknown(), locatable)
            }
        }
    }

    /// The legacy refresh: with a filter built from the submission's verified ids, or (only
    /// when the manifest says `fullRefresh: true`) without one.
    async fn send_legacy_refresh(
        &self,
        client: &TenantClient,
        ids: &[String],
    ) -> Result<Value, IscError> {
        let args = self.obj.spec.refresh_args.unwrap_or_default().into();
        if ids.is_empty() && self.obj.spec.full_refresh == Some(true) {
            return client.legacy_full_refresh(args).await;
        }
        let filter =
            rules::legacy_filter(ids).map_err(|e| IscError::InvalidRequest(e.to_string()))?;
        client.legacy_refresh_identities(&filter, args).await
    }
}

/// The ids call `index` names (none for a profile or a full refresh), read back from the
/// request's ConfigMaps.
async fn call_ids(
    reader: Option<&mut IdListReader>,
    index: usize,
    count: Option<u32>,
) -> Result<Vec<String>, IdListError> {
    let Some(count) = count else {
        return Ok(Vec::new());
    };
    match reader {
        Some(reader) => reader.call_ids(index, count).await,
        None => Err(IdListError::Damaged("status.resolvedIds is missing".into())),
    }
}

/// The task id in a legacy refresh answer, if it is a plain id.
fn legacy_task_id(body: &Value) -> Option<String> {
    body.get("id")
        .and_then(Value::as_str)
        .filter(|id| rules::is_valid_id(id))
        .map(str::to_string)
}

/// An accepted call: followed through its task, or done when the tenant gave none.
fn record_accepted(s: &mut Submission, task_id: Option<String>, without_task: &str) {
    match task_id {
        Some(id) => {
            s.state = SubmissionState::Running;
            s.message = Some(format!("accepted as task {id}"));
            s.task_id = Some(id);
        }
        None => {
            s.state = SubmissionState::Submitted;
            s.message = Some(without_task.to_string());
        }
    }
}

/// An accepted profile processing: the tenant returns no task, so it is done once submitted.
fn record_profile_accepted(s: &mut Submission) {
    s.state = SubmissionState::Submitted;
    s.message = Some(
        "accepted (HTTP 202); the tenant returns no task for profile processing, so the request succeeds once submitted"
            .into(),
    );
}

/// A started attribute sync: done (or failed) as the tenant reports it; there is no way to
/// follow a sync job.
fn record_sync_job(s: &mut Submission, job: IdentitySyncJob) {
    let failed = job.status.eq_ignore_ascii_case("ERROR");
    s.state = if failed {
        SubmissionState::Failed
    } else {
        SubmissionState::Submitted
    };
    s.message = Some(format!(
        "sync job {} is {}; the tenant offers no endpoint to follow sync jobs",
        job.id, job.status
    ));
    s.job_id = Some(job.id);
    s.tenant_status = Some(job.status);
}

/// Records a failed call by what the tenant did with it (the client's classification). An
/// unknown outcome of a call that creates a task (`locatable`) is looked for on the tenant's
/// task lists next.
fn record_failure(
    s: &mut Submission,
    error: IscError,
    retry_unknown: bool,
    locatable: bool,
) -> CallOutcome {
    match error.submission_outcome() {
        SubmissionOutcome::NotSent => {
            let error = ReconcileError::from(error);
            s.state = SubmissionState::Pending;
            s.submitted_at = None;
            s.message = Some(format!("not sent yet: {}", error.message()));
            CallOutcome::NotSent(error)
        }
        SubmissionOutcome::Unknown if retry_unknown => {
            s.state = SubmissionState::Pending;
            s.submitted_at = None;
            s.finished_at = None;
            s.message = Some(format!(
                "outcome unknown ({error}); sending again because retryUnknownSubmission is true"
            ));
            CallOutcome::SendAgain(error.into())
        }
        SubmissionOutcome::Unknown if locatable => {
            s.state = SubmissionState::Locating;
            s.message = Some(format!(
                "the response was lost ({error}); looking for the call's task on the tenant's task lists, it is not sent again"
            ));
            CallOutcome::Recorded
        }
        SubmissionOutcome::Unknown => {
            s.state = SubmissionState::Unknown;
            s.message = Some(format!(
                "the tenant may or may not have processed this call: {error}"
            ));
            s.finished_at = Some(now());
            CallOutcome::Recorded
        }
        SubmissionOutcome::AcceptedUnreadable => {
            s.state = SubmissionState::Submitted;
            s.message = Some(format!(
                "accepted, but the response could not be read: {error}"
            ));
            s.finished_at = Some(now());
            CallOutcome::Recorded
        }
        SubmissionOutcome::Rejected => {
            s.state = SubmissionState::Failed;
            s.message = Some(format!("rejected: {error}"));
            s.finished_at = Some(now());
            CallOutcome::Recorded
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn submitting() -> Submission {
        let mut s = Submission::pending(Some(1), None);
        s.state = SubmissionState::Submitting;
        s.submitted_at = Some(now());
        s
    }

    fn api(status: u16) -> IscError {
        IscError::Api {
            method: "POST".into(),
            path: "/v2024/identities/process".into(),
            status,
            detail_code: None,
            tracking_id: None,
            message: "boom".into(),
        }
    }

    fn transport(outcome_unknown: bool) -> IscError {
        IscError::Transport {
            method: "POST".into(),
            path: "/v2024/identities/process".into(),
            message: "connection reset".into(),
            outcome_unknown,
        }
    }

    #[test]
    fn calls_the_tenant_did_not_act_on_are_pending_again() {
        let rate_limited = IscError::RateLimited {
            method: "POST".into(),
            path: "/p".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        for error in [api(429), api(401), transport(false), rate_limited] {
            let mut s = submitting();
            let outcome = record_failure(&mut s, error, false, false);
            assert!(matches!(outcome, CallOutcome::NotSent(_)), "{outcome:?}");
            assert_eq!(s.state, SubmissionState::Pending);
            assert_eq!(s.submitted_at, None);
            assert!(s.message.unwrap().starts_with("not sent yet: "));
        }
    }

    #[test]
    fn a_lost_answer_is_unknown_and_not_sent_again_unless_opted_in() {
        for error in [api(500), api(503), transport(true)] {
            let mut s = submitting();
            assert!(matches!(
                record_failure(&mut s, error, false, false),
                CallOutcome::Recorded
            ));
            assert_eq!(s.state, SubmissionState::Unknown);
            assert!(s.finished_at.is_some());
        }
        let mut s = submitting();
        assert!(matches!(
            record_failure(&mut s, transport(true), false, true),
            CallOutcome::Recorded
        ));
        assert_eq!(s.state, SubmissionState::Locating, "its task is looked for");
        assert_eq!(s.finished_at, None);
        let mut s = submitting();
        let outcome = record_failure(&mut s, api(502), true, true);
        assert!(matches!(outcome, CallOutcome::SendAgain(_)), "{outcome:?}");
        assert_eq!(s.state, SubmissionState::Pending);
        assert_eq!((s.submitted_at, s.finished_at), (None, None));
    }

    #[test]
    fn refusals_fail_and_unreadable_acceptances_count_as_submitted() {
        for error in [
            api(400),
            api(403),
            api(404),
            IscError::InvalidRequest("x".into()),
        ] {
            let mut s = submitting();
            assert!(matches!(
                record_failure(&mut s, error, true, true),
                CallOutcome::Recorded
            ));
            assert_eq!(s.state, SubmissionState::Failed);
            assert!(s.message.unwrap().starts_with("rejected: "));
        }
        let decode = IscError::Decode {
            method: "POST".into(),
            path: "/p".into(),
            message: "expected an object".into(),
        };
        let mut s = submitting();
        assert!(matches!(
            record_failure(&mut s, decode, false, true),
            CallOutcome::Recorded
        ));
        assert_eq!(s.state, SubmissionState::Submitted);
    }

    #[test]
    fn accepted_calls_are_followed_only_with_a_plain_task_id() {
        let mut s = submitting();
        record_accepted(&mut s, Some("t1".into()), "no task");
        assert_eq!(s.state, SubmissionState::Running);
        assert_eq!(s.task_id.as_deref(), Some("t1"));
        let mut s = submitting();
        record_accepted(&mut s, None, "no task");
        assert_eq!(s.state, SubmissionState::Submitted);
        assert_eq!(s.message.as_deref(), Some("no task"));
        assert_eq!(
            legacy_task_id(&serde_json::json!({"id": "abc-1"})).as_deref(),
            Some("abc-1")
        );
        assert_eq!(legacy_task_id(&serde_json::json!({"id": "a/b"})), None);
        assert_eq!(legacy_task_id(&serde_json::json!({})), None);
    }

    #[test]
    fn a_sync_job_in_error_fails_the_call() {
        let job = |status: &str| IdentitySyncJob {
            id: "j1".into(),
            status: status.into(),
            payload: Default::default(),
        };
        let mut s = submitting();
        record_sync_job(&mut s, job("QUEUED"));
        assert_eq!(s.state, SubmissionState::Submitted);
        assert_eq!(s.job_id.as_deref(), Some("j1"));
        let mut s = submitting();
        record_sync_job(&mut s, job("error"));
        assert_eq!(s.state, SubmissionState::Failed);
        assert_eq!(s.tenant_status.as_deref(), Some("error"));
    }
}
