//! `plan` on manifests that name tenant objects instead of giving their ids (a source name,
//! an owner's alias, a mapping's `sourceName`, a referenced transform): the names are resolved
//! on the tenant as the operator resolves them ([`crate::controller::references`]), one list
//! per kind for the whole run and none when no manifest names anything, and the pure planner
//! then works on the resolved specs. A name that does not resolve is shown as that manifest's
//! problem, never planned as an empty id.

use isc_client::{IscError, TenantClient};

use crate::api::{IdentityProfile, TransformSpec};
use crate::controller::error::ReconcileError;
use crate::controller::managed::kinds::transform::DesiredTransform;
use crate::controller::profile::diff::PlanError;
use crate::controller::references::{
    NameReference, ReferenceCache, ResolvedReferences, resolve_source_names_with, resolve_spec,
};

use super::plan_model::ModelManifests;
use super::preview::Preview;

/// Why a manifest's names did not resolve, by its index among the manifests.
pub type Unresolved = Vec<(usize, String)>;

/// Ids known without asking the tenant: the transforms the same run plans (they exist once
/// applied, and the profile's controller waits for them).
fn planned_transforms(model: &ModelManifests) -> ResolvedReferences {
    model
        .transforms
        .iter()
        .map(|t| {
            let key = NameReference::transform(&t.spec.name).key();
            (key, "(a Transform of these manifests)".to_string())
        })
        .collect()
}

/// The manifests with their names resolved on the tenant `client` calls (`tenant`: how
/// messages name it, e.g. its base URL), and the ones whose names did not resolve (kept as
/// they are). A tenant failure (after the client's retries) ends the run.
pub async fn resolve_names(
    client: &TenantClient,
    tenant: &str,
    mut manifests: Vec<IdentityProfile>,
    model: &ModelManifests,
) -> Result<(Vec<IdentityProfile>, Unresolved), IscError> {
    let cache = ReferenceCache::new(std::time::Duration::from_secs(3600));
    let known = planned_transforms(model);
    let mut unresolved = Vec::new();
    for (index, manifest) in manifests.iter_mut().enumerate() {
        match resolve_spec(&cache, client, tenant, &manifest.spec, &known).await {
            Ok((spec, _)) => manifest.spec = spec,
            Err(ReconcileError::Tenant(e)) => return Err(e),
            Err(e) => unresolved.push((index, e.to_string())),
        }
    }
    Ok((manifests, unresolved))
}

/// A `Transform` manifest's desired transform with `sourceId` added where its `sourceName`
/// stands for it, as its controller adds it (so a converged transform plans nothing);
/// `Ok(Err(message))` when the name does not resolve on the tenant.
pub async fn resolved_transform(
    client: &TenantClient,
    cache: &ReferenceCache,
    spec: &TransformSpec,
) -> Result<Result<DesiredTransform, String>, IscError> {
    let mut desired = spec.desired();
    let tenant = client.base_url().as_str();
    match resolve_source_names_with(cache, client, tenant, &desired.attributes).await {
        Ok((attributes, resolved)) => {
            desired.attributes = attributes;
            desired.references = resolved.into_iter().collect();
            Ok(Ok(desired))
        }
        Err(ReconcileError::Tenant(e)) => Err(e),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Shows each unresolved manifest's problem as its plan.
pub fn mark_unresolved(previews: &mut [Preview], unresolved: &Unresolved) {
    for (index, message) in unresolved {
        if let Some(preview) = previews.get_mut(*index) {
            preview.plan = Err(PlanError::UnresolvedReference(message.clone()));
        }
    }
}
