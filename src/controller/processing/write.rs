//! The status write of the processing controller: guarded by `resourceVersion`, so two
//! writers (say, an old and a new operator pod) cannot both claim a submission.

use kube::ResourceExt;

use crate::api::ProcessingRequestStatus;
use crate::controller::error::ReconcileError;
use crate::controller::status::{WriteGuard, patch_status};

use super::progress::set_kstatus;
use super::run::Run;

/// How often a write is retried after a conflict caused by a metadata-only change.
const MAX_METADATA_CONFLICTS: usize = 3;

impl Run<'_> {
    /// Writes the difference between the status last read or written and `status` (nothing
    /// when equal) with the last seen `resourceVersion` as precondition. A conflict caused by
    /// a metadata edit (labels, annotations) is retried as long as the status is still the one
    /// this run wrote last; a status changed by someone else is an error.
    /// The kstatus conditions (see `progress`) are set first, from the phase, this run's
    /// trouble and write hold.
    pub(super) async fn write(
        &mut self,
        status: &mut ProcessingRequestStatus,
    ) -> Result<(), ReconcileError> {
        set_kstatus(
            status,
            self.generation(),
            self.trouble.as_ref(),
            self.hold.as_ref(),
        );
        let status = &*status;
        let name = self.name();
        let mut conflicts = 0;
        loop {
            let guard = WriteGuard::ResourceVersion(self.resource_version.clone());
            match patch_status(&self.api, &name, self.obj.status.as_ref(), status, guard).await {
                Ok(Some(updated)) => {
                    self.resource_version = updated.resource_version();
                    self.obj.status = updated.status;
                    return Ok(());
                }
                Ok(None) => return Ok(()),
                Err(kube::Error::Api(e)) if e.code == 409 && conflicts < MAX_METADATA_CONFLICTS => {
                    conflicts += 1;
                    let fresh = self.api.get(&name).await?;
                    if fresh.status != self.obj.status {
                        return Err(kube::Error::Api(e).into());
                    }
                    self.resource_version = fresh.resource_version();
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
