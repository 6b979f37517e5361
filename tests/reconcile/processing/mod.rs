//! Reconciler tests of the processing controller: one reconcile at a time, asserting on the
//! status patches (each guarded by `resourceVersion`), the Events, and the tenant calls in the
//! simulator's journal.

mod actions;
mod failures;
mod follow;
mod gitops;
mod large;
mod once;
mod repeat;
mod unknown;

use std::sync::Arc;
use std::time::Duration;

use isc_operator::api::processing_request::{ResolvedIdsRef, Submission, SubmissionState};
use isc_operator::api::{ProcessingRequest, ProcessingRequestStatus};
use isc_operator::controller::error::ReconcileError;
use isc_operator::controller::processing;
use isc_operator::controller::status::find_condition;
use isc_sim::JournalEntry;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use kube::runtime::controller::Action;

use crate::env::{TENANT, TestEnv, manifest};

/// The seed's identity ids (`Seed::builtin`: 300 identities).
pub fn seed_id(i: usize) -> String {
    format!("2c9180857a1b4c2d{i:016x}")
}

/// A ProcessingRequest manifest; `spec` lines are indented by two spaces.
pub fn request(name: &str, spec: &str) -> ProcessingRequest {
    manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: ProcessingRequest\nmetadata:\n  name: {name}\nspec:\n  tenantRef:\n    name: {TENANT}\n{spec}"
    ))
}

/// Spec lines of a `ProcessIdentities` request for these ids.
pub fn process_ids(ids: &[String]) -> String {
    format!(
        "  action: ProcessIdentities\n  identities:\n    ids: [{}]\n",
        quoted(ids)
    )
}

/// `"a", "b"`.
pub fn quoted(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("{id:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A world whose tenant tasks complete at once.
pub async fn fast_env() -> TestEnv {
    TestEnv::with_config(|c| c.task_duration = Duration::ZERO).await
}

/// One reconcile of the request as stored now.
pub async fn reconcile(env: &TestEnv, name: &str) -> Result<Action, ReconcileError> {
    let obj = env.request(name).expect("request exists");
    processing::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await
}

/// The status as stored now.
pub fn status(env: &TestEnv, name: &str) -> ProcessingRequestStatus {
    env.request(name)
        .and_then(|r| r.status)
        .expect("request has a status")
}

/// `(status, reason)` of condition `type_`; panics when it is missing.
pub fn condition(status: &ProcessingRequestStatus, type_: &str) -> (String, String) {
    let c = find_condition(&status.conditions, type_)
        .unwrap_or_else(|| panic!("condition {type_} missing: {status:#?}"));
    (c.status.clone(), c.reason.clone())
}

/// Journal entries of one tenant operation (e.g. `startIdentityProcessing`).
pub async fn calls(env: &TestEnv, operation: &str) -> Vec<JournalEntry> {
    env.journal()
        .await
        .into_iter()
        .filter(|e| e.operation_id.as_deref() == Some(operation))
        .collect()
}

/// Every status patch made so far was a merge patch with a `resourceVersion` precondition.
pub fn assert_status_writes_guarded(env: &TestEnv) {
    let patches: Vec<_> = env
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.is_status_patch())
        .collect();
    assert!(!patches.is_empty(), "no status patch at all");
    for patch in patches {
        assert_eq!(
            patch.content_type.as_deref(),
            Some("application/merge-patch+json")
        );
        assert!(
            patch.body["metadata"]["resourceVersion"].is_string(),
            "unguarded status write: {}",
            patch.body
        );
    }
}

/// A resolved request whose submissions are in `states` (one id each, `seed_id(0..)`, stored
/// in a ConfigMap as resolution stores them), as a previous reconcile (or a previous operator
/// process) left it.
pub fn resolved(
    env: &TestEnv,
    name: &str,
    spec: &str,
    states: &[SubmissionState],
) -> ProcessingRequest {
    let mut obj = request(name, spec);
    let submissions = states
        .iter()
        .map(|state| {
            let mut s = Submission::pending(Some(1), None);
            s.state = *state;
            s
        })
        .collect();
    let prefix = format!("{name}-ids-test");
    let data = (0..states.len())
        .map(|i| (format!("{i:05}"), seed_id(i)))
        .collect();
    env.kube.insert(&ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("{prefix}-0")),
            namespace: Some(crate::env::NAMESPACE.into()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    });
    obj.status = Some(ProcessingRequestStatus {
        phase: Some(isc_operator::api::processing_request::Phase::Running),
        resolved_ids: Some(ResolvedIdsRef {
            config_map_prefix: prefix,
            calls_per_config_map: u32::try_from(states.len().max(20)).unwrap(),
        }),
        submissions,
        start_time: Some(isc_operator::controller::status::now()),
        ..Default::default()
    });
    obj
}
