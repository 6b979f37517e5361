//! Identity previews: what a planned change to a profile's attribute mappings would do to a
//! few identities of the profile, from the tenant's `POST /identity-profiles/identity-preview`
//! (which computes and stores nothing). `isc-operator plan` prints them; under
//! `managementPolicy: Observe` they go to `status.attributePreview`.
//!
//! - The change is read off the plan itself: the plan's PATCH bodies applied to the tenant
//!   profile give the mappings the tenant would hold, so the preview sends exactly what a
//!   `Manage` reconcile would write. Only attributes whose mapping changes are shown.
//! - Sample identities: `GET /identities` cannot filter by profile, so a few pages (at most
//!   [`SCANNED_PAGES`] × 250 identities) are read and the identities whose
//!   `attributes.cloudAuthoritativeSource` is the profile's authoritative source are taken.
//!   Listing identities needs a user-context credential; without one the preview says so and
//!   the plan goes on.
//! - Every call goes through the tenant client (counted and rate-limited like the others). A
//!   preview problem never fails a plan or a reconcile: it is shown in the preview's message.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::api::IdentityProfile;
use crate::api::identity_profile::{AttributePreview, AttributePreviewEntry};
use isc_client::models::{
    Identity, IdentityAttributeConfig, IdentityPreviewRequest, IdentityPreviewResponse,
    IdentityProfile as TenantProfile, JsonPatchOperation, TransformDefinition,
};
use isc_client::{ErrorClass, IdentityDefaultFilter, IscError, ListParams, TenantClient, clip};

use super::diff::ProfilePlan;

/// Sample identities previewed when nothing else is said (`plan --preview-identities`,
/// `spec.previewIdentities`).
pub const DEFAULT_SAMPLE_SIZE: u32 = 3;
/// Most rows (identity × attribute) a preview keeps, so the status stays small.
pub const MAX_ENTRIES: usize = 50;
/// Most pages of `GET /identities` read to find identities of the profile.
pub const SCANNED_PAGES: u32 = 4;
/// The identity attribute that holds the id of an identity's authoritative source.
pub const SOURCE_ATTRIBUTE: &str = "cloudAuthoritativeSource";
/// The message when the credential cannot list identities.
pub const USER_CONTEXT_REQUIRED: &str = "no preview: listing the profile's identities needs a credential with user context (a personal access token); the tenant answered 403";

const MAX_VALUE_CHARS: usize = 200;
const MAX_ERRORS: usize = 3;
const PAGE_SIZE: u32 = 250;

/// A planned change to a profile's attribute mappings.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingChange {
    /// The authoritative source of the profile after the change: its identities are sampled.
    pub source_id: String,
    /// Identities in the profile as the tenant reports (0 means nothing to preview).
    pub identity_count: Option<i32>,
    /// The attribute config the tenant would hold: what the preview sends.
    pub after: IdentityAttributeConfig,
    /// Identity attributes whose mapping changes (added, changed or removed), sorted.
    pub attributes: Vec<String>,
    /// The attribute config the tenant holds now.
    before: Option<IdentityAttributeConfig>,
}

/// The mapping change `plan` makes to `observed`, or `None` when it changes no mapping (a
/// create, nothing to do, or only other fields).
pub fn mapping_change(observed: &TenantProfile, plan: &ProfilePlan) -> Option<MappingChange> {
    let ProfilePlan::Patch(steps) = plan else {
        return None;
    };
    let mut document = serde_json::to_value(observed).ok()?;
    for step in steps {
        // Only the ops on the mappings and the source: the others (name, description...) do
        // not change what a preview shows, and a member the tenant left out could not take them.
        let relevant: Vec<&JsonPatchOperation> = step
            .iter()
            .filter(|o| {
                ["/identityAttributeConfig", "/authoritativeSource"]
                    .iter()
                    .any(|p| o.path == *p || o.path.starts_with(&format!("{p}/")))
            })
            .collect();
        let ops = serde_json::to_value(relevant).ok()?;
        let patch: json_patch::Patch = serde_json::from_value(ops).ok()?;
        json_patch::patch(&mut document, &patch).ok()?;
    }
    let patched: TenantProfile = serde_json::from_value(document).ok()?;
    let after = patched.identity_attribute_config?;
    let before = observed.identity_attribute_config.clone();
    let attributes = changed_attributes(before.as_ref(), &after);
    if attributes.is_empty() {
        return None;
    }
    Some(MappingChange {
        source_id: patched.authoritative_source.id.unwrap_or_default(),
        identity_count: observed.identity_count,
        after,
        attributes,
        before,
    })
}

/// Each identity attribute's transform definition (the first, should the tenant hold two).
fn mappings(config: Option<&IdentityAttributeConfig>) -> BTreeMap<&str, &TransformDefinition> {
    let mut map = BTreeMap::new();
    for t in config.iter().flat_map(|c| &c.attribute_transforms) {
        if let (Some(name), Some(def)) = (&t.identity_attribute_name, &t.transform_definition) {
            map.entry(name.as_str()).or_insert(def);
        }
    }
    map
}

fn changed_attributes(
    before: Option<&IdentityAttributeConfig>,
    after: &IdentityAttributeConfig,
) -> Vec<String> {
    let (before, after) = (mappings(before), mappings(Some(after)));
    let mut names: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter(|n| before.get(n) != after.get(n))
        .map(str::to_string)
        .collect()
}

impl MappingChange {
    /// Fingerprint of what a preview of this change with `sample_size` identities shows: the
    /// mappings before and after, the source and the sample size.
    pub fn basis(&self, sample_size: u32) -> String {
        let text = serde_json::json!([self.before, self.after, self.source_id, sample_size]);
        let digest = ring::digest::digest(&ring::digest::SHA256, text.to_string().as_bytes());
        digest.as_ref()[..12]
            .iter()
            .fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }

    fn maps(&self, attribute: &str) -> bool {
        mappings(Some(&self.after)).contains_key(attribute)
    }
}

/// Previews `change` on up to `sample_size` identities of the profile. Never fails: what kept
/// values from being shown is in the message.
pub async fn preview(
    client: &TenantClient,
    change: &MappingChange,
    sample_size: u32,
) -> AttributePreview {
    let mut preview = AttributePreview {
        basis: change.basis(sample_size),
        ..Default::default()
    };
    if change.identity_count == Some(0) {
        preview.message = Some("no preview: the profile has no identities".into());
        return preview;
    }
    let identities = match sample_identities(client, &change.source_id, sample_size).await {
        Ok(found) => found,
        Err(e) if e.class() == ErrorClass::Forbidden => {
            preview.message = Some(USER_CONTEXT_REQUIRED.into());
            return preview;
        }
        Err(e) => {
            preview.message = Some(short(&format!(
                "no preview: listing identities failed: {e}"
            )));
            return preview;
        }
    };
    if identities.is_empty() {
        let scanned = SCANNED_PAGES * PAGE_SIZE;
        preview.message = Some(format!(
            "no preview: no identity of the profile among the first {scanned} identities listed"
        ));
        return preview;
    }
    let mut problems = Vec::new();
    for identity in &identities {
        let request = IdentityPreviewRequest {
            identity_id: identity.id.clone(),
            identity_attribute_config: Some(change.after.clone()),
        };
        match client.identity_preview(&request).await {
            Ok(response) => preview.entries.extend(rows(change, identity, &response)),
            Err(e) => {
                problems.push(short(&format!(
                    "the preview of {} failed: {e}",
                    identity_label(identity)
                )));
                break;
            }
        }
    }
    if preview.entries.len() > MAX_ENTRIES {
        problems.push(format!(
            "{} of {} rows shown",
            MAX_ENTRIES,
            preview.entries.len()
        ));
        preview.entries.truncate(MAX_ENTRIES);
    }
    preview.message = (!problems.is_empty()).then(|| problems.join("; "));
    preview
}

/// Up to `wanted` identities whose authoritative source is `source_id`, from the first
/// [`SCANNED_PAGES`] pages of the identities list.
async fn sample_identities(
    client: &TenantClient,
    source_id: &str,
    wanted: u32,
) -> Result<Vec<Identity>, IscError> {
    let mut found = Vec::new();
    for page in 0..SCANNED_PAGES {
        let params = ListParams {
            limit: Some(PAGE_SIZE),
            offset: Some(page * PAGE_SIZE),
            ..Default::default()
        };
        let listed = client
            .list_identities(&params, IdentityDefaultFilter::CorrelatedOnly)
            .await?;
        let short_page = listed.items.len() < PAGE_SIZE as usize;
        for identity in listed.items {
            if attribute_text(&identity, SOURCE_ATTRIBUTE).as_deref() == Some(source_id) {
                found.push(identity);
                if found.len() >= wanted as usize {
                    return Ok(found);
                }
            }
        }
        if short_page {
            break;
        }
    }
    Ok(found)
}

/// The rows of one identity's preview: one per changed attribute.
fn rows(
    change: &MappingChange,
    identity: &Identity,
    response: &IdentityPreviewResponse,
) -> Vec<AttributePreviewEntry> {
    let label = identity_label(identity);
    change
        .attributes
        .iter()
        .map(|attribute| {
            let previewed = response
                .preview_attributes
                .iter()
                .find(|a| a.name.as_deref() == Some(attribute.as_str()));
            let before = previewed
                .and_then(|a| a.previous_value.clone())
                .or_else(|| attribute_text(identity, attribute));
            let mapped = change.maps(attribute);
            let after = previewed.filter(|_| mapped).and_then(|a| a.value.clone());
            let errors = previewed
                .map(|a| {
                    a.error_messages
                        .iter()
                        .take(MAX_ERRORS)
                        .map(|m| clip(&m.text, MAX_VALUE_CHARS))
                        .collect()
                })
                .unwrap_or_default();
            AttributePreviewEntry {
                identity: label.clone(),
                attribute: attribute.clone(),
                before: before.map(|v| clip(&v, MAX_VALUE_CHARS)),
                after: after.map(|v| clip(&v, MAX_VALUE_CHARS)),
                errors,
            }
        })
        .collect()
}

fn identity_label(identity: &Identity) -> String {
    if identity.name.is_empty() {
        identity.id.clone().unwrap_or_default()
    } else {
        clip(&identity.name, MAX_VALUE_CHARS)
    }
}

/// An identity attribute as text (strings as they are, other values as JSON).
fn attribute_text(identity: &Identity, name: &str) -> Option<String> {
    match identity.attributes.as_ref()?.get(name)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn short(text: &str) -> String {
    clip(text, 2 * MAX_VALUE_CHARS)
}

/// `status.attributePreview` of an `Observe` object: the stored preview when it shows the same
/// change (no tenant call), a new one when the change is new, `None` when the plan changes no
/// mapping or `spec.previewIdentities` is 0.
pub(super) async fn observe_preview(
    obj: &IdentityProfile,
    client: &TenantClient,
    observed: Option<&TenantProfile>,
    plan: &ProfilePlan,
    stored: Option<&AttributePreview>,
) -> Option<AttributePreview> {
    let sample_size = obj.spec.preview_identities.unwrap_or(DEFAULT_SAMPLE_SIZE);
    if sample_size == 0 {
        return None;
    }
    let change = mapping_change(observed?, plan)?;
    if let Some(stored) = stored.filter(|s| s.basis == change.basis(sample_size)) {
        return Some(stored.clone());
    }
    let mut preview = preview(client, &change, sample_size).await;
    preview.generation = obj.metadata.generation;
    Some(preview)
}

/// The preview as text for `plan`: a header line, then `identity  attribute: before -> after`
/// lines (with the tenant's errors), each indented by `indent`.
pub fn render(preview: &AttributePreview, indent: &str) -> String {
    let mut out = String::new();
    let identities = {
        let mut names: Vec<&str> = preview
            .entries
            .iter()
            .map(|e| e.identity.as_str())
            .collect();
        names.dedup();
        names.len()
    };
    if identities > 0 {
        let _ = writeln!(
            out,
            "{indent}attribute preview on {identities} identit{} of the profile (attribute: before -> after):",
            if identities == 1 { "y" } else { "ies" }
        );
    }
    for e in &preview.entries {
        let _ = write!(
            out,
            "{indent}  {}  {}: {} -> {}",
            e.identity,
            e.attribute,
            shown(e.before.as_deref()),
            shown(e.after.as_deref())
        );
        if !e.errors.is_empty() {
            let _ = write!(out, "  [error: {}]", e.errors.join("; "));
        }
        out.push('\n');
    }
    if let Some(message) = &preview.message {
        let _ = writeln!(out, "{indent}{message}");
    }
    out
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_string(), |v| format!("{v:?}"))
}

#[cfg(test)]
mod tests;
