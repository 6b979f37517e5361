//! The pure part of a `ProcessingRequest`: selector → API filter, resolved identities →
//! submissions (chunks), the legacy filter built from verified ids, recovery after a restart,
//! and the phase computed from the submissions. No I/O, so every rule is unit-tested.

use std::collections::HashSet;
use std::time::Duration;

use crate::api::processing_request::{
    ConditionOperator, IdentityCondition, Phase, ProcessingAction, ResolvedIdsRef, Submission,
    SubmissionState,
};
use crate::controller::status::reason;
use isc_client::filter::{Filter, FilterValue};

/// Most ids one `POST /v2024/identities/process` takes (and what one legacy refresh gets).
pub const CHUNK_SIZE: usize = 250;
/// Most identities one request may resolve to unless its `spec.maxIdentities` says otherwise:
/// a guard against a filter that matches far more than meant.
pub const MAX_IDENTITIES: usize = 5000;
/// Default operator-wide ceiling on a request's own identity limit (`--max-identities-ceiling`).
pub const DEFAULT_MAX_IDENTITIES_CEILING: usize = 100_000;
/// Most identities one `SynchronizeAttributes` request may name: each is a separate call.
pub const MAX_SYNC_IDENTITIES: usize = 250;
/// Ids per verification lookup (`id in (...)`), so the query string stays a few KB.
pub const VERIFY_BATCH: usize = 100;

/// Why a request cannot go ahead; each becomes the `Failed` condition's reason and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The selector matched nothing: nothing is sent (for the legacy refresh this is what
    /// prevents a refresh of every identity).
    #[error("the identity filter matched no identity on the tenant; nothing was sent")]
    NoMatchingIdentities,
    /// Some named ids do not exist on the tenant.
    #[error("{} of the listed identity ids do not exist on the tenant: {}; nothing was sent", .0.len(), preview(.0))]
    IdentitiesNotFound(Vec<String>),
    /// The selection is larger than this request may handle.
    #[error(
        "the selection resolved to {found} identities, more than the {limit} this request may handle (spec.maxIdentities, default 5000; 250 for SynchronizeAttributes); narrow it, split it, or raise spec.maxIdentities in a new request; nothing was sent"
    )]
    TooManyIdentities {
        /// Identities found (at least).
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// `spec.maxIdentities` is above what this operator allows any request.
    #[error(
        "spec.maxIdentities is {requested}, above this operator's ceiling of {ceiling} identities per request (operator flag --max-identities-ceiling); nothing was read or sent"
    )]
    AboveCeiling {
        /// `spec.maxIdentities`.
        requested: i64,
        /// The operator's ceiling.
        ceiling: usize,
    },
    /// The target does not fit the request (e.g. a profile of another tenant).
    #[error("{0}")]
    InvalidTarget(String),
    /// An id is not a plain tenant id, so it must not be put into a legacy filter.
    #[error("{0:?} is not a valid identity id")]
    InvalidId(String),
}

impl PlanError {
    /// CamelCase reason for conditions and events.
    pub fn reason(&self) -> &'static str {
        match self {
            PlanError::NoMatchingIdentities => reason::NO_MATCHING_IDENTITIES,
            PlanError::IdentitiesNotFound(_) => reason::IDENTITIES_NOT_FOUND,
            PlanError::TooManyIdentities { .. } => reason::TOO_MANY_IDENTITIES,
            PlanError::AboveCeiling { .. } => reason::MAX_IDENTITIES_ABOVE_CEILING,
            PlanError::InvalidTarget(_) => reason::INVALID_TARGET,
            PlanError::InvalidId(_) => reason::INVALID_IDENTITY_ID,
        }
    }
}

fn preview(ids: &[String]) -> String {
    let shown: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
    if ids.len() > shown.len() {
        format!("{}, … ({} more)", shown.join(", "), ids.len() - shown.len())
    } else {
        shown.join(", ")
    }
}

/// The conditions of `spec.identities.filter` as an API filter (AND of all), built as a tree
/// so values are always quoted and escaped.
pub fn api_filter(conditions: &[IdentityCondition]) -> Option<Filter> {
    let mut parts = conditions.iter().map(|c| {
        let field = c.attribute.field();
        match c.operator {
            ConditionOperator::Eq => Filter::eq(field, c.value.clone().unwrap_or_default()),
            ConditionOperator::Sw => {
                Filter::starts_with(field, c.value.clone().unwrap_or_default())
            }
            ConditionOperator::In => Filter::is_in(
                field,
                c.values
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(FilterValue::Str),
            ),
        }
    });
    let first = parts.next()?;
    Some(parts.fold(first, Filter::and))
}

/// Whether `id` is a plain tenant id (letters, digits, `-`, `_`), safe in paths and filters.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Drops repeated ids, keeping the first occurrence's position.
pub fn dedup(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// The legacy-grammar filter for exactly these identities: `id == "a" || id == "b"`.
///
/// The legacy endpoint refreshes EVERY identity when its filter is empty, unparseable or
/// matches nothing, so this only accepts a non-empty list of plain ids (no quoting needed, no
/// way to inject grammar) that the caller has verified to exist.
pub fn legacy_filter(ids: &[String]) -> Result<String, PlanError> {
    if ids.is_empty() {
        return Err(PlanError::NoMatchingIdentities);
    }
    if let Some(bad) = ids.iter().find(|id| !is_valid_id(id)) {
        return Err(PlanError::InvalidId(bad.clone()));
    }
    Ok(ids
        .iter()
        .map(|id| format!("id == \"{id}\""))
        .collect::<Vec<_>>()
        .join(" || "))
}

/// The most identities a request may resolve to: its `spec.maxIdentities` (default
/// [`MAX_IDENTITIES`], never above the operator's `ceiling`); attribute syncs keep
/// [`MAX_SYNC_IDENTITIES`].
pub fn identity_limit(
    action: ProcessingAction,
    requested: Option<i64>,
    ceiling: usize,
) -> Result<usize, PlanError> {
    if let Some(requested) = requested
        && usize::try_from(requested).map_or(requested > 0, |r| r > ceiling)
    {
        return Err(PlanError::AboveCeiling { requested, ceiling });
    }
    let requested = requested.and_then(|r| usize::try_from(r.max(1)).ok());
    Ok(match action {
        ProcessingAction::SynchronizeAttributes => {
            requested.map_or(MAX_SYNC_IDENTITIES, |r| r.min(MAX_SYNC_IDENTITIES))
        }
        _ => requested.unwrap_or(MAX_IDENTITIES.min(ceiling)),
    })
}

/// Identities per tenant call: one per attribute sync, a chunk of [`CHUNK_SIZE`] otherwise.
pub fn ids_per_call(action: ProcessingAction) -> usize {
    match action {
        ProcessingAction::SynchronizeAttributes => 1,
        _ => CHUNK_SIZE,
    }
}

/// Cuts a stream of resolved ids (page after page) into calls: drops repeats, enforces the
/// request's limit, and hands back each call's ids as soon as the call is full, so a large
/// resolution never holds more than one call's ids besides the set of ids seen.
#[derive(Debug)]
pub struct CallChunker {
    per_call: usize,
    limit: usize,
    seen: HashSet<String>,
    current: Vec<String>,
    calls: Vec<u32>,
}

impl CallChunker {
    /// A chunker for calls of `per_call` ids and at most `limit` identities in all.
    pub fn new(per_call: usize, limit: usize) -> Self {
        CallChunker {
            per_call: per_call.max(1),
            limit,
            seen: HashSet::new(),
            current: Vec::new(),
            calls: Vec::new(),
        }
    }

    /// Adds ids (repeats are dropped); returns the calls they completed, or
    /// `TooManyIdentities` once more than the limit were seen.
    pub fn push(
        &mut self,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<Vec<Vec<String>>, PlanError> {
        let mut full = Vec::new();
        for id in ids {
            if self.seen.contains(&id) {
                continue;
            }
            if self.seen.len() >= self.limit {
                return Err(PlanError::TooManyIdentities {
                    found: self.seen.len() + 1,
                    limit: self.limit,
                });
            }
            self.seen.insert(id.clone());
            self.current.push(id);
            if self.current.len() == self.per_call {
                self.calls.push(self.per_call as u32);
                full.push(std::mem::take(&mut self.current));
            }
        }
        Ok(full)
    }

    /// The last, partly filled call (if any) and the id count of every call.
    pub fn finish(mut self) -> (Option<Vec<String>>, Vec<u32>) {
        let last = (!self.current.is_empty()).then(|| std::mem::take(&mut self.current));
        if let Some(last) = &last {
            self.calls.push(last.len() as u32);
        }
        (last, self.calls)
    }

    /// Distinct identities seen so far.
    pub fn count(&self) -> usize {
        self.seen.len()
    }
}

/// What the tenant resolved the request to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Verified identities, stored call by call (see `status.resolvedIds`).
    Identities(ResolvedIds),
    /// A tenant profile id.
    Profile(String),
    /// The explicit full legacy refresh.
    FullRefresh,
}

/// Resolved identities: where their ids are and how many each call names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedIds {
    /// Ids per call, in call order.
    pub calls: Vec<u32>,
    /// The ConfigMaps holding them.
    pub store: ResolvedIdsRef,
}

impl ResolvedIds {
    /// Distinct identities in all.
    pub fn count(&self) -> usize {
        self.calls.iter().map(|n| *n as usize).sum()
    }
}

/// The submissions (tenant calls) for a resolved request, in the order they are sent.
pub fn plan_submissions(target: &Target) -> Result<Vec<Submission>, PlanError> {
    match target {
        Target::Profile(id) => Ok(vec![Submission::pending(None, Some(id.clone()))]),
        Target::FullRefresh => Ok(vec![Submission::pending(None, None)]),
        Target::Identities(resolved) => {
            if resolved.calls.is_empty() {
                return Err(PlanError::NoMatchingIdentities);
            }
            Ok(resolved
                .calls
                .iter()
                .map(|n| Submission::pending(Some(*n), None))
                .collect())
        }
    }
}

/// After a restart: a submission still `Submitting` was being sent when the previous process
/// stopped, so whether the tenant got it is unknown. With the opt-in it is `Pending` again;
/// otherwise it is looked for on the tenant's task lists (`Locating`) when its action creates
/// a task (`locatable`) and its submission time is recorded, and `Unknown` when not. Returns
/// how many were found.
pub fn recover_in_flight(
    submissions: &mut [Submission],
    retry_unknown: bool,
    locatable: bool,
) -> usize {
    let mut found = 0;
    for s in submissions
        .iter_mut()
        .filter(|s| s.state == SubmissionState::Submitting)
    {
        found += 1;
        if retry_unknown {
            s.state = SubmissionState::Pending;
            s.message = Some(
                "the operator restarted while this call was in flight; submitting again because retryUnknownSubmission is true"
                    .to_string(),
            );
        } else if locatable && s.submitted_at.is_some() {
            s.state = SubmissionState::Locating;
            s.message = Some(
                "the operator restarted while this call was in flight: looking for its task on the tenant's task lists; it is not sent again"
                    .to_string(),
            );
        } else {
            s.state = SubmissionState::Unknown;
            s.message = Some(
                "the operator restarted while this call was in flight: the tenant may or may not have received it, so it is not sent again (set retryUnknownSubmission: true to allow that)"
                    .to_string(),
            );
        }
    }
    found
}

/// Once a call failed or its outcome is unknown, calls not yet sent are skipped rather than
/// sent: the request has already failed. Returns how many were skipped.
pub fn skip_after_failure(submissions: &mut [Submission]) -> usize {
    let failed = submissions
        .iter()
        .any(|s| matches!(s.state, SubmissionState::Failed | SubmissionState::Unknown));
    if !failed {
        return 0;
    }
    let mut skipped = 0;
    for s in submissions
        .iter_mut()
        .filter(|s| s.state == SubmissionState::Pending)
    {
        s.state = SubmissionState::Skipped;
        s.message = Some("not sent because an earlier call of this request failed".to_string());
        skipped += 1;
    }
    skipped
}

/// The phase the submissions add up to (for a request that has been resolved).
pub fn phase(submissions: &[Submission]) -> Phase {
    if submissions.is_empty() {
        return Phase::Pending;
    }
    if !submissions.iter().all(|s| s.state.is_terminal()) {
        return Phase::Running;
    }
    let ok = submissions.iter().all(|s| {
        matches!(
            s.state,
            SubmissionState::Submitted | SubmissionState::Succeeded
        )
    });
    if ok { Phase::Succeeded } else { Phase::Failed }
}

/// How long to wait before asking the tenant about a running task again: 1 s at first, then
/// growing with the task's age up to 5 s, so short tasks finish fast and long ones cost little.
pub fn poll_delay(age: Duration) -> Duration {
    (age / 4).clamp(Duration::from_secs(1), Duration::from_secs(5))
}

/// How long a running task missing from the tenant's task-status list answers goes before
/// it is asked about on its own (and how long between two such asks): half its age, between
/// 30 s and 10 min, so a tenant whose list shows only completed tasks costs few lone polls.
pub fn lone_poll_delay(age: Duration) -> Duration {
    (age / 2).clamp(Duration::from_secs(30), Duration::from_secs(600))
}

/// Why the request failed, for the `Failed` condition (first failing submission wins).
pub fn failure(submissions: &[Submission]) -> Option<(&'static str, String)> {
    let (index, s) = submissions
        .iter()
        .enumerate()
        .find(|(_, s)| matches!(s.state, SubmissionState::Failed | SubmissionState::Unknown))?;
    let reason = match s.state {
        SubmissionState::Unknown => reason::SUBMISSION_OUTCOME_UNKNOWN,
        _ if s.task_id.is_some() && s.tenant_status.is_some() => reason::TASK_FAILED,
        _ => reason::SUBMISSION_REJECTED,
    };
    let detail = s.message.clone().unwrap_or_default();
    Some((
        reason,
        format!("call {} of {}: {detail}", index + 1, submissions.len()),
    ))
}

#[cfg(test)]
mod tests;
