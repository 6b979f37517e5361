//! Pause switches: while `Tenant.spec.suspend` or the request's `isc.identitynow.dev/paused`
//! annotation holds tenant writes, a request that has not resolved yet makes no tenant call at
//! all (it resolves once the hold is lifted, so it sends what matches then), and a running
//! request sends no further call (tasks already submitted are still followed: reads only).
//! The request shows `Suspended=True`; one Normal Event says so when the hold begins.
//!
//! Removing the annotation is an event for the request; a Tenant's `suspend` is not, so a held
//! request looks again every [`HOLD_RECHECK`] (a Kubernetes read, no tenant call).

use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use crate::api::ProcessingRequestStatus;
use crate::controller::error::ReconcileError;
use crate::controller::pause::shown_hold;

use super::run::Run;

/// How often a held request looks whether the hold was lifted.
pub(super) const HOLD_RECHECK: Duration = Duration::from_secs(30);

/// The reason of `Suspended=True` in `status`, if it is set.
pub(super) fn suspended_reason(status: Option<&ProcessingRequestStatus>) -> Option<String> {
    shown_hold(&status?.conditions).map(str::to_string)
}

impl Run<'_> {
    /// A request not resolved yet while writes are held: status only, no tenant call.
    pub(super) async fn held(
        &mut self,
        mut status: ProcessingRequestStatus,
    ) -> Result<Action, ReconcileError> {
        self.write(&mut status).await?;
        self.announce_hold().await;
        Ok(Action::requeue(HOLD_RECHECK))
    }

    /// The Normal Event of a hold, once: when the status read at the start of this reconcile
    /// did not show it yet.
    pub(super) async fn announce_hold(&self) {
        let Some(hold) = &self.hold else {
            return;
        };
        if self.was_held.as_deref() == Some(hold.reason) {
            return;
        }
        let note = format!("no tenant call is sent: {}", hold.message);
        self.event(EventType::Normal, hold.reason, &note).await;
    }
}
