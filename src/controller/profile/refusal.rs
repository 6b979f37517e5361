//! Refusals of a profile's writes, by the rules every kind shares
//! ([`crate::controller::refusal`]): a write the tenant refused as invalid is recorded in
//! `status.lastRefusal` and not sent again for the same generation before `retryAfter`.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::identity_profile::Refusal;
use crate::api::{IdentityProfile, IdentityProfileStatus};
use crate::controller::error::ReconcileError;
use crate::controller::refusal;

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
    refusal::held_back(obj.metadata.generation, status.last_refusal.as_deref(), now)
}

/// The refusal to record when `error` is one (see [`refusal::record`]); `None` otherwise.
pub(super) fn record(
    obj: &IdentityProfile,
    status: &IdentityProfileStatus,
    write: &'static str,
    error: &ReconcileError,
    resync: Duration,
    now: Time,
) -> Option<Refusal> {
    let last = status.last_refusal.as_deref();
    refusal::record(obj.metadata.generation, last, write, error, resync, now)
}
