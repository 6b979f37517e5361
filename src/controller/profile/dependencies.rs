//! Ordering: a profile whose mappings name an `IdentityAttribute` (by its `spec.name`) or a
//! `Transform` (a `reference` transform naming its `spec.name`) managed in the same namespace
//! for the same Tenant waits until each is on the tenant (Ready, with a tenant id) before any
//! tenant call of its own; the tenant would refuse a mapping to an attribute or transform it
//! does not have yet. Pure reads of the watch caches, no tenant call: the reconcile fails with
//! [`ReconcileError::WaitingForDependencies`] (`Reconciling`, looked at again soon), and a
//! dependency becoming ready re-triggers the waiting profiles ([`profiles_using_attribute`],
//! [`profiles_using_transform`], fed by the identity-model watches: [`dependants_of`]).

use std::collections::BTreeSet;

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::managed::TenantObjectStatus;
use crate::api::{IdentityAttribute, IdentityProfile, IdentityProfileSpec, Transform};
use crate::controller::context::Context;
use crate::controller::error::ReconcileError;
use crate::controller::references::names::referenced_transforms;
use crate::controller::references::{NameReference, ResolvedReferences};
use crate::controller::status::{TRUE, condition, find_condition};

/// The identity attribute names the profile's mappings compute.
fn attribute_names(spec: &IdentityProfileSpec) -> BTreeSet<&str> {
    spec.identity_attribute_config
        .iter()
        .flat_map(|c| &c.attribute_transforms)
        .map(|t| t.identity_attribute_name.as_str())
        .collect()
}

/// The saved transforms the profile's mappings use by reference (names as written).
fn transform_names(spec: &IdentityProfileSpec) -> BTreeSet<String> {
    spec.identity_attribute_config
        .iter()
        .flat_map(|c| &c.attribute_transforms)
        .flat_map(|t| {
            let d = &t.transform_definition;
            referenced_transforms(&d.kind, &d.attributes)
        })
        .collect()
}

/// On the tenant: Ready and carrying the tenant id (under `Observe` a missing tenant object
/// may show Ready without an id).
fn on_tenant(status: Option<&TenantObjectStatus>) -> bool {
    status.is_some_and(|s| {
        s.id.is_some()
            && find_condition(&s.conditions, condition::READY).is_some_and(|c| c.status == TRUE)
    })
}

/// Same namespace and same Tenant as the profile.
fn same_tenant<K: ResourceExt>(profile: &IdentityProfile, other: &K, tenant: &str) -> bool {
    other.namespace() == profile.namespace() && tenant == profile.spec.tenant_ref.name
}

/// What the profile waits for: each managed dependency not on the tenant yet, described for
/// the condition message (`IdentityAttribute "dept" (name department)`).
pub(super) fn unmet(obj: &IdentityProfile, ctx: &Context) -> Vec<String> {
    let attributes = attribute_names(&obj.spec);
    let transforms = transform_names(&obj.spec);
    let mut waiting = Vec::new();
    if !attributes.is_empty() {
        for a in ctx.identity_attributes_store().state() {
            if same_tenant(obj, a.as_ref(), &a.spec.tenant_ref.name)
                && attributes.contains(a.spec.name.as_str())
                && !on_tenant(a.status.as_ref())
            {
                waiting.push(format!(
                    "IdentityAttribute {:?} (name {})",
                    a.name_any(),
                    a.spec.name
                ));
            }
        }
    }
    if !transforms.is_empty() {
        for t in ctx.transforms_store().state() {
            if same_tenant(obj, t.as_ref(), &t.spec.tenant_ref.name)
                && transforms.contains(&t.spec.name)
                && !on_tenant(t.status.as_ref())
            {
                waiting.push(format!(
                    "Transform {:?} (name {:?})",
                    t.name_any(),
                    t.spec.name
                ));
            }
        }
    }
    waiting.sort();
    waiting
}

/// `Err(WaitingForDependencies)` naming what the profile waits for, if anything.
// The reconcilers' one error type (large: it can carry a tenant error); no I/O here.
#[allow(clippy::result_large_err)]
pub(super) fn wait_for(obj: &IdentityProfile, ctx: &Context) -> Result<(), ReconcileError> {
    let waiting = unmet(obj, ctx);
    if waiting.is_empty() {
        return Ok(());
    }
    Err(ReconcileError::WaitingForDependencies(format!(
        "waiting for {} to be Ready on Tenant {:?} before applying the profile: {}",
        if waiting.len() == 1 {
            "a dependency"
        } else {
            "dependencies"
        },
        obj.spec.tenant_ref.name,
        waiting.join(", ")
    )))
}

/// Ids known without a tenant call: `transform/<name>` of each Transform object of the same
/// namespace and Tenant the profile uses that is on the tenant (its `status.id`).
pub(super) fn known_ids(obj: &IdentityProfile, ctx: &Context) -> ResolvedReferences {
    let transforms = transform_names(&obj.spec);
    if transforms.is_empty() {
        return ResolvedReferences::new();
    }
    ctx.transforms_store()
        .state()
        .into_iter()
        .filter(|t| same_tenant(obj, t.as_ref(), &t.spec.tenant_ref.name))
        .filter(|t| transforms.contains(&t.spec.name) && on_tenant(t.status.as_ref()))
        .filter_map(|t| {
            let id = t.status.as_ref()?.id.clone()?;
            Some((NameReference::transform(&t.spec.name).key(), id))
        })
        .collect()
}

/// The profiles to reconcile when `attribute` changes: those of its namespace and Tenant whose
/// mappings compute it and that are not Ready, once it is on the tenant.
pub fn profiles_using_attribute(
    profiles: &Store<IdentityProfile>,
    attribute: &IdentityAttribute,
) -> Vec<ObjectRef<IdentityProfile>> {
    if !on_tenant(attribute.status.as_ref()) {
        return Vec::new();
    }
    waiting_profiles(profiles, attribute, &attribute.spec.tenant_ref.name, |p| {
        attribute_names(&p.spec).contains(attribute.spec.name.as_str())
    })
}

/// The profiles to reconcile when `transform` changes: those of its namespace and Tenant whose
/// mappings use it by reference and that are not Ready, once it is on the tenant.
pub fn profiles_using_transform(
    profiles: &Store<IdentityProfile>,
    transform: &Transform,
) -> Vec<ObjectRef<IdentityProfile>> {
    if !on_tenant(transform.status.as_ref()) {
        return Vec::new();
    }
    waiting_profiles(profiles, transform, &transform.spec.tenant_ref.name, |p| {
        transform_names(&p.spec).contains(&transform.spec.name)
    })
}

fn waiting_profiles<K: ResourceExt>(
    profiles: &Store<IdentityProfile>,
    dependency: &K,
    tenant: &str,
    uses: impl Fn(&IdentityProfile) -> bool,
) -> Vec<ObjectRef<IdentityProfile>> {
    profiles
        .state()
        .into_iter()
        .filter(|p| same_tenant(p, dependency, tenant))
        .filter(|p| {
            !p.status.as_ref().is_some_and(|s| {
                find_condition(&s.conditions, condition::READY).is_some_and(|c| c.status == TRUE)
            })
        })
        .filter(|p| uses(p))
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// The profiles to wake when a watched `IdentityAttribute` or `Transform` changed: fed from the
/// identity-model watches the operator already runs (`managed::run::IdentityModelWatches`), so
/// waking waiting profiles costs no watch of its own.
pub fn dependants_of(
    profiles: &Store<IdentityProfile>,
    changed: &DependencyChange,
) -> Vec<ObjectRef<IdentityProfile>> {
    match changed {
        DependencyChange::Attribute(attribute) => profiles_using_attribute(profiles, attribute),
        DependencyChange::Transform(transform) => profiles_using_transform(profiles, transform),
    }
}

/// An object a profile may wait for, as its watch saw it change.
#[derive(Debug, Clone)]
pub enum DependencyChange {
    /// An `IdentityAttribute`.
    Attribute(IdentityAttribute),
    /// A `Transform`.
    Transform(Transform),
}
