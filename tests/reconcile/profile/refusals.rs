//! Tenant safety of one object: a refused write is not retried blindly, names compare like the
//! tenant compares them, a malformed tenant profile stops only its object, and `OnChange`
//! processing is sent at most once.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

use isc_operator::api::identity_profile::PendingProcessing;
use isc_operator::controller::error::{ReconcileError, Requeue};

use super::waves::individual_creates;
use super::{admin, condition, condition_state, edit_spec, put_tenant_profile, reconcile};
use super::{create_ready, tenant_profiles, tenant_write_bodies};
use crate::env::{TestEnv, profile as profile_manifest};

const POST_PROFILES: &str = "POST /v2024/identity-profiles";
const IMPORT_PROFILES: &str = "POST /v2024/identity-profiles/import";

/// Moves the recorded refusal's retry time into the past (as if a resync interval passed).
fn resync_passed(env: &mut TestEnv, name: &str) {
    let mut obj = env.profile(name);
    let refusal = obj.status.as_mut().and_then(|s| s.last_refusal.as_mut());
    let refusal = refusal.expect("a refusal is recorded");
    let past =
        k8s_openapi::jiff::Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_secs(1);
    refusal.retry_after = Time(past);
    env.put_profile(&obj);
}

#[tokio::test]
async fn a_refused_create_is_sent_once_per_resync_interval() {
    let mut env = TestEnv::new().await;
    individual_creates(&mut env);
    admin(&env)
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles", "status": 400, "count": 100}))
        .await;
    env.put_profile(&profile_manifest("refused", "Refused", ""));
    let error = reconcile(&mut env, "refused").await.expect_err("refused");
    assert_eq!(error.reason(), "TenantRejected");
    assert_eq!(env.tenant_writes().await, vec![POST_PROFILES]);

    // Condition and Warning Event carry the tenant's answer; the refusal is recorded.
    let stored = env.profile("refused");
    let ready = condition(&stored, "Ready");
    assert_eq!(ready.reason, "TenantRejected");
    assert!(ready.message.contains("detailCode"), "{}", ready.message);
    assert!(ready.message.contains("trackingId"), "{}", ready.message);
    let events = env.kube.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].0.as_str(), events[0].1.as_str()),
        ("Warning", "TenantRejected")
    );
    assert!(events[0].2.contains("detailCode"), "{}", events[0].2);
    let status = stored.status.expect("status");
    let refusal = status.last_refusal.expect("refusal recorded");
    assert_eq!(
        (refusal.operation.as_str(), refusal.attempts),
        ("Create", 1)
    );
    assert_eq!(refusal.generation, stored.metadata.generation);
    assert!(refusal.message.chars().count() <= 480);
    assert!(status.pending_create.is_none(), "nothing was created");

    // Re-reconciles within the interval (a requeue storm, a restart) send nothing and write
    // nothing (so no watch event brings the object back).
    env.clear_calls().await;
    for _ in 0..5 {
        let error = reconcile(&mut env, "refused").await.expect_err("held back");
        assert!(
            matches!(error, ReconcileError::RefusedBefore { .. }),
            "{error:?}"
        );
        match error.requeue() {
            Requeue::After(wait) => assert!(wait > Duration::from_secs(250), "{wait:?}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(env.tenant_calls().await.is_empty());
    assert!(
        env.kube.status_patches().is_empty(),
        "{:?}",
        env.kube.status_patches()
    );
    assert!(env.kube.events().is_empty());

    // After the interval the write is tried again, once.
    resync_passed(&mut env, "refused");
    env.clear_calls().await;
    reconcile(&mut env, "refused")
        .await
        .expect_err("refused again");
    assert_eq!(env.tenant_writes().await, vec![POST_PROFILES]);
    let refusal = env.profile("refused").status.unwrap().last_refusal.unwrap();
    assert_eq!(refusal.attempts, 2);

    // A new generation (the user changed the spec) may write at once.
    edit_spec(&mut env, "refused", |o| {
        o.spec.description = Some("fixed".into())
    });
    env.clear_calls().await;
    reconcile(&mut env, "refused")
        .await
        .expect_err("still refused");
    assert_eq!(env.tenant_writes().await, vec![POST_PROFILES]);
}

#[tokio::test]
async fn a_name_differing_only_in_case_is_adopted_and_its_case_corrected() {
    let mut env = TestEnv::new().await;
    let id = put_tenant_profile(&env, "Payroll Staff", "made in the UI").await;
    env.put_profile(&profile_manifest("payroll", "payroll staff", ""));
    reconcile(&mut env, "payroll")
        .await
        .expect("reconcile succeeds");

    let writes = env.tenant_writes().await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].starts_with("PATCH "), "{writes:?}");
    let bodies = tenant_write_bodies(&env).await;
    assert!(
        bodies[0]
            .as_array()
            .expect("patch body")
            .contains(&json!({"op": "replace", "path": "/name", "value": "payroll staff"})),
        "{bodies:?}"
    );
    let stored = env.profile("payroll");
    assert_eq!(
        stored.status.as_ref().unwrap().id.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        condition_state(&stored, "Ready"),
        ("True".into(), "Synced".into())
    );
    assert!(env.kube.event_reasons().contains(&"Adopted".to_string()));
    let profiles = tenant_profiles(&env).await;
    let names: Vec<_> = profiles.iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(
        names.contains(&"payroll staff") && !names.contains(&"Payroll Staff"),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_malformed_tenant_profile_stops_only_the_object_that_maps_to_it() {
    let mut env = TestEnv::new().await;
    let broken = put_tenant_profile(&env, "Broken", "damaged in the tenant").await;
    admin(&env)
        .post(
            &format!("/__sim/identity-profiles/{broken}/wire-overrides"),
            json!({"authoritativeSource": null}),
        )
        .await;
    env.put_profile(&profile_manifest("broken", "Broken", ""));
    env.put_profile(&profile_manifest("fine", "Fine", ""));

    reconcile(&mut env, "fine").await.expect("others carry on");
    assert_eq!(env.tenant_writes().await, vec![IMPORT_PROFILES]);

    env.clear_calls().await;
    let error = reconcile(&mut env, "broken").await.expect_err("malformed");
    assert_eq!(error.reason(), "MalformedTenantObject");
    let ready = condition(&env.profile("broken"), "Ready");
    assert_eq!(ready.reason, "MalformedTenantObject");
    assert!(ready.message.contains(&broken), "{}", ready.message);
    assert!(
        env.tenant_writes().await.is_empty(),
        "no write to a profile it cannot read"
    );
}

const ON_CHANGE: &str = "  refreshPolicy: OnChange\n  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: mail\n";

/// Changes the declared transform, so the tenant asks for processing after the PATCH.
fn change_transform(env: &mut TestEnv, name: &str) {
    edit_spec(env, name, |o| {
        let config = o.spec.identity_attribute_config.as_mut().expect("config");
        config.attribute_transforms[0]
            .transform_definition
            .attributes
            .insert("attributeName".into(), json!("email"));
    });
}

async fn processing_calls(env: &TestEnv) -> usize {
    env.tenant_writes()
        .await
        .iter()
        .filter(|c| c.contains("process"))
        .count()
}

#[tokio::test]
async fn on_change_processing_writes_its_marker_first_with_a_precondition() {
    let mut env = TestEnv::new().await;
    create_ready(&mut env, &profile_manifest("staff", "Staff", ON_CHANGE)).await;
    change_transform(&mut env, "staff");
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(
        processing_calls(&env).await,
        1,
        "{:?}",
        env.tenant_writes().await
    );
    let marker_write = env
        .kube
        .status_patches()
        .into_iter()
        .find(|p| p["status"]["pendingProcessing"].is_object())
        .expect("marker written before the call");
    assert!(
        marker_write["metadata"]["resourceVersion"].is_string(),
        "{marker_write}"
    );
    let status = env.profile("staff").status.unwrap();
    assert!(status.pending_processing.is_none());
    assert_eq!(status.processed_generation, Some(2));
}

#[tokio::test]
async fn an_on_change_marker_found_at_start_is_never_sent_again() {
    let mut env = TestEnv::new().await;
    create_ready(&mut env, &profile_manifest("staff", "Staff", ON_CHANGE)).await;
    change_transform(&mut env, "staff");
    // A previous reconcile wrote the marker and died before recording the answer.
    let mut obj = env.profile("staff");
    obj.status.as_mut().unwrap().pending_processing = Some(Box::new(PendingProcessing {
        generation: 2,
        since: Time(k8s_openapi::jiff::Timestamp::now()),
    }));
    env.put_profile(&obj);

    for _ in 0..3 {
        reconcile(&mut env, "staff")
            .await
            .expect("reconcile succeeds");
    }
    assert_eq!(
        processing_calls(&env).await,
        0,
        "{:?}",
        env.tenant_writes().await
    );
    let stored = env.profile("staff");
    assert_eq!(
        condition_state(&stored, "SubmissionOutcomeUnknown"),
        ("True".into(), "ProcessingOutcomeUnknown".into())
    );
    let status = stored.status.unwrap();
    assert!(status.pending_processing.is_none());
    assert_eq!(status.processed_generation, Some(2));
}

#[tokio::test]
async fn a_stale_reconcile_right_after_a_retry_sends_nothing() {
    let mut env = TestEnv::new().await;
    individual_creates(&mut env);
    admin(&env)
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles", "status": 400, "count": 100}))
        .await;
    env.put_profile(&profile_manifest("refused", "Refused", ""));
    reconcile(&mut env, "refused").await.expect_err("refused");
    resync_passed(&mut env, "refused");
    // The object as a reconcile's own pending-create marker write left it; two reconciles
    // start from it (the watch cache has not caught up with the first one's later writes)
    // within the marker's second, so the second computes the very same marker: only the
    // first may send the create again.
    let mut marked = env.profile("refused");
    marked.status.as_mut().expect("status").pending_create = Some(Box::new(
        isc_operator::api::identity_profile::PendingCreate {
            name: "Refused".into(),
            since: isc_operator::controller::status::now(),
        },
    ));
    let stale = env.put_profile(&marked);
    for _ in 0..2 {
        let _ = isc_operator::controller::profile::reconcile(
            std::sync::Arc::new(stale.clone()),
            std::sync::Arc::clone(&env.ctx),
        )
        .await;
    }
    let posts: Vec<String> = env
        .tenant_writes()
        .await
        .into_iter()
        .filter(|c| c == POST_PROFILES)
        .collect();
    assert_eq!(posts.len(), 2, "the first refusal and one retry: {posts:?}");
}
