//! Listings at the floor: N objects cost ⌈N/250⌉ list calls, also when N is a multiple of 250
//! (the first page asks for `X-Total-Count`), proven from the simulator's journal.

#[allow(dead_code)] // shared helpers, not all used here
mod support;

use isc_client::{ListParams, TenantClient};
use serde_json::json;
use support::*;

/// Stores `n` profiles in the simulator (as if made in the UI).
async fn seed_profiles(admin: &SimAdmin, n: usize) {
    for i in 0..n {
        admin
            .put_profile(json!({"name": format!("Paged {i:05}"),
                "authoritativeSource": {"type": "SOURCE", "id": "s1", "name": "HR"}}))
            .await;
    }
}

/// Lists every profile; returns how many came back and the `(offset, count)` query of each call.
async fn list_all(client: &TenantClient, admin: &SimAdmin) -> (usize, Vec<(String, bool)>) {
    admin.clear_journal().await;
    let list = client
        .list_all_identity_profiles_lenient(&ListParams::default())
        .await
        .expect("listing succeeds");
    assert!(list.malformed.is_empty(), "{:?}", list.malformed);
    let calls = admin
        .api_calls()
        .await
        .iter()
        .map(|e| {
            let offset = e.query["offset"].as_str().unwrap_or_default().to_string();
            (offset, e.query.get("count").is_some())
        })
        .collect();
    (list.items.len(), calls)
}

#[tokio::test]
async fn a_listing_costs_one_call_per_250_objects_even_at_a_multiple_of_250() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    admin.reset().await;
    let existing: Vec<serde_json::Value> = admin.get("/__sim/identity-profiles").await;
    let mut stored = existing.len();
    assert_eq!(stored, 0, "a reset simulator holds no profile");

    // None: one call, which asked for the count.
    let (listed, calls) = list_all(&client, &admin).await;
    assert_eq!((listed, calls), (0, vec![("0".to_string(), true)]));

    // Exactly one page, two pages, and one past them.
    for (target, expected_offsets) in [
        (250, vec!["0"]),
        (500, vec!["0", "250"]),
        (501, vec!["0", "250", "500"]),
    ] {
        seed_profiles(&admin, target - stored).await;
        stored = target;
        let (listed, calls) = list_all(&client, &admin).await;
        assert_eq!(listed, target);
        let offsets: Vec<_> = calls.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(offsets, expected_offsets, "{target} profiles");
        let counted: Vec<_> = calls.iter().map(|(_, c)| *c).collect();
        assert!(counted[0], "the first page asks for the count");
        assert!(
            counted[1..].iter().all(|c| !c),
            "only the first page asks for it"
        );
    }
    sim.shutdown().await;
}
