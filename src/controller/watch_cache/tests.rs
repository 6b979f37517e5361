use serde_json::json;

use super::*;
use crate::api::{IdentityProfile, ProcessingRequest};

fn json<T: serde::Serialize>(obj: &T) -> serde_json::Value {
    serde_json::to_value(obj).expect("serializes")
}

#[test]
fn a_request_is_cached_as_its_name_only() {
    // What the API server sends to a metadata-only watch (`PartialObjectMetadata`).
    let mut obj: PartialObjectMeta<ProcessingRequest> = serde_json::from_value(json!({
        "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
        "metadata": {
            "name": "nightly", "namespace": "team-a", "uid": "u-1", "resourceVersion": "42",
            "generation": 3, "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "hr"},
            "annotations": {LAST_APPLIED: "{\"a\":1}", "isc.identitynow.dev/paused": "false"},
            "managedFields": [{"manager": "kubectl", "operation": "Update"}]
        }
    }))
    .expect("metadata");
    let key = kube::runtime::reflector::ObjectRef::from_obj(&obj);
    keep_name_only(&mut obj);
    assert_eq!(
        json(&obj),
        json!({"metadata": {"name": "nightly", "namespace": "team-a"}})
    );
    // The cache, the controller's queue and the backoff key it as the request itself.
    let kept = kube::runtime::reflector::ObjectRef::from_obj(&obj);
    assert_eq!(kept, key);
    assert_eq!(
        kept.to_string(),
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
