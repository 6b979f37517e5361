//! The pure planning step: desired identity profile × observed tenant object → what to do.
//!
//! No I/O here. The reconciler dereferences inputs, calls [`plan_profile`], and applies the
//! result. Rules the plan follows:
//! - only fields the desired spec declares (`Some`) are managed; everything else on the tenant
//!   object is left alone;
//! - values the tenant computes, defaults or reorders never cause a patch: the authoritative
//!   source is compared by id, transforms as a set keyed by identity attribute name, and a
//!   transform's attributes as a subset (the tenant may add keys such as `sourceName`);
//! - the patch is minimal, and a change to both `authoritativeSource` and
//!   `identityAttributeConfig` becomes two PATCH calls (the tenant rejects one that changes
//!   both): the source first, so that transforms referring to the new source are valid when sent.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use isc_client::models::{
    IdentityAttributeTransform, IdentityProfile, JsonPatchOperation, ObjectRef,
};

/// The part of a profile the user declares; `None` means "not managed".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredProfile {
    /// Tenant-side name (always managed: it is how profiles are found).
    pub name: String,
    /// Managed when set.
    pub description: Option<String>,
    /// Managed when set.
    pub priority: Option<i64>,
    /// Managed when set: the owner's identity id (and optional name, informational).
    pub owner: Option<ObjectRef>,
    /// Always managed: the authoritative source (compared by id).
    pub authoritative_source: ObjectRef,
    /// Managed when set.
    pub attribute_config: Option<DesiredAttributeConfig>,
}

/// Declared identity attribute configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredAttributeConfig {
    /// Managed when set.
    pub enabled: Option<bool>,
    /// The complete set of transforms; identity attribute names must be unique.
    pub transforms: Vec<DesiredTransform>,
}

/// One declared transform.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredTransform {
    /// Identity attribute the transform computes (the set key).
    pub identity_attribute_name: String,
    /// Transform type, e.g. `accountAttribute` or `reference`.
    pub transform_type: String,
    /// Transform arguments; compared as a subset of what the tenant returns.
    pub attributes: Map<String, Value>,
}

/// What the reconciler must do to make the tenant match.
#[derive(Debug, Clone, PartialEq)]
pub enum ProfilePlan {
    /// Already converged: no call.
    Nothing,
    /// The profile does not exist: create it with this body.
    Create(Box<IdentityProfile>),
    /// Send these PATCH bodies in order (one or two; never empty).
    Patch(Vec<Vec<JsonPatchOperation>>),
}

impl ProfilePlan {
    /// Number of write calls the plan costs.
    pub fn write_calls(&self) -> usize {
        match self {
            ProfilePlan::Nothing => 0,
            ProfilePlan::Create(_) => 1,
            ProfilePlan::Patch(steps) => steps.len(),
        }
    }
}

/// Why a desired profile cannot be planned (an invalid spec: wait for the user to change it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Two transforms for the same identity attribute.
    #[error("identityAttributeConfig.attributeTransforms declares {0:?} more than once")]
    DuplicateTransform(String),
    /// The source reference has no id (and no name it was resolved from).
    #[error("authoritativeSource needs id or name")]
    MissingSourceId,
    /// A name in the spec did not resolve on the tenant (see `controller::references`); for
    /// tools that plan without the reconciler (`isc-operator plan`).
    #[error("{0}")]
    UnresolvedReference(String),
}

impl DesiredProfile {
    /// Checks what the CRD schema cannot (uniqueness of the transform keys), and that the
    /// source has an id (given, or resolved from its name: see `controller::references`).
    pub fn validate(&self) -> Result<(), PlanError> {
        if self
            .authoritative_source
            .id
            .as_deref()
            .is_none_or(str::is_empty)
        {
            return Err(PlanError::MissingSourceId);
        }
        self.validate_keys()
    }

    /// The checks that need no tenant id (before names are resolved): the transform keys are
    /// unique.
    pub fn validate_keys(&self) -> Result<(), PlanError> {
        if let Some(config) = &self.attribute_config {
            let mut seen = std::collections::BTreeSet::new();
            for t in &config.transforms {
                if !seen.insert(t.identity_attribute_name.as_str()) {
                    return Err(PlanError::DuplicateTransform(
                        t.identity_attribute_name.clone(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn source_value(&self) -> ObjectRef {
        ObjectRef {
            kind: Some("SOURCE".to_string()),
            id: self.authoritative_source.id.clone(),
            name: self.authoritative_source.name.clone(),
        }
    }

    /// The body of a create call.
    pub fn to_create_body(&self) -> IdentityProfile {
        IdentityProfile {
            name: self.name.clone(),
            description: self.description.clone(),
            priority: self.priority,
            owner: self.owner.as_ref().map(owner_value),
            authoritative_source: self.source_value(),
            identity_attribute_config: self.attribute_config.as_ref().map(|c| {
                isc_client::models::IdentityAttributeConfig {
                    enabled: c.enabled.unwrap_or(true),
                    attribute_transforms: c.transforms.iter().map(transform_model).collect(),
                }
            }),
            ..Default::default()
        }
    }
}

fn owner_value(owner: &ObjectRef) -> ObjectRef {
    ObjectRef {
        kind: Some("IDENTITY".to_string()),
        id: owner.id.clone(),
        name: owner.name.clone(),
    }
}

fn transform_model(t: &DesiredTransform) -> IdentityAttributeTransform {
    IdentityAttributeTransform {
        identity_attribute_name: Some(t.identity_attribute_name.clone()),
        transform_definition: Some(isc_client::models::TransformDefinition {
            kind: Some(t.transform_type.clone()),
            attributes: Some(t.attributes.clone()),
        }),
    }
}

fn transform_json(t: &DesiredTransform) -> Value {
    serde_json::to_value(transform_model(t)).expect("transform serializes")
}

/// True when every desired attribute is present in the observed ones with an equal value.
fn attributes_subset(desired: &Map<String, Value>, observed: Option<&Map<String, Value>>) -> bool {
    let empty = Map::new();
    let observed = observed.unwrap_or(&empty);
    desired.iter().all(|(k, v)| observed.get(k) == Some(v))
}

fn transform_matches(desired: &DesiredTransform, observed: &IdentityAttributeTransform) -> bool {
    let Some(def) = &observed.transform_definition else {
        return false;
    };
    def.kind.as_deref() == Some(desired.transform_type.as_str())
        && attributes_subset(&desired.attributes, def.attributes.as_ref())
}

fn op(op: &str, path: &str, value: Option<Value>) -> JsonPatchOperation {
    JsonPatchOperation {
        op: op.to_string(),
        path: path.to_string(),
        value,
        from: None,
    }
}

/// Plans the simple (non-source, non-config) fields.
fn plan_scalars(
    desired: &DesiredProfile,
    observed: &IdentityProfile,
    ops: &mut Vec<JsonPatchOperation>,
) {
    if desired.name != observed.name {
        ops.push(op("replace", "/name", Some(json!(desired.name))));
    }
    if let Some(description) = &desired.description
        && observed.description.as_ref() != Some(description)
    {
        // The tenant always returns `description` (nullable), so the member exists.
        ops.push(op("replace", "/description", Some(json!(description))));
    }
    if let Some(priority) = desired.priority
        && observed.priority != Some(priority)
    {
        let verb = if observed.priority.is_some() {
            "replace"
        } else {
            "add"
        };
        ops.push(op(verb, "/priority", Some(json!(priority))));
    }
    if let Some(owner) = &desired.owner
        && observed.owner.as_ref().and_then(|o| o.id.as_ref()) != owner.id.as_ref()
    {
        let value = serde_json::to_value(owner_value(owner)).expect("owner serializes");
        ops.push(op("replace", "/owner", Some(value)));
    }
}

/// Plans the attribute config: per-transform replace/add/remove, keyed by attribute name.
fn plan_attribute_config(
    desired: &DesiredAttributeConfig,
    observed: &IdentityProfile,
) -> Vec<JsonPatchOperation> {
    let Some(current) = &observed.identity_attribute_config else {
        let body = isc_client::models::IdentityAttributeConfig {
            enabled: desired.enabled.unwrap_or(true),
            attribute_transforms: desired.transforms.iter().map(transform_model).collect(),
        };
        return vec![op(
            "add",
            "/identityAttributeConfig",
            Some(serde_json::to_value(body).expect("config serializes")),
        )];
    };
    let mut ops = Vec::new();
    if let Some(enabled) = desired.enabled
        && current.enabled != enabled
    {
        ops.push(op(
            "replace",
            "/identityAttributeConfig/enabled",
            Some(json!(enabled)),
        ));
    }
    let wanted: BTreeMap<&str, &DesiredTransform> = desired
        .transforms
        .iter()
        .map(|t| (t.identity_attribute_name.as_str(), t))
        .collect();
    let mut present = std::collections::BTreeSet::new();
    let mut removals = Vec::new();
    for (index, observed_t) in current.attribute_transforms.iter().enumerate() {
        let name = observed_t.identity_attribute_name.as_deref().unwrap_or("");
        match wanted.get(name) {
            // A duplicate of an attribute already seen is removed as well.
            Some(want) if present.insert(name) => {
                if !transform_matches(want, observed_t) {
                    ops.push(op(
                        "replace",
                        &format!("/identityAttributeConfig/attributeTransforms/{index}"),
                        Some(transform_json(want)),
                    ));
                }
            }
            _ => removals.push(index),
        }
    }
    // Remove from the highest index down so earlier indices stay valid.
    for index in removals.into_iter().rev() {
        ops.push(op(
            "remove",
            &format!("/identityAttributeConfig/attributeTransforms/{index}"),
            None,
        ));
    }
    for t in &desired.transforms {
        if !present.contains(t.identity_attribute_name.as_str()) {
            ops.push(op(
                "add",
                "/identityAttributeConfig/attributeTransforms/-",
                Some(transform_json(t)),
            ));
        }
    }
    ops
}

/// A desired profile that passed [`DesiredProfile::validate`], so planning it cannot fail:
/// a reconcile validates once and may then plan against more than one observation.
#[derive(Debug, Clone, Copy)]
pub struct ValidProfile<'a>(&'a DesiredProfile);

impl DesiredProfile {
    /// Validates once; the result plans without checking again.
    pub fn validated(&self) -> Result<ValidProfile<'_>, PlanError> {
        self.validate()?;
        Ok(ValidProfile(self))
    }
}

impl<'a> ValidProfile<'a> {
    /// The validated desired profile.
    pub fn desired(&self) -> &'a DesiredProfile {
        self.0
    }

    /// Plans what to do, given the observed tenant profile (`None` = it does not exist).
    pub fn plan(&self, observed: Option<&IdentityProfile>) -> ProfilePlan {
        plan_valid(self.0, observed)
    }
}

/// Plans what to do, given the observed tenant profile (`None` = it does not exist).
pub fn plan_profile(
    desired: &DesiredProfile,
    observed: Option<&IdentityProfile>,
) -> Result<ProfilePlan, PlanError> {
    Ok(desired.validated()?.plan(observed))
}

fn plan_valid(desired: &DesiredProfile, observed: Option<&IdentityProfile>) -> ProfilePlan {
    let Some(observed) = observed else {
        return ProfilePlan::Create(Box::new(desired.to_create_body()));
    };
    let mut first = Vec::new();
    plan_scalars(desired, observed, &mut first);
    let source_changes = observed.authoritative_source.id != desired.authoritative_source.id;
    if source_changes {
        let value = serde_json::to_value(desired.source_value()).expect("source serializes");
        first.push(op("replace", "/authoritativeSource", Some(value)));
    }
    let config_ops = desired
        .attribute_config
        .as_ref()
        .map(|c| plan_attribute_config(c, observed))
        .unwrap_or_default();
    let mut steps = Vec::new();
    if source_changes && !config_ops.is_empty() {
        steps.push(first);
        steps.push(config_ops);
    } else {
        first.extend(config_ops);
        if !first.is_empty() {
            steps.push(first);
        }
    }
    if steps.is_empty() {
        ProfilePlan::Nothing
    } else {
        ProfilePlan::Patch(steps)
    }
}

/// True when one PATCH body touches both fields the tenant refuses to change together.
pub fn touches_source_and_config(ops: &[JsonPatchOperation]) -> bool {
    let touches = |prefix: &str| {
        ops.iter()
            .any(|o| o.path == prefix || o.path.starts_with(&format!("{prefix}/")))
    };
    touches("/authoritativeSource") && touches("/identityAttributeConfig")
}

#[cfg(test)]
mod tests;
