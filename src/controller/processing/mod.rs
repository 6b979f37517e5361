//! The `ProcessingRequest` reconciler: resolve → plan → submit (at most once) → follow → TTL.
//!
//! At-most-once rests on two rules. Every reconcile starts from a fresh read of the object
//! (the watch cache may lag behind the operator's own status writes), and every tenant call is
//! preceded by a status write that marks it `Submitting`, made with the object's
//! `resourceVersion` as a precondition. A `Submitting` entry found at the start of a reconcile
//! therefore belongs to a previous process that stopped mid-call: its outcome is unknown, and
//! it is not sent again unless the manifest opts in.

pub mod gate;
pub mod rules;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::api::processing_request::{Phase, ProcessingAction, Submission, SubmissionState};
use crate::api::{IdentityProfile, ProcessingRequest, ProcessingRequestStatus};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::status::{FALSE, TRUE, now as status_now, remove_condition, set_condition};
use crate::controller::tenant_pool::TenantHandle;
use gate::SyncGate;
use isc_client::models::TaskOutcome;
use isc_client::{Filter, IdentityDefaultFilter, IscError, ListParams};
use rules::{PlanError, Target};

/// How often a request waiting for its `IdentityProfile` to exist on the tenant looks again.
const PROFILE_WAIT: Duration = Duration::from_secs(5);
/// Shortest requeue, so a burst of zero waits cannot spin.
const MIN_REQUEUE: Duration = Duration::from_millis(200);

/// Process-wide state of the processing controller.
#[derive(Debug, Default)]
pub struct ProcessingState {
    /// Spaces attribute syncs of one identity across all requests.
    pub sync_gate: SyncGate,
    /// When each followed task was last asked about, so event-triggered reconciles do not
    /// poll the tenant more often than the backoff allows.
    polls: Mutex<HashMap<String, Instant>>,
}

impl ProcessingState {
    fn poll_due(&self, key: &str, delay: Duration, now: Instant) -> bool {
        let polls = self.polls.lock().expect("polls lock");
        polls
            .get(key)
            .is_none_or(|last| now.saturating_duration_since(*last) >= delay)
    }

    fn polled(&self, key: String, now: Instant) {
        let mut polls = self.polls.lock().expect("polls lock");
        polls.retain(|_, t| now.saturating_duration_since(*t) < Duration::from_secs(600));
        polls.insert(key, now);
    }
}

/// Controller entry point for one object.
pub async fn reconcile(
    object: Arc<ProcessingRequest>,
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
        obj: fresh,
        api,
        ctx: &ctx,
        namespace,
    };
    let result = run.reconcile().await;
    if result.is_ok() {
        ctx.forget_failures(&run.obj);
    }
    result
}

/// One reconcile of one request.
struct Run<'a> {
    obj: ProcessingRequest,
    resource_version: Option<String>,
    api: Api<ProcessingRequest>,
    ctx: &'a Context,
    namespace: String,
}

/// What resolving the request against the tenant gave.
enum Resolution {
    /// Ready to plan: the target and the identity count to show.
    Ready(Target, Option<i64>),
    /// Not yet possible (e.g. the referenced profile is not on the tenant yet).
    Wait(&'static str, String),
}

/// Why resolving stopped.
enum ResolveError {
    /// The request cannot succeed: it fails, nothing is sent.
    Plan(PlanError),
    /// The referenced profile does not exist on the tenant.
    ProfileNotFound(String),
    /// Something to retry (tenant or Kubernetes unavailable, rate limited, ...).
    Retry(ReconcileError),
}

impl From<ReconcileError> for ResolveError {
    fn from(e: ReconcileError) -> Self {
        ResolveError::Retry(e)
    }
}

impl From<IscError> for ResolveError {
    fn from(e: IscError) -> Self {
        ResolveError::Retry(e.into())
    }
}

/// What became of one tenant call.
enum CallOutcome {
    /// The submission was updated (accepted, rejected, or unknown).
    Recorded,
    /// Definitely not sent (rate limited, no connection, token failure): try again later.
    NotSent(ReconcileError),
    /// The outcome is unknown and the manifest allows sending again (already recorded as
    /// `Pending` in the submission).
    Retry(ReconcileError),
}

fn age(t: Option<&Time>) -> Duration {
    t.map(|t| {
        let elapsed = k8s_openapi::jiff::Timestamp::now().duration_since(t.0);
        Duration::try_from(elapsed).unwrap_or_default()
    })
    .unwrap_or_default()
}

fn identity_count(n: usize) -> Option<i64> {
    i64::try_from(n).ok()
}

impl Run<'_> {
    fn name(&self) -> String {
        self.obj.name_any()
    }

    fn action(&self) -> ProcessingAction {
        self.obj.spec.action
    }

    async fn event(&self, type_: EventType, reason: &str, note: &str) {
        self.ctx
            .publish(&self.obj, type_, reason, "Process", note)
            .await;
    }

    /// Writes the whole status with the last seen `resourceVersion` as precondition, so two
    /// writers (say, an old and a new operator pod) cannot both claim a submission. A conflict
    /// caused by a metadata edit (labels, annotations) is retried as long as the status is
    /// still the one this run wrote last; a status changed by someone else is an error.
    async fn write(&mut self, status: &ProcessingRequestStatus) -> Result<(), ReconcileError> {
        let mut attempts = 0;
        loop {
            let patch = json!({
                "metadata": { "resourceVersion": self.resource_version },
                "status": status,
            });
            match self
                .api
                .patch_status(&self.name(), &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(updated) => {
                    self.resource_version = updated.resource_version();
                    self.obj.status = updated.status;
                    return Ok(());
                }
                Err(kube::Error::Api(e)) if e.code == 409 && attempts < 3 => {
                    attempts += 1;
                    let fresh = self.api.get(&self.name()).await?;
                    if fresh.status != self.obj.status {
                        return Err(kube::Error::Api(e).into());
                    }
                    self.resource_version = fresh.resource_version();
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn write_if_changed(
        &mut self,
        status: &ProcessingRequestStatus,
    ) -> Result<(), ReconcileError> {
        if self.obj.status.as_ref() != Some(status) {
            self.write(status).await?;
        }
        Ok(())
    }

    async fn tenant(&self) -> Result<Arc<TenantHandle>, ReconcileError> {
        let (_tenant, handle) = self
            .ctx
            .tenants
            .resolve(
                &self.ctx.client,
                &self.namespace,
                &self.obj.spec.tenant_ref.name,
            )
            .await?;
        Ok(handle)
    }

    async fn reconcile(&mut self) -> Result<Action, ReconcileError> {
        let mut status = self.obj.status.clone().unwrap_or_default();
        if status.phase.is_some_and(Phase::is_finished) {
            return self.after_finish(&status).await;
        }
        let generation = self.obj.metadata.generation;
        status.observed_generation = generation;
        if status.start_time.is_none() {
            status.start_time = Some(status_now());
            status.phase = Some(Phase::Pending);
        }

        let handle = match self.tenant().await {
            Ok(h) => h,
            Err(e) => return self.blocked(status, e).await,
        };

        if status.submissions.is_empty() {
            match self.resolve(&handle).await {
                Ok(Resolution::Ready(target, count)) => {
                    match rules::plan_submissions(self.action(), &target) {
                        Ok(submissions) => {
                            let calls = submissions.len();
                            status.submissions = submissions;
                            status.identity_count = count;
                            status.phase = Some(Phase::Running);
                            let what = match &target {
                                Target::Identities(ids) => format!("{} identities", ids.len()),
                                Target::Profile(id) => format!(
                                    "identity profile {id} ({} identities)",
                                    count.unwrap_or_default()
                                ),
                                Target::FullRefresh => {
                                    "a FULL refresh of every identity (spec.fullRefresh: true)"
                                        .to_string()
                                }
                            };
                            let message = format!("resolved {what} into {calls} tenant call(s)");
                            set_condition(
                                &mut status.conditions,
                                "Resolved",
                                TRUE,
                                "Resolved",
                                &message,
                                generation,
                            );
                            remove_condition(&mut status.conditions, "Blocked");
                            self.write(&status).await?;
                            self.event(EventType::Normal, "Resolved", &message).await;
                        }
                        Err(e) => {
                            return self
                                .fail_unresolved(status, e.reason(), e.to_string())
                                .await;
                        }
                    }
                }
                Ok(Resolution::Wait(reason, message)) => {
                    set_condition(
                        &mut status.conditions,
                        "Blocked",
                        TRUE,
                        reason,
                        &message,
                        generation,
                    );
                    if self.obj.status.as_ref() != Some(&status) {
                        self.event(EventType::Normal, reason, &message).await;
                    }
                    self.write_if_changed(&status).await?;
                    return Ok(Action::requeue(PROFILE_WAIT));
                }
                Err(ResolveError::Plan(e)) => {
                    return self
                        .fail_unresolved(status, e.reason(), e.to_string())
                        .await;
                }
                Err(ResolveError::ProfileNotFound(message)) => {
                    return self
                        .fail_unresolved(status, "ProfileNotFound", message)
                        .await;
                }
                Err(ResolveError::Retry(e)) => return self.blocked(status, e).await,
            }
        } else {
            let retry = self.obj.spec.retry_unknown_submission.unwrap_or(false);
            let found = rules::recover_in_flight(&mut status.submissions, retry);
            if found > 0 {
                let note = if retry {
                    format!(
                        "{found} call(s) were in flight when the operator stopped; sending again (retryUnknownSubmission: true)"
                    )
                } else {
                    format!(
                        "{found} call(s) were in flight when the operator stopped; the tenant may or may not have received them, so they are not sent again"
                    )
                };
                self.event(EventType::Warning, "SubmissionOutcomeUnknown", &note)
                    .await;
            }
        }
        rules::skip_after_failure(&mut status.submissions);

        let mut wait = self.submit_pending(&handle, &mut status).await?;
        if let Some(d) = self.follow_tasks(&handle, &mut status).await {
            wait = Some(wait.map_or(d, |w| w.min(d)));
        }
        rules::skip_after_failure(&mut status.submissions);
        self.finish_status(&mut status).await;
        self.write_if_changed(&status).await?;
        match status.phase {
            Some(p) if p.is_finished() => self.after_finish(&status).await,
            _ => Ok(Action::requeue(
                wait.unwrap_or(Duration::from_secs(1)).max(MIN_REQUEUE),
            )),
        }
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
            "Blocked",
            TRUE,
            error.reason(),
            error.message(),
            self.obj.metadata.generation,
        );
        self.event(EventType::Warning, error.reason(), &error.message())
            .await;
        if let Err(e) = self.write_if_changed(&status).await {
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
        let generation = self.obj.metadata.generation;
        status.phase = Some(Phase::Failed);
        status.completion_time = Some(status_now());
        set_condition(
            &mut status.conditions,
            "Resolved",
            FALSE,
            reason,
            &message,
            generation,
        );
        mark_failed(&mut status, reason, &message, generation);
        remove_condition(&mut status.conditions, "Blocked");
        self.event(EventType::Warning, reason, &message).await;
        self.write(&status).await?;
        self.after_finish(&status).await
    }

    /// Reads only: finds what the request targets and verifies it exists.
    async fn resolve(&self, handle: &TenantHandle) -> Result<Resolution, ResolveError> {
        let spec = &self.obj.spec;
        if spec.action == ProcessingAction::ProcessProfile {
            let target = spec.profile.as_ref().ok_or_else(|| {
                ResolveError::Retry(ReconcileError::InvalidSpec(
                    "spec.profile is required for ProcessProfile".into(),
                ))
            })?;
            let id = match (&target.id, &target.identity_profile_ref) {
                (Some(id), _) => id.clone(),
                (None, Some(r)) => {
                    let profiles: Api<IdentityProfile> =
                        Api::namespaced(self.ctx.client.clone(), &self.namespace);
                    let Some(profile) = profiles
                        .get_opt(&r.name)
                        .await
                        .map_err(ReconcileError::from)?
                    else {
                        return Ok(Resolution::Wait(
                            "ProfileNotFound",
                            format!(
                                "IdentityProfile {:?} does not exist in this namespace; waiting for it",
                                r.name
                            ),
                        ));
                    };
                    if profile.spec.tenant_ref.name != spec.tenant_ref.name {
                        return Err(ResolveError::Plan(PlanError::InvalidTarget(format!(
                            "IdentityProfile {:?} belongs to Tenant {:?}, not to {:?}",
                            r.name, profile.spec.tenant_ref.name, spec.tenant_ref.name
                        ))));
                    }
                    match profile.status.and_then(|s| s.id) {
                        Some(id) => id,
                        None => {
                            return Ok(Resolution::Wait(
                                "ProfileNotReady",
                                format!(
                                    "IdentityProfile {:?} has no tenant id yet (not created or adopted on the tenant); waiting for it",
                                    r.name
                                ),
                            ));
                        }
                    }
                }
                (None, None) => {
                    return Err(ResolveError::Retry(ReconcileError::InvalidSpec(
                        "spec.profile needs identityProfileRef or id".into(),
                    )));
                }
            };
            return match handle.client.get_identity_profile(&id).await {
                Ok(p) => Ok(Resolution::Ready(
                    Target::Profile(id),
                    p.identity_count.map(i64::from),
                )),
                Err(e) if e.is_not_found() => Err(ResolveError::ProfileNotFound(format!(
                    "the tenant has no identity profile with id {id:?}; nothing was sent"
                ))),
                Err(e) => Err(e.into()),
            };
        }
        if spec.action == ProcessingAction::LegacyRefresh && spec.full_refresh == Some(true) {
            return Ok(Resolution::Ready(Target::FullRefresh, None));
        }
        let selector = spec.identities.as_ref().ok_or_else(|| {
            ResolveError::Retry(ReconcileError::InvalidSpec(
                "spec.identities is required for this action".into(),
            ))
        })?;
        let limit = match spec.action {
            ProcessingAction::SynchronizeAttributes => rules::MAX_SYNC_IDENTITIES,
            _ => rules::MAX_IDENTITIES,
        };
        let ids = if let Some(ids) = &selector.ids {
            let ids = rules::dedup(ids.iter().cloned());
            if ids.len() > limit {
                return Err(ResolveError::Plan(PlanError::TooManyIdentities {
                    found: ids.len(),
                    limit,
                }));
            }
            self.verify_ids(handle, &ids).await?;
            ids
        } else {
            let filter = selector
                .filter
                .as_deref()
                .and_then(rules::api_filter)
                .ok_or_else(|| {
                    ResolveError::Retry(ReconcileError::InvalidSpec(
                        "spec.identities needs ids or a filter".into(),
                    ))
                })?;
            let default_filter = if selector.include_uncorrelated == Some(true) {
                IdentityDefaultFilter::None
            } else {
                IdentityDefaultFilter::CorrelatedOnly
            };
            self.resolve_filter(handle, filter, default_filter, limit)
                .await?
        };
        if ids.is_empty() {
            return Err(ResolveError::Plan(PlanError::NoMatchingIdentities));
        }
        let count = identity_count(ids.len());
        Ok(Resolution::Ready(Target::Identities(ids), count))
    }

    /// Every page of the identities list for `filter`, stopping once more than `limit` match.
    async fn resolve_filter(
        &self,
        handle: &TenantHandle,
        filter: Filter,
        default_filter: IdentityDefaultFilter,
        limit: usize,
    ) -> Result<Vec<String>, ResolveError> {
        let page_size = isc_client::api::MAX_PAGE_SIZE;
        let mut ids = Vec::new();
        let mut offset = 0u32;
        loop {
            let page = handle
                .client
                .list_identities(
                    &ListParams {
                        filter: Some(filter.clone()),
                        limit: Some(page_size),
                        offset: Some(offset),
                        ..Default::default()
                    },
                    default_filter,
                )
                .await?;
            let n = page.items.len();
            ids.extend(page.items.into_iter().filter_map(|i| i.id));
            let ids_now = rules::dedup(std::mem::take(&mut ids));
            ids = ids_now;
            if ids.len() > limit {
                return Err(ResolveError::Plan(PlanError::TooManyIdentities {
                    found: ids.len(),
                    limit,
                }));
            }
            if n < page_size as usize {
                return Ok(ids);
            }
            offset += page_size;
        }
    }

    /// Looks the listed ids up (`id in (...)`, every identity, batches of
    /// [`rules::VERIFY_BATCH`]) and fails if any is unknown, so no call names an identity the
    /// tenant does not have.
    async fn verify_ids(&self, handle: &TenantHandle, ids: &[String]) -> Result<(), ResolveError> {
        if let Some(bad) = ids.iter().find(|id| !rules::is_valid_id(id)) {
            return Err(ResolveError::Plan(PlanError::InvalidId(bad.clone())));
        }
        let mut found = std::collections::HashSet::new();
        for batch in ids.chunks(rules::VERIFY_BATCH) {
            let page = handle
                .client
                .list_identities(
                    &ListParams {
                        filter: Some(Filter::is_in("id", batch.iter())),
                        limit: Some(isc_client::api::MAX_PAGE_SIZE),
                        ..Default::default()
                    },
                    IdentityDefaultFilter::None,
                )
                .await?;
            found.extend(page.items.into_iter().filter_map(|i| i.id));
        }
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !found.contains(*id))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ResolveError::Plan(PlanError::IdentitiesNotFound(missing)))
        }
    }

    /// Sends every pending call in order, each recorded as `Submitting` first. Returns how long
    /// to wait for calls the sync gate held back.
    async fn submit_pending(
        &mut self,
        handle: &TenantHandle,
        status: &mut ProcessingRequestStatus,
    ) -> Result<Option<Duration>, ReconcileError> {
        let gate: &SyncGate = &self.ctx.processing.sync_gate;
        let tenant_key = handle.client.base_url().to_string();
        let mut wait: Option<Duration> = None;
        let mut sent = 0usize;
        for i in 0..status.submissions.len() {
            if status.submissions[i].state != SubmissionState::Pending {
                continue;
            }
            if status
                .submissions
                .iter()
                .any(|s| matches!(s.state, SubmissionState::Failed | SubmissionState::Unknown))
            {
                break;
            }
            let sync_id = (self.action() == ProcessingAction::SynchronizeAttributes)
                .then(|| status.submissions[i].identity_ids.first().cloned())
                .flatten();
            if let Some(id) = &sync_id
                && let Err(d) = gate.try_claim(&tenant_key, id, Instant::now())
            {
                wait = Some(wait.map_or(d, |w| w.min(d)));
                continue;
            }
            status.submissions[i].state = SubmissionState::Submitting;
            status.submissions[i].submitted_at = Some(status_now());
            status.submissions[i].message = None;
            // Nothing is sent unless this write succeeded.
            self.write(status).await?;
            let outcome = self.call(handle, &mut status.submissions[i]).await;
            if let Some(id) = &sync_id {
                gate.release(&tenant_key, id, Instant::now());
            }
            match outcome {
                CallOutcome::Recorded => sent += 1,
                CallOutcome::NotSent(e) => {
                    let s = &mut status.submissions[i];
                    s.state = SubmissionState::Pending;
                    s.submitted_at = None;
                    s.message = Some(format!("not sent yet: {}", e.message()));
                    self.write(status).await?;
                    return Err(e);
                }
                CallOutcome::Retry(e) => {
                    self.write(status).await?;
                    return Err(e);
                }
            }
        }
        if sent > 0 {
            let total = status.submissions.len();
            self.event(
                EventType::Normal,
                "Submitted",
                &format!(
                    "sent {sent} call(s) to the tenant ({} of {total} sent so far)",
                    status
                        .submissions
                        .iter()
                        .filter(|s| s.submitted_at.is_some())
                        .count()
                ),
            )
            .await;
        }
        Ok(wait)
    }

    /// Makes the tenant call of one submission and records its outcome in it.
    async fn call(&self, handle: &TenantHandle, s: &mut Submission) -> CallOutcome {
        let client = &handle.client;
        let result: Result<(), IscError> = match self.action() {
            ProcessingAction::ProcessIdentities => client
                .process_identities(&s.identity_ids)
                .await
                .map(|r| match r.id {
                    Some(id) => {
                        s.state = SubmissionState::Running;
                        s.message = Some(format!("accepted as task {id}"));
                        s.task_id = Some(id);
                    }
                    None => {
                        s.state = SubmissionState::Submitted;
                        s.message = Some("accepted; the tenant returned no task to follow".into());
                    }
                }),
            ProcessingAction::ProcessProfile => {
                let id = s.profile_id.clone().unwrap_or_default();
                client.process_identity_profile(&id).await.map(|()| {
                    s.state = SubmissionState::Submitted;
                    s.message = Some(
                        "accepted (HTTP 202); the tenant returns no task for profile processing, so the request succeeds once submitted"
                            .into(),
                    );
                })
            }
            ProcessingAction::SynchronizeAttributes => {
                let id = s.identity_ids.first().cloned().unwrap_or_default();
                client
                    .synchronize_identity_attributes(&id)
                    .await
                    .map(|job| {
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
                    })
            }
            ProcessingAction::LegacyRefresh => {
                let args = self.obj.spec.refresh_args.unwrap_or_default().into();
                let response =
                    if s.identity_ids.is_empty() && self.obj.spec.full_refresh == Some(true) {
                        client.legacy_full_refresh(args).await
                    } else {
                        match rules::legacy_filter(&s.identity_ids) {
                            Ok(filter) => client.legacy_refresh_identities(&filter, args).await,
                            Err(e) => Err(IscError::InvalidRequest(e.to_string())),
                        }
                    };
                response.map(|body| {
                    match body
                        .get("id")
                        .and_then(|v| v.as_str())
                        .filter(|id| rules::is_valid_id(id))
                    {
                        Some(id) => {
                            s.state = SubmissionState::Running;
                            s.message = Some(format!("accepted as task {id}"));
                            s.task_id = Some(id.to_string());
                        }
                        None => {
                            s.state = SubmissionState::Submitted;
                            s.message = Some(
                                "accepted; the legacy endpoint returned no task to follow".into(),
                            );
                        }
                    }
                })
            }
        };
        let Err(error) = result else {
            if s.state.is_terminal() {
                s.finished_at = Some(status_now());
            }
            return CallOutcome::Recorded;
        };
        match &error {
            IscError::RateLimited { .. } | IscError::Auth { .. } => {
                CallOutcome::NotSent(error.into())
            }
            IscError::Transport {
                outcome_unknown: false,
                ..
            } => CallOutcome::NotSent(error.into()),
            IscError::Api {
                status: 401 | 429, ..
            } => CallOutcome::NotSent(error.into()),
            IscError::Transport { .. } | IscError::Api { status: 500.., .. } => {
                s.state = SubmissionState::Unknown;
                s.message = Some(format!(
                    "the tenant may or may not have processed this call: {error}"
                ));
                s.finished_at = Some(status_now());
                if self.obj.spec.retry_unknown_submission == Some(true) {
                    s.state = SubmissionState::Pending;
                    s.submitted_at = None;
                    s.finished_at = None;
                    s.message = Some(format!(
                        "outcome unknown ({error}); sending again because retryUnknownSubmission is true"
                    ));
                    return CallOutcome::Retry(error.into());
                }
                CallOutcome::Recorded
            }
            IscError::Decode { .. } => {
                // A 2xx whose body we could not read: accepted, but nothing to follow.
                s.state = SubmissionState::Submitted;
                s.message = Some(format!(
                    "accepted, but the response could not be read: {error}"
                ));
                s.finished_at = Some(status_now());
                CallOutcome::Recorded
            }
            _ => {
                s.state = SubmissionState::Failed;
                s.message = Some(format!("rejected: {error}"));
                s.finished_at = Some(status_now());
                CallOutcome::Recorded
            }
        }
    }

    /// Asks the tenant about running tasks whose backoff has passed. Returns when to look again.
    async fn follow_tasks(
        &self,
        handle: &TenantHandle,
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
            self.ctx.processing.polled(key, now);
            match handle.client.get_task_status(&task_id).await {
                Ok(task) => match task.outcome() {
                    TaskOutcome::Running => {
                        s.message = Some(match &task.progress {
                            Some(p) => format!("task {task_id} running: {p}"),
                            None => format!("task {task_id} running ({}%)", task.percent_complete),
                        });
                    }
                    outcome => {
                        let completion = task.completion_status.clone().unwrap_or_default();
                        s.tenant_status = Some(completion.clone());
                        s.finished_at = Some(status_now());
                        if outcome == TaskOutcome::Succeeded {
                            s.state = SubmissionState::Succeeded;
                            s.message = Some(format!("task {task_id} completed: {completion}"));
                        } else {
                            let details: Vec<String> = task
                                .messages
                                .iter()
                                .filter_map(|m| {
                                    m.localized_text.as_ref().map(|t| t.message.clone())
                                })
                                .take(3)
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
                    }
                },
                Err(e) if e.is_not_found() => {
                    s.state = SubmissionState::Submitted;
                    s.finished_at = Some(status_now());
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
        next
    }

    /// Phase, completion time and conditions from the submissions; Events on finishing.
    async fn finish_status(&self, status: &mut ProcessingRequestStatus) {
        let generation = self.obj.metadata.generation;
        let phase = rules::phase(&status.submissions);
        status.phase = Some(phase);
        remove_condition(&mut status.conditions, "Blocked");
        if status
            .submissions
            .iter()
            .any(|s| s.state == SubmissionState::Unknown)
        {
            set_condition(
                &mut status.conditions,
                "SubmissionOutcomeUnknown",
                TRUE,
                "SubmissionOutcomeUnknown",
                "a call was in flight when the operator stopped or its response was lost; it is not sent again (see status.submissions)",
                generation,
            );
        }
        let was_finished = self
            .obj
            .status
            .as_ref()
            .and_then(|s| s.phase)
            .is_some_and(Phase::is_finished);
        match phase {
            Phase::Succeeded => {
                let message = format!(
                    "{} tenant call(s) accepted{}",
                    status.submissions.len(),
                    if status
                        .submissions
                        .iter()
                        .all(|s| s.state == SubmissionState::Succeeded)
                    {
                        " and every task succeeded"
                    } else {
                        "; calls without a tenant task count as done once submitted"
                    }
                );
                status.completion_time.get_or_insert_with(status_now);
                set_condition(
                    &mut status.conditions,
                    "Complete",
                    TRUE,
                    "Succeeded",
                    &message,
                    generation,
                );
                set_condition(
                    &mut status.conditions,
                    "Failed",
                    FALSE,
                    "Succeeded",
                    "",
                    generation,
                );
                if !was_finished {
                    self.event(EventType::Normal, "Succeeded", &message).await;
                }
            }
            Phase::Failed => {
                let (reason, message) = rules::failure(&status.submissions)
                    .unwrap_or(("Failed", "the request failed".to_string()));
                status.completion_time.get_or_insert_with(status_now);
                mark_failed(status, reason, &message, generation);
                if !was_finished {
                    self.event(EventType::Warning, reason, &message).await;
                }
            }
            Phase::Pending | Phase::Running => {}
        }
    }

    /// A finished request is deleted `ttlSecondsAfterFinished` after it finished.
    async fn after_finish(
        &self,
        status: &ProcessingRequestStatus,
    ) -> Result<Action, ReconcileError> {
        let Some(ttl) = self.obj.spec.ttl_seconds_after_finished else {
            return Ok(Action::await_change());
        };
        let ttl = Duration::from_secs(u64::try_from(ttl).unwrap_or_default());
        let elapsed = age(status.completion_time.as_ref());
        if elapsed < ttl {
            return Ok(Action::requeue((ttl - elapsed).max(MIN_REQUEUE)));
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: self.obj.uid(),
                resource_version: None,
            }),
            ..Default::default()
        };
        match self.api.delete(&self.name(), &params).await {
            Ok(_) => {
                tracing::info!(request = %self.name(), "deleted finished request after its TTL");
                Ok(Action::await_change())
            }
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(Action::await_change()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Sets the conditions of a failed request: `Failed` True and `Complete` False, with the reason.
fn mark_failed(
    status: &mut ProcessingRequestStatus,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set_condition(
        &mut status.conditions,
        "Failed",
        TRUE,
        reason,
        message,
        generation,
    );
    set_condition(
        &mut status.conditions,
        "Complete",
        FALSE,
        reason,
        "the request failed",
        generation,
    );
}
