//! Name-based references: a manifest may name a tenant object where the tenant wants its id,
//! so the same manifests apply unchanged to tenants whose ids differ (a sandbox and
//! production). The operator resolves each name on the object's Tenant and shows what it bound
//! to in `status.resolvedReferences` (`source/<name>`, `identity/<alias>`, `transform/<name>`).
//!
//! What may be named (see [`names`], pure):
//! - `IdentityProfile.spec.authoritativeSource.name` without `id`: the source's id;
//! - `IdentityProfile.spec.owner.alias` without `id`: the identity's id (the identities list
//!   needs a credential with user context; without one the condition says so);
//! - a transform's `sourceName` without `sourceId` at the top of a profile mapping's
//!   `transformDefinition.attributes` (where the tenant's schema carries the source's id), and
//!   in a `Transform`'s attributes ([`resolve_source_names`], for its controller): `sourceId`
//!   is added with the resolved id;
//! - a `reference` transform's target, at any depth of a mapping: ISC's `reference` transform
//!   names the saved transform in `attributes.id` *by its name* (SailPoint's transform
//!   documentation: "the name of the pre-existing transform"), so that value is already
//!   tenant-independent and is sent as written. The operator checks that the transform exists on
//!   the Tenant (by name, or by id for manifests that hold one), shows its id, and orders the
//!   profile after a `Transform` object of that name (`profile::dependencies`).
//!
//! Each reconcile resolves the names again (from the cached lists); the resync sweep compares
//! the tenant with the ids last resolved (`status.resolvedReferences`), so a steady object
//! costs no lookup.
//!
//! Names match as the tenant compares them: an exact match first, else a case-insensitive one.
//! The condition names what was looked for on which Tenant ([`unresolved_error`]), by the
//! kstatus rules: no match is `UnresolvedReference` and `Reconciling` (the object may appear,
//! like a Tenant not created yet: an admin adds the source, another tool the transform; the
//! operator looks again with backoff and at every resync, and a GitOps tool does not fail fast
//! while a whole directory is being applied); several matches (`AmbiguousReference`) and an
//! alias lookup without user context (`UserContextRequired`) need a person: `Stalled`.
//!
//! Lookups are cached per Tenant ([`cache`]): one list of sources and one of transforms per
//! resync interval, one filtered identities list per alias per interval, whatever the number
//! of objects; a name missing from a cached list lists again at most once per
//! [`cache::MISS_REFRESH_AFTER`]. Tools without a cluster (`isc-operator plan`) resolve the
//! same way through a cache of their own ([`resolve_spec`], [`resolve_source_names_with`]).

pub mod cache;
pub mod names;
pub mod resolve;

use std::collections::BTreeMap;

use crate::controller::error::ReconcileError;

pub use cache::{NamedId, ReferenceCache};
pub use names::{desired_profile, profile_references, resolved_spec};
pub use resolve::{
    resolve, resolve_profile, resolve_source_names, resolve_source_names_with, resolve_spec,
};

/// Resolved tenant ids by reference key ([`NameReference::key`]), as
/// `status.resolvedReferences` shows them.
pub type ResolvedReferences = BTreeMap<String, String>;

/// What kind of tenant object a name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReferenceKind {
    /// A source, by name.
    Source,
    /// An identity, by alias.
    Identity,
    /// A saved transform, by name.
    Transform,
}

impl ReferenceKind {
    /// The key prefix in `status.resolvedReferences`.
    pub fn key_prefix(self) -> &'static str {
        match self {
            ReferenceKind::Source => "source",
            ReferenceKind::Identity => "identity",
            ReferenceKind::Transform => "transform",
        }
    }

    /// How a message names what was looked for, e.g. `source named "HR"`.
    fn describe(self, name: &str) -> String {
        match self {
            ReferenceKind::Source => format!("source named {name:?}"),
            ReferenceKind::Identity => format!("identity with alias {name:?}"),
            ReferenceKind::Transform => format!("transform named {name:?}"),
        }
    }
}

/// One name in a spec that stands for a tenant object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NameReference {
    /// What it names.
    pub kind: ReferenceKind,
    /// The name (an alias for identities).
    pub name: String,
}

impl NameReference {
    /// A reference to a source by name.
    pub fn source(name: &str) -> Self {
        NameReference {
            kind: ReferenceKind::Source,
            name: name.to_string(),
        }
    }

    /// A reference to an identity by alias.
    pub fn identity(alias: &str) -> Self {
        NameReference {
            kind: ReferenceKind::Identity,
            name: alias.to_string(),
        }
    }

    /// A reference to a saved transform by name.
    pub fn transform(name: &str) -> Self {
        NameReference {
            kind: ReferenceKind::Transform,
            name: name.to_string(),
        }
    }

    /// Its key in `status.resolvedReferences`, e.g. `source/HR Employees`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind.key_prefix(), self.name)
    }
}

/// Why one name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Nothing on the tenant has the name.
    NotFound(NameReference),
    /// Several tenant objects match the name (ids listed): the operator never picks one.
    Ambiguous(NameReference, Vec<String>),
    /// Looking the name up needs a credential with user context (identities).
    UserContextRequired(NameReference),
}

impl Unresolved {
    /// One line naming what was looked for and why it failed.
    pub fn describe(&self) -> String {
        match self {
            Unresolved::NotFound(r) => format!("no {}", r.kind.describe(&r.name)),
            Unresolved::Ambiguous(r, ids) => format!(
                "{} matches {} tenant objects (ids {}); names must be unique",
                r.kind.describe(&r.name),
                ids.len(),
                ids.join(", ")
            ),
            Unresolved::UserContextRequired(r) => format!(
                "the {} cannot be looked up: listing identities needs a credential with user \
                 context (a personal access token); give owner.id instead, or use such a credential",
                r.kind.describe(&r.name)
            ),
        }
    }
}

/// The condition message for names that did not resolve on Tenant `tenant`.
pub fn unresolved_message(tenant: &str, problems: &[Unresolved]) -> String {
    let lines: Vec<String> = problems.iter().map(Unresolved::describe).collect();
    format!(
        "{} name(s) in the spec could not be resolved on Tenant {tenant:?}: {}",
        problems.len(),
        lines.join("; ")
    )
}

/// The error for names that did not resolve on Tenant `tenant`: `Stalled` when one needs a
/// person (several matches, a credential without user context), else `Reconciling`.
pub fn unresolved_error(tenant: &str, problems: &[Unresolved]) -> ReconcileError {
    let message = unresolved_message(tenant, problems);
    let any = |f: fn(&Unresolved) -> bool| problems.iter().any(f);
    if any(|p| matches!(p, Unresolved::Ambiguous(..))) {
        ReconcileError::AmbiguousReference(message)
    } else if any(|p| matches!(p, Unresolved::UserContextRequired(_))) {
        ReconcileError::UserContextRequired(message)
    } else {
        ReconcileError::UnresolvedReference(message)
    }
}

/// The one tenant object `wanted` names among `candidates`, as the tenant compares names: the
/// exact matches, else the case-insensitive ones; exactly one must match. Pure.
pub fn pick<'a>(candidates: &'a [NamedId], wanted: &NameReference) -> Result<&'a str, Unresolved> {
    let exact: Vec<&NamedId> = candidates
        .iter()
        .filter(|c| c.name == wanted.name)
        .collect();
    let matches = if exact.is_empty() {
        candidates
            .iter()
            .filter(|c| c.name.to_lowercase() == wanted.name.to_lowercase())
            .collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [one] => Ok(one.id.as_str()),
        [] => Err(Unresolved::NotFound(wanted.clone())),
        many => Err(Unresolved::Ambiguous(
            wanted.clone(),
            many.iter().map(|c| c.id.clone()).collect(),
        )),
    }
}

#[cfg(test)]
mod tests;
