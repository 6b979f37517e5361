//! The custom resources users write: `Tenant`, `IdentityProfile`, `ProcessingRequest`, and the
//! rest of the identity model (`IdentityAttribute`, `Transform`, `LifecycleState`)
//! (`isc.identitynow.dev/v1alpha1`). The CRDs in `crds/` are generated from these types
//! (`isc-operator crds`), so field docs here are what `kubectl explain` shows.

pub mod identity_attribute;
pub mod identity_profile;
pub mod lifecycle_state;
pub mod managed;
pub mod processing_request;
pub mod tenant;
pub mod transform;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResourceExt;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

pub use identity_attribute::{IdentityAttribute, IdentityAttributeSpec};
pub use identity_profile::{IdentityProfile, IdentityProfileSpec, IdentityProfileStatus};
pub use lifecycle_state::{LifecycleState, LifecycleStateSpec};
pub use managed::TenantObjectStatus;
pub use processing_request::{ProcessingRequest, ProcessingRequestSpec, ProcessingRequestStatus};
pub use tenant::{Tenant, TenantSpec, TenantStatus};
pub use transform::{Transform, TransformSpec};

/// API group of every kind.
pub const GROUP: &str = "isc.identitynow.dev";
/// API version of every kind.
pub const VERSION: &str = "v1alpha1";

/// A reference to a `Tenant` in the same namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TenantRef {
    /// Name of the `Tenant` object (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Schema of a free-form JSON object kept as written (`x-kubernetes-preserve-unknown-fields`).
pub fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Schema of a `conditions` list: a list-map keyed by `type`, as the API conventions ask.
pub fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let item = generator.subschema_for::<Condition>();
    json_schema!({
        "type": "array",
        "items": item,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"]
    })
}

/// Every CRD of the operator, in the order `isc-operator crds` prints them.
pub fn all_crds()
-> Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>
{
    vec![
        Tenant::crd(),
        IdentityProfile::crd(),
        ProcessingRequest::crd(),
        IdentityAttribute::crd(),
        Transform::crd(),
        LifecycleState::crd(),
    ]
}

/// The CRDs as one multi-document YAML stream (what `crds/` holds).
pub fn crds_yaml() -> String {
    all_crds()
        .iter()
        .map(|crd| serde_yaml_ng::to_string(crd).expect("CRDs serialize to YAML"))
        .collect::<Vec<_>>()
        .join("---\n")
}
