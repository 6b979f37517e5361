//! `Transform` ↔ `/v2024/transforms`. Found by name, recorded by id; the tenant lets a `PUT`
//! change only `attributes` (`name` and `type` are fixed, and immutable in the CRD too), so the
//! plan compares the attributes only, and an adopted transform of another `type` is
//! [`TenantObjectPlan::Immutable`], never deleted and recreated.

use kube::runtime::reflector::Store;
use serde_json::{Map, Value};

use crate::api::managed::{DeletionPolicy, ManagementPolicy, TenantObjectStatus};
use crate::api::{Transform, TransformSpec};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::managed::{FieldChanges, ListCache, ManagedKind, Place, TenantObjectPlan};
use crate::controller::references;
use isc_client::IscError;
use isc_client::models::{JsonPatchOperation, Transform as TenantTransform};

/// The transform the spec declares, with names resolved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredTransform {
    /// Unique name (the key).
    pub name: String,
    /// Transform type (fixed).
    pub kind: String,
    /// The complete arguments.
    pub attributes: Map<String, Value>,
    /// Names resolved to tenant ids (`source/<name>` → id), shown in status.
    pub references: Vec<(String, String)>,
}

impl TransformSpec {
    /// The desired transform as written (no name resolved).
    pub fn desired(&self) -> DesiredTransform {
        DesiredTransform {
            name: self.name.clone(),
            kind: self.kind.clone(),
            attributes: self.attributes.clone(),
            references: Vec::new(),
        }
    }
}

/// Plans what to do given the tenant's transform (`None`: it does not exist): the attributes
/// are compared as a whole (a `PUT` replaces them); the update body is the tenant's transform
/// with the declared attributes and without its read-only fields.
pub fn plan(
    desired: &DesiredTransform,
    remote: Option<&TenantTransform>,
) -> TenantObjectPlan<TenantTransform> {
    let Some(remote) = remote else {
        return TenantObjectPlan::Create(Box::new(TenantTransform {
            id: None,
            name: desired.name.clone(),
            kind: desired.kind.clone(),
            attributes: Some(desired.attributes.clone()),
            internal: None,
        }));
    };
    if remote.kind != desired.kind {
        return TenantObjectPlan::Immutable(format!(
            "the tenant's transform {:?} has type {:?}, the spec says {:?}; the tenant cannot change a transform's type: use another name, or delete the transform in the tenant",
            remote.name, remote.kind, desired.kind
        ));
    }
    let mut changes = FieldChanges::default();
    let observed = remote.attributes.clone().unwrap_or_default();
    changes.push_if(
        observed != desired.attributes,
        "attributes",
        &desired.attributes,
        remote.attributes.is_some(),
    );
    let body = TenantTransform {
        id: None,
        name: remote.name.clone(),
        kind: remote.kind.clone(),
        attributes: Some(desired.attributes.clone()),
        internal: None,
    };
    changes.into_plan(body)
}

impl ManagedKind for Transform {
    type Remote = TenantTransform;
    type Desired = DesiredTransform;
    const NOUN: &'static str = "transform";

    fn status(&self) -> Option<&TenantObjectStatus> {
        self.status.as_ref()
    }
    fn tenant_name(&self) -> &str {
        &self.spec.tenant_ref.name
    }
    fn key(&self) -> &str {
        &self.spec.name
    }
    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }
    fn management_policy(&self) -> ManagementPolicy {
        self.spec.management_policy
    }
    fn store(ctx: &Context) -> &Store<Self> {
        ctx.transforms_store()
    }
    fn lists(ctx: &Context) -> &ListCache<TenantTransform> {
        &ctx.identity_model_lists.transforms
    }
    async fn desired(
        &self,
        _ctx: &Context,
        place: &Place,
    ) -> Result<DesiredTransform, ReconcileError> {
        let mut desired = self.spec.desired();
        resolve_source_name(place, &mut desired).await?;
        Ok(desired)
    }
    fn references(desired: &DesiredTransform) -> Vec<(String, String)> {
        desired.references.clone()
    }
    fn plan(
        desired: &DesiredTransform,
        remote: Option<&TenantTransform>,
    ) -> TenantObjectPlan<TenantTransform> {
        plan(desired, remote)
    }
    fn remote_key(remote: &TenantTransform) -> &str {
        &remote.name
    }
    fn remote_id(remote: &TenantTransform) -> Option<&str> {
        remote.id.as_deref()
    }
    async fn list(place: &Place) -> Result<Vec<TenantTransform>, IscError> {
        let params = isc_client::ListParams::default();
        place.handle.client.list_all_transforms(&params).await
    }
    async fn create(place: &Place, body: &TenantTransform) -> Result<TenantTransform, IscError> {
        place.handle.client.create_transform(body).await
    }
    async fn update(
        place: &Place,
        current: &TenantTransform,
        body: &TenantTransform,
        _changes: &[JsonPatchOperation],
    ) -> Result<TenantTransform, IscError> {
        let id = current.id.as_deref().unwrap_or_default();
        place.handle.client.update_transform(id, body).await
    }
    async fn delete(place: &Place, remote: &TenantTransform) -> Result<(), IscError> {
        let id = remote.id.as_deref().unwrap_or_default();
        place.handle.client.delete_transform(id).await
    }
}

/// A `sourceName` without a `sourceId` in the attributes is resolved on `place`'s tenant (the
/// name-based references, [`crate::controller::references::resolve_source_names`]): `sourceId`
/// is added, and `source/<name>` → id is shown in `status.resolvedReferences`.
async fn resolve_source_name(
    place: &Place,
    desired: &mut DesiredTransform,
) -> Result<(), ReconcileError> {
    let tenant = place.tenant.metadata.name.as_deref().unwrap_or_default();
    let (attributes, resolved) =
        references::resolve_source_names(&place.handle, tenant, &desired.attributes).await?;
    desired.attributes = attributes;
    desired.references = resolved.into_iter().collect();
    Ok(())
}
