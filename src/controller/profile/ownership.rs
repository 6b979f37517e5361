//! Ownership: one `IdentityProfile` in the cluster owns a tenant profile.
//!
//! A tenant profile is identified by its tenant (the normalized base URL of the claimant's
//! `Tenant`, [`tenant_identity`], so two `Tenant` objects in two namespaces pointing at the same
//! ISC tenant are the same tenant) and its name compared the way the tenant compares it
//! (case-insensitively), or by the recorded id. Among every claimant in every namespace the
//! oldest owns it (creation time, then `namespace/name`); the others get `Conflict` naming the
//! owner and make no tenant call. An owner being deleted keeps owning until it is gone, so its
//! cleanup finishes before the next claimant takes over.

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::tenant::tenant_identity;
use crate::api::{IdentityProfile, Tenant};
use crate::controller::context::Context;

pub(super) use crate::controller::profile_cache::name_key;

/// Whether two tenant profile names are the same name for the tenant.
pub(super) fn same_name(a: &str, b: &str) -> bool {
    name_key(a) == name_key(b)
}

/// The tenant identity of the `Tenant` `obj` refers to, from the watch cache (a keyed lookup:
/// this runs for every claimant of every reconcile).
fn tenant_of(tenants: &Store<Tenant>, obj: &IdentityProfile) -> Option<String> {
    let key = ObjectRef::new(&obj.spec.tenant_ref.name).within(&obj.namespace()?);
    tenants
        .get(&key)
        .and_then(|t| tenant_identity(&t.spec.base_url))
}

/// `namespace/name` of an object.
fn qualified_name(obj: &IdentityProfile) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Orders claimants: oldest first, then by `namespace/name`.
fn seniority(obj: &IdentityProfile) -> (Option<k8s_openapi::jiff::Timestamp>, String) {
    (obj.creation_timestamp().map(|t| t.0), qualified_name(obj))
}

/// Why `obj` must not touch its tenant profile: the message names the owner (`namespace/name`)
/// when an older object claims the same tenant profile. `None` when `obj` owns it (or its own
/// Tenant is unknown yet: resolving it fails later with a clear error).
pub(super) fn find_conflict(obj: &IdentityProfile, ctx: &Context) -> Option<String> {
    let tenants = ctx.tenants_store();
    let mine = tenant_of(tenants, obj)?;
    let my_id = obj.status.as_ref().and_then(|s| s.id.clone());
    let my_seniority = seniority(obj);
    let (my_namespace, my_name) = (
        obj.metadata.namespace.as_deref(),
        obj.metadata.name.as_deref(),
    );
    // Runs for every reconcile: only the objects the claim index names are looked at (see
    // `claims`); the name is compared as the tenant does only when the ASCII test is not
    // enough.
    let owner = ctx
        .profile_claims()
        .candidates(&obj.spec.name, my_id.as_deref())
        .into_iter()
        .filter(|other| {
            let other_id = other.status.as_ref().and_then(|s| s.id.as_deref());
            let same_id = my_id.is_some() && other_id == my_id.as_deref();
            let name = &other.spec.name;
            same_id
                || name.eq_ignore_ascii_case(&obj.spec.name)
                || (!(name.is_ascii() && obj.spec.name.is_ascii())
                    && same_name(name, &obj.spec.name))
        })
        .filter(|other| {
            (
                other.metadata.namespace.as_deref(),
                other.metadata.name.as_deref(),
            ) != (my_namespace, my_name)
        })
        .filter(|other| seniority(other) < my_seniority)
        .filter(|other| tenant_of(tenants, other).as_deref() == Some(mine.as_str()))
        .min_by_key(|other| seniority(other))?;
    Some(format!(
        "IdentityProfile {} already manages tenant profile {:?} on {mine}; this object makes no changes until that object is deleted",
        qualified_name(&owner),
        owner.spec.name
    ))
}
