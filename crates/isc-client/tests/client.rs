//! The tenant client against the simulator: auth, rate limits, retries and filters, each proven
//! from the simulator's request journal.

mod support;

use std::time::{Duration, Instant};

use isc_client::filter::Filter;
use isc_client::models::{IdentityProfile, ObjectRef};
use isc_client::{
    ErrorClass, IdentityDefaultFilter, IscError, ListParams, RateLimit, TenantClient,
};
use isc_sim::JournalEntry;
use serde_json::json;
use support::*;

fn statuses(entries: &[JournalEntry]) -> Vec<u16> {
    entries.iter().map(|e| e.status).collect()
}

/// A user-context client for the simulator with its own client-side rate limit.
fn client_with_limit(
    sim: &isc_sim::RunningSimulator,
    requests: u32,
    per: Duration,
) -> TenantClient {
    let mut config = client_config(&sim.base_url(), USER_CLIENT_ID, USER_CLIENT_SECRET);
    config.rate_limit = RateLimit { requests, per };
    TenantClient::new(config).unwrap()
}

/// The first source of the built-in seed, as a profile's authoritative source.
fn first_source() -> ObjectRef {
    let seed = isc_sim::Seed::builtin();
    ObjectRef {
        kind: Some("SOURCE".into()),
        id: Some(seed.sources[0].id.clone()),
        name: Some(seed.sources[0].name.clone()),
    }
}

fn profile(name: &str, source: &ObjectRef) -> IdentityProfile {
    IdentityProfile {
        name: name.to_string(),
        description: Some("made by a test".into()),
        priority: Some(10),
        authoritative_source: source.clone(),
        ..Default::default()
    }
}

#[tokio::test]
async fn token_is_fetched_once_for_concurrent_callers_and_refreshed_before_expiry() {
    let mut config = sim_config();
    config.token_ttl = Duration::from_secs(2);
    let sim = start_sim(config).await;
    let admin = SimAdmin::new(&sim);
    // A generous client-side limit, so the 20 calls go out at once and timing is about tokens only.
    let client = client_with_limit(&sim, 1000, Duration::from_secs(10));

    let calls = (0..20).map(|_| {
        let c = client.clone();
        async move { c.list_identity_profiles(&ListParams::default()).await }
    });
    for r in futures::future::join_all(calls).await {
        r.expect("list succeeds");
    }
    assert_eq!(
        admin.token_calls().await.len(),
        1,
        "one token for 20 concurrent callers"
    );

    // A 2 s token is refreshed once half of it is used, before the tenant would reject it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let calls = (0..20).map(|_| {
        let c = client.clone();
        async move { c.list_identity_profiles(&ListParams::default()).await }
    });
    for r in futures::future::join_all(calls).await {
        r.expect("list succeeds");
    }
    assert_eq!(admin.token_calls().await.len(), 2, "exactly one refresh");
    let api = admin.api_calls().await;
    assert_eq!(api.len(), 40);
    assert!(
        statuses(&api).iter().all(|s| *s == 200),
        "no 401 seen: {:?}",
        statuses(&api)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    client
        .list_identity_profiles(&ListParams::default())
        .await
        .unwrap();
    admin
        .add_fault(
            json!({"method": "GET", "path": "/v2024/identity-profiles", "count": 1, "status": 401}),
        )
        .await;
    client
        .list_identity_profiles(&ListParams::default())
        .await
        .expect("recovers after one 401");
    assert_eq!(admin.token_calls().await.len(), 2);
    assert_eq!(statuses(&admin.api_calls().await), vec![200, 401, 200]);

    // A credential the tenant keeps rejecting surfaces as an error after one refresh, not a loop.
    admin
        .add_fault(
            json!({"method": "GET", "path": "/v2024/identity-profiles", "count": 5, "status": 401}),
        )
        .await;
    let err = client
        .list_identity_profiles(&ListParams::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert_eq!(
        statuses(&admin.api_calls().await),
        vec![200, 401, 200, 401, 401]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_fail_with_a_clear_error_that_hides_the_secret() {
    let sim = start_sim(sim_config()).await;
    let client = TenantClient::new(client_config(
        &sim.base_url(),
        USER_CLIENT_ID,
        "wrong-secret-4711",
    ))
    .unwrap();
    let err = client
        .list_identity_profiles(&ListParams::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, IscError::Auth { status: 401, .. }), "{text}");
    assert!(text.contains("client_id and client_secret"), "{text}");
    assert!(!text.contains("wrong-secret-4711"), "{text}");
    assert!(!format!("{err:?}").contains("wrong-secret-4711"));
    assert_eq!(err.class(), ErrorClass::Permanent);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_429_waits_for_retry_after_and_succeeds() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    admin
        .add_fault(json!({"method": "GET", "path": "/v2024/identity-profiles", "count": 1, "status": 429, "retryAfter": 1}))
        .await;
    let started = Instant::now();
    client
        .list_identity_profiles(&ListParams::default())
        .await
        .expect("succeeds after waiting");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    assert_eq!(statuses(&admin.api_calls().await), vec![429, 200]);
    assert_eq!(client.stats().rate_limited, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_5xx_burst_is_retried_for_idempotent_calls() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    admin
        .add_fault(
            json!({"method": "GET", "path": "/v2024/identity-profiles", "count": 3, "status": 503}),
        )
        .await;
    client
        .list_identity_profiles(&ListParams::default())
        .await
        .expect("succeeds after the burst");
    assert_eq!(statuses(&admin.api_calls().await), vec![503, 503, 503, 200]);
    assert_eq!(client.stats().retries, 3);

    // A burst longer than the retry budget surfaces as a transient error.
    admin.clear_journal().await;
    admin
        .add_fault(json!({"method": "GET", "path": "/v2024/identity-profiles", "count": 20, "status": 500}))
        .await;
    let err = client
        .list_identity_profiles(&ListParams::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(admin.api_calls().await.len(), 5, "1 try + 4 retries");
    admin.reset().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_post_that_creates_is_never_retried_blindly() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let source = first_source();
    admin.clear_journal().await;

    admin
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles", "count": 1, "status": 503}))
        .await;
    let err = client
        .create_identity_profile(&profile("No Retry", &source))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    let posts: Vec<_> = admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "exactly one POST");

    admin
        .add_fault(json!({"method": "POST", "path": "/v2024/identities/process", "count": 1, "status": 500}))
        .await;
    let ids = vec![first_identity_id(&client).await];
    let err = client.process_identities(&ids).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    let process_calls = admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.operation_id.as_deref() == Some("startIdentityProcessing"))
        .count();
    assert_eq!(process_calls, 1);
    sim.shutdown().await;
}

async fn first_identity_id(client: &TenantClient) -> String {
    client
        .list_identities(
            &ListParams {
                limit: Some(1),
                ..Default::default()
            },
            IdentityDefaultFilter::CorrelatedOnly,
        )
        .await
        .unwrap()
        .items[0]
        .id
        .clone()
        .unwrap()
}

#[tokio::test]
async fn a_dropped_connection_is_retried_when_safe_and_reported_as_unknown_otherwise() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let source = first_source();
    admin.clear_journal().await;

    admin
        .add_fault(
            json!({"method": "GET", "path": "/v2024/identity-profiles", "count": 1, "drop": true}),
        )
        .await;
    client
        .list_identity_profiles(&ListParams::default())
        .await
        .expect("retried after a drop");
    assert_eq!(admin.api_calls().await.len(), 2);

    admin.clear_journal().await;
    admin
        .add_fault(
            json!({"method": "POST", "path": "/v2024/identity-profiles", "count": 1, "drop": true}),
        )
        .await;
    let err = client
        .create_identity_profile(&profile("Dropped", &source))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err}");
    assert!(err.to_string().contains("may have been processed"), "{err}");
    assert_eq!(admin.api_calls().await.len(), 1, "not retried");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_filter_value_with_quotes_and_spaces_round_trips() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let source = first_source();
    let tricky = r#"Ann "the boss" O'Neil & Co #1 \ 50% off"#;
    client
        .create_identity_profile(&profile(tricky, &source))
        .await
        .expect("create");
    client
        .create_identity_profile(&profile("Ann", &source))
        .await
        .expect("create");
    admin.clear_journal().await;

    let found = client
        .list_all_identity_profiles(&ListParams {
            filter: Some(Filter::eq("name", tricky)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, tricky);
    let sent = admin.api_calls().await;
    assert_eq!(
        sent[0].query["filters"],
        json!(r#"name eq "Ann \"the boss\" O'Neil & Co #1 \\ 50% off""#)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_follows_offsets_until_a_short_page() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let page = client
        .list_identities(
            &ListParams {
                limit: Some(1),
                count: true,
                ..Default::default()
            },
            IdentityDefaultFilter::None,
        )
        .await
        .unwrap();
    let total = page.total.expect("X-Total-Count") as usize;
    assert!(
        total > 250,
        "the built-in seed has a few hundred identities, got {total}"
    );
    admin.clear_journal().await;
    let all = client
        .list_all_identities(&ListParams::default(), IdentityDefaultFilter::None)
        .await
        .unwrap();
    assert_eq!(all.len(), total);
    let mut ids: Vec<_> = all.iter().map(|i| i.id.clone().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no identity twice");
    let offsets: Vec<_> = admin
        .api_calls()
        .await
        .iter()
        .map(|e| e.query["offset"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(offsets, vec!["0", "250"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn experimental_endpoints_get_the_header() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let id = first_identity_id(&client).await;
    admin.clear_journal().await;
    let task = client
        .process_identities(std::slice::from_ref(&id))
        .await
        .unwrap();
    assert!(task.id.is_some());
    client.synchronize_identity_attributes(&id).await.unwrap();
    for entry in admin.api_calls().await {
        assert_eq!(
            entry.headers["x-sailpoint-experimental"], "true",
            "{entry:?}"
        );
        assert!(
            entry.headers.get("authorization").is_none(),
            "journal hides the token"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn user_context_endpoints_answer_403_to_an_api_client() {
    let sim = start_sim(sim_config()).await;
    let client = app_client(&sim);
    let err = client
        .list_identities(&ListParams::default(), IdentityDefaultFilter::None)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Forbidden, "{err}");
    let text = err.to_string();
    assert!(text.contains("403"), "{text}");
    assert!(
        text.contains("trackingId"),
        "errors keep the tracking id: {text}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_rate_limiter_keeps_a_burst_of_500_calls_under_the_tenant_limit() {
    // The tenant allows 100 calls per window; a 1 s window keeps the test short while
    // exercising exactly the same rule as the real 10 s one.
    let mut config = sim_config();
    config.rate_limit = Some((100, Duration::from_secs(1)));
    let sim = start_sim(config).await;
    let admin = SimAdmin::new(&sim);
    let client = client_with_limit(&sim, 95, Duration::from_secs(1));
    let calls = (0..500).map(|_| {
        let c = client.clone();
        async move {
            c.list_identity_profiles(&ListParams {
                limit: Some(1),
                ..Default::default()
            })
            .await
        }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "every call succeeds");
    let api = admin.api_calls().await;
    assert_eq!(api.len(), 500);
    let limited = api.iter().filter(|e| e.status == 429).count();
    assert_eq!(limited, 0, "the simulator never had to rate limit");
    assert_eq!(client.stats().rate_limited, 0);
    sim.shutdown().await;
}
