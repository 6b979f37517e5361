//! Dereference: everything the plan needs, read but never written (also while a pause switch
//! holds the object's writes: [`Observation::hold`]). The Tenant and its Secret
//! (through the tenant pool) and the tenant profile itself, from the tenant's shared profile
//! list (a missing profile is proven missing by the creation wave's fresh list, not here).
//! Names are matched the way the tenant matches them (case-insensitively); a tenant profile
//! that maps to this object but cannot be decoded stops this object only
//! ([`ReconcileError::MalformedTenantObject`]), and so do several with its name.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::IdentityProfile;
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::pause::{WriteHold, writes_held};
use crate::controller::profile::diff::DesiredProfile;
use crate::controller::profile_cache::{TenantProfiles, list_profiles};
use crate::controller::references::{self, ResolvedReferences};
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
    /// The pause switch holding the object's tenant writes, judged with the Tenant just
    /// resolved; `None` when writes may go.
    pub hold: Option<WriteHold>,
}

/// The pause switch holding the object's tenant writes as known before anything is read: its
/// own annotation, or its Tenant's `spec.suspend` in the watch cache. So an object that fails
/// before its Tenant is resolved still shows `Suspended`; [`observe`] decides for the writes.
pub(super) fn cached_hold(obj: &IdentityProfile, ctx: &Context) -> Option<WriteHold> {
    let key = ObjectRef::new(&obj.spec.tenant_ref.name).within(&obj.namespace()?);
    writes_held(obj, ctx.tenants_store().get(&key).as_deref())
}

/// Resolves the Tenant and finds the tenant profile: by the recorded `id`, else by name, in
/// the tenant's shared list (a recorded id missing from it is asked for directly).
///
/// A profile that seems missing is not looked up again here, whatever the object's state: a
/// missing profile plans a create, and the creation wave's one fresh list (see `wave`) decides
/// whether it exists after all (then it is adopted). So an interrupted create (`pendingCreate`)
/// and a new object are handled alike, and no object lists on its own. `_create_pending` and
/// `_may_create` no longer change the lookup.
pub(super) async fn observe(
    obj: &IdentityProfile,
    ctx: &Context,
    recorded_id: Option<&str>,
    _create_pending: bool,
    _may_create: bool,
) -> Result<Observation, ReconcileError> {
    let namespace = obj.namespace().unwrap_or_default();
    let (tenant, handle) = ctx
        .tenants
        .resolve(&ctx.client, &namespace, &obj.spec.tenant_ref.name)
        .await?;
    let found = find_in_shared_list(&handle, recorded_id, &obj.spec.name).await?;
    Ok(Observation {
        adopted: found.is_some() && recorded_id.is_none(),
        tenant: handle,
        tenant_profile: found,
        hold: writes_held(obj, Some(&tenant)),
    })
}

/// The desired profile with every name in the spec resolved on the object's Tenant (see
/// [`crate::controller::references`]), and what the names resolved to (for
/// `status.resolvedReferences`). A spec that names nothing makes no call; names come from the
/// Tenant's cached lists, and transforms managed by Ready `Transform` objects from their status.
pub(super) async fn resolve_names(
    obj: &IdentityProfile,
    ctx: &Context,
    handle: &TenantHandle,
) -> Result<(DesiredProfile, ResolvedReferences), ReconcileError> {
    let known = super::dependencies::known_ids(obj, ctx);
    let tenant = &obj.spec.tenant_ref.name;
    references::resolve_profile(
        &handle.references,
        &handle.client,
        tenant,
        &obj.spec,
        &known,
    )
    .await
}

/// From the tenant's shared profile list (one list call per half resync for all objects).
async fn find_in_shared_list(
    handle: &TenantHandle,
    id: Option<&str>,
    name: &str,
) -> Result<Option<TenantProfile>, ReconcileError> {
    let profiles = handle.profiles.get(&handle.client).await?;
    if let Some(id) = id {
        if let Some(p) = profiles.by_id(id) {
            return Ok(Some(TenantProfile::clone(p)));
        }
        if let Some(problem) = check_malformed(&profiles, Some(id), name) {
            return Err(ReconcileError::MalformedTenantObject(problem));
        }
        // Not in the shared list (created since, or deleted in the tenant): ask directly.
        return get_by_id(handle, id).await;
    }
    pick(&profiles, None, name)
}

/// The profile with this id, else the one with this name (as the tenant compares names); an
/// error when the one that maps to the object could not be decoded, or when several have the
/// name (never a silent pick).
// The reconcilers' one error type (large: it can carry a tenant error); a lookup in memory,
// so boxing buys nothing.
#[allow(clippy::result_large_err)]
fn pick(
    profiles: &TenantProfiles,
    id: Option<&str>,
    name: &str,
) -> Result<Option<TenantProfile>, ReconcileError> {
    if let Some(p) = id.and_then(|id| profiles.by_id(id)) {
        return Ok(Some(TenantProfile::clone(p)));
    }
    match profiles.named(name).as_slice() {
        [one] => return Ok(Some(TenantProfile::clone(one))),
        [] => {}
        many => {
            let ids: Vec<&str> = many.iter().filter_map(|p| p.id.as_deref()).collect();
            return Err(ReconcileError::DuplicateTenantProfiles(format!(
                "{name:?} (ids {})",
                ids.join(", ")
            )));
        }
    }
    match check_malformed(profiles, id, name) {
        Some(problem) => Err(ReconcileError::MalformedTenantObject(problem)),
        None => Ok(None),
    }
}

/// The malformed tenant profile with this id or name, described.
fn check_malformed(profiles: &TenantProfiles, id: Option<&str>, name: &str) -> Option<String> {
    profiles.malformed_matching(id, name).map(|m| m.describe())
}

/// Straight from the tenant: a list filtered by name, then (if an id is recorded but the name
/// changed) a GET by id. For deletion of an object whose create was interrupted.
pub(super) async fn find_fresh(
    handle: &TenantHandle,
    id: Option<&str>,
    name: &str,
) -> Result<Option<TenantProfile>, ReconcileError> {
    // The tenant's `eq` on names ignores case, as its uniqueness does.
    let params = ListParams {
        filter: Some(Filter::eq("name", name)),
        ..Default::default()
    };
    let found = list_profiles(&handle.client, &params).await?;
    if let Some(p) = pick(&found, id, name)? {
        return Ok(Some(p));
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
