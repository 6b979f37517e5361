//! Every error class: the condition it leaves, the Warning Event, the retry policy, and that
//! the tenant got no call it should not have.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::error::{CONFLICT_RECHECK, ReconcileError, Requeue};
use isc_operator::controller::error_policy;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;

use super::waves::individual_creates;
use super::{admin, condition, condition_state, reconcile};
use crate::env::{CLIENT_ID, NAMESPACE, TestEnv, manifest, profile as profile_manifest};

/// Reconciles a fresh object `name` that is expected to fail; checks `Ready` False with the
/// error's reason and one Warning Event with it; returns the error.
async fn fails_with(env: &mut TestEnv, name: &str, reason: &str) -> ReconcileError {
    let error = reconcile(env, name).await.expect_err("reconcile fails");
    assert_eq!(error.reason(), reason, "{error:?}");
    let stored = env.profile(name);
    let ready = condition(&stored, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reason)
    );
    assert_eq!(ready.observed_generation, stored.metadata.generation);
    // kstatus: exactly one of Stalled (a person must act) and Reconciling (it may clear by
    // itself: a Tenant or Secret applied later, 429, 5xx), with the same reason.
    let needs_a_person = [
        "InvalidSpec",
        "TenantRejected",
        "AuthenticationFailed",
        "Forbidden",
        "Conflict",
    ];
    assert_eq!(
        error.stalls(),
        needs_a_person.contains(&reason),
        "{error:?}"
    );
    let (shown, absent) = if error.stalls() {
        ("Stalled", "Reconciling")
    } else {
        ("Reconciling", "Stalled")
    };
    assert_eq!(
        condition_state(&stored, shown),
        ("True".to_string(), reason.to_string())
    );
    let conditions = &stored.status.as_ref().unwrap().conditions;
    assert!(
        !conditions.iter().any(|c| c.type_ == absent),
        "{conditions:?}"
    );
    let events = env.kube.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].0.as_str(), events[0].1.as_str()),
        ("Warning", reason)
    );
    error
}

fn retry(env: &TestEnv, name: &str, error: &ReconcileError) -> Action {
    let obj: IdentityProfile = env.kube.get(NAMESPACE, name).expect("object");
    error_policy(Arc::new(obj), error, Arc::clone(&env.ctx))
}

#[tokio::test]
async fn an_invalid_spec_is_reported_without_any_tenant_call() {
    let mut env = TestEnv::new().await;
    let twice = "  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: mail\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: email\n";
    env.put_profile(&profile_manifest("bad", "Bad", twice));
    let error = fails_with(&mut env, "bad", "InvalidSpec").await;
    assert!(error.message().contains("\"email\""), "{}", error.message());
    assert_eq!(error.requeue(), Requeue::AfterChange);
    assert!(env.journal().await.is_empty(), "not even a token request");
}

#[tokio::test]
async fn a_tenant_refusal_is_tenant_rejected_and_waits_for_a_change() {
    let mut env = TestEnv::new().await;
    individual_creates(&mut env);
    admin(&env)
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles", "status": 400}))
        .await;
    env.put_profile(&profile_manifest("refused", "Refused", ""));
    let error = fails_with(&mut env, "refused", "TenantRejected").await;
    assert_eq!(error.requeue(), Requeue::AfterChange);
    assert_eq!(env.tenant_writes().await.len(), 1, "sent once, not retried");
}

#[tokio::test]
async fn rate_limiting_is_reported_and_its_retry_after_honoured() {
    let mut env = TestEnv::new().await;
    // Longer than the client sleeps itself, so the reconcile hands it to the controller.
    admin(&env)
        .add_fault(json!({"method": "GET", "path": "/v2024/identity-profiles*", "status": 429, "retryAfter": 120}))
        .await;
    env.put_profile(&profile_manifest("slow", "Slow", ""));
    let error = fails_with(&mut env, "slow", "RateLimited").await;
    // The client caps the tenant's Retry-After (a minute).
    assert_eq!(error.requeue(), Requeue::After(Duration::from_secs(60)));
    assert_eq!(
        retry(&env, "slow", &error),
        Action::requeue(Duration::from_secs(60))
    );
    assert!(env.tenant_writes().await.is_empty());
}

#[tokio::test]
async fn a_server_error_is_tenant_unavailable_and_backs_off() {
    let mut env = TestEnv::new().await;
    // An import is never retried by the client (its outcome would be unknown).
    admin(&env)
        .add_fault(
            json!({"method": "POST", "path": "/v2024/identity-profiles/import", "status": 503}),
        )
        .await;
    env.put_profile(&profile_manifest("down", "Down", ""));
    let error = fails_with(&mut env, "down", "TenantUnavailable").await;
    assert_eq!(error.requeue(), Requeue::Backoff);
    assert_ne!(
        retry(&env, "down", &error),
        Action::requeue(Duration::from_secs(300))
    );

    // The next reconcile's wave lists the tenant, finds no profile by name and creates it once.
    env.clear_calls().await;
    reconcile(&mut env, "down")
        .await
        .expect("reconcile succeeds");
    assert_eq!(
        env.tenant_writes().await,
        vec!["POST /v2024/identity-profiles/import"]
    );
    let status = env.profile("down").status.unwrap();
    assert!(
        status.pending_create.is_none() && status.id.is_some(),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_authentication_failed() {
    let mut env = TestEnv::new().await;
    env.kube.insert::<Secret>(&manifest(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  labels:\n    isc.identitynow.dev/credentials: \"true\"\nstringData:\n  client_id: {CLIENT_ID}\n  client_secret: wrong\n"
    )));
    env.put_profile(&profile_manifest("denied", "Denied", ""));
    let error = fails_with(&mut env, "denied", "AuthenticationFailed").await;
    assert_eq!(error.requeue(), Requeue::Backoff);
    assert!(!error.message().contains("wrong"), "no secret in messages");
    assert!(env.tenant_calls().await.is_empty());
}

#[tokio::test]
async fn a_missing_tenant_or_secret_is_named_in_the_condition() {
    let mut env = TestEnv::new().await;
    let mut obj = profile_manifest("lost", "Lost", "");
    obj.spec.tenant_ref.name = "absent".into();
    env.put_profile(&obj);
    let error = fails_with(&mut env, "lost", "TenantNotFound").await;
    assert!(
        error.message().contains("\"absent\""),
        "{}",
        error.message()
    );

    env.kube.clear_requests();
    env.kube.insert::<Tenant>(&manifest(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: nosecret\nspec:\n  baseUrl: https://localhost\n  credentialsSecretRef:\n    name: missing-creds\n",
    ));
    let mut obj = profile_manifest("unsigned", "Unsigned", "");
    obj.spec.tenant_ref.name = "nosecret".into();
    env.put_profile(&obj);
    let error = fails_with(&mut env, "unsigned", "SecretNotFound").await;
    assert!(
        error.message().contains("\"missing-creds\""),
        "{}",
        error.message()
    );
    assert!(env.journal().await.is_empty());
}

#[tokio::test]
async fn a_second_object_for_the_same_tenant_profile_is_a_conflict() {
    let mut env = TestEnv::new().await;
    env.put_profile(&profile_manifest("first", "Shared", ""));
    env.put_profile(&profile_manifest("second", "Shared", ""));
    let error = fails_with(&mut env, "second", "Conflict").await;
    // Looked at again soon (no tenant call), so it takes over once the owner is gone.
    assert_eq!(error.requeue(), Requeue::After(CONFLICT_RECHECK));
    assert!(
        error.message().contains("team-a/first"),
        "{}",
        error.message()
    );
    let stored = env.profile("second");
    assert_eq!(
        condition_state(&stored, "Conflict"),
        ("True".into(), "Conflict".into())
    );
    assert!(
        env.journal().await.is_empty(),
        "the conflicting object calls nothing"
    );

    // The earlier object is unaffected.
    env.kube.clear_requests();
    reconcile(&mut env, "first")
        .await
        .expect("reconcile succeeds");
    assert_eq!(
        env.tenant_writes().await,
        vec!["POST /v2024/identity-profiles/import"]
    );
}
