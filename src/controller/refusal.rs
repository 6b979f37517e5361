//! Refusals, for every kind that writes to the tenant (profiles, the identity-model kinds): a
//! write the tenant refused as invalid (a 4xx other than 401/403/404/409/429) is recorded in
//! `status.lastRefusal` (so a restart or a requeue storm cannot bypass it), and no write of the
//! object is sent for the same generation before `retryAfter`: one resync interval after the
//! refusal, so an object makes at most one refused write per resync interval. A new generation
//! (the user changed the spec) may write at once.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::managed::Refusal;
use crate::controller::error::{ReconcileError, is_tenant_refusal, truncated};

/// The tenant writes of the identity-model kinds, as named in `status.lastRefusal.operation`.
pub mod operation {
    /// The create call.
    pub const CREATE: &str = "Create";
    /// The update call (`PUT` or JSON Patch).
    pub const UPDATE: &str = "Update";
    /// The delete call.
    pub const DELETE: &str = "Delete";
}

/// The [`ReconcileError::RefusedBefore`] that holds back every write of an object at
/// `generation` while its `last` refusal, recorded for that generation, is in force; `None`
/// when writes may go.
pub fn held_back(
    generation: Option<i64>,
    last: Option<&Refusal>,
    now: &Time,
) -> Option<ReconcileError> {
    let refusal = last?;
    if refusal.generation != generation || now.0 >= refusal.retry_after.0 {
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

/// The refusal to record for a write (`write`) of an object at `generation` when `error` is one
/// (see [`is_tenant_refusal`]), counting on from its `last` refusal; `None` otherwise.
pub fn record(
    generation: Option<i64>,
    last: Option<&Refusal>,
    write: &'static str,
    error: &ReconcileError,
    resync: Duration,
    now: Time,
) -> Option<Refusal> {
    if !is_tenant_refusal(error) {
        return None;
    }
    let earlier = last
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
