//! Ownership: one object in the cluster manages a given tenant object, as for profiles. The
//! tenant object is identified by the tenant (the normalized base URL of the object's
//! `Tenant`), the scope (a lifecycle state's profile object) and the key; among the claimants
//! the oldest owns it (creation time, then `namespace/name`), the others get `Conflict`.

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::Tenant;
use crate::api::tenant::tenant_identity;
use crate::controller::context::Context;

use super::ManagedKind;

fn tenant_of<K: ManagedKind>(tenants: &Store<Tenant>, obj: &K) -> Option<String> {
    let key = ObjectRef::new(obj.tenant_name()).within(&obj.namespace()?);
    tenants
        .get(&key)
        .and_then(|t| tenant_identity(&t.spec.base_url))
}

fn seniority<K: ManagedKind>(obj: &K) -> (Option<k8s_openapi::jiff::Timestamp>, String) {
    let name = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
    (obj.creation_timestamp().map(|t| t.0), name)
}

/// Why `obj` must not touch its tenant object: an older object claims the same one (the
/// message names it). `None` when `obj` owns it or its Tenant is not known yet.
pub(super) fn find_conflict<K: ManagedKind>(obj: &K, ctx: &Context) -> Option<String> {
    let tenants = ctx.tenants_store();
    let mine = tenant_of(tenants, obj)?;
    let my_seniority = seniority(obj);
    let owner = K::store(ctx)
        .state()
        .into_iter()
        .filter(|other| other.key() == obj.key() && other.scope_key() == obj.scope_key())
        .filter(|other| seniority(other.as_ref()) < my_seniority)
        .filter(|other| tenant_of(tenants, other.as_ref()).as_deref() == Some(mine.as_str()))
        .min_by_key(|other| seniority(other.as_ref()))?;
    Some(format!(
        "{} {}/{} already manages the {} {:?} on {mine}; this object makes no changes until that object is deleted",
        K::kind(&()),
        owner.namespace().unwrap_or_default(),
        owner.name_any(),
        K::NOUN,
        obj.key()
    ))
}
