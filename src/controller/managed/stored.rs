//! The object's status as the API server holds it, replaced by the server's answer after each
//! write (as the profile controller keeps it), so the next write is the exact difference and a
//! guarded write fails when another writer came first.

use kube::{Api, ResourceExt};

use crate::api::managed::TenantObjectStatus;
use crate::controller::status::{WriteGuard, patch_status};

use super::ManagedKind;

/// The stored status of one object during one reconcile.
pub(super) struct StoredStatus<'a, K: ManagedKind> {
    api: &'a Api<K>,
    name: String,
    current: TenantObjectStatus,
    resource_version: Option<String>,
}

impl<'a, K: ManagedKind> StoredStatus<'a, K> {
    pub(super) fn new(api: &'a Api<K>, obj: &K) -> Self {
        StoredStatus {
            api,
            name: obj.name_any(),
            current: obj.status().cloned().unwrap_or_default(),
            resource_version: obj.meta().resource_version.clone(),
        }
    }

    /// The status the server holds.
    pub(super) fn current(&self) -> &TenantObjectStatus {
        &self.current
    }

    /// Writes `new` (nothing when it equals what the server holds).
    pub(super) async fn write(&mut self, new: &TenantObjectStatus) -> Result<(), kube::Error> {
        self.write_with(new, WriteGuard::None).await
    }

    /// Writes `new` only if the object is still the one this reconcile read or last wrote:
    /// for the markers that guard tenant writes.
    pub(super) async fn write_guarded(
        &mut self,
        new: &TenantObjectStatus,
    ) -> Result<(), kube::Error> {
        let guard = WriteGuard::ResourceVersion(self.resource_version.clone());
        self.write_with(new, guard).await
    }

    async fn write_with(
        &mut self,
        new: &TenantObjectStatus,
        guard: WriteGuard,
    ) -> Result<(), kube::Error> {
        let updated = patch_status(self.api, &self.name, Some(&self.current), new, guard).await?;
        if let Some(updated) = updated {
            self.resource_version = updated.meta().resource_version.clone();
            self.current = updated.status().cloned().unwrap_or_default();
        }
        Ok(())
    }
}
