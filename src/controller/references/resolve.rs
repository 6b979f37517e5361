//! Resolution on a tenant: each name looked up in the Tenant's cached lists ([`super::cache`]).

use std::collections::BTreeSet;

use isc_client::{ErrorClass, IscError, TenantClient};
use serde_json::{Map, Value};

use super::names::{profile_references, resolved_spec, unresolved_source_name, with_source_id};
use super::{
    NameReference, ReferenceCache, ReferenceKind, ResolvedReferences, Unresolved, pick,
    unresolved_error,
};
use crate::api::IdentityProfileSpec;
use crate::controller::error::ReconcileError;
use crate::controller::profile::diff::DesiredProfile;
use crate::controller::tenant_pool::TenantHandle;

/// Resolves every reference in `wanted` on the tenant `client` calls (Tenant object `tenant`,
/// named in messages), through `cache`. `known` holds ids already known without a call (e.g.
/// `transform/<name>` of a Ready `Transform` object of the same Tenant); they are used as they
/// are.
///
/// Every name is tried; names that match nothing, or several objects, or need a user-context
/// credential, are reported together as one error ([`super::unresolved_error`]). A tenant
/// error other than that (429, 5xx, a refused credential) is returned as it is.
pub async fn resolve(
    cache: &ReferenceCache,
    client: &TenantClient,
    tenant: &str,
    wanted: &BTreeSet<NameReference>,
    known: &ResolvedReferences,
) -> Result<ResolvedReferences, ReconcileError> {
    let mut resolved = ResolvedReferences::new();
    let mut problems = Vec::new();
    for reference in wanted {
        let key = reference.key();
        if let Some(id) = known.get(&key) {
            resolved.insert(key, id.clone());
            continue;
        }
        match resolve_one(cache, client, reference).await? {
            Ok(id) => {
                resolved.insert(key, id);
            }
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(unresolved_error(tenant, &problems))
    }
}

/// One reference: its id, or why it has none (the outer error is a tenant failure).
async fn resolve_one(
    cache: &ReferenceCache,
    client: &TenantClient,
    reference: &NameReference,
) -> Result<Result<String, Unresolved>, ReconcileError> {
    let name = reference.name.as_str();
    let owned = |picked: Result<&str, Unresolved>| picked.map(str::to_string);
    Ok(match reference.kind {
        ReferenceKind::Source => owned(pick(&cache.sources(client, name).await?, reference)),
        ReferenceKind::Transform => {
            let transforms = cache.transforms(client, name).await?;
            // A manifest may still hold a transform's id where ISC wants its name.
            match pick(&transforms, reference) {
                Err(Unresolved::NotFound(_)) if transforms.iter().any(|t| t.id == name) => {
                    Ok(name.to_string())
                }
                other => owned(other),
            }
        }
        ReferenceKind::Identity => match cache.identities(client, name).await {
            Ok(identities) => owned(pick(&identities, reference)),
            Err(e) if needs_user_context(&e) => {
                Err(Unresolved::UserContextRequired(reference.clone()))
            }
            Err(e) => return Err(e.into()),
        },
    })
}

/// The tenant refused to list identities for this credential (403): it lacks user context.
fn needs_user_context(error: &IscError) -> bool {
    error.class() == ErrorClass::Forbidden
}

/// `spec` with every name in it resolved through `cache` and `client` (Tenant `tenant`, named
/// in messages; `known` as for [`resolve`]) and filled in where the tenant wants ids (see
/// [`super::names::resolved_spec`]), and what the names resolved to. For tools without a
/// cluster (`isc-operator plan`: a fresh [`ReferenceCache`] per run, `known` empty), so the pure
/// planner works on the result unchanged. A spec that names nothing makes no call.
pub async fn resolve_spec(
    cache: &ReferenceCache,
    client: &TenantClient,
    tenant: &str,
    spec: &IdentityProfileSpec,
    known: &ResolvedReferences,
) -> Result<(IdentityProfileSpec, ResolvedReferences), ReconcileError> {
    let wanted = profile_references(spec);
    let resolved = resolve(cache, client, tenant, &wanted, known).await?;
    let filled = resolved_spec(spec, &resolved).map_err(|missing| {
        let keys: Vec<String> = missing.iter().map(NameReference::key).collect();
        ReconcileError::UnresolvedReference(format!("not resolved: {}", keys.join(", ")))
    })?;
    Ok((filled.into_owned(), resolved))
}

/// The profile reconciler's resolution: the desired profile of [`resolve_spec`]'s result.
pub async fn resolve_profile(
    cache: &ReferenceCache,
    client: &TenantClient,
    tenant: &str,
    spec: &IdentityProfileSpec,
    known: &ResolvedReferences,
) -> Result<(DesiredProfile, ResolvedReferences), ReconcileError> {
    let (filled, resolved) = resolve_spec(cache, client, tenant, spec, known).await?;
    Ok((filled.desired(), resolved))
}

/// For the `Transform` controller: `attributes` with `sourceId` added where a `sourceName`
/// stands for it, resolved on the Tenant behind `handle` (Tenant object `tenant`, named in
/// messages) through its cached source list, and what was resolved (for
/// `status.resolvedReferences`: `source/<name>` → id). Attributes without such a `sourceName`
/// come back unchanged, without a tenant call.
pub async fn resolve_source_names(
    handle: &TenantHandle,
    tenant: &str,
    attributes: &Map<String, Value>,
) -> Result<(Map<String, Value>, ResolvedReferences), ReconcileError> {
    resolve_source_names_with(&handle.references, &handle.client, tenant, attributes).await
}

/// [`resolve_source_names`] through any cache and client (for tools without a cluster, such
/// as `isc-operator plan`).
pub async fn resolve_source_names_with(
    cache: &ReferenceCache,
    client: &TenantClient,
    tenant: &str,
    attributes: &Map<String, Value>,
) -> Result<(Map<String, Value>, ResolvedReferences), ReconcileError> {
    let Some(name) = unresolved_source_name(attributes) else {
        return Ok((attributes.clone(), ResolvedReferences::new()));
    };
    let wanted = BTreeSet::from([NameReference::source(name)]);
    let resolved = resolve(cache, client, tenant, &wanted, &ResolvedReferences::new()).await?;
    let with_id = with_source_id(attributes, &resolved)
        .map_err(|r| ReconcileError::UnresolvedReference(format!("{} not resolved", r.key())))?;
    Ok((with_id, resolved))
}
