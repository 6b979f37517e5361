//! `isc-operator plan` for the rest of the identity model: identity attributes, transforms and
//! lifecycle states, planned with the controllers' own pure planners against one list per kind
//! (lifecycle states: one list per planned profile that exists on the tenant). Reads only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::CliError;
use super::manifests::manifest_files;
use crate::api::managed::ManagementPolicy;
use crate::api::{IdentityAttribute, IdentityProfile, LifecycleState, Transform};
use crate::controller::managed::TenantObjectPlan;
use crate::controller::managed::kinds::{identity_attribute, lifecycle_state, transform};
use isc_client::TenantClient;
use isc_client::models::IdentityProfile as TenantProfile;

/// The identity-model documents (other than profiles) of the manifest files.
#[derive(Debug, Default)]
pub struct ModelManifests {
    /// `IdentityAttribute` documents.
    pub attributes: Vec<IdentityAttribute>,
    /// `Transform` documents.
    pub transforms: Vec<Transform>,
    /// `LifecycleState` documents.
    pub lifecycle_states: Vec<LifecycleState>,
}

fn decode<T: DeserializeOwned>(value: Value, file: &str, index: usize) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("{file}: document {index}: {e}"))
}

/// Reads the `IdentityAttribute`, `Transform` and `LifecycleState` documents of `paths` (the
/// files `plan -f` names; other kinds are ignored).
pub fn load_model_manifests(paths: &[PathBuf]) -> Result<ModelManifests, CliError> {
    let mut found = ModelManifests::default();
    for file in manifest_files(paths)? {
        let text = std::fs::read_to_string(&file).map_err(|source| CliError::Read {
            path: file.clone(),
            source,
        })?;
        let shown = file.display().to_string();
        let invalid = |message: String| CliError::Manifest {
            path: file.clone(),
            source: super::preview::PreviewError::Invalid { index: 0, message },
        };
        for (i, document) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
            let value: Value = serde::Deserialize::deserialize(document)
                .map_err(|e| invalid(format!("document {}: {e}", i + 1)))?;
            match value.get("kind").and_then(Value::as_str) {
                Some("IdentityAttribute") => found
                    .attributes
                    .push(decode(value, &shown, i + 1).map_err(invalid)?),
                Some("Transform") => found
                    .transforms
                    .push(decode(value, &shown, i + 1).map_err(invalid)?),
                Some("LifecycleState") => found
                    .lifecycle_states
                    .push(decode(value, &shown, i + 1).map_err(invalid)?),
                _ => {}
            }
        }
    }
    Ok(found)
}

/// The plan of one identity-model manifest, ready to print.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPreview {
    /// `IdentityAttribute`, `Transform` or `LifecycleState`.
    pub kind: &'static str,
    /// `metadata.name` of the manifest.
    pub object: String,
    /// The tenant-side key (name, or a lifecycle state's technical name).
    pub key: String,
    /// `create`, `no changes`, the changed fields, or why the tenant cannot be made to match.
    pub summary: String,
    /// The changed fields (`op path = value`), for an update.
    pub changes: Vec<String>,
    /// Whether applying would write to the tenant.
    pub writes: bool,
}

fn preview_of<R>(
    kind: &'static str,
    object: &Option<String>,
    key: &str,
    observe: bool,
    plan: TenantObjectPlan<R>,
) -> ModelPreview {
    let note = if observe {
        " [Observe: not applied]"
    } else {
        ""
    };
    let (summary, changes) = match &plan {
        TenantObjectPlan::Nothing => ("no changes".to_string(), Vec::new()),
        TenantObjectPlan::Create(_) => (format!("create{note}"), Vec::new()),
        TenantObjectPlan::Update { changes, .. } => (
            format!("update{note}"),
            changes
                .iter()
                .map(|op| match &op.value {
                    Some(v) => format!("{} {} = {v}", op.op, op.path),
                    None => format!("{} {}", op.op, op.path),
                })
                .collect(),
        ),
        TenantObjectPlan::Immutable(why) => (format!("cannot be applied: {why}"), Vec::new()),
    };
    ModelPreview {
        kind,
        object: object.clone().unwrap_or_default(),
        key: key.to_string(),
        summary,
        changes,
        writes: !observe && plan.write_calls() > 0,
    }
}

/// How long one run reuses its name lookups (a run is shorter).
const NAMES_KEPT: std::time::Duration = std::time::Duration::from_secs(3600);

/// Plans every identity-model manifest against the tenant: one list of identity attributes and
/// one of transforms when such manifests are given, one lifecycle-state list per profile
/// (named by a state's `identityProfileRef`, found among `profiles`) that exists in `tenant`.
/// A state whose profile is not on the tenant yet would be created after it.
pub async fn plan_model(
    client: &TenantClient,
    manifests: &ModelManifests,
    profiles: &[IdentityProfile],
    tenant: &[TenantProfile],
) -> Result<Vec<ModelPreview>, CliError> {
    let observe = |p: ManagementPolicy| p == ManagementPolicy::Observe;
    let mut out = Vec::new();
    if !manifests.attributes.is_empty() {
        let listed = client.list_identity_attributes().await?;
        for m in &manifests.attributes {
            let remote = listed.iter().find(|r| r.name == m.spec.name);
            let plan = identity_attribute::plan(&m.spec.desired(), remote);
            let shown = observe(m.spec.management_policy);
            out.push(preview_of(
                "IdentityAttribute",
                &m.metadata.name,
                &m.spec.name,
                shown,
                plan,
            ));
        }
    }
    let names = crate::controller::references::ReferenceCache::new(NAMES_KEPT);
    if !manifests.transforms.is_empty() {
        let listed = client.list_all_transforms(&Default::default()).await?;
        for m in &manifests.transforms {
            let remote = listed.iter().find(|r| r.name == m.spec.name);
            let plan = match super::plan_names::resolved_transform(client, &names, &m.spec).await? {
                Ok(desired) => transform::plan(&desired, remote),
                Err(unresolved) => TenantObjectPlan::Immutable(unresolved),
            };
            let shown = observe(m.spec.management_policy);
            out.push(preview_of(
                "Transform",
                &m.metadata.name,
                &m.spec.name,
                shown,
                plan,
            ));
        }
    }
    let mut states_by_profile = BTreeMap::new();
    for m in &manifests.lifecycle_states {
        let profile_id = profiles
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(m.spec.identity_profile_ref.name.as_str()))
            .and_then(|p| {
                tenant
                    .iter()
                    .find(|t| t.name.eq_ignore_ascii_case(&p.spec.name))
            })
            .and_then(|t| t.id.clone());
        // A profile not on the tenant yet has no states: every state is a create.
        let remote = match profile_id {
            None => None,
            Some(id) => {
                if !states_by_profile.contains_key(&id) {
                    let states = client
                        .list_all_lifecycle_states(&id, &Default::default())
                        .await?;
                    states_by_profile.insert(id.clone(), states);
                }
                states_by_profile[&id]
                    .iter()
                    .find(|r| r.technical_name == m.spec.technical_name)
            }
        };
        let mut desired = m.spec.desired();
        let tenant_url = client.base_url().to_string();
        let resolved = lifecycle_state::resolve_source_names(
            &names,
            client,
            &tenant_url,
            &m.spec,
            &mut desired,
        )
        .await;
        let plan = match resolved {
            Ok(_) => lifecycle_state::plan(&desired, remote),
            Err(crate::controller::error::ReconcileError::Tenant(e)) => return Err(e.into()),
            Err(unresolved) => TenantObjectPlan::Immutable(unresolved.to_string()),
        };
        let shown = observe(m.spec.management_policy);
        out.push(preview_of(
            "LifecycleState",
            &m.metadata.name,
            &m.spec.technical_name,
            shown,
            plan,
        ));
    }
    Ok(out)
}

/// Human-readable report, one block per manifest, and a summary line (empty without manifests).
pub fn render_model(previews: &[ModelPreview]) -> String {
    let mut out = String::new();
    if previews.is_empty() {
        return out;
    }
    for p in previews {
        let _ = writeln!(out, "{} {} ({:?}): {}", p.kind, p.object, p.key, p.summary);
        for change in &p.changes {
            let _ = writeln!(out, "    {change}");
        }
    }
    let writing = previews.iter().filter(|p| p.writes).count();
    let _ = writeln!(
        out,
        "{writing} of {} identity attribute, transform and lifecycle state manifest(s) would change the tenant.",
        previews.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use isc_client::models::Transform as TenantTransform;

    #[test]
    fn updates_show_their_fields_and_observe_writes_nothing() {
        let t: Transform = serde_json::from_value(serde_json::json!({
            "apiVersion": "isc.identitynow.dev/v1alpha1", "kind": "Transform",
            "metadata": {"name": "upper"},
            "spec": {"tenantRef": {"name": "t"}, "name": "Upper", "type": "upper",
                     "attributes": {"input": "x"}}
        }))
        .unwrap();
        let remote = TenantTransform {
            id: Some("t1".into()),
            name: "Upper".into(),
            kind: "upper".into(),
            attributes: Some(serde_json::Map::new()),
            internal: Some(false),
        };
        let plan = transform::plan(&t.spec.desired(), Some(&remote));
        let shown = preview_of("Transform", &t.metadata.name, "Upper", false, plan.clone());
        assert!(shown.writes);
        assert_eq!(shown.summary, "update");
        assert_eq!(shown.changes.len(), 1, "{shown:?}");
        assert!(shown.changes[0].contains("/attributes"), "{shown:?}");
        let observed = preview_of("Transform", &t.metadata.name, "Upper", true, plan);
        assert!(!observed.writes);
        let report = render_model(&[shown, observed]);
        assert!(
            report.contains("Transform upper (\"Upper\"): update\n"),
            "{report}"
        );
        assert!(report.contains("1 of 2 identity attribute"), "{report}");
        assert_eq!(render_model(&[]), "");
    }

    #[test]
    fn a_new_object_is_a_create_and_a_fixed_field_is_reported() {
        let mut remote = TenantTransform {
            id: Some("t1".into()),
            name: "Upper".into(),
            kind: "lower".into(),
            ..Default::default()
        };
        let desired = transform::DesiredTransform {
            name: "Upper".into(),
            kind: "upper".into(),
            ..Default::default()
        };
        let created = preview_of(
            "Transform",
            &None,
            "Upper",
            false,
            transform::plan(&desired, None),
        );
        assert_eq!((created.summary.as_str(), created.writes), ("create", true));
        let fixed = preview_of(
            "Transform",
            &None,
            "Upper",
            false,
            transform::plan(&desired, Some(&remote)),
        );
        assert!(fixed.summary.starts_with("cannot be applied:"), "{fixed:?}");
        assert!(!fixed.writes);
        remote.kind = "upper".into();
        remote.attributes = Some(serde_json::Map::new());
        let same = preview_of(
            "Transform",
            &None,
            "Upper",
            false,
            transform::plan(&desired, Some(&remote)),
        );
        assert_eq!((same.summary.as_str(), same.writes), ("no changes", false));
    }
}
