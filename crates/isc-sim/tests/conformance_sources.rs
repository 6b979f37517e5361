//! `GET /v2024/sources` (listSources): served from the seed, paged and filtered as documented,
//! every response checked against the official v2024 document; and two simulators seeded with
//! the same source names under different ids, as a sandbox and a production tenant.

pub mod common;

use common::openapi::check_journal;
use common::*;
use isc_client::filter::Filter;
use isc_client::models::Source;
use isc_client::{ListParams, TenantClient};

async fn assert_journal_conforms(env: &Env) -> common::openapi::JournalCheck {
    let check = check_journal(&env.admin.journal().await);
    assert!(
        check.failures.is_empty(),
        "{} conformance failures:\n{}",
        check.failures.len(),
        check.failures.join("\n")
    );
    check
}

fn user(env: &Env) -> TenantClient {
    tenant_client(&env.sim, PAT_ID, PAT_SECRET)
}

fn filtered(filter: Filter) -> ListParams {
    ListParams {
        filter: Some(filter),
        ..Default::default()
    }
}

fn source_names(sources: &[Source]) -> Vec<&str> {
    sources.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test]
async fn the_seed_sources_are_listed_schema_valid_with_owner_and_connector() {
    let env = start().await;
    let client = user(&env);
    let all = client
        .list_all_sources(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(
        source_names(&all),
        ["HR Employees", "HR Contractors", "Active Directory"]
    );
    assert_eq!(all[0].id.as_deref(), Some(EMPLOYEES));
    assert_eq!(all[0].connector.as_deref(), Some("delimited-file"));
    let authoritative: Vec<_> = all.iter().map(|s| s.authoritative).collect();
    assert_eq!(authoritative, [Some(true), Some(true), Some(false)]);
    // The raw body carries the required members, `owner` as null.
    let raw = env.get("/v2024/sources?limit=1").await;
    assert_eq!(raw.status, StatusCode::OK);
    let first = &raw.body[0];
    for key in ["name", "owner", "connector"] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    assert!(first["owner"].is_null());
    let check = assert_journal_conforms(&env).await;
    assert!(check.covered.contains(&("listSources".to_string(), 200)));
    assert!(check.checked_responses >= 2);
    env.sim.shutdown().await;
}

#[tokio::test]
async fn filters_find_a_source_by_name_or_id() {
    let env = start().await;
    let client = user(&env);
    let by_name = client
        .list_all_sources(&filtered(Filter::eq("name", "HR Contractors")))
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].id.as_deref(), Some(CONTRACTORS));
    // Names compare case-insensitively.
    let any_case = client
        .list_all_sources(&filtered(Filter::eq("name", "hr contractors")))
        .await
        .unwrap();
    assert_eq!(source_names(&any_case), ["HR Contractors"]);
    let none = client
        .list_all_sources(&filtered(Filter::eq("name", "Payroll")))
        .await
        .unwrap();
    assert!(none.is_empty());
    let by_id = client
        .list_all_sources(&filtered(Filter::eq("id", EMPLOYEES)))
        .await
        .unwrap();
    assert_eq!(source_names(&by_id), ["HR Employees"]);
    for (query, expected) in [
        (
            r#"name in ("HR Employees","Active Directory")"#,
            vec!["HR Employees", "Active Directory"],
        ),
        (r#"name sw "HR""#, vec!["HR Employees", "HR Contractors"]),
        (r#"name co "direct""#, vec!["Active Directory"]),
        ("authoritative eq false", vec!["Active Directory"]),
        (
            r#"type eq "DelimitedFile" and not id eq "2c9180835d2e5168015d32f890ca1581""#,
            vec!["HR Contractors", "Active Directory"],
        ),
    ] {
        let r = env
            .get(&format!("/v2024/sources?filters={}", urlencode(query)))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        assert_eq!(names(&r.body), expected, "{query}");
    }
    assert_journal_conforms(&env).await;
    env.sim.shutdown().await;
}

#[tokio::test]
async fn paging_sorting_and_refused_parameters() {
    let env = start().await;
    let r = env
        .get("/v2024/sources?limit=2&offset=1&count=true&sorters=-name")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(names(&r.body), ["HR Contractors", "Active Directory"]);
    assert_eq!(r.headers["x-total-count"], "3");
    // The client follows offsets: pages of one cost three calls (plus none for the count).
    env.admin.clear_journal().await;
    let all = user(&env)
        .list_all_sources(&ListParams {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(env.admin.api_calls().await.len(), 3);
    for (query, needle) in [
        (
            "filters=owner.name%20eq%20%22x%22",
            "not supported for field 'owner.name'",
        ),
        (
            "filters=name%20lt%20%22x%22",
            "operator 'lt' is not supported for field 'name'",
        ),
        (
            "sorters=cluster",
            "sorting is not supported for field 'cluster'",
        ),
        (
            "includeIDNSource=maybe",
            "'includeIDNSource' must be true or false",
        ),
        ("limit=251", "'limit'"),
    ] {
        let r = env.get(&format!("/v2024/sources?{query}")).await;
        r.assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", needle);
    }
    let r = env
        .get("/v2024/sources?includeIDNSource=true&for-subadmin=me")
        .await;
    assert_eq!(names(&r.body).len(), 3);
    let check = assert_journal_conforms(&env).await;
    assert!(check.covered.contains(&("listSources".to_string(), 400)));
    env.sim.shutdown().await;
}

#[tokio::test]
async fn two_tenants_seeded_with_other_ids_resolve_one_name_to_their_own_id() {
    let mut sandbox_config = config();
    sandbox_config.seed = isc_sim::Seed::builtin().with_tenant_source_ids("sandbox");
    let mut production_config = config();
    production_config.seed = isc_sim::Seed::builtin()
        .with_source_id("HR Employees", "prod-employees")
        .unwrap();
    let sandbox = start_with(sandbox_config).await;
    let production = start_with(production_config).await;
    let mut ids = Vec::new();
    for env in [&sandbox, &production] {
        let found = user(env)
            .list_all_sources(&filtered(Filter::eq("name", "HR Employees")))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        let id = found[0].id.clone().unwrap();
        // The id works where the tenant expects a source id, e.g. a profile's source.
        let profile = env.create_profile("Employees", &id, 10).await;
        assert_eq!(profile["authoritativeSource"]["name"], "HR Employees");
        assert!(profile["identityCount"].as_i64().unwrap() > 0);
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[0], EMPLOYEES);
    assert_eq!(ids[1], "prod-employees");
    for env in [sandbox, production] {
        assert_journal_conforms(&env).await;
        env.sim.shutdown().await;
    }
}
