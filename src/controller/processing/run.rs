//! The entry point and the state machine: fresh read, then resolve (once), submit, follow,
//! summarize, and finally the TTL.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use crate::api::processing_request::{Phase, ProcessingAction};
use crate::api::{ProcessingRequest, ProcessingRequestStatus, Tenant};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::pause::{WriteHold, writes_held};
use crate::controller::status::{
    FALSE, TRUE, condition, now, reason, remove_condition, set_condition,
};
use crate::controller::tenant_pool::TenantHandle;

use super::follow::PollScope;
use super::hold::HOLD_RECHECK;
use super::progress::{Trouble, set_kstatus};
use super::resolve::{Resolution, ResolveError};
use super::rules::{self, Target};
use super::summary::{self, Note};
use super::task_match::task_type;

/// How often a request waiting for its `IdentityProfile` to exist on the tenant looks again.
const PROFILE_WAIT: Duration = Duration::from_secs(5);
/// Shortest requeue, so a burst of zero waits cannot spin.
pub(super) const MIN_REQUEUE: Duration = Duration::from_millis(200);
/// The `action` of every Event of a request.
const EVENT_ACTION: &str = "Process";
/// Requeue of a running request that has nothing particular to wait for.
const RUNNING_REQUEUE: Duration = Duration::from_secs(1);

/// Controller entry point for one object: `object` only names the request (the controller
/// watches metadata only; tests pass the whole request), which is read fresh.
pub async fn reconcile<K: kube::Resource>(
    object: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<ProcessingRequest> = Api::namespaced(ctx.client.clone(), &namespace);
    // Never act on the watch cache: it may not show our own last status write yet.
    let Some(fresh) = api.get_opt(&object.name_any()).await? else {
        return Ok(Action::await_change());
    };
    if fresh.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let mut run = Run {
        resource_version: fresh.resource_version(),
        was_held: super::hold::suspended_reason(fresh.status.as_ref()),
        obj: fresh,
        api,
        ctx: &ctx,
        namespace,
        trouble: None,
        hold: None,
    };
    let result = run.reconcile().await;
    if result.is_ok() {
        ctx.forget_failures(&run.obj);
    }
    result
}

/// One reconcile of one request.
pub(super) struct Run<'a> {
    /// The request as last read or written (its status is what the API server holds).
    pub(super) obj: ProcessingRequest,
    /// The precondition of the next status write.
    pub(super) resource_version: Option<String>,
    pub(super) api: Api<ProcessingRequest>,
    pub(super) ctx: &'a Context,
    pub(super) namespace: String,
    /// What kept this reconcile from progressing, for the kstatus conditions.
    pub(super) trouble: Option<Trouble>,
    /// Why tenant writes are held for this request in this reconcile, if they are.
    pub(super) hold: Option<WriteHold>,
    /// The reason of `Suspended=True` in the status as read (so the hold's Event is sent once).
    pub(super) was_held: Option<String>,
}

impl Run<'_> {
    pub(super) fn name(&self) -> String {
        self.obj.name_any()
    }

    pub(super) fn action(&self) -> ProcessingAction {
        self.obj.spec.action
    }

    pub(super) fn generation(&self) -> Option<i64> {
        self.obj.metadata.generation
    }

    /// The ConfigMaps of the request's namespace (where its resolved ids are kept).
    pub(super) fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.ctx.client.clone(), &self.namespace)
    }

    pub(super) fn retry_unknown(&self) -> bool {
        self.obj.spec.retry_unknown_submission == Some(true)
    }

    pub(super) async fn event(&self, type_: EventType, reason: &str, note: &str) {
        self.ctx
            .publish(&self.obj, type_, reason, EVENT_ACTION, note)
            .await;
    }

    async fn publish(&self, note: Note) {
        self.event(note.type_, note.reason, &note.message).await;
    }

    async fn tenant(&self) -> Result<(Arc<Tenant>, Arc<TenantHandle>), ReconcileError> {
        self.ctx
            .tenants
            .resolve(
                &self.ctx.client,
                &self.namespace,
                &self.obj.spec.tenant_ref.name,
            )
            .await
    }

    async fn reconcile(&mut self) -> Result<Action, ReconcileError> {
        let mut status = self.obj.status.clone().unwrap_or_default();
        if status.phase.is_some_and(Phase::is_finished) {
            // Conditions of a request finished by an older operator are brought up to date.
            let mut updated = status.clone();
            set_kstatus(&mut updated, self.generation(), None, None);
            if updated != status {
                self.write(&mut updated).await?;
            }
            return self.after_finish(&status).await;
        }
        status.observed_generation = self.generation();
        if status.start_time.is_none() {
            status.start_time = Some(now());
            status.phase = Some(Phase::Pending);
        }
        if status.submissions.is_empty() {
            // Before anything else, and whatever holds writes: a run of this very request
            // that already finished is not repeated (no tenant call at all).
            match self.earlier_run().await {
                Ok(Some(earlier)) => return self.already_completed(status, &earlier).await,
                Ok(None) => {}
                Err(e) => return self.blocked(status, e).await,
            }
        }
        let (tenant, handle) = match self.tenant().await {
            Ok(found) => found,
            Err(e) => {
                self.hold = writes_held(&self.obj, None);
                return self.blocked(status, e).await;
            }
        };
        self.hold = writes_held(&self.obj, Some(tenant.as_ref()));
        if status.submissions.is_empty() && self.hold.is_some() {
            // Not resolved yet: no tenant call at all until the hold is lifted.
            return self.held(status).await;
        }
        if status.submissions.is_empty() {
            if let ControlFlow::Break(result) = self.start(&handle, &mut status).await {
                return result;
            }
        } else {
            self.recover_in_flight(&mut status).await;
        }
        self.advance(&tenant, &handle, status).await
    }

    /// Resolves and plans a request that has no submissions yet. Continues once the
    /// submissions are recorded; breaks when the request waits, is blocked or failed.
    async fn start(
        &mut self,
        handle: &TenantHandle,
        status: &mut ProcessingRequestStatus,
    ) -> ControlFlow<Result<Action, ReconcileError>> {
        let (target, count) = match self.resolve(handle).await {
            Ok(Resolution::Ready(target, count)) => (target, count),
            Ok(Resolution::Wait { reason, message }) => {
                return ControlFlow::Break(self.wait(status.clone(), reason, message).await);
            }
            Err(ResolveError::Invalid(e)) => {
                let failed = self.fail_unresolved(status.clone(), e.reason(), e.to_string());
                return ControlFlow::Break(failed.await);
            }
            Err(ResolveError::ProfileNotFound(message)) => {
                let failed =
                    self.fail_unresolved(status.clone(), reason::PROFILE_NOT_FOUND, message);
                return ControlFlow::Break(failed.await);
            }
            Err(ResolveError::Blocked(e)) => {
                return ControlFlow::Break(self.blocked(status.clone(), e).await);
            }
        };
        let submissions = match rules::plan_submissions(&target) {
            Ok(submissions) => submissions,
            Err(e) => {
                let failed = self.fail_unresolved(status.clone(), e.reason(), e.to_string());
                return ControlFlow::Break(failed.await);
            }
        };
        let message = summary::resolved_message(&target, count, submissions.len());
        status.submissions = submissions;
        status.identity_count = count;
        status.resolved_ids = match target {
            Target::Identities(resolved) => Some(resolved.store),
            Target::Profile(_) | Target::FullRefresh => None,
        };
        status.phase = Some(Phase::Running);
        let generation = self.generation();
        set_condition(
            &mut status.conditions,
            condition::RESOLVED,
            TRUE,
            reason::RESOLVED,
            &message,
            generation,
        );
        remove_condition(&mut status.conditions, condition::BLOCKED);
        if let Err(e) = self.write(status).await {
            return ControlFlow::Break(Err(e));
        }
        self.event(EventType::Normal, reason::RESOLVED, &message)
            .await;
        ControlFlow::Continue(())
    }

    /// After a restart: calls found `Submitting` are looked for on the tenant's task lists (or
    /// unknown when their action creates no task), or pending again with the opt-in.
    async fn recover_in_flight(&self, status: &mut ProcessingRequestStatus) {
        let retry = self.retry_unknown();
        let locatable = task_type(self.action()).is_some();
        let found = rules::recover_in_flight(&mut status.submissions, retry, locatable);
        if found > 0 {
            let note = summary::recovery_note(found, retry);
            self.event(
                EventType::Warning,
                reason::SUBMISSION_OUTCOME_UNKNOWN,
                &note,
            )
            .await;
        }
    }

    /// Sends what is pending, looks for the tasks of calls with an unknown outcome, follows
    /// what runs, and writes what it all adds up to.
    async fn advance(
        &mut self,
        tenant: &Tenant,
        handle: &TenantHandle,
        mut status: ProcessingRequestStatus,
    ) -> Result<Action, ReconcileError> {
        rules::skip_after_failure(&mut status.submissions);
        let mut wait = self.submit_pending(handle, &mut status).await?;
        let scope = PollScope::new(tenant, handle);
        if let Some(d) = self.locate_tasks(&scope, &mut status).await {
            wait = Some(wait.map_or(d, |w| w.min(d)));
        }
        if let Some(d) = self.follow_tasks(&scope, &mut status).await {
            wait = Some(wait.map_or(d, |w| w.min(d)));
        }
        rules::skip_after_failure(&mut status.submissions);
        let was_finished = self
            .obj
            .status
            .as_ref()
            .and_then(|s| s.phase)
            .is_some_and(Phase::is_finished);
        if let Some(note) = summary::summarize(&mut status, was_finished, self.generation()) {
            self.publish(note).await;
        }
        let finished = status.phase.is_some_and(Phase::is_finished);
        if finished && !was_finished {
            // Recorded before the status that lets the TTL delete the request.
            self.record_completion(&status).await;
        }
        self.write(&mut status).await?;
        if finished {
            return self.after_finish(&status).await;
        }
        if self.hold.is_some() {
            self.announce_hold().await;
            wait = Some(wait.map_or(HOLD_RECHECK, |w| w.min(HOLD_RECHECK)));
        }
        Ok(Action::requeue(
            wait.unwrap_or(RUNNING_REQUEUE).max(MIN_REQUEUE),
        ))
    }

    /// The target is not there yet (e.g. the referenced profile is not on the tenant): the
    /// request stays Pending with a `Blocked` condition and looks again soon.
    async fn wait(
        &mut self,
        mut status: ProcessingRequestStatus,
        reason: &'static str,
        message: String,
    ) -> Result<Action, ReconcileError> {
        set_condition(
            &mut status.conditions,
            condition::BLOCKED,
            TRUE,
            reason,
            &message,
            self.generation(),
        );
        if self.obj.status.as_ref() != Some(&status) {
            self.event(EventType::Normal, reason, &message).await;
        }
        self.trouble = Some(Trouble::waiting(reason, message));
        self.write(&mut status).await?;
        Ok(Action::requeue(PROFILE_WAIT))
    }

    /// Records a problem that keeps the request from progressing (it stays Pending or
    /// Running) and hands the error to the controller's retry policy.
    async fn blocked(
        &mut self,
        mut status: ProcessingRequestStatus,
        error: ReconcileError,
    ) -> Result<Action, ReconcileError> {
        set_condition(
            &mut status.conditions,
            condition::BLOCKED,
            TRUE,
            error.reason(),
            error.message(),
            self.generation(),
        );
        self.event(EventType::Warning, error.reason(), &error.message())
            .await;
        self.trouble = Some(Trouble::from(&error));
        if let Err(e) = self.write(&mut status).await {
            tracing::warn!(error = %e, "could not record the blocking error in status");
        }
        Err(error)
    }

    /// The request cannot go ahead and nothing was sent.
    async fn fail_unresolved(
        &mut self,
        mut status: ProcessingRequestStatus,
        reason: &'static str,
        message: String,
    ) -> Result<Action, ReconcileError> {
        let generation = self.generation();
        status.phase = Some(Phase::Failed);
        status.completion_time = Some(now());
        set_condition(
            &mut status.conditions,
            condition::RESOLVED,
            FALSE,
            reason,
            &message,
            generation,
        );
        summary::mark_failed(&mut status, reason, &message, generation);
        remove_condition(&mut status.conditions, condition::BLOCKED);
        self.event(EventType::Warning, reason, &message).await;
        self.record_completion(&status).await;
        self.write(&mut status).await?;
        self.after_finish(&status).await
    }
}
