//! Reconciler tests of the `Tenant` controller, and of the tenant policy every resolve checks
//! (allowed hosts, https, labelled Secrets) and the client cache's identity.

use std::sync::Arc;

use isc_operator::api::Tenant;
use isc_operator::controller::context::Context;
use isc_operator::controller::error::ReconcileError;
use isc_operator::controller::metrics::Metrics;
use isc_operator::controller::tenant_policy::{CREDENTIALS_LABEL, TenantPolicy};
use isc_operator::controller::{profile, tenant};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::controller::Action;

use crate::env::{
    CLIENT_ID, CLIENT_SECRET, NAMESPACE, TENANT, TestEnv, credentials_secret, manifest, profile,
};

async fn reconcile_stored(env: &TestEnv) -> Result<Action, ReconcileError> {
    reconcile_with(env, Arc::clone(&env.ctx)).await
}

async fn reconcile_with(env: &TestEnv, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let obj: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    tenant::reconcile(Arc::new(obj), ctx).await
}

/// A context like the test environment's, under another policy.
fn ctx_with_policy(env: &TestEnv, policy: TenantPolicy) -> Arc<Context> {
    let profiles = isc_operator::controller::profile::claims::profile_cache().0;
    let ctx = Context::new(
        env.kube.client(),
        profiles,
        None,
        Arc::new(Metrics::default()),
    );
    Arc::new(ctx.with_tenant_policy(policy))
}

/// The stored Tenant's condition `type_`.
fn condition(env: &TestEnv, type_: &str) -> Option<Condition> {
    let stored: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    let status = stored.status.expect("status");
    assert_eq!(status.observed_generation, stored.metadata.generation);
    status.conditions.into_iter().find(|c| c.type_ == type_)
}

/// `(status, reason)` of the stored Tenant's condition `type_`, if shown.
fn state(env: &TestEnv, type_: &str) -> Option<(String, String)> {
    condition(env, type_).map(|c| (c.status, c.reason))
}

/// `(status, reason)` of the stored Tenant's `Ready` condition.
fn ready(env: &TestEnv) -> (String, String) {
    let ready = condition(env, "Ready").expect("Ready condition");
    (ready.status, ready.reason)
}

fn put_secret(env: &TestEnv, client_secret: &str) {
    env.kube
        .insert(&credentials_secret("creds", CLIENT_ID, client_secret));
}

/// Points the stored Tenant at `base_url` (a new generation, as `kubectl apply` makes).
fn set_base_url(env: &mut TestEnv, base_url: &str) {
    let mut obj: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    obj.spec.base_url = base_url.to_string();
    obj.metadata.generation = obj.metadata.generation.map(|g| g + 1);
    env.put_tenant(&obj);
}

#[tokio::test]
async fn a_working_credential_makes_the_tenant_ready_once() {
    let env = TestEnv::new().await;
    reconcile_stored(&env).await.expect("reconcile succeeds");
    let patches = env.kube.status_patches();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(ready(&env), ("True".into(), "TokenObtained".into()));
    let tokens = env.journal().await;
    assert_eq!(tokens.len(), 1, "one token request: {tokens:?}");

    // Again with the stored object: nothing changes, nothing is written.
    env.clear_calls().await;
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());
}

#[tokio::test]
async fn plain_http_to_loopback_with_the_flag_is_ready_with_a_warning() {
    let env = TestEnv::new().await;
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert_eq!(ready(&env), ("True".into(), "TokenObtained".into()));
    let warning = condition(&env, "InsecureTransport").expect("InsecureTransport condition");
    assert_eq!(
        (warning.status.as_str(), warning.reason.as_str()),
        ("True", "PlainHttpAllowed")
    );
    assert!(
        warning.message.contains("--allow-insecure-http"),
        "{warning:?}"
    );
    let events = env.kube.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].0.as_str(), events[0].1.as_str()),
        ("Warning", "PlainHttpAllowed")
    );

    // Steady state: no second Event.
    env.clear_calls().await;
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert!(env.kube.events().is_empty(), "{:?}", env.kube.events());
}

#[tokio::test]
async fn a_wrong_secret_is_authentication_failed_once() {
    let env = TestEnv::new().await;
    put_secret(&env, "not-the-secret");
    let error = reconcile_stored(&env).await.expect_err("reconcile fails");
    assert_eq!(error.reason(), "AuthenticationFailed");
    assert_eq!(ready(&env), ("False".into(), "AuthenticationFailed".into()));
    // A refused credential needs a person: Stalled (kstatus Failed), not Reconciling.
    assert_eq!(
        state(&env, "Stalled"),
        Some(("True".into(), "AuthenticationFailed".into()))
    );
    assert_eq!(state(&env, "Reconciling"), None);
    let events = env.kube.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "Warning");
    assert!(
        !events[0].2.contains("not-the-secret"),
        "no secret in events"
    );

    // The same failure again: no status rewrite, no second Event.
    env.clear_calls().await;
    reconcile_stored(&env).await.expect_err("reconcile fails");
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());

    // A fixed Secret (a new resourceVersion) makes it Ready without a restart.
    put_secret(&env, CLIENT_SECRET);
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert_eq!(ready(&env), ("True".into(), "TokenObtained".into()));
    assert_eq!(state(&env, "Stalled"), None);
}

#[tokio::test]
async fn a_missing_secret_is_secret_not_found() {
    let env = TestEnv::new().await;
    let mut obj: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    obj.spec.credentials_secret_ref.name = "absent".into();
    env.put_tenant(&obj);
    let error = reconcile_stored(&env).await.expect_err("reconcile fails");
    assert_eq!(error.reason(), "SecretNotFound");
    assert_eq!(ready(&env), ("False".into(), "SecretNotFound".into()));
    // A Secret applied with (or after) the Tenant may still come: Reconciling, not Stalled.
    assert_eq!(
        state(&env, "Reconciling"),
        Some(("True".into(), "SecretNotFound".into()))
    );
    assert_eq!(state(&env, "Stalled"), None);
    assert!(env.journal().await.is_empty(), "no tenant call");
}

#[tokio::test]
async fn a_suspended_tenant_shows_suspended_and_stays_ready() {
    let env = TestEnv::new().await;
    let set_suspend = |suspend: bool| {
        let mut obj: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
        obj.spec.suspend = suspend;
        obj.metadata.generation = obj.metadata.generation.map(|g| g + 1);
        env.put_tenant(&obj);
    };
    set_suspend(true);
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert_eq!(ready(&env), ("True".into(), "TokenObtained".into()));
    assert_eq!(
        state(&env, "Suspended"),
        Some(("True".into(), "TenantSuspended".into()))
    );
    let stored: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    let status = stored.status.unwrap();
    assert!(
        status
            .conditions
            .iter()
            .all(|c| c.observed_generation == stored.metadata.generation),
        "{:?}",
        status.conditions
    );
    assert!(
        env.kube
            .events()
            .iter()
            .any(|e| e.0 == "Normal" && e.1 == "TenantSuspended"),
        "{:?}",
        env.kube.events()
    );

    // Steady: nothing written, no second Event.
    env.clear_calls().await;
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());

    set_suspend(false);
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert_eq!(state(&env, "Suspended"), None);
    assert_eq!(ready(&env), ("True".into(), "TokenObtained".into()));
}

/// Reconciles the stored Tenant, expects refusal `reason` (condition + Warning Event) and no
/// tenant call at all.
async fn refused(env: &TestEnv, ctx: Arc<Context>, reason: &str) -> String {
    let error = reconcile_with(env, ctx).await.expect_err("refused");
    assert_eq!(error.reason(), reason, "{error}");
    let (status, stored_reason) = ready(env);
    assert_eq!((status.as_str(), stored_reason.as_str()), ("False", reason));
    // The admin's policy refuses it: only a person can fix it.
    assert_eq!(state(env, "Stalled"), Some(("True".into(), reason.into())));
    let events = env.kube.events();
    assert!(
        events.iter().any(|e| e.0 == "Warning" && e.1 == reason),
        "{events:?}"
    );
    assert!(env.journal().await.is_empty(), "nothing sent to the tenant");
    assert!(!error.message().contains(CLIENT_SECRET), "{error}");
    error.message()
}

#[tokio::test]
async fn plain_http_to_a_non_loopback_host_is_refused_before_anything_is_sent() {
    let mut env = TestEnv::new().await;
    // TEST-NET-1: not loopback; the refusal comes before any connection attempt.
    set_base_url(&mut env, "http://192.0.2.10:8080");
    let message = refused(&env, Arc::clone(&env.ctx), "InsecureTransportRefused").await;
    assert!(message.contains("loopback"), "{message}");

    // The simulator itself, over http, without --allow-insecure-http: refused too.
    let sim_url = env.sim.base_url();
    set_base_url(&mut env, &sim_url);
    let strict = TenantPolicy::new(vec!["127.0.0.1".into()], false);
    let message = refused(
        &env,
        ctx_with_policy(&env, strict),
        "InsecureTransportRefused",
    )
    .await;
    assert!(message.contains("--allow-insecure-http"), "{message}");
}

#[tokio::test]
async fn a_host_outside_the_allow_list_is_refused_and_nothing_is_sent() {
    let env = TestEnv::new().await;
    // The simulator answers on 127.0.0.1, but the admin allowed only `localhost`.
    let policy = TenantPolicy::new(vec!["localhost".into()], true);
    let message = refused(&env, ctx_with_policy(&env, policy), "HostNotAllowed").await;
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(message.contains("--allowed-tenant-hosts"), "{message}");

    // The default policy (SailPoint's domain only) refuses it as well.
    let message = refused(
        &env,
        ctx_with_policy(&env, TenantPolicy::default()),
        "InsecureTransportRefused",
    )
    .await;
    assert!(!message.is_empty());
}

#[tokio::test]
async fn an_unlabelled_secret_is_not_read() {
    let env = TestEnv::new().await;
    env.kube.insert::<Secret>(&manifest(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  client_id: {CLIENT_ID}\n  client_secret: {CLIENT_SECRET}\n"
    )));
    let message = refused(&env, Arc::clone(&env.ctx), "SecretNotLabelled").await;
    assert!(message.contains(CREDENTIALS_LABEL), "{message}");
    assert!(message.contains("\"creds\""), "{message}");

    // Labelling it is enough (no restart, no Tenant edit).
    put_secret(&env, CLIENT_SECRET);
    reconcile_stored(&env).await.expect("reconcile succeeds");
    assert_eq!(ready(&env), ("True".into(), "TokenObtained".into()));
}

#[tokio::test]
async fn a_recreated_tenant_gets_a_new_client() {
    let mut env = TestEnv::new().await;
    let mut config = isc_sim::SimConfig::new(CLIENT_ID, CLIENT_SECRET);
    config.task_duration = std::time::Duration::from_millis(200);
    let second = isc_sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("second simulator starts");
    // The first Tenant's client is built and cached.
    reconcile_stored(&env).await.expect("reconcile succeeds");
    env.clear_calls().await;

    // Deleted and recreated with the same name, generation and Secret: only the uid differs.
    let mut recreated: Tenant = env.kube.get(NAMESPACE, TENANT).unwrap();
    recreated.metadata.uid = Some("uid-recreated".into());
    recreated.metadata.generation = Some(1);
    recreated.metadata.resource_version = None;
    recreated.status = None;
    recreated.spec.base_url = second.base_url();
    env.put_tenant(&recreated);

    env.put_profile(&profile("moved", "Moved", ""));
    for _ in 0..2 {
        // The first pass adds the finalizer, the second creates.
        let obj = env.profile("moved");
        profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx))
            .await
            .expect("reconcile succeeds");
    }
    assert!(env.journal().await.is_empty(), "nothing sent to the first");
    let second_admin = isc_sim::testing::SimAdmin::new(&second);
    let writes: Vec<_> = second_admin
        .journal()
        .await
        .into_iter()
        .filter(|e| e.method == "POST" && e.operation_id.as_deref() != Some("token"))
        .map(|e| e.path)
        .collect();
    assert_eq!(writes, ["/v2024/identity-profiles/import"]);
    second.shutdown().await;
}
