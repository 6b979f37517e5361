//! A finished request is deleted `ttlSecondsAfterFinished` after it finished, like a Job.

use std::time::Duration;

use kube::ResourceExt;
use kube::api::{DeleteParams, Preconditions};
use kube::runtime::controller::Action;

use crate::api::ProcessingRequestStatus;
use crate::controller::error::ReconcileError;

use super::age;
use super::run::{MIN_REQUEUE, Run};

/// What to do with a finished request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// No TTL: kept forever.
    Keep,
    /// Deleted after this much longer.
    In(Duration),
    /// The TTL has passed.
    Now,
}

/// The expiry of a request with TTL `ttl_seconds` that finished `elapsed` ago.
fn expiry(ttl_seconds: Option<i64>, elapsed: Duration) -> Expiry {
    let Some(ttl) = ttl_seconds else {
        return Expiry::Keep;
    };
    let ttl = Duration::from_secs(u64::try_from(ttl).unwrap_or_default());
    if elapsed < ttl {
        Expiry::In(ttl - elapsed)
    } else {
        Expiry::Now
    }
}

impl Run<'_> {
    /// Waits for the TTL of a finished request, then deletes it (only this very object: the
    /// delete carries its uid as a precondition).
    pub(super) async fn after_finish(
        &self,
        status: &ProcessingRequestStatus,
    ) -> Result<Action, ReconcileError> {
        let elapsed = age(status.completion_time.as_ref());
        match expiry(self.obj.spec.ttl_seconds_after_finished, elapsed) {
            Expiry::Keep => return Ok(Action::await_change()),
            Expiry::In(remaining) => return Ok(Action::requeue(remaining.max(MIN_REQUEUE))),
            Expiry::Now => {}
        }
        // The record that keeps a recreated copy from running again comes first.
        self.ensure_recorded(status).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ttl_counts_from_completion() {
        let secs = Duration::from_secs;
        assert_eq!(expiry(None, secs(1_000_000)), Expiry::Keep);
        assert_eq!(expiry(Some(60), secs(0)), Expiry::In(secs(60)));
        assert_eq!(expiry(Some(60), secs(45)), Expiry::In(secs(15)));
        assert_eq!(expiry(Some(60), secs(60)), Expiry::Now);
        assert_eq!(
            expiry(Some(0), secs(0)),
            Expiry::Now,
            "zero: delete at once"
        );
        assert_eq!(
            expiry(Some(-5), secs(0)),
            Expiry::Now,
            "negative counts as zero"
        );
    }
}
