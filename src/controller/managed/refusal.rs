//! Refusals of the identity-model kinds, as for profiles (see
//! `crate::controller::profile::refusal`): a write the tenant refused as invalid is recorded in
//! `status.lastRefusal` and no write of the object is sent for the same generation before
//! `retryAfter` (one resync interval later).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::managed::{Refusal, TenantObjectStatus};
use crate::controller::error::{ReconcileError, is_tenant_refusal, truncated};

/// The tenant writes, as named in `status.lastRefusal.operation`.
pub mod operation {
    /// The create call.
    pub const CREATE: &str = "Create";
    /// The update call (`PUT` or JSON Patch).
    pub const UPDATE: &str = "Update";
    /// The delete call.
    pub const DELETE: &str = "Delete";
}

/// The [`ReconcileError::RefusedBefore`] that holds back every write of an object at
/// `generation` while a refusal recorded for it is in force; `None` when writes may go.
pub fn held_back(
    generation: Option<i64>,
    status: &TenantObjectStatus,
    now: &Time,
) -> Option<ReconcileError> {
    let refusal = status.last_refusal.as_ref()?;
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

/// The refusal to record when `error` is one; `None` otherwise.
pub fn record(
    generation: Option<i64>,
    status: &TenantObjectStatus,
    write: &'static str,
    error: &ReconcileError,
    resync: Duration,
    now: Time,
) -> Option<Refusal> {
    if !is_tenant_refusal(error) {
        return None;
    }
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
