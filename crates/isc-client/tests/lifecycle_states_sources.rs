//! The lifecycle-state and source calls against the simulator: what goes on the wire (from the
//! journal), what is refused before any call, and which calls are retried.

#[allow(dead_code)] // shared helpers, not all used here
mod support;

use isc_client::filter::Filter;
use isc_client::models::{JsonPatchOperation, ProfileLifecycleState};
use isc_client::{ErrorClass, IscError, ListParams, TenantClient};
use isc_sim::{Seed, SeedSource};
use serde_json::json;
use support::*;

/// A profile on the seed's first source; returns its id.
async fn profile(admin: &SimAdmin) -> String {
    let seed = Seed::builtin();
    let profile = admin
        .put_profile(json!({"name": "Employees", "authoritativeSource":
            {"type": "SOURCE", "id": seed.sources[0].id, "name": seed.sources[0].name}}))
        .await;
    profile["id"].as_str().unwrap().to_string()
}

fn state(technical_name: &str) -> ProfileLifecycleState {
    ProfileLifecycleState {
        name: technical_name.to_uppercase(),
        technical_name: technical_name.to_string(),
        ..Default::default()
    }
}

async fn methods_and_statuses(admin: &SimAdmin) -> Vec<(String, u16)> {
    admin
        .api_calls()
        .await
        .iter()
        .map(|e| (e.method.clone(), e.status))
        .collect()
}

#[tokio::test]
async fn a_create_answered_5xx_is_not_sent_again() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let profile = profile(&admin).await;
    admin
        .add_fault(json!({"method": "POST", "path": "/v2024/identity-profiles/*/lifecycle-states", "count": 1, "status": 503}))
        .await;
    let err = client
        .create_lifecycle_state(&profile, &state("active"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert_eq!(methods_and_statuses(&admin).await, [("POST".into(), 503)]);
    let created = client
        .create_lifecycle_state(&profile, &state("active"))
        .await
        .unwrap();
    assert_eq!(created.technical_name, "active");
    sim.shutdown().await;
}

#[tokio::test]
async fn ids_that_would_change_the_path_and_empty_patches_never_reach_the_tenant() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let profile = profile(&admin).await;
    admin.clear_journal().await;
    let refusals: Vec<Result<(), IscError>> = vec![
        client
            .list_all_lifecycle_states("../identities", &ListParams::default())
            .await
            .map(|_| ()),
        client
            .get_lifecycle_state(&profile, "a/b")
            .await
            .map(|_| ()),
        client
            .create_lifecycle_state("p?x=1", &state("a"))
            .await
            .map(|_| ()),
        client
            .update_lifecycle_state(&profile, "ls1", &[])
            .await
            .map(|_| ()),
        client
            .delete_lifecycle_state(&profile, "")
            .await
            .map(|_| ()),
    ];
    for result in refusals {
        assert!(
            matches!(result, Err(IscError::InvalidRequest(_))),
            "{result:?}"
        );
    }
    assert!(admin.api_calls().await.is_empty(), "nothing was sent");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_state_is_listed_patched_and_deleted_with_one_call_each() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let profile = profile(&admin).await;
    let id = client
        .create_lifecycle_state(&profile, &state("active"))
        .await
        .unwrap()
        .id
        .unwrap();
    admin.clear_journal().await;
    let listed = client
        .list_all_lifecycle_states(&profile, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let patched = client
        .update_lifecycle_state(
            &profile,
            &id,
            &[JsonPatchOperation {
                op: "replace".into(),
                path: "/enabled".into(),
                value: Some(json!(true)),
                from: None,
            }],
        )
        .await
        .unwrap();
    assert!(patched.enabled);
    let deleted = client.delete_lifecycle_state(&profile, &id).await.unwrap();
    assert_eq!(deleted.id.as_deref(), Some(id.as_str()));
    assert_eq!(
        methods_and_statuses(&admin).await,
        [
            ("GET".into(), 200),
            ("PATCH".into(), 200),
            ("DELETE".into(), 202)
        ]
    );
    let patch = &admin.api_calls().await[1];
    assert_eq!(patch.headers["content-type"], "application/json-patch+json");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_source_name_with_quotes_resolves_through_an_escaped_filter() {
    let mut config = sim_config();
    let mut seed = Seed::builtin();
    seed.sources.push(SeedSource {
        id: "payroll-eu".into(),
        name: r#"Payroll "EU" & Co"#.into(),
    });
    config.seed = seed;
    let sim = start_sim(config).await;
    let admin = SimAdmin::new(&sim);
    let client: TenantClient = user_client(&sim);
    let params = ListParams {
        filter: Some(Filter::eq("name", r#"Payroll "EU" & Co"#)),
        ..Default::default()
    };
    let found = client.list_all_sources(&params).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_deref(), Some("payroll-eu"));
    let calls = admin.api_calls().await;
    assert_eq!(calls.len(), 1, "one page, which asked for the count");
    assert_eq!(
        calls[0].query["filters"],
        r#"name eq "Payroll \"EU\" & Co""#
    );
    sim.shutdown().await;
}
