//! Refusals: a write the tenant refused as invalid (a 4xx other than 401/403/404/409/429) is not
//! sent again blindly. The refusal is recorded in `status.lastRefusal` (so a restart or a
//! requeue storm cannot bypass it), and no tenant write of the object is sent for the same
//! generation before `retryAfter`: one resync interval after the refusal, the cap of the
//! backoff, so the object makes at most one refused write per resync interval. A new
//! generation (the user changed the spec) may write at once.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::identity_profile::Refusal;
use crate::api::{IdentityProfile, IdentityProfileStatus};
use crate::controller::error::{ReconcileError, is_tenant_refusal, truncated};

/// The tenant writes an object makes, as named in `status.lastRefusal.operation`.
pub(super) mod operation {
    /// `POST /identity-profiles`.
    pub const CREATE: &str = "Create";
    /// `PATCH /identity-profiles/{id}`.
    pub const PATCH: &str = "Patch";
    /// `POST /identity-profiles/{id}/process-identities`.
    pub const PROCESS: &str = "Process";
    /// `DELETE /identity-profiles/{id}`.
    pub const DELETE: &str = "Delete";
}

/// The [`ReconcileError::RefusedBefore`] that holds back every tenant write of the object while
/// a refusal recorded for this generation is in force; `None` when writes may go.
pub(super) fn held_back(
    obj: &IdentityProfile,
    status: &IdentityProfileStatus,
    now: &Time,
) -> Option<ReconcileError> {
    let refusal = status.last_refusal.as_ref()?;
    if refusal.generation != obj.metadata.generation || now.0 >= refusal.retry_after.0 {
        return None;
    }
    let wait = now
        .0
        .duration_until(refusal.retry_after.0)
        .try_into()
        .unwrap_or(Duration::ZERO);
    Some(ReconcileError::RefusedBefore {
        message: refusal.message.clone(),
        retry_at: refusal.retry_after.0.to_string(),
        wait,
    })
}

/// The refusal to record when `error` is one (see [`is_tenant_refusal`]); `None` otherwise.
pub(super) fn record(
    obj: &IdentityProfile,
    status: &IdentityProfileStatus,
    write: &'static str,
    error: &ReconcileError,
    resync: Duration,
    now: Time,
) -> Option<Refusal> {
    if !is_tenant_refusal(error) {
        return None;
    }
    let generation = obj.metadata.generation;
    let earlier = status
        .last_refusal
        .as_ref()
        .filter(|r| r.generation == generation)
        .map_or(0, |r| r.attempts);
    let retry_after = now
        .0
        .checked_add(resync)
        .unwrap_or(k8s_openapi::jiff::Timestamp::MAX);
    Some(Refusal {
        generation,
        operation: write.to_string(),
        at: now,
        attempts: earlier.saturating_add(1),
        retry_after: Time(retry_after),
        message: truncated(&error.to_string()),
    })
}
