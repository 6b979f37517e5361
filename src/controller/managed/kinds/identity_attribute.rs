//! `IdentityAttribute` ↔ `/v2024/identity-attributes`. The tenant keys attributes by name (the
//! name is also what `status.id` shows) and updates them with `PUT` of the whole attribute.
//! Creating, changing and deleting need a credential with user context: a 403 on a write
//! becomes `Stalled` with reason `UserContextRequired`.

use kube::runtime::reflector::Store;
use serde_json::Map;

use crate::api::managed::{DeletionPolicy, ManagementPolicy, TenantObjectStatus};
use crate::api::{IdentityAttribute, IdentityAttributeSpec};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::managed::{FieldChanges, ListCache, ManagedKind, Place, TenantObjectPlan};
use isc_client::models::{
    IdentityAttribute as TenantAttribute, IdentityAttributeSource, JsonPatchOperation,
};
use isc_client::{ErrorClass, IscError};

/// The attribute the spec declares; `None` fields are not managed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredAttribute {
    /// Technical name (the key).
    pub name: String,
    /// Managed when set.
    pub display_name: Option<String>,
    /// Managed when set.
    pub standard: Option<bool>,
    /// Managed when set.
    pub searchable: Option<bool>,
    /// Fixed at creation.
    pub multi: bool,
    /// Managed when set: the complete list.
    pub sources: Option<Vec<IdentityAttributeSource>>,
}

impl IdentityAttributeSpec {
    /// The desired attribute the planner works on.
    pub fn desired(&self) -> DesiredAttribute {
        DesiredAttribute {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            standard: self.standard,
            searchable: self.searchable,
            multi: self.multi,
            sources: self.sources.as_ref().map(|sources| {
                sources
                    .iter()
                    .map(|s| IdentityAttributeSource {
                        kind: Some(s.kind.clone()),
                        properties: Some(s.properties.clone()),
                    })
                    .collect()
            }),
        }
    }
}

/// A source as compared: an absent and an empty property map are the same.
fn normalized(
    sources: &[IdentityAttributeSource],
) -> Vec<(Option<&str>, Map<String, serde_json::Value>)> {
    sources
        .iter()
        .map(|s| (s.kind.as_deref(), s.properties.clone().unwrap_or_default()))
        .collect()
}

/// Plans what to do given the tenant's attribute (`None`: it does not exist). Only declared
/// fields are compared; `multi` cannot change (a difference is [`TenantObjectPlan::Immutable`]).
/// The update body is the tenant's attribute with the declared fields replaced (a `PUT`).
pub fn plan(
    desired: &DesiredAttribute,
    remote: Option<&TenantAttribute>,
) -> TenantObjectPlan<TenantAttribute> {
    let Some(remote) = remote else {
        return TenantObjectPlan::Create(Box::new(TenantAttribute {
            name: desired.name.clone(),
            display_name: desired.display_name.clone(),
            standard: desired.standard.unwrap_or(false),
            searchable: desired.searchable.unwrap_or(false),
            multi: desired.multi,
            sources: desired.sources.clone().unwrap_or_default(),
            ..Default::default()
        }));
    };
    if remote.multi != desired.multi {
        return TenantObjectPlan::Immutable(format!(
            "the tenant's identity attribute {:?} has multi: {}, the spec says {}; the tenant cannot change it: delete the attribute in the tenant, or use another name",
            remote.name, remote.multi, desired.multi
        ));
    }
    let mut changes = FieldChanges::default();
    let mut body = remote.clone();
    if let Some(display_name) = &desired.display_name {
        let present = remote.display_name.is_some();
        changes.compare(
            "displayName",
            display_name,
            remote.display_name.as_ref(),
            present,
        );
        body.display_name = Some(display_name.clone());
    }
    if let Some(standard) = desired.standard {
        changes.replace_if_changed("standard", &standard, &remote.standard);
        body.standard = standard;
    }
    if let Some(searchable) = desired.searchable {
        changes.replace_if_changed("searchable", &searchable, &remote.searchable);
        body.searchable = searchable;
    }
    if let Some(sources) = &desired.sources {
        let differs = normalized(sources) != normalized(&remote.sources);
        changes.push_if(differs, "sources", sources, true);
        body.sources = sources.clone();
    }
    changes.into_plan(body)
}

impl ManagedKind for IdentityAttribute {
    type Remote = TenantAttribute;
    type Desired = DesiredAttribute;
    const NOUN: &'static str = "identity attribute";

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
        ctx.identity_attributes_store()
    }
    fn lists(ctx: &Context) -> &ListCache<TenantAttribute> {
        &ctx.identity_model_lists.identity_attributes
    }
    async fn desired(
        &self,
        _ctx: &Context,
        _place: &Place,
    ) -> Result<DesiredAttribute, ReconcileError> {
        Ok(self.spec.desired())
    }
    fn plan(
        desired: &DesiredAttribute,
        remote: Option<&TenantAttribute>,
    ) -> TenantObjectPlan<TenantAttribute> {
        plan(desired, remote)
    }
    fn remote_key(remote: &TenantAttribute) -> &str {
        &remote.name
    }
    fn remote_id(remote: &TenantAttribute) -> Option<&str> {
        Some(&remote.name)
    }
    async fn list(place: &Place) -> Result<Vec<TenantAttribute>, IscError> {
        place.handle.client.list_identity_attributes().await
    }
    async fn create(place: &Place, body: &TenantAttribute) -> Result<TenantAttribute, IscError> {
        place.handle.client.create_identity_attribute(body).await
    }
    async fn update(
        place: &Place,
        current: &TenantAttribute,
        body: &TenantAttribute,
        _changes: &[JsonPatchOperation],
    ) -> Result<TenantAttribute, IscError> {
        place
            .handle
            .client
            .put_identity_attribute(&current.name, body)
            .await
    }
    async fn delete(place: &Place, remote: &TenantAttribute) -> Result<(), IscError> {
        place
            .handle
            .client
            .delete_identity_attribute(&remote.name)
            .await
    }
    fn write_error(error: IscError) -> ReconcileError {
        if error.class() == ErrorClass::Forbidden && !matches!(error, IscError::Auth { .. }) {
            return ReconcileError::UserContextRequired(user_context_message(&error));
        }
        ReconcileError::from(error)
    }
}

/// What a 403 on an identity-attribute write tells the user.
fn user_context_message(error: &IscError) -> String {
    format!(
        "creating, changing or deleting identity attributes needs a credential with user context (a personal access token of an admin user); the Tenant's credential has none, so the tenant refused the write ({error}). Put a personal access token in the Tenant's Secret, or set managementPolicy: Observe"
    )
}
