use serde_json::json;

use super::*;
use crate::api::IdentityProfile;
use crate::api::processing_request::Phase;

fn json<T: serde::Serialize>(obj: &T) -> serde_json::Value {
    serde_json::to_value(obj).expect("serializes")
}

fn request(phase: &str) -> ProcessingRequest {
    serde_json::from_value(json!({
        "apiVersion": "isc.identitynow.dev/v1alpha1", "kind": "ProcessingRequest",
        "metadata": {
            "name": "nightly", "namespace": "team-a", "uid": "u-1", "resourceVersion": "42",
            "generation": 3,
            "labels": {"app": "hr"},
            "annotations": {LAST_APPLIED: "{\"a\":1}", "isc.identitynow.dev/paused": "false"},
            "managedFields": [{"manager": "kubectl", "operation": "Update"}]
        },
        "spec": {
            "tenantRef": {"name": "demo"}, "action": "ProcessIdentities",
            "identities": {"ids": ["2c9180835d2e5168015d32f890ca0001"]},
            "maxIdentities": 9000, "ttlSecondsAfterFinished": 600
        },
        "status": {
            "phase": phase, "identityCount": 1,
            "resolvedIds": {"configMapPrefix": "nightly-ids", "callsPerConfigMap": 20},
            "submissions": [{"state": "Succeeded", "identityCount": 1, "taskId": "t-1"}],
            "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:05:00Z",
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                "message": "done", "lastTransitionTime": "2026-01-01T00:05:00Z"}],
            "observedGeneration": 3
        }
    }))
    .expect("request")
}

#[test]
fn a_finished_request_keeps_its_identity_tenant_ttl_and_outcome_only() {
    for phase in ["Succeeded", "Failed"] {
        let mut obj = request(phase);
        compact_finished_request(&mut obj);
        let meta = &obj.metadata;
        assert_eq!(meta.name.as_deref(), Some("nightly"));
        assert_eq!(meta.namespace.as_deref(), Some("team-a"));
        assert_eq!(meta.uid.as_deref(), Some("u-1"));
        assert_eq!(meta.resource_version.as_deref(), Some("42"));
        assert_eq!(meta.generation, Some(3));
        assert_eq!(meta.labels.as_ref().map(|l| l.len()), Some(1));
        let annotations = meta.annotations.as_ref().expect("annotations");
        assert!(annotations.contains_key("isc.identitynow.dev/paused"));
        assert!(
            !annotations.contains_key(LAST_APPLIED),
            "kubectl's copy dropped"
        );
        assert!(meta.managed_fields.is_none(), "managedFields dropped");

        assert_eq!(obj.spec.tenant_ref.name, "demo");
        assert_eq!(obj.spec.ttl_seconds_after_finished, Some(600));
        assert_eq!(obj.spec.max_identities, Some(9000));
        assert!(obj.spec.identities.is_none(), "selector dropped");

        let status = obj.status.as_ref().expect("status");
        assert_eq!(status.phase.map(|p| p.is_finished()), Some(true));
        assert!(status.completion_time.is_some(), "the TTL counts from it");
        assert_eq!(status.observed_generation, Some(3));
        assert!(status.submissions.is_empty(), "submissions dropped");
        assert!(status.conditions.is_empty(), "conditions dropped");
        assert!(status.resolved_ids.is_none() && status.identity_count.is_none());
        assert!(status.start_time.is_none());
    }
}

#[test]
fn a_request_still_running_is_cached_whole_less_what_is_never_read() {
    for phase in ["Pending", "Running"] {
        let mut obj = request(phase);
        let mut expected = obj.clone();
        expected.metadata.managed_fields = None;
        expected
            .metadata
            .annotations
            .as_mut()
            .expect("annotations")
            .remove(LAST_APPLIED);
        compact_finished_request(&mut obj);
        assert_eq!(json(&obj), json(&expected));
        assert!(obj.status.as_ref().and_then(|s| s.phase) != Some(Phase::Succeeded));
    }
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
