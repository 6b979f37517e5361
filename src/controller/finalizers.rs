//! The one finalizer of the tenant-object kinds (`IdentityProfile` and the identity-model
//! kinds) and what their reconcilers share around kube's finalizer helper: removing a finalizer
//! an object no longer wants, and mapping the helper's errors onto [`ReconcileError`].

use std::fmt::Debug;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::controller::error::ReconcileError;

/// Finalizer that lets `deletionPolicy: Delete` finish before the object goes away. Only
/// objects with `deletionPolicy: Delete` carry it: under `Orphan` (the default) nothing happens
/// on the tenant at deletion, so the object needs no finalizer (and no write to add one).
pub const FINALIZER: &str = "isc.identitynow.dev/finalizer";

/// Whether `obj` carries [`FINALIZER`].
pub fn has_finalizer<K: Resource>(obj: &K) -> bool {
    obj.finalizers().iter().any(|f| f == FINALIZER)
}

/// Removes [`FINALIZER`] from an object that no longer wants it, only if it is still where this
/// reconcile saw it (a JSON patch `test`, as kube's finalizer helper does).
pub async fn remove_finalizer<K>(api: &Api<K>, obj: &K) -> Result<(), ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Serialize,
{
    let Some(index) = obj.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{index}");
    // The only finalizer: the list goes (as the API server stores an empty one).
    let removed = match obj.finalizers().len() {
        1 => "/metadata/finalizers",
        _ => path.as_str(),
    };
    let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
        {"op": "test", "path": path, "value": FINALIZER},
        {"op": "remove", "path": removed},
    ]))
    .map_err(|e| ReconcileError::InvalidSpec(format!("finalizer patch: {e}")))?;
    api.patch::<K>(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Json(patch),
    )
    .await?;
    Ok(())
}

/// The reconcile's own error out of kube's finalizer helper, or a Kubernetes error for the
/// helper's finalizer writes.
// The reconcilers' one error type (large: it can carry a tenant error).
#[allow(clippy::result_large_err)]
pub fn finalizer_outcome(
    result: Result<Action, finalizer::Error<ReconcileError>>,
) -> Result<Action, ReconcileError> {
    match result {
        Ok(action) => Ok(action),
        Err(finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e)) => Err(e),
        Err(finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e)) => {
            Err(ReconcileError::Kube(e))
        }
        Err(e) => Err(ReconcileError::InvalidSpec(e.to_string())),
    }
}
