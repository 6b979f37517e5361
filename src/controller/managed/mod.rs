//! The controllers of the identity-model kinds (`IdentityAttribute`, `Transform`,
//! `LifecycleState`): one generic pipeline, and per kind ([`kinds`]) only what differs (the
//! tenant calls, the pure plan, how the tenant object is keyed).
//!
//! Every kind follows the `IdentityProfile` conventions:
//! - **dereference**: the pause switches, ownership (one object per tenant object), the parent
//!   (a lifecycle state's profile must have a tenant id: else `WaitingForDependencies`), the
//!   Tenant, the desired object (names resolved), and the tenant object from the kind's shared
//!   list ([`list_cache`]), by the recorded id, else by name (adoption);
//! - **plan** (pure, per kind, [`TenantObjectPlan`]): `Create | Update{changes} | Nothing`;
//! - **apply** ([`apply`]): skipped under `managementPolicy: Observe` and while a pause switch
//!   holds writes; a create first writes the `pendingCreate` marker (write-ahead) and looks the
//!   name up in a fresh list, so a create cut short by a crash is adopted, never repeated; a
//!   write the tenant refused is not repeated for the same generation before one resync
//!   ([`crate::controller::refusal`]);
//! - **status** ([`status`], pure): kstatus conditions, `Synced`, the plan, Events.
//!
//! Deletion runs behind a finalizer only under `deletionPolicy: Delete` ([`cleanup`]). Drift is
//! found by the kinds' resync sweep ([`sweep`]): one list per kind per scope per resync.

mod apply;
mod cleanup;
pub mod kinds;
pub mod list_cache;
mod ownership;
pub mod plan;
mod reconcile;
pub mod run;
pub mod status;
mod stored;
pub mod sweep;

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use kube::runtime::reflector::Store;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::Tenant;
use crate::api::managed::{DeletionPolicy, ManagementPolicy, TenantObjectStatus};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::tenant_pool::TenantHandle;
use isc_client::IscError;
use isc_client::models::JsonPatchOperation;

pub use list_cache::{IdentityModelLists, ListCache, ListKey};
pub use plan::{FieldChanges, TenantObjectPlan, shown_plan};
pub use reconcile::reconcile;

/// Where on the tenant an object lives: its Tenant, the tenant client, and for a kind nested
/// in a parent (a lifecycle state in its profile) the parent.
pub struct Place {
    /// Namespace of the object (and of its Tenant).
    pub namespace: String,
    /// The object's Tenant.
    pub tenant: Arc<Tenant>,
    /// The tenant to call.
    pub handle: Arc<TenantHandle>,
    /// The parent's tenant id, when the kind has one.
    pub parent: Option<Parent>,
}

/// How `status.resolvedReferences` names a parent: this prefix and the parent object's name.
pub const PARENT_REFERENCE_PREFIX: &str = "identityProfile/";

/// The tenant object an object lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    /// How `status.resolvedReferences` names it, e.g. `identityProfile/employees`.
    pub reference: String,
    /// Its tenant id.
    pub id: String,
}

impl Place {
    /// Which shared list holds the object.
    pub fn list_key(&self) -> ListKey {
        let tenant = self.tenant.metadata.name.clone().unwrap_or_default();
        let parent = self
            .parent
            .as_ref()
            .map(|p| p.id.clone())
            .unwrap_or_default();
        (self.namespace.clone(), tenant, parent)
    }

    /// The parent's tenant id, or an empty string for kinds without one.
    pub fn parent_id(&self) -> &str {
        self.parent.as_ref().map_or("", |p| p.id.as_str())
    }
}

/// What differs between the identity-model kinds; the pipeline is the same for all of them.
pub trait ManagedKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    /// The tenant object (wire type).
    type Remote: Clone + Debug + PartialEq + Serialize + Send + Sync + 'static;
    /// What the spec asks for, with names resolved: the input of [`ManagedKind::plan`].
    type Desired: Send + Sync;
    /// How messages and Events name the tenant object, e.g. `identity attribute`.
    const NOUN: &'static str;

    /// The object's status.
    fn status(&self) -> Option<&TenantObjectStatus>;
    /// Name of the object's `Tenant` (same namespace).
    fn tenant_name(&self) -> &str;
    /// The tenant object's key for adoption (its name, or a lifecycle state's technical name).
    fn key(&self) -> &str;
    /// `spec.deletionPolicy`.
    fn deletion_policy(&self) -> DeletionPolicy;
    /// `spec.managementPolicy`.
    fn management_policy(&self) -> ManagementPolicy;
    /// What, besides the Tenant and the key, identifies the tenant object (a lifecycle state's
    /// profile object); empty for kinds directly on the tenant.
    fn scope_key(&self) -> String {
        String::new()
    }
    /// The watch cache of the kind (ownership, the sweep).
    fn store(ctx: &Context) -> &Store<Self>;
    /// The kind's shared tenant lists.
    fn lists(ctx: &Context) -> &ListCache<Self::Remote>;

    /// The parent the tenant object lives under; `Ok(None)` for kinds directly on the tenant.
    /// An error while the parent is not on the tenant yet (`WaitingForDependencies`) or does
    /// not fit (`InvalidSpec`). Reads watch caches only.
    #[allow(clippy::result_large_err)]
    fn parent(&self, _ctx: &Context) -> Result<Option<Parent>, ReconcileError> {
        Ok(None)
    }

    /// The desired tenant object (names in the spec resolved on `place`'s tenant); an
    /// `InvalidSpec` error when the spec cannot be planned.
    fn desired(
        &self,
        ctx: &Context,
        place: &Place,
    ) -> impl Future<Output = Result<Self::Desired, ReconcileError>> + Send;
    /// Tenant ids the desired object's names resolved to (shown in `status.resolvedReferences`).
    fn references(_desired: &Self::Desired) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The pure plan (see [`TenantObjectPlan`]).
    fn plan(
        desired: &Self::Desired,
        remote: Option<&Self::Remote>,
    ) -> TenantObjectPlan<Self::Remote>;

    /// A tenant object's key (compared with [`ManagedKind::key`]).
    fn remote_key(remote: &Self::Remote) -> &str;
    /// A tenant object's id (what `status.id` records).
    fn remote_id(remote: &Self::Remote) -> Option<&str>;

    /// Lists the scope's tenant objects.
    fn list(place: &Place) -> impl Future<Output = Result<Vec<Self::Remote>, IscError>> + Send;
    /// Creates the tenant object.
    fn create(
        place: &Place,
        body: &Self::Remote,
    ) -> impl Future<Output = Result<Self::Remote, IscError>> + Send;
    /// Updates `current` to `body` (`PUT` kinds) or by `changes` (JSON Patch kinds).
    fn update(
        place: &Place,
        current: &Self::Remote,
        body: &Self::Remote,
        changes: &[JsonPatchOperation],
    ) -> impl Future<Output = Result<Self::Remote, IscError>> + Send;
    /// Deletes the tenant object (a 404 counts as done).
    fn delete(
        place: &Place,
        remote: &Self::Remote,
    ) -> impl Future<Output = Result<(), IscError>> + Send;

    /// The error a failed write becomes (identity attributes: a 403 means the credential
    /// lacks user context).
    fn write_error(error: IscError) -> ReconcileError {
        ReconcileError::from(error)
    }
}

/// The tenant object with the recorded `id`, else the one with the object's key.
pub fn find<'a, K: ManagedKind>(
    listed: &'a [K::Remote],
    id: Option<&str>,
    key: &str,
) -> Option<&'a K::Remote> {
    id.and_then(|id| listed.iter().find(|r| K::remote_id(r) == Some(id)))
        .or_else(|| listed.iter().find(|r| K::remote_key(r) == key))
}

/// The shared list of `place`'s scope (the snapshot while younger than two resyncs).
pub async fn shared_list<K: ManagedKind>(
    ctx: &Context,
    place: &Place,
) -> Result<Arc<Vec<K::Remote>>, ReconcileError> {
    let max_age = place.handle.resync.saturating_mul(2);
    K::lists(ctx)
        .get(&place.list_key(), max_age, || K::list(place))
        .await
}

/// A list of `place`'s scope taken now (shared with callers asking meanwhile).
pub async fn fresh_list<K: ManagedKind>(
    ctx: &Context,
    place: &Place,
) -> Result<Arc<Vec<K::Remote>>, ReconcileError> {
    K::lists(ctx)
        .refresh(&place.list_key(), || K::list(place))
        .await
}
