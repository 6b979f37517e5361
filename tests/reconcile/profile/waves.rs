//! Creation waves: profiles created at the same time share one fresh list and are created
//! through import in batches (or one POST each without user context or under
//! `creation.method: Individual`); existing names are adopted; an import error is the
//! object's condition. Counts come from the simulator's journal.

use std::sync::Arc;

use futures::StreamExt;
use futures::future::join_all;
use futures::stream::FuturesUnordered;
use isc_operator::api::Tenant;
use isc_operator::api::identity_profile::PendingCreate;
use isc_operator::api::tenant::{CreationMethod, RateLimitSpec, TenantSpec};
use isc_operator::controller::error::{ReconcileError, Requeue};
use isc_operator::controller::profile;
use kube::runtime::controller::Action;
use serde_json::json;

use super::{admin, condition, put_tenant_profile, reconcile, tenant_profiles};
use crate::env::{NAMESPACE, TENANT, TestEnv, profile as profile_manifest};

const LIST: &str = "GET /v2024/identity-profiles";
const IMPORT: &str = "POST /v2024/identity-profiles/import";
const CREATE: &str = "POST /v2024/identity-profiles";

/// Changes the Tenant's spec (before its first use, or as a new generation).
pub(super) fn configure_tenant(env: &mut TestEnv, edit: impl FnOnce(&mut TenantSpec)) {
    let mut tenant: Tenant = env.kube.get(NAMESPACE, TENANT).expect("tenant");
    edit(&mut tenant.spec);
    tenant.metadata.generation = tenant.metadata.generation.map(|g| g + 1);
    env.put_tenant(&tenant);
}

/// Makes the tenant create one POST per profile (`creation.method: Individual`), for tests of
/// what a refused or failed POST does.
pub(super) fn individual_creates(env: &mut TestEnv) {
    configure_tenant(env, |spec| {
        spec.creation.method = CreationMethod::Individual
    });
}

/// A simulator without its rate limit and a client allowed 1000 calls a second, so a wave of
/// one POST per profile takes no time; `user_context: false` is an API client without one.
async fn fast_env(user_context: bool) -> TestEnv {
    let mut env = TestEnv::with_config(|config| {
        config.rate_limit = None;
        config.clients[0].user_context = user_context;
    })
    .await;
    configure_tenant(&mut env, |spec| {
        spec.rate_limit = Some(RateLimitSpec {
            requests: 100,
            window_seconds: 1,
        });
    });
    env
}

/// Stores `count` new objects `wave-<i>` (tenant names `Wave Profile <i>`); returns their names.
fn put_wave(env: &mut TestEnv, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let name = format!("wave-{i}");
            env.put_profile(&profile_manifest(&name, &format!("Wave Profile {i}"), ""));
            name
        })
        .collect()
}

/// Gives each object that wants the finalizer (`deletionPolicy: Delete`) its finalizer (its
/// first reconcile), so the next one creates; `Orphan` objects (the default) have none.
async fn add_finalizers(env: &mut TestEnv, names: &[String]) {
    for name in names {
        let obj = env.profile(name);
        if !profile::wants_finalizer(&obj) {
            assert!(obj.metadata.finalizers.is_none(), "{name}");
            continue;
        }
        let added = profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx)).await;
        assert_eq!(added.expect("finalizer added"), Action::await_change());
    }
}

/// Reconciles all objects at once (as the controller does), after each got its finalizer (if
/// it wants one).
async fn reconcile_together(
    env: &mut TestEnv,
    names: &[String],
) -> Vec<Result<Action, ReconcileError>> {
    add_finalizers(env, names).await;
    let objects: Vec<_> = names.iter().map(|n| Arc::new(env.profile(n))).collect();
    join_all(
        objects
            .into_iter()
            .map(|obj| profile::reconcile(obj, Arc::clone(&env.ctx))),
    )
    .await
}

/// Adopts one existing tenant profile, so the tenant's shared list is warm (no wave), then
/// forgets the calls: what follows is the wave alone.
async fn warm_up(env: &mut TestEnv) {
    put_tenant_profile(env, "Warm Up", "").await;
    env.put_profile(&profile_manifest("warm-up", "Warm Up", ""));
    reconcile(env, "warm-up").await.expect("warm-up is adopted");
    env.clear_calls().await;
}

/// How many calls of each kind.
fn count(calls: &[String], kind: &str) -> usize {
    calls.iter().filter(|c| *c == kind).count()
}

/// Every tenant profile name appears once (names compare case-insensitively).
async fn assert_no_duplicate_names(env: &TestEnv) {
    let profiles = tenant_profiles(env).await;
    let mut names: Vec<String> = profiles
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_lowercase())
        .collect();
    names.sort();
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total, "a name appears twice in the tenant");
}

/// All reconciles succeeded, every object is Ready with an id, and its tenant profile exists.
async fn assert_all_ready(
    env: &mut TestEnv,
    names: &[String],
    results: &[Result<Action, ReconcileError>],
) {
    for (name, result) in names.iter().zip(results) {
        assert!(result.is_ok(), "{name}: {result:?}");
        let stored = env.profile(name);
        assert_eq!(condition(&stored, "Ready").status, "True", "{name}");
        let status = stored.status.expect("status");
        assert!(status.pending_create.is_none(), "{name}: {status:?}");
        assert!(status.id.is_some(), "{name}");
    }
    assert_no_duplicate_names(env).await;
}

#[tokio::test]
async fn a_wave_of_120_new_profiles_makes_three_import_calls_and_one_list() {
    let mut env = fast_env(true).await;
    warm_up(&mut env).await;
    let names = put_wave(&mut env, 120);
    let results = reconcile_together(&mut env, &names).await;
    let calls = env.tenant_calls().await;
    assert_eq!(count(&calls, IMPORT), 3, "⌈120/50⌉ imports: {calls:?}");
    assert_eq!(count(&calls, LIST), 1, "one fresh list for the wave");
    assert_eq!(count(&calls, CREATE), 0);
    assert_eq!(calls.len(), 4, "nothing else: {calls:?}");
    assert_all_ready(&mut env, &names, &results).await;
    assert_eq!(tenant_profiles(&env).await.len(), 121);
    let created = env.kube.event_reasons();
    assert_eq!(count(&created, "Created"), 120, "{created:?}");
}

#[tokio::test]
async fn the_batch_size_comes_from_the_tenant() {
    let mut env = fast_env(true).await;
    configure_tenant(&mut env, |spec| spec.creation.import_batch_size = 7);
    warm_up(&mut env).await;
    let names = put_wave(&mut env, 20);
    let results = reconcile_together(&mut env, &names).await;
    let calls = env.tenant_calls().await;
    assert_eq!(count(&calls, IMPORT), 3, "⌈20/7⌉: {calls:?}");
    assert_eq!(count(&calls, LIST), 1);
    assert_all_ready(&mut env, &names, &results).await;
}

#[tokio::test]
async fn without_user_context_the_wave_falls_back_to_one_post_per_profile() {
    let mut env = fast_env(false).await;
    warm_up(&mut env).await;
    let names = put_wave(&mut env, 120);
    let results = reconcile_together(&mut env, &names).await;
    let calls = env.tenant_calls().await;
    assert_eq!(count(&calls, CREATE), 120, "{calls:?}");
    assert_eq!(count(&calls, LIST), 1, "still one list for the wave");
    assert_eq!(
        count(&calls, IMPORT),
        1,
        "the first batch's import got 403: {calls:?}"
    );
    assert_all_ready(&mut env, &names, &results).await;

    // The 403 is remembered: the next wave does not try import again.
    env.clear_calls().await;
    let more: Vec<String> = (0..3)
        .map(|i| {
            let name = format!("more-{i}");
            env.put_profile(&profile_manifest(&name, &format!("More {i}"), ""));
            name
        })
        .collect();
    let results = reconcile_together(&mut env, &more).await;
    let calls = env.tenant_calls().await;
    assert_eq!(count(&calls, IMPORT), 0, "{calls:?}");
    assert_eq!(count(&calls, CREATE), 3);
    assert_all_ready(&mut env, &more, &results).await;
}

#[tokio::test]
async fn method_individual_sends_one_post_per_profile_and_one_list() {
    let mut env = fast_env(true).await;
    individual_creates(&mut env);
    warm_up(&mut env).await;
    let names = put_wave(&mut env, 120);
    let results = reconcile_together(&mut env, &names).await;
    let calls = env.tenant_calls().await;
    assert_eq!(count(&calls, CREATE), 120, "{calls:?}");
    assert_eq!(count(&calls, IMPORT), 0);
    assert_eq!(count(&calls, LIST), 1);
    assert_all_ready(&mut env, &names, &results).await;
}

#[tokio::test]
async fn one_by_one_each_member_is_answered_when_its_own_post_returns() {
    let mut env = fast_env(true).await;
    individual_creates(&mut env);
    warm_up(&mut env).await;
    // The tenant handles the first POST at once but holds its answer: the wave keeps other
    // POSTs in flight meanwhile, and their members do not wait for the held one.
    admin(&env)
        .add_fault(
            json!({"method": "POST", "path": "/v2024/identity-profiles", "delayAfterMs": 3000}),
        )
        .await;
    let names = put_wave(&mut env, 8);
    add_finalizers(&mut env, &names).await;
    let mut running: FuturesUnordered<_> = names
        .iter()
        .map(|name| {
            let obj = Arc::new(env.profile(name));
            let ctx = Arc::clone(&env.ctx);
            async move { (name.clone(), profile::reconcile(obj, ctx).await) }
        })
        .collect();
    let mut finished = Vec::new();
    while let Some(done) = running.next().await {
        finished.push(done);
    }
    drop(running);
    let journal = env.journal().await;
    let held = journal
        .iter()
        .find(|e| e.method == "POST" && e.flags.fault)
        .and_then(|e| e.body["name"].as_str())
        .expect("the held POST");
    let held = format!("wave-{}", held.trim_start_matches("Wave Profile "));
    let order: Vec<&str> = finished.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        order.last(),
        Some(&held.as_str()),
        "the other members were answered while {held}'s answer was held: {order:?}"
    );
    let calls = env.tenant_calls().await;
    assert_eq!(count(&calls, CREATE), 8, "one POST each, once: {calls:?}");
    assert_eq!(count(&calls, LIST), 1, "one list for the wave");
    finished.sort_by_key(|(n, _)| names.iter().position(|name| name == n));
    let (_, results): (Vec<String>, Vec<_>) = finished.into_iter().unzip();
    assert_all_ready(&mut env, &names, &results).await;
}

#[tokio::test]
async fn existing_names_in_any_case_are_adopted_not_created_again() {
    let mut env = fast_env(true).await;
    warm_up(&mut env).await;
    for i in [1, 4, 7] {
        put_tenant_profile(&env, &format!("WAVE PROFILE {i}"), "made in the UI").await;
    }
    env.clear_calls().await;
    let names = put_wave(&mut env, 10);
    let results = reconcile_together(&mut env, &names).await;
    let calls = env.tenant_calls().await;
    assert_eq!(count(&calls, IMPORT), 1, "{calls:?}");
    let import = env
        .journal()
        .await
        .into_iter()
        .find(|e| e.route.as_deref() == Some("/v2024/identity-profiles/import"))
        .expect("an import");
    assert_eq!(
        import.body.as_array().map(Vec::len),
        Some(7),
        "only the new ones"
    );
    assert_all_ready(&mut env, &names, &results).await;
    let reasons = env.kube.event_reasons();
    assert_eq!(count(&reasons, "Adopted"), 3, "{reasons:?}");
    assert_eq!(count(&reasons, "Created"), 7, "{reasons:?}");
    assert_eq!(tenant_profiles(&env).await.len(), 11);
}

#[tokio::test]
async fn an_import_error_is_the_objects_condition_with_the_tenants_key_and_text() {
    let mut env = fast_env(true).await;
    warm_up(&mut env).await;
    let mut bad = profile_manifest("bad", "Bad Source", "");
    bad.spec.authoritative_source.id = Some("0123456789abcdef0123456789abcdef".into());
    env.put_profile(&bad);
    let names = put_wave(&mut env, 2);
    let mut all = names.clone();
    all.push("bad".into());
    let results = reconcile_together(&mut env, &all).await;
    let calls = env.tenant_calls().await;
    assert_eq!(
        count(&calls, IMPORT),
        1,
        "one batch for all three: {calls:?}"
    );
    let error = results[2].as_ref().expect_err("the tenant refused it");
    assert_eq!(error.reason(), "TenantRejected");
    assert_eq!(error.requeue(), Requeue::AfterChange);
    let stored = env.profile("bad");
    let ready = condition(&stored, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "TenantRejected")
    );
    assert!(
        ready.message.contains("UNKNOWN_REFERENCE_RESOLVER"),
        "{}",
        ready.message
    );
    assert!(
        ready.message.contains("0123456789abcdef0123456789abcdef"),
        "{}",
        ready.message
    );
    let status = stored.status.expect("status");
    assert!(
        status.pending_create.is_none(),
        "nothing was created: {status:?}"
    );
    let refusal = status.last_refusal.expect("recorded like a refused POST");
    assert_eq!(
        (refusal.operation.as_str(), refusal.attempts),
        ("Create", 1)
    );
    assert_all_ready(&mut env, &names, &results[..2]).await;

    // Held back like any refusal: the next reconcile of this generation sends nothing.
    env.clear_calls().await;
    let again = reconcile(&mut env, "bad").await.expect_err("held back");
    assert!(
        matches!(again, ReconcileError::RefusedBefore { .. }),
        "{again:?}"
    );
    assert!(env.tenant_calls().await.is_empty());
}

#[tokio::test]
async fn an_interrupted_create_is_adopted_from_the_waves_list_never_sent_twice() {
    let mut env = fast_env(true).await;
    warm_up(&mut env).await;
    // A previous leader wrote the marker, imported the profile and died before recording it;
    // the shared list predates the import.
    put_tenant_profile(&env, "Interrupted", "").await;
    let obj = profile_manifest("interrupted", "Interrupted", "");
    env.put_profile(&obj);
    let mut marked = env.profile("interrupted");
    marked.status = Some(isc_operator::api::IdentityProfileStatus {
        pending_create: Some(Box::new(PendingCreate {
            name: "Interrupted".into(),
            since: isc_operator::controller::status::now(),
        })),
        ..Default::default()
    });
    env.put_profile(&marked);
    env.clear_calls().await;
    reconcile(&mut env, "interrupted").await.expect("adopted");
    let calls = env.tenant_calls().await;
    assert_eq!(calls, vec![LIST.to_string()], "the wave's list, no write");
    let status = env.profile("interrupted").status.expect("status");
    assert!(
        status.pending_create.is_none() && status.id.is_some(),
        "{status:?}"
    );
    assert_no_duplicate_names(&env).await;
}

#[tokio::test]
async fn duplicate_names_in_the_tenant_stop_the_object_never_a_silent_pick() {
    let mut env = fast_env(true).await;
    warm_up(&mut env).await;
    let a = put_tenant_profile(&env, "Twice", "").await;
    // The simulator's admin API can store what the tenant's API never would.
    let b = admin(&env)
        .put_profile(json!({"name": "TWICE",
            "authoritativeSource": {"type": "SOURCE", "id": crate::env::SOURCE_EMPLOYEES, "name": "HR Employees"}}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    env.put_profile(&profile_manifest("twice", "Twice", ""));
    let names = vec!["twice".to_string()];
    let results = reconcile_together(&mut env, &names).await;
    let error = results[0].as_ref().expect_err("duplicates");
    assert_eq!(error.reason(), "Conflict");
    assert_eq!(error.requeue(), Requeue::Backoff);
    let message = error.message();
    assert!(message.contains(&a) && message.contains(&b), "{message}");
    assert!(env.tenant_writes().await.is_empty());
}

/// Reconciles every object with at most `bound` reconciles in flight, each starting as soon as
/// another ends (as the controller does with its reconcile bound).
async fn reconcile_bounded(
    env: &mut TestEnv,
    names: &[String],
    bound: usize,
) -> Vec<Result<Action, ReconcileError>> {
    add_finalizers(env, names).await;
    let objects: Vec<_> = names.iter().map(|n| Arc::new(env.profile(n))).collect();
    let ctx = Arc::clone(&env.ctx);
    futures::stream::iter(objects)
        .map(|obj| profile::reconcile(obj, Arc::clone(&ctx)))
        .buffered(bound)
        .collect()
        .await
}

#[tokio::test]
async fn one_by_one_creates_under_the_reconcile_bound_share_few_waves() {
    // The client paces 200 calls a second: POSTs take time, reconciles freed one by one join
    // while a wave sends; they wait for it and go together (one list per ~bound creates).
    let mut env = TestEnv::with_config(|config| config.rate_limit = None).await;
    configure_tenant(&mut env, |spec| {
        spec.rate_limit = Some(RateLimitSpec {
            requests: 200,
            window_seconds: 1,
        });
        spec.creation.method = CreationMethod::Individual;
    });
    warm_up(&mut env).await;
    let names = put_wave(&mut env, 300);
    let bound = 128;
    let results = reconcile_bounded(&mut env, &names, bound).await;
    let calls = env.tenant_calls().await;
    assert_eq!(count(&calls, CREATE), 300, "one POST each, once");
    let lists = count(&calls, LIST);
    assert!(
        lists <= 300usize.div_ceil(bound) + 2,
        "{lists} lists for 300 creates under a bound of {bound}"
    );
    assert_eq!(calls.len(), 300 + lists, "nothing else: {calls:?}");
    assert_all_ready(&mut env, &names, &results).await;
}
