//! `isc-operator plan`: what applying manifests would change on a tenant, without a cluster.
//! Meant for pull requests in a GitOps repository: the same pure plan the operator runs,
//! printed for people.

use std::fmt::Write as _;

use crate::api::IdentityProfile;
use crate::api::identity_profile::{AttributePreview, ManagementPolicy};
use crate::controller::profile::diff::{PlanError, ProfilePlan, plan_profile};
use crate::controller::profile::identity_preview;
use isc_client::TenantClient;
use isc_client::models::IdentityProfile as TenantProfile;

/// Why manifests could not be previewed.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// A YAML document is not valid YAML or not a valid IdentityProfile.
    #[error("document {index}: {message}")]
    Invalid {
        /// 1-based document index in the input.
        index: usize,
        /// What is wrong.
        message: String,
    },
}

/// The `IdentityProfile` documents of a YAML stream; other kinds are ignored.
pub fn load_profiles(yaml: &str) -> Result<Vec<IdentityProfile>, PreviewError> {
    let mut profiles = Vec::new();
    for (i, document) in serde_yaml_ng::Deserializer::from_str(yaml).enumerate() {
        let invalid = |message: String| PreviewError::Invalid {
            index: i + 1,
            message,
        };
        let value: serde_json::Value =
            serde::Deserialize::deserialize(document).map_err(|e| invalid(e.to_string()))?;
        if value.is_null() || value.get("kind").and_then(|k| k.as_str()) != Some("IdentityProfile")
        {
            continue;
        }
        let profile: IdentityProfile =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        profiles.push(profile);
    }
    Ok(profiles)
}

/// The plan for one manifest.
#[derive(Debug)]
pub struct Preview {
    /// `metadata.name` of the manifest.
    pub object: String,
    /// Tenant-side profile name.
    pub name: String,
    /// The plan, or why there is none.
    pub plan: Result<ProfilePlan, PlanError>,
    /// `managementPolicy: Observe`: the operator would only show this plan.
    pub observe_only: bool,
    /// What a change to the attribute mappings would do to sample identities (see
    /// [`preview_identities`]).
    pub attribute_preview: Option<AttributePreview>,
}

impl Preview {
    /// True when applying would write to the tenant.
    pub fn changes(&self) -> bool {
        !self.observe_only && matches!(&self.plan, Ok(p) if *p != ProfilePlan::Nothing)
    }
}

/// Plans every manifest against the tenant's profiles (matched by exact name, as the operator
/// matches a profile it has not recorded yet).
pub fn preview(manifests: &[IdentityProfile], tenant: &[TenantProfile]) -> Vec<Preview> {
    manifests
        .iter()
        .map(|m| {
            let observed = tenant.iter().find(|p| p.name == m.spec.name);
            Preview {
                object: m.metadata.name.clone().unwrap_or_default(),
                name: m.spec.name.clone(),
                plan: plan_profile(&m.spec.desired(), observed),
                observe_only: m.spec.management_policy == ManagementPolicy::Observe,
                attribute_preview: None,
            }
        })
        .collect()
}

/// Previews every planned attribute mapping change on up to `sample_size` identities of its
/// profile (reads and preview calls only; nothing is written). 0 previews nothing.
pub async fn preview_identities(
    previews: &mut [Preview],
    tenant: &[TenantProfile],
    client: &TenantClient,
    sample_size: u32,
) {
    if sample_size == 0 {
        return;
    }
    for p in previews {
        let observed = tenant.iter().find(|t| t.name == p.name);
        let change = match (observed, &p.plan) {
            (Some(observed), Ok(plan)) => identity_preview::mapping_change(observed, plan),
            _ => None,
        };
        if let Some(change) = change {
            p.attribute_preview =
                Some(identity_preview::preview(client, &change, sample_size).await);
        }
    }
}

/// Human-readable report, one block per manifest, and a summary line.
pub fn render(previews: &[Preview]) -> String {
    let mut out = String::new();
    for p in previews {
        let head = format!("IdentityProfile {} ({:?})", p.object, p.name);
        let note = if p.observe_only {
            " [Observe: not applied]"
        } else {
            ""
        };
        match &p.plan {
            Err(e) => writeln!(out, "{head}: invalid: {e}"),
            Ok(ProfilePlan::Nothing) => writeln!(out, "{head}: no changes"),
            Ok(ProfilePlan::Create(_)) => writeln!(out, "{head}: create{note}"),
            Ok(ProfilePlan::Patch(steps)) => {
                let _ = writeln!(out, "{head}: {} PATCH call(s){note}", steps.len());
                for op in steps.iter().flatten() {
                    let _ = match &op.value {
                        Some(v) => writeln!(out, "    {} {} = {v}", op.op, op.path),
                        None => writeln!(out, "    {} {}", op.op, op.path),
                    };
                }
                if let Some(shown) = &p.attribute_preview {
                    out.push_str(&identity_preview::render(shown, "    "));
                }
                Ok(())
            }
        }
        .expect("writing to a String cannot fail");
    }
    let changing = previews.iter().filter(|p| p.changes()).count();
    let _ = writeln!(
        out,
        "{changing} of {} profile(s) would change the tenant.",
        previews.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use isc_client::models::ObjectRef;

    const YAML: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: ignored}
---
apiVersion: isc.identitynow.dev/v1alpha1
kind: IdentityProfile
metadata: {name: staff}
spec:
  tenantRef: {name: demo}
  name: Staff
  description: new text
  authoritativeSource: {id: s1}
---
apiVersion: isc.identitynow.dev/v1alpha1
kind: IdentityProfile
metadata: {name: fresh}
spec:
  tenantRef: {name: demo}
  name: Fresh
  authoritativeSource: {id: s1}
"#;

    #[test]
    fn previews_creates_and_patches() {
        let manifests = load_profiles(YAML).unwrap();
        assert_eq!(manifests.len(), 2);
        let tenant = vec![TenantProfile {
            id: Some("p1".into()),
            name: "Staff".into(),
            description: Some("old text".into()),
            authoritative_source: ObjectRef {
                kind: Some("SOURCE".into()),
                id: Some("s1".into()),
                name: None,
            },
            ..Default::default()
        }];
        let report = render(&preview(&manifests, &tenant));
        assert!(
            report.contains("IdentityProfile staff (\"Staff\"): 1 PATCH call(s)"),
            "{report}"
        );
        assert!(
            report.contains("    replace /description = \"new text\""),
            "{report}"
        );
        assert!(
            report.contains("IdentityProfile fresh (\"Fresh\"): create"),
            "{report}"
        );
        assert!(
            report.ends_with("2 of 2 profile(s) would change the tenant.\n"),
            "{report}"
        );
    }

    #[test]
    fn invalid_documents_are_named() {
        let err = load_profiles("kind: IdentityProfile\nspec: 3\n").unwrap_err();
        assert!(err.to_string().starts_with("document 1:"), "{err}");
    }
}
