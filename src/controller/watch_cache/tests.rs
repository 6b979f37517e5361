use serde_json::json;

use super::*;
use crate::api::{IdentityProfile, ProcessingRequest};

fn json<T: serde::Serialize>(obj: &T) -> serde_json::Value {
    serde_json::to_value(obj).expect("serializes")
}

#[test]
fn a_request_is_cached_as_its_metadata_less_what_is_never_read() {
    // What the API server sends to a metadata-only watch (`PartialObjectMetadata`).
    let mut obj: PartialObjectMeta<ProcessingRequest> = serde_json::from_value(json!({
        "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
        "metadata": {
            "name": "nightly", "namespace": "team-a", "uid": "u-1", "resourceVersion": "42",
            "generation": 3,
            "labels": {"app": "hr"},
            "annotations": {LAST_APPLIED: "{\"a\":1}", "isc.identitynow.dev/paused": "false"},
            "managedFields": [{"manager": "kubectl", "operation": "Update"}]
        }
    }))
    .expect("metadata");
    strip_unread(&mut obj);
    let meta = &obj.metadata;
    assert_eq!(meta.name.as_deref(), Some("nightly"));
    assert_eq!(meta.namespace.as_deref(), Some("team-a"));
    assert_eq!(meta.resource_version.as_deref(), Some("42"));
    let annotations = meta.annotations.as_ref().expect("annotations");
    assert!(annotations.contains_key("isc.identitynow.dev/paused"));
    assert!(
        !annotations.contains_key(LAST_APPLIED),
        "kubectl's copy dropped"
    );
    assert!(meta.managed_fields.is_none(), "managedFields dropped");
    // The controller and its backoff key it as the request itself.
    assert_eq!(
        kube::runtime::reflector::ObjectRef::from_obj(&obj).to_string(),
        "ProcessingRequest.v1alpha1.isc.identitynow.dev/nightly.team-a"
    );
}

#[test]
fn strip_unread_drops_managed_fields_and_the_last_applied_copy_only() {
    let mut profile: IdentityProfile = serde_json::from_value(json!({
        "apiVersion": "isc.identitynow.dev/v1alpha1", "kind": "IdentityProfile",
        "metadata": {"name": "p", "namespace": "n",
            "annotations": {LAST_APPLIED: "{}"},
            "managedFields": [{"manager": "kubectl"}]},
        "spec": {"tenantRef": {"name": "demo"}, "name": "P", "authoritativeSource": {"id": "s"}},
        "status": {"id": "t-1", "conditions": [{"type": "Ready", "status": "True",
            "reason": "Synced", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    }))
    .expect("profile");
    let mut expected = profile.clone();
    expected.metadata.managed_fields = None;
    expected.metadata.annotations = None;
    strip_unread(&mut profile);
    assert_eq!(
        json(&profile),
        json(&expected),
        "spec and status are kept whole"
    );
}
