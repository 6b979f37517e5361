//! Dereference: everything the plan needs, read but never written. The Tenant and its Secret
//! (through the tenant pool), the other `IdentityProfile`s (for conflicts), and the tenant
//! profile itself, from the tenant's shared profile list when that can be trusted, else fresh.

use std::sync::Arc;

use kube::ResourceExt;

use crate::api::IdentityProfile;
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::tenant_pool::TenantHandle;
use isc_client::ListParams;
use isc_client::filter::Filter;
use isc_client::models::IdentityProfile as TenantProfile;

/// What the plan is computed against.
pub(super) struct Observation {
    /// The tenant to call.
    pub tenant: Arc<TenantHandle>,
    /// The tenant profile this object manages, `None` when it does not exist.
    pub tenant_profile: Option<TenantProfile>,
    /// Found by name although no id was recorded: the object takes over an existing profile.
    pub adopted: bool,
}

/// Why this object must not touch the tenant profile, when another (earlier) object manages
/// it: same Tenant and either the same name or the same recorded id.
pub(super) fn find_conflict(obj: &IdentityProfile, ctx: &Context) -> Option<String> {
    let ns = obj.namespace();
    let my_id = obj.status.as_ref().and_then(|s| s.id.clone());
    let my_key = (obj.creation_timestamp().map(|t| t.0), obj.name_any());
    let earlier_owner = ctx
        .profiles_store()
        .state()
        .into_iter()
        .filter(|other| {
            other.namespace() == ns
                && other.name_any() != obj.name_any()
                && other.metadata.deletion_timestamp.is_none()
                && other.spec.tenant_ref == obj.spec.tenant_ref
        })
        .filter(|other| {
            let other_id = other.status.as_ref().and_then(|s| s.id.clone());
            other.spec.name == obj.spec.name || (my_id.is_some() && other_id == my_id)
        })
        .find(|other| (other.creation_timestamp().map(|t| t.0), other.name_any()) < my_key);
    earlier_owner.map(|other| {
        format!(
            "IdentityProfile {:?} already manages tenant profile {:?}; this object makes no changes until the conflict is resolved",
            other.name_any(),
            obj.spec.name
        )
    })
}

/// Resolves the Tenant and finds the tenant profile: by the recorded `id`, else by name.
///
/// After an interrupted create (`create_pending`) the shared list is not trusted: the tenant is
/// asked by name. When the profile seems missing and the caller may create it (`may_create`),
/// the name is looked up fresh once more, so a profile made since the list was read is adopted
/// rather than created twice.
pub(super) async fn observe(
    obj: &IdentityProfile,
    ctx: &Context,
    recorded_id: Option<&str>,
    create_pending: bool,
    may_create: bool,
) -> Result<Observation, ReconcileError> {
    let namespace = obj.namespace().unwrap_or_default();
    let (_tenant, handle) = ctx
        .tenants
        .resolve(&ctx.client, &namespace, &obj.spec.tenant_ref.name)
        .await?;
    let name = &obj.spec.name;
    let mut found = if create_pending {
        find_fresh(&handle, recorded_id, name).await?
    } else {
        find_in_shared_list(&handle, recorded_id, name).await?
    };
    let mut adopted = found.is_some() && recorded_id.is_none();
    if found.is_none() && may_create && !create_pending {
        found = find_fresh(&handle, None, name).await?;
        adopted = found.is_some();
    }
    Ok(Observation {
        adopted,
        tenant: handle,
        tenant_profile: found,
    })
}

/// From the tenant's shared profile list (one list call per half resync for all objects).
async fn find_in_shared_list(
    handle: &TenantHandle,
    id: Option<&str>,
    name: &str,
) -> Result<Option<TenantProfile>, ReconcileError> {
    let profiles = handle.profiles.get(&handle.client).await?;
    if let Some(id) = id {
        if let Some(p) = profiles.iter().find(|p| p.id.as_deref() == Some(id)) {
            return Ok(Some(p.clone()));
        }
        // Not in the shared list (created since, or deleted in the tenant): ask directly.
        return get_by_id(handle, id).await;
    }
    Ok(profiles.into_iter().find(|p| p.name == name))
}

/// Straight from the tenant: a list filtered by name, then (if an id is recorded but the name
/// changed) a GET by id.
async fn find_fresh(
    handle: &TenantHandle,
    id: Option<&str>,
    name: &str,
) -> Result<Option<TenantProfile>, ReconcileError> {
    let found = handle
        .client
        .list_all_identity_profiles(&ListParams {
            filter: Some(Filter::eq("name", name)),
            ..Default::default()
        })
        .await?;
    let by_id = id.and_then(|id| found.iter().find(|p| p.id.as_deref() == Some(id)));
    if let Some(p) = by_id.or_else(|| found.iter().find(|p| p.name == name)) {
        return Ok(Some(p.clone()));
    }
    match id {
        Some(id) => get_by_id(handle, id).await,
        None => Ok(None),
    }
}

/// The tenant profile with this id, or `None` when the tenant says it does not exist.
pub(super) async fn get_by_id(
    handle: &TenantHandle,
    id: &str,
) -> Result<Option<TenantProfile>, ReconcileError> {
    match handle.client.get_identity_profile(id).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
