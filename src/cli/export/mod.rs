//! `isc-operator export`: turns the tenant's identity model (identity attributes, transforms,
//! identity profiles and their lifecycle states) into manifests, so an existing tenant can be
//! brought under Git without retyping anything. Applying the output adopts every object with
//! zero writes to the tenant. The profile manifest is here; the other kinds in
//! [`identity_model`].

pub mod by_name;
pub mod identity_model;

use std::collections::BTreeSet;

use isc_client::TenantClient;
use isc_client::error::IscError;
use serde::Serialize;

use crate::api::identity_profile::{
    AttributeConfigSpec, AttributeTransformSpec, DeletionPolicy, ManagementPolicy, OwnerRef,
    RefreshPolicy, SourceRef, TransformDefinitionSpec,
};
use crate::api::{IdentityProfile, IdentityProfileSpec, TenantRef};
use isc_client::models::IdentityProfile as TenantProfile;

/// A Kubernetes object name (DNS-1123 label, ≤ 63 chars) derived from a tenant-side name,
/// unique among `taken` (a numeric suffix is added on collision).
pub fn manifest_name(tenant_name: &str, taken: &mut BTreeSet<String>) -> String {
    let mut slug = String::new();
    for c in tenant_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut base: String = slug.trim_matches('-').chars().take(55).collect();
    base = base.trim_end_matches('-').to_string();
    if base.is_empty() {
        base = "profile".to_string();
    }
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// Why a tenant profile could not be exported as a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The tenant profile has no authoritative source id.
    #[error("profile {0:?} has no authoritative source id")]
    NoSource(String),
    /// A transform lacks its attribute name or type.
    #[error("profile {profile:?}: transform #{index} has no identityAttributeName or type")]
    IncompleteTransform {
        /// Profile name.
        profile: String,
        /// Index of the transform.
        index: usize,
    },
}

/// The manifest that manages `profile` exactly as it is (all fields declared, default policies).
pub fn profile_manifest(
    profile: &TenantProfile,
    object_name: &str,
    tenant_ref: &str,
) -> Result<IdentityProfile, ExportError> {
    let source_id = profile
        .authoritative_source
        .id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ExportError::NoSource(profile.name.clone()))?;
    let config = match &profile.identity_attribute_config {
        None => None,
        Some(c) => {
            let mut transforms = Vec::new();
            for (index, t) in c.attribute_transforms.iter().enumerate() {
                let definition = t.transform_definition.as_ref();
                let (Some(name), Some(kind)) = (
                    t.identity_attribute_name.clone(),
                    definition.and_then(|d| d.kind.clone()),
                ) else {
                    return Err(ExportError::IncompleteTransform {
                        profile: profile.name.clone(),
                        index,
                    });
                };
                transforms.push(AttributeTransformSpec {
                    identity_attribute_name: name,
                    transform_definition: TransformDefinitionSpec {
                        kind,
                        attributes: definition
                            .and_then(|d| d.attributes.clone())
                            .unwrap_or_default(),
                    },
                });
            }
            Some(AttributeConfigSpec {
                enabled: Some(c.enabled),
                attribute_transforms: transforms,
            })
        }
    };
    let spec = IdentityProfileSpec {
        tenant_ref: TenantRef {
            name: tenant_ref.to_string(),
        },
        name: profile.name.clone(),
        description: profile.description.clone(),
        priority: profile.priority,
        owner: profile
            .owner
            .as_ref()
            .and_then(|o| o.id.clone().map(|id| (id, o.name.clone())))
            .map(|(id, name)| {
                Box::new(OwnerRef {
                    id: Some(id),
                    alias: None,
                    name,
                })
            }),
        authoritative_source: SourceRef {
            id: Some(source_id),
            name: profile.authoritative_source.name.clone(),
        },
        identity_attribute_config: config.map(Box::new),
        deletion_policy: DeletionPolicy::Orphan,
        management_policy: ManagementPolicy::Manage,
        refresh_policy: RefreshPolicy::Manual,
        preview_identities: None,
    };
    Ok(IdentityProfile::new(object_name, spec))
}

/// The manifests as one YAML stream, with a header comment.
pub fn manifests_yaml<T: Serialize>(manifests: &[T]) -> String {
    let mut out = String::from(
        "# Exported by `isc-operator export`; applying it adopts these objects without changing them.\n",
    );
    for m in manifests {
        let mut value = serde_json::to_value(m).expect("manifest serializes");
        if let Some(obj) = value.as_object_mut() {
            obj.remove("status");
        }
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(&value).expect("manifest to YAML"));
    }
    out
}

/// What [`export_tenant`] read: the manifests (in the order to apply them: attributes and
/// transforms before the profiles that use them, lifecycle states after their profiles) and one
/// line per tenant object left out.
#[derive(Debug, Default)]
pub struct Export {
    /// Every manifest, as JSON objects.
    pub manifests: Vec<serde_json::Value>,
    /// Why each left-out object was left out.
    pub skipped: Vec<String>,
}

fn push<T: Serialize>(export: &mut Export, manifest: T) {
    export
        .manifests
        .push(serde_json::to_value(manifest).expect("manifest serializes"));
}

/// Reads the tenant's identity model and turns it into manifests for the `Tenant` object named
/// `tenant_ref`: one list call per kind, plus one lifecycle-state list per exported profile,
/// plus one list of sources when `name_references` asks for manifests that name their sources
/// ([`by_name`]).
pub async fn export_tenant(
    client: &TenantClient,
    tenant_ref: &str,
    name_references: bool,
) -> Result<Export, IscError> {
    let mut export = Export::default();
    let mut taken = BTreeSet::new();
    for attribute in client.list_identity_attributes().await? {
        let name = manifest_name(&attribute.name, &mut taken);
        match identity_model::attribute_manifest(&attribute, &name, tenant_ref) {
            Ok(m) => push(&mut export, m),
            Err(e) => export.skipped.push(e.to_string()),
        }
    }
    let mut taken = BTreeSet::new();
    for transform in client.list_all_transforms(&Default::default()).await? {
        let name = manifest_name(&transform.name, &mut taken);
        match identity_model::transform_manifest(&transform, &name, tenant_ref) {
            Ok(m) => push(&mut export, m),
            Err(e) => export.skipped.push(e.to_string()),
        }
    }
    let mut taken = BTreeSet::new();
    let mut profiles = Vec::new();
    for profile in client
        .list_all_identity_profiles(&Default::default())
        .await?
    {
        let name = manifest_name(&profile.name, &mut taken);
        match profile_manifest(&profile, &name, tenant_ref) {
            Ok(m) => {
                push(&mut export, m);
                profiles.push((profile.id.clone(), name));
            }
            Err(e) => export.skipped.push(e.to_string()),
        }
    }
    let mut taken = BTreeSet::new();
    for (id, object_name) in profiles {
        let Some(id) = id else { continue };
        for state in client
            .list_all_lifecycle_states(&id, &Default::default())
            .await?
        {
            let name = manifest_name(
                &format!("{object_name}-{}", state.technical_name),
                &mut taken,
            );
            match identity_model::lifecycle_state_manifest(&state, &name, &object_name, tenant_ref)
            {
                Ok(m) => push(&mut export, m),
                Err(e) => export.skipped.push(e.to_string()),
            }
        }
    }
    if name_references {
        let sources: by_name::SourceNames = client
            .list_all_sources(&Default::default())
            .await?
            .into_iter()
            .filter_map(|s| Some((s.id?, s.name)))
            .collect();
        for manifest in &mut export.manifests {
            by_name::name_sources(manifest, &sources);
        }
    }
    Ok(export)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::profile::diff::{ProfilePlan, plan_profile};
    use isc_client::models::{
        IdentityAttributeConfig, IdentityAttributeTransform, ObjectRef, TransformDefinition,
    };
    use serde_json::json;

    fn tenant_profile() -> TenantProfile {
        TenantProfile {
            id: Some("p1".into()),
            name: "HR Employees (EU) #2".into(),
            description: Some("staff".into()),
            priority: Some(7),
            owner: Some(ObjectRef {
                kind: Some("IDENTITY".into()),
                id: Some("o1".into()),
                name: Some("Owner".into()),
            }),
            authoritative_source: ObjectRef {
                kind: Some("SOURCE".into()),
                id: Some("s1".into()),
                name: Some("HR".into()),
            },
            identity_attribute_config: Some(IdentityAttributeConfig {
                enabled: true,
                attribute_transforms: vec![IdentityAttributeTransform {
                    identity_attribute_name: Some("email".into()),
                    transform_definition: Some(TransformDefinition {
                        kind: Some("accountAttribute".into()),
                        attributes: json!({"attributeName": "mail", "sourceName": "HR"})
                            .as_object()
                            .cloned(),
                    }),
                }],
            }),
            identity_count: Some(3),
            ..Default::default()
        }
    }

    #[test]
    fn names_are_dns_labels_and_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(
            manifest_name("HR Employees (EU) #2", &mut taken),
            "hr-employees-eu-2"
        );
        assert_eq!(
            manifest_name("HR employees eu 2", &mut taken),
            "hr-employees-eu-2-2"
        );
        assert_eq!(manifest_name("***", &mut taken), "profile");
        let long = manifest_name(&"x".repeat(100), &mut taken);
        assert!(long.len() <= 63 && !long.ends_with('-'));
    }

    #[test]
    fn an_exported_manifest_plans_nothing_against_its_source() {
        let p = tenant_profile();
        let m = profile_manifest(&p, "hr", "demo").unwrap();
        assert_eq!(
            plan_profile(&m.spec.desired(), Some(&p)).unwrap(),
            ProfilePlan::Nothing
        );
        let yaml = manifests_yaml(&[m]);
        assert!(yaml.contains("kind: IdentityProfile"), "{yaml}");
        assert!(yaml.contains("name: 'HR Employees (EU) #2'"), "{yaml}");
        assert!(!yaml.contains("status"), "{yaml}");
    }

    #[test]
    fn incomplete_profiles_are_reported() {
        let mut p = tenant_profile();
        p.authoritative_source.id = None;
        assert_eq!(
            profile_manifest(&p, "x", "demo").unwrap_err(),
            ExportError::NoSource("HR Employees (EU) #2".into())
        );
    }
}
