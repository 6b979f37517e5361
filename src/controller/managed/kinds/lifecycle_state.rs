//! `LifecycleState` ↔ `/v2024/identity-profiles/{id}/lifecycle-states`. The state lives in the
//! profile of its `IdentityProfile` object: it waits (`WaitingForDependencies`) until that object
//! has a tenant id, and its `tenantRef` must be the profile's. Found by `technicalName` within
//! the profile, recorded by id, updated with a JSON Patch of the changed fields only.

use std::collections::BTreeSet;

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::lifecycle_state::{AccountActionSpec, EmailNotificationSpec};
use crate::api::managed::{DeletionPolicy, ManagementPolicy, TenantObjectStatus};
use crate::api::{LifecycleState, LifecycleStateSpec};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::managed::{
    FieldChanges, ListCache, ManagedKind, PARENT_REFERENCE_PREFIX, Parent, Place, TenantObjectPlan,
};
use crate::controller::references::{self, NameReference};
use isc_client::IscError;
use isc_client::models::{
    AccountAction, EmailNotificationOption, JsonPatchOperation, ProfileLifecycleState,
};

/// The state the spec declares; `None` fields are not managed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredLifecycleState {
    /// Key within the profile (fixed).
    pub technical_name: String,
    /// Display name (always managed).
    pub name: String,
    /// Managed when set.
    pub description: Option<String>,
    /// Managed when set.
    pub enabled: Option<bool>,
    /// Managed when set.
    pub identity_state: Option<String>,
    /// Managed when set.
    pub email_notification_option: Option<EmailNotificationOption>,
    /// Managed when set: the complete list (source ids resolved).
    pub account_actions: Option<Vec<AccountAction>>,
    /// Managed when set: compared as a set.
    pub access_profile_ids: Option<Vec<String>>,
    /// `accountActions[].sourceNames` resolved to ids (`source/<name>` → id), shown in status.
    pub references: Vec<(String, String)>,
}

fn email(spec: &EmailNotificationSpec) -> EmailNotificationOption {
    EmailNotificationOption {
        notify_managers: spec.notify_managers,
        notify_all_admins: spec.notify_all_admins,
        notify_specific_users: spec.notify_specific_users,
        email_address_list: spec.email_address_list.clone(),
    }
}

fn account_action(spec: &AccountActionSpec) -> AccountAction {
    let action = serde_json::to_value(spec.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    AccountAction {
        action,
        source_ids: spec.source_ids.clone(),
        exclude_source_ids: None,
        all_sources: None,
    }
}

impl LifecycleStateSpec {
    /// The desired state as written (`accountActions[].sourceNames` not resolved: see
    /// `resolve_source_names` in this module).
    pub fn desired(&self) -> DesiredLifecycleState {
        DesiredLifecycleState {
            technical_name: self.technical_name.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            identity_state: self.identity_state.clone(),
            email_notification_option: self.email_notification_option.as_ref().map(email),
            account_actions: self
                .account_actions
                .as_ref()
                .map(|actions| actions.iter().map(account_action).collect()),
            access_profile_ids: self.access_profile_ids.clone(),
            references: Vec::new(),
        }
    }
}

/// An account action as compared: source lists as sets, absent flags as their defaults.
fn action_key(a: &AccountAction) -> (String, Vec<String>, Vec<String>, bool) {
    let sorted = |ids: &[String]| {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        ids
    };
    let excluded = a.exclude_source_ids.as_deref().unwrap_or_default();
    (
        a.action.clone(),
        sorted(&a.source_ids),
        sorted(excluded),
        a.all_sources.unwrap_or(false),
    )
}

fn as_set(ids: &[String]) -> std::collections::BTreeSet<&str> {
    ids.iter().map(String::as_str).collect()
}

/// Plans what to do given the tenant's state (`None`: it does not exist): one JSON Patch
/// operation per declared field that differs (`replace`, or `add` for a member the tenant left
/// out); account actions as a list of sets, access profiles as a set.
pub fn plan(
    desired: &DesiredLifecycleState,
    remote: Option<&ProfileLifecycleState>,
) -> TenantObjectPlan<ProfileLifecycleState> {
    let Some(remote) = remote else {
        return TenantObjectPlan::Create(Box::new(ProfileLifecycleState {
            name: desired.name.clone(),
            technical_name: desired.technical_name.clone(),
            description: desired.description.clone(),
            enabled: desired.enabled.unwrap_or(false),
            email_notification_option: desired.email_notification_option.clone(),
            account_actions: desired.account_actions.clone().unwrap_or_default(),
            access_profile_ids: desired.access_profile_ids.clone().unwrap_or_default(),
            identity_state: desired.identity_state.clone(),
            ..Default::default()
        }));
    };
    let mut changes = FieldChanges::default();
    let mut body = remote.clone();
    changes.replace_if_changed("name", &desired.name, &remote.name);
    body.name = desired.name.clone();
    if let Some(description) = &desired.description {
        let present = remote.description.is_some();
        changes.compare(
            "description",
            description,
            remote.description.as_ref(),
            present,
        );
        body.description = Some(description.clone());
    }
    if let Some(enabled) = desired.enabled {
        changes.replace_if_changed("enabled", &enabled, &remote.enabled);
        body.enabled = enabled;
    }
    if let Some(state) = &desired.identity_state {
        let present = remote.identity_state.is_some();
        changes.compare(
            "identityState",
            state,
            remote.identity_state.as_ref(),
            present,
        );
        body.identity_state = Some(state.clone());
    }
    if let Some(option) = &desired.email_notification_option {
        let observed = remote.email_notification_option.as_ref();
        changes.compare(
            "emailNotificationOption",
            option,
            observed,
            observed.is_some(),
        );
        body.email_notification_option = Some(option.clone());
    }
    if let Some(actions) = &desired.account_actions {
        let keys = |list: &[AccountAction]| list.iter().map(action_key).collect::<Vec<_>>();
        let differs = keys(actions) != keys(&remote.account_actions);
        changes.push_if(differs, "accountActions", actions, true);
        body.account_actions = actions.clone();
    }
    if let Some(ids) = &desired.access_profile_ids {
        let differs = as_set(ids) != as_set(&remote.access_profile_ids);
        changes.push_if(differs, "accessProfileIds", ids, true);
        body.access_profile_ids = ids.clone();
    }
    changes.into_plan(body)
}

impl ManagedKind for LifecycleState {
    type Remote = ProfileLifecycleState;
    type Desired = DesiredLifecycleState;
    const NOUN: &'static str = "lifecycle state";

    fn status(&self) -> Option<&TenantObjectStatus> {
        self.status.as_ref()
    }
    fn tenant_name(&self) -> &str {
        &self.spec.tenant_ref.name
    }
    fn key(&self) -> &str {
        &self.spec.technical_name
    }
    fn scope_key(&self) -> String {
        let namespace = self.namespace().unwrap_or_default();
        format!("{namespace}/{}", self.spec.identity_profile_ref.name)
    }
    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }
    fn management_policy(&self) -> ManagementPolicy {
        self.spec.management_policy
    }
    fn store(ctx: &Context) -> &Store<Self> {
        ctx.lifecycle_states_store()
    }
    fn lists(ctx: &Context) -> &ListCache<ProfileLifecycleState> {
        &ctx.identity_model_lists.lifecycle_states
    }
    #[allow(clippy::result_large_err)]
    fn parent(&self, ctx: &Context) -> Result<Option<Parent>, ReconcileError> {
        profile_of(self, ctx).map(Some)
    }
    async fn desired(
        &self,
        _ctx: &Context,
        place: &Place,
    ) -> Result<DesiredLifecycleState, ReconcileError> {
        let mut desired = self.spec.desired();
        let tenant = place.tenant.metadata.name.as_deref().unwrap_or_default();
        let handle = &place.handle;
        desired.references = resolve_source_names(
            &handle.references,
            &handle.client,
            tenant,
            &self.spec,
            &mut desired,
        )
        .await?;
        Ok(desired)
    }
    fn references(desired: &DesiredLifecycleState) -> Vec<(String, String)> {
        desired.references.clone()
    }
    fn plan(
        desired: &DesiredLifecycleState,
        remote: Option<&ProfileLifecycleState>,
    ) -> TenantObjectPlan<ProfileLifecycleState> {
        plan(desired, remote)
    }
    fn remote_key(remote: &ProfileLifecycleState) -> &str {
        &remote.technical_name
    }
    fn remote_id(remote: &ProfileLifecycleState) -> Option<&str> {
        remote.id.as_deref()
    }
    async fn list(place: &Place) -> Result<Vec<ProfileLifecycleState>, IscError> {
        let params = isc_client::ListParams::default();
        let client = &place.handle.client;
        client
            .list_all_lifecycle_states(place.parent_id(), &params)
            .await
    }
    async fn create(
        place: &Place,
        body: &ProfileLifecycleState,
    ) -> Result<ProfileLifecycleState, IscError> {
        place
            .handle
            .client
            .create_lifecycle_state(place.parent_id(), body)
            .await
    }
    async fn update(
        place: &Place,
        current: &ProfileLifecycleState,
        _body: &ProfileLifecycleState,
        changes: &[JsonPatchOperation],
    ) -> Result<ProfileLifecycleState, IscError> {
        let id = current.id.as_deref().unwrap_or_default();
        let client = &place.handle.client;
        client
            .update_lifecycle_state(place.parent_id(), id, changes)
            .await
    }
    async fn delete(place: &Place, remote: &ProfileLifecycleState) -> Result<(), IscError> {
        let id = remote.id.as_deref().unwrap_or_default();
        let client = &place.handle.client;
        client
            .delete_lifecycle_state(place.parent_id(), id)
            .await
            .map(|_| ())
    }
}

/// The profile the state lives in, from the `IdentityProfile` watch cache: waits while the
/// object is missing or has no tenant id; refuses another Tenant than the profile's.
// The reconcilers' one error type (large: it can carry a tenant error); a lookup in memory.
#[allow(clippy::result_large_err)]
fn profile_of(state: &LifecycleState, ctx: &Context) -> Result<Parent, ReconcileError> {
    let namespace = state.namespace().unwrap_or_default();
    let name = &state.spec.identity_profile_ref.name;
    let key = ObjectRef::new(name).within(&namespace);
    let Some(profile) = ctx.profiles_store().get(&key) else {
        return Err(ReconcileError::WaitingForDependencies(format!(
            "waiting for IdentityProfile {name:?} (identityProfileRef): it does not exist in this namespace"
        )));
    };
    if profile.spec.tenant_ref.name != state.spec.tenant_ref.name {
        return Err(ReconcileError::InvalidSpec(format!(
            "tenantRef {:?} is not the Tenant of IdentityProfile {name:?} ({:?}); a lifecycle state lives on its profile's tenant",
            state.spec.tenant_ref.name, profile.spec.tenant_ref.name
        )));
    }
    match profile.status.as_ref().and_then(|s| s.id.clone()) {
        Some(id) => Ok(Parent {
            reference: format!("{PARENT_REFERENCE_PREFIX}{name}"),
            id,
        }),
        None => Err(ReconcileError::WaitingForDependencies(format!(
            "waiting for IdentityProfile {name:?} (identityProfileRef) to be on the tenant (it has no status.id yet)"
        ))),
    }
}

/// Resolves `accountActions[].sourceNames` on the tenant `client` calls (Tenant `tenant`, named
/// in messages) through `cache` (the name-based references, [`references::resolve`]) and adds
/// the ids to each action's `sourceIds`; returns what was resolved. No tenant call when no
/// action names a source. The controller and `isc-operator plan` both resolve with it.
pub async fn resolve_source_names(
    cache: &references::ReferenceCache,
    client: &isc_client::TenantClient,
    tenant: &str,
    spec: &LifecycleStateSpec,
    desired: &mut DesiredLifecycleState,
) -> Result<Vec<(String, String)>, ReconcileError> {
    let specs = spec.account_actions.iter().flatten();
    let wanted: BTreeSet<NameReference> = specs
        .flat_map(|a| &a.source_names)
        .map(|name| NameReference::source(name))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let known = references::ResolvedReferences::new();
    let resolved = references::resolve(cache, client, tenant, &wanted, &known).await?;
    let specs = spec.account_actions.iter().flatten();
    for (action, spec) in desired.account_actions.iter_mut().flatten().zip(specs) {
        for name in &spec.source_names {
            if let Some(id) = resolved.get(&NameReference::source(name).key())
                && !action.source_ids.contains(id)
            {
                action.source_ids.push(id.clone());
            }
        }
    }
    Ok(resolved.into_iter().collect())
}
