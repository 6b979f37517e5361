//! The resync sweep and the reads around it: one sweep costs ⌈N/250⌉ list calls and no write
//! and sends only the objects that need a reconcile; reconciles between sweeps make no tenant
//! call; a reconcile never waits for a listing in flight; Tenants and Secrets come from the
//! watch caches (a miss reads them once); deleted Tenants' clients are freed.

use std::sync::Arc;

use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::profile;
use isc_operator::controller::resync::{self, SweepReason};
use isc_sim::testing::SimAdmin;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use serde_json::json;

use crate::env::{NAMESPACE, SOURCE_EMPLOYEES, TENANT, TestEnv, credentials_secret, profile};

/// Stores `n` tenant profiles nobody manages (as if made in the UI).
async fn seed_unmanaged(env: &TestEnv, n: usize) {
    let admin = SimAdmin::new(&env.sim);
    for i in 0..n {
        admin
            .put_profile(json!({"name": format!("Unmanaged {i:04}"),
                "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"}}))
            .await;
    }
}

/// Reconciles `name` (a first pass adds the finalizer when it is wanted and missing, as the
/// controller's does) and refreshes the watch cache.
async fn reconcile(env: &mut TestEnv, name: &str) {
    let stored = env.profile(name);
    if profile::wants_finalizer(&stored) && stored.metadata.finalizers.is_none() {
        let obj = env.profile(name);
        profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx))
            .await
            .expect("finalizer added");
    }
    let obj = env.profile(name);
    profile::reconcile(Arc::new(obj), Arc::clone(&env.ctx))
        .await
        .expect("reconcile succeeds");
    env.profile(name);
}

/// `count` converged objects `staff-0..` (tenant names `Staff 0..`), reconciled to Ready.
async fn converged_objects(env: &mut TestEnv, count: usize) -> Vec<IdentityProfile> {
    let mut objects = Vec::new();
    for i in 0..count {
        let name = format!("staff-{i}");
        env.put_profile(&profile(
            &name,
            &format!("Staff {i}"),
            "  description: from git\n",
        ));
        reconcile(env, &name).await;
        let obj = env.profile(&name);
        let ready = &obj.status.as_ref().expect("status").conditions;
        assert!(
            ready
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True"),
            "{name}: {ready:?}"
        );
        objects.push(obj);
    }
    objects
}

fn tenant(env: &TestEnv) -> Tenant {
    env.kube.get(NAMESPACE, TENANT).expect("tenant")
}

/// The list calls in the journal, as their `offset` query values.
async fn list_offsets(env: &TestEnv) -> Vec<String> {
    env.journal()
        .await
        .into_iter()
        .filter(|e| e.method == "GET" && e.path == "/v2024/identity-profiles")
        .map(|e| e.query["offset"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_sweep_lists_once_at_the_floor_and_sends_only_what_drifted() {
    let mut env = TestEnv::new().await;
    converged_objects(&mut env, 3).await;
    // A create's answer has no identity count: the first sweep sends each new object once, to
    // record the count its list shows.
    let first = resync::sweep_tenant(&env.ctx, &tenant(&env))
        .await
        .expect("sweep succeeds");
    assert_eq!(first.due.len(), 3, "{:?}", first.due);
    assert!(
        first
            .due
            .iter()
            .all(|(_, why)| *why == SweepReason::TenantReportChanged)
    );
    for i in 0..3 {
        reconcile(&mut env, &format!("staff-{i}")).await;
    }
    let objects: Vec<_> = (0..3).map(|i| env.profile(&format!("staff-{i}"))).collect();
    // 3 managed + 297 others: 300 profiles, two pages.
    seed_unmanaged(&env, 297).await;
    let drifted_id = objects[1].status.as_ref().unwrap().id.clone().unwrap();
    SimAdmin::new(&env.sim)
        .merge_profile(&drifted_id, json!({"description": "changed in the UI"}))
        .await;
    env.clear_calls().await;

    for sweep in 0..2 {
        let outcome = resync::sweep_tenant(&env.ctx, &tenant(&env))
            .await
            .expect("sweep succeeds");
        assert_eq!((outcome.listed, outcome.objects), (300, 3), "sweep {sweep}");
        assert_eq!(
            outcome.due,
            vec![(ObjectRef::from_obj(&objects[1]), SweepReason::Drifted)],
            "sweep {sweep}"
        );
        assert_eq!(list_offsets(&env).await, ["0", "250"], "sweep {sweep}");
        assert_eq!(env.tenant_writes().await, Vec::<String>::new());
        assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());
        env.clear_calls().await;
    }

    // The sent object is corrected from the sweep's list; the others cost nothing.
    for (i, obj) in objects.iter().enumerate() {
        let name = obj.metadata.name.clone().unwrap();
        let action = profile::reconcile(Arc::new(env.profile(&name)), Arc::clone(&env.ctx))
            .await
            .expect("reconcile succeeds");
        assert_eq!(action, Action::await_change(), "no periodic requeue");
        let writes = env.tenant_writes().await;
        if i == 1 {
            assert_eq!(
                writes,
                ["PATCH /v2024/identity-profiles/{identity-profile-id}"]
            );
        } else {
            assert!(writes.is_empty(), "{name}: {writes:?}");
        }
        env.clear_calls().await;
    }
    assert!(
        list_offsets(&env).await.is_empty(),
        "reconciles between sweeps use the sweep's list"
    );
    let outcome = resync::sweep_tenant(&env.ctx, &tenant(&env))
        .await
        .expect("sweep succeeds");
    assert!(outcome.due.is_empty(), "{:?}", outcome.due);
}

#[tokio::test]
async fn a_tenant_without_objects_is_not_listed() {
    let env = TestEnv::new().await;
    let outcome = resync::sweep_tenant(&env.ctx, &tenant(&env))
        .await
        .expect("sweep succeeds");
    assert_eq!(outcome, resync::SweepOutcome::default());
    assert!(env.journal().await.is_empty());
}

#[tokio::test]
async fn a_tenant_whose_objects_are_gone_drops_its_list() {
    let mut env = TestEnv::new().await;
    let objects = converged_objects(&mut env, 2).await;
    let handle = env.ctx.tenants.cached(NAMESPACE, TENANT).expect("handle");
    assert!(
        handle.profiles.has_snapshot(),
        "the reconciles' list is held"
    );
    for obj in &objects {
        env.forget_profile(obj);
    }
    env.clear_calls().await;
    let outcome = resync::sweep_tenant(&env.ctx, &tenant(&env))
        .await
        .expect("sweep succeeds");
    assert_eq!(outcome, resync::SweepOutcome::default());
    assert!(!handle.profiles.has_snapshot(), "no object: no list held");
    assert!(env.journal().await.is_empty(), "no tenant call for it");
}

#[tokio::test]
async fn a_reconcile_does_not_wait_for_a_listing_in_flight() {
    let mut env = TestEnv::new().await;
    converged_objects(&mut env, 1).await;
    let (_, handle) = env
        .ctx
        .tenants
        .resolve(&env.ctx.client, NAMESPACE, TENANT)
        .await
        .expect("tenant resolves");
    // The next list hangs far longer than anything below takes.
    SimAdmin::new(&env.sim)
        .add_fault(json!({"method": "GET", "path": "/v2024/identity-profiles",
            "count": 1, "delayMs": 20_000}))
        .await;
    env.clear_calls().await;
    let refreshing = {
        let handle = Arc::clone(&handle);
        tokio::spawn(async move { handle.profiles.refresh(&handle.client).await })
    };
    while !handle.profiles.is_listing() && !refreshing.is_finished() {
        tokio::task::yield_now().await;
    }
    // The listing holds the tenant's list lock: a reconcile still completes, from the snapshot.
    let action = profile::reconcile(Arc::new(env.profile("staff-0")), Arc::clone(&env.ctx))
        .await
        .expect("reconcile succeeds");
    assert_eq!(action, Action::await_change());
    assert!(
        !refreshing.is_finished(),
        "the reconcile finished while the listing was still in flight"
    );
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    refreshing.abort();
}

#[tokio::test]
async fn tenants_and_secrets_come_from_the_watch_caches() {
    let mut env = TestEnv::with_secret_store().await;
    converged_objects(&mut env, 1).await;
    let reads: Vec<_> = env
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/tenants/") || r.path.contains("/secrets/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(reads.is_empty(), "{reads:?}");

    // An unlabelled Secret is not in the cache: one GET, and its clear error.
    env.kube.insert(&{
        let mut secret = credentials_secret("plain", "id", "secret");
        secret.metadata.labels = None;
        secret
    });
    let mut other = tenant(&env);
    other.metadata.name = Some("other".into());
    other.metadata.resource_version = None;
    other.metadata.uid = None;
    other.spec.credentials_secret_ref.name = "plain".into();
    env.kube.insert(&other);
    env.kube.clear_requests();
    let error = env
        .ctx
        .tenants
        .resolve(&env.ctx.client, NAMESPACE, "other")
        .await
        .expect_err("unlabelled");
    assert_eq!(error.reason(), "SecretNotLabelled", "{error}");
    let gets: Vec<_> = env
        .kube
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        gets,
        [
            format!("GET /apis/isc.identitynow.dev/v1alpha1/namespaces/{NAMESPACE}/tenants/other"),
            format!("GET /api/v1/namespaces/{NAMESPACE}/secrets/plain"),
        ]
    );
}

#[tokio::test]
async fn a_deleted_tenant_frees_its_client() {
    let env = TestEnv::new().await;
    env.ctx
        .tenants
        .resolve(&env.ctx.client, NAMESPACE, TENANT)
        .await
        .expect("tenant resolves");
    resync::forget_deleted_tenants(&env.ctx);
    assert!(env.ctx.tenants.cached(NAMESPACE, TENANT).is_some(), "kept");
    env.forget_tenant(&tenant(&env));
    resync::forget_deleted_tenants(&env.ctx);
    assert!(env.ctx.tenants.cached(NAMESPACE, TENANT).is_none(), "freed");
}
