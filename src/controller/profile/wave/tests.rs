use std::time::Duration;

use serde_json::json;

use super::plan::{
    Imported, Sorted, batches, created_profile, list_by_names, map_import_result, name_chunks,
    sort_members,
};
use super::*;
use crate::controller::profile_cache::{MalformedProfile, TenantProfiles};
use isc_client::models::ObjectImportResult;

fn profile(id: &str, name: &str) -> TenantProfile {
    serde_json::from_value(json!({
        "id": id, "name": name,
        "authoritativeSource": {"type": "SOURCE", "id": "s1", "name": "HR"}
    }))
    .expect("profile")
}

fn result(value: serde_json::Value) -> ObjectImportResult {
    serde_json::from_value(value).expect("ObjectImportResult")
}

#[test]
fn members_whose_name_exists_in_any_case_are_adopted_the_others_sent() {
    let fresh = TenantProfiles::new(vec![profile("1", "Employees")], vec![]);
    let sorted = sort_members(&["EMPLOYEES", "Contractors"], &fresh);
    assert_eq!(
        sorted[0],
        Sorted::Exists(std::sync::Arc::new(profile("1", "Employees")))
    );
    assert_eq!(sorted[1], Sorted::Send);
}

#[test]
fn duplicates_in_the_tenant_are_an_error_never_a_silent_pick() {
    let fresh = TenantProfiles::new(
        vec![profile("1", "Employees"), profile("2", "employees")],
        vec![],
    );
    match &sort_members(&["Employees"], &fresh)[0] {
        Sorted::DuplicateInTenant { ids } => {
            let mut ids = ids.clone();
            ids.sort();
            assert_eq!(ids, vec!["1", "2"]);
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
}

#[test]
fn a_second_member_with_the_same_name_is_never_sent() {
    let fresh = TenantProfiles::default();
    let sorted = sort_members(&["Employees", "x", "EMPLOYEES"], &fresh);
    assert_eq!(sorted[0], Sorted::Send);
    assert_eq!(sorted[1], Sorted::Send);
    assert_eq!(
        sorted[2],
        Sorted::SameNameInWave {
            first: "Employees".into()
        }
    );
}

#[test]
fn a_malformed_profile_with_the_name_stops_that_member() {
    let malformed = MalformedProfile {
        id: Some("9".into()),
        name: Some("Broken".into()),
        error: "missing authoritativeSource".into(),
    };
    let fresh = TenantProfiles::new(vec![], vec![malformed]);
    assert!(matches!(
        &sort_members(&["broken"], &fresh)[0],
        Sorted::Malformed(text) if text.contains("missing authoritativeSource")
    ));
}

#[test]
fn batches_are_at_most_the_batch_size_in_order() {
    let all: Vec<usize> = (0..120).collect();
    let split = batches(&all, 50);
    assert_eq!(
        split.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![50, 50, 20]
    );
    assert_eq!(split[2][0], 100);
    assert!(batches(&[], 50).is_empty());
    assert_eq!(
        batches(&[1, 2], 0).len(),
        2,
        "a zero size still makes progress"
    );
}

#[test]
fn import_results_map_back_by_name_and_by_error_index() {
    let names = ["Alpha", "Beta", "Gamma", "Delta"];
    let answers = map_import_result(
        &names,
        &result(json!({
            "infos": [], "warnings": [],
            "errors": [
                {"key": "UNKNOWN_REFERENCE_RESOLVER", "text": "no such source", "details": {"index": 1}},
                {"key": "INVALID_OBJECT", "text": "bad", "details": {"objectName": "gamma"}},
            ],
            "importedObjects": [{"type": "IDENTITY_PROFILE", "id": "id-a", "name": "ALPHA"}],
        })),
    );
    assert_eq!(answers[0], Imported::Created("id-a".into()));
    assert_eq!(
        answers[1],
        Imported::Refused {
            key: "UNKNOWN_REFERENCE_RESOLVER".into(),
            text: "no such source".into()
        }
    );
    assert!(matches!(&answers[2], Imported::Refused { key, .. } if key == "INVALID_OBJECT"));
    assert_eq!(
        answers[3],
        Imported::Unknown {
            unattributed: vec![]
        },
        "not mentioned: unknown, the next list decides"
    );
}

#[test]
fn an_error_that_names_no_object_is_shown_with_the_unknown_ones() {
    let answers = map_import_result(
        &["Alpha"],
        &result(json!({
            "infos": [], "warnings": [], "importedObjects": [],
            "errors": [{"key": "BOOM", "text": "whole import failed", "details": {"index": 7}}],
        })),
    );
    assert_eq!(
        answers[0],
        Imported::Unknown {
            unattributed: vec!["BOOM: whole import failed".into()]
        }
    );
}

#[test]
fn an_object_both_imported_and_in_error_exists() {
    let answers = map_import_result(
        &["Alpha"],
        &result(json!({
            "infos": [], "warnings": [],
            "errors": [{"key": "WARNING_LIKE", "text": "x", "details": {"index": 0}}],
            "importedObjects": [{"type": "IDENTITY_PROFILE", "id": "id-a", "name": "Alpha"}],
        })),
    );
    assert_eq!(answers[0], Imported::Created("id-a".into()));
}

#[test]
fn a_created_profile_is_the_body_sent_with_the_tenants_id() {
    let mut body = profile("ignored", "Alpha");
    body.id = None;
    let created = created_profile(body.clone(), "id-a".into());
    assert_eq!(created.id.as_deref(), Some("id-a"));
    assert_eq!(created.name, body.name);
}

#[test]
fn the_fresh_list_is_filtered_by_name_only_when_that_is_cheaper() {
    assert!(!list_by_names(0, 1), "an empty tenant: one list call");
    assert!(!list_by_names(400, 3), "2 pages vs 3 filtered calls");
    assert!(!list_by_names(400, 2), "2 pages vs 2 filtered calls");
    assert!(list_by_names(1000, 1), "4 pages vs 1 filtered call");
    assert!(list_by_names(10_000, 10), "40 pages vs 10 filtered calls");
}

#[test]
fn names_are_looked_up_in_calls_bounded_by_count_and_bytes() {
    let short: Vec<String> = (0..300).map(|i| format!("Profile {i:05}")).collect();
    let short: Vec<&str> = short.iter().map(String::as_str).collect();
    let chunks = name_chunks(&short);
    assert_eq!(
        chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
        vec![250, 50],
        "13-byte names: a page of names per call"
    );
    let long = "x".repeat(128);
    let long: Vec<&str> = vec![long.as_str(); 100];
    let chunks = name_chunks(&long);
    assert!(chunks.iter().all(|c| c.len() * 128 <= 4000), "bytes bound");
    assert_eq!(
        chunks.iter().map(|c| c.len()).sum::<usize>(),
        100,
        "in order, all"
    );
    assert_eq!(chunks.len(), 100usize.div_ceil(4000 / 128));
    let huge = "y".repeat(5000);
    assert_eq!(
        name_chunks(&[huge.as_str(), "a"]).len(),
        2,
        "a longer name goes alone"
    );
    assert!(name_chunks(&[]).is_empty());
}

#[test]
fn settings_follow_the_tenant_spec() {
    let spec: TenantSpec = serde_json::from_value(json!({
        "baseUrl": "https://acme.api.identitynow.com",
        "credentialsSecretRef": {"name": "creds"},
    }))
    .unwrap();
    assert_eq!(
        WaveSettings::from_spec(&spec),
        WaveSettings {
            use_import: true,
            import_batch_size: 50
        }
    );
    let spec: TenantSpec = serde_json::from_value(json!({
        "baseUrl": "https://acme.api.identitynow.com",
        "credentialsSecretRef": {"name": "creds"},
        "creation": {"method": "Individual", "importBatchSize": 7},
    }))
    .unwrap();
    let settings = WaveSettings::from_spec(&spec);
    assert!(!settings.use_import);
    assert_eq!(settings.import_batch_size, 7);
}

#[tokio::test(start_paused = true)]
async fn gathering_ends_after_a_quiet_window_or_at_the_cap() {
    let waves = CreateWaves::new(WaveSettings {
        use_import: true,
        import_batch_size: 1,
    });
    let member = || {
        let (answer, _) = oneshot::channel();
        Member {
            body: profile("x", "x"),
            answer,
        }
    };
    let id = waves.join(member()).expect("the first joiner drives");
    assert!(waves.join(member()).is_none(), "later joiners wait");
    let started = Instant::now();
    waves.gather(id).await;
    assert_eq!(started.elapsed(), QUIET, "quiet window after the last join");
    assert_eq!(waves.take(id).len(), 2);
    // A full wave (cap = 10 batches of 1) stops gathering at once.
    let id = waves.join(member()).expect("a new wave");
    for _ in 1..CAP_BATCHES {
        waves.join(member());
    }
    let started = Instant::now();
    waves.gather(id).await;
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(waves.take(id).len(), CAP_BATCHES);
}

/// How long a new wave of `waves` gathers while a member joins every half quiet window.
async fn gathering_under_steady_joins(waves: &std::sync::Arc<CreateWaves>) -> Duration {
    gathering_under_steady_joins_every(waves, QUIET / 2).await
}

/// How long a new wave of `waves` gathers while a member joins every `every`.
async fn gathering_under_steady_joins_every(
    waves: &std::sync::Arc<CreateWaves>,
    every: Duration,
) -> Duration {
    let (answer, _) = oneshot::channel();
    let id = waves
        .join(Member {
            body: profile("x", "x"),
            answer,
        })
        .expect("driver");
    let joiner = std::sync::Arc::clone(waves);
    let keep_joining = tokio::spawn(async move {
        for i in 0..100 {
            tokio::time::sleep(every).await;
            let (answer, _) = oneshot::channel();
            joiner.join(Member {
                body: profile("y", &format!("y{i}")),
                answer,
            });
        }
    });
    let started = Instant::now();
    waves.gather(id).await;
    keep_joining.abort();
    drop(waves.take(id));
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_wave_never_gathers_longer_than_the_maximum() {
    let waves = std::sync::Arc::new(CreateWaves::new(WaveSettings {
        use_import: true,
        import_batch_size: 50,
    }));
    assert_eq!(gathering_under_steady_joins(&waves).await, MAX_GATHER);
}

#[tokio::test]
async fn a_driver_dropped_while_gathering_closes_its_wave() {
    let waves = CreateWaves::new(WaveSettings {
        use_import: true,
        import_batch_size: 50,
    });
    let (answer, answered) = oneshot::channel();
    let id = waves
        .join(Member {
            body: profile("x", "x"),
            answer,
        })
        .expect("driver");
    drop(OpenWave {
        waves: &waves,
        id: Some(id),
    });
    assert!(
        answered.await.is_err(),
        "the member learns the wave is gone"
    );
    assert!(
        waves.gathering.lock().unwrap().is_none(),
        "the next joiner opens a new wave"
    );
}

/// A member whose answer nobody reads.
fn idle_member(name: &str) -> Member {
    let (answer, _) = oneshot::channel();
    Member {
        body: profile("x", name),
        answer,
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_wave_gathers_until_the_previous_one_finished_sending() {
    let waves = std::sync::Arc::new(CreateWaves::new(WaveSettings {
        use_import: false,
        import_batch_size: 1,
    }));
    // Wave 1 is sending (between its take and its last answer) for 30 s.
    let sending = Sending::start(&waves);
    let id = waves.join(idle_member("a")).expect("wave 2's driver");
    let joiner = std::sync::Arc::clone(&waves);
    let late_joins = tokio::spawn(async move {
        // Members keep joining, more than the cap, long after the quiet window and the
        // maximum gathering time.
        for i in 0..3 * CAP_BATCHES {
            tokio::time::sleep(Duration::from_secs(1)).await;
            joiner.join(idle_member(&format!("m{i}")));
        }
    });
    let release = async {
        tokio::time::sleep(Duration::from_secs(30) + Duration::from_millis(500)).await;
        drop(sending);
    };
    let started = Instant::now();
    tokio::join!(waves.gather(id), release);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(30) + Duration::from_millis(500),
        "no list while the previous wave sends; at once when it ends"
    );
    late_joins.await.expect("joins");
    assert_eq!(
        waves.take(id).len(),
        1 + 3 * CAP_BATCHES,
        "every member that became ready meanwhile is in the wave"
    );
}

#[tokio::test(start_paused = true)]
async fn a_sending_wave_whose_driver_is_dropped_releases_the_next_one() {
    let waves = CreateWaves::new(WaveSettings {
        use_import: true,
        import_batch_size: 50,
    });
    let sending = Sending::start(&waves);
    let id = waves.join(idle_member("a")).expect("driver");
    let started = Instant::now();
    let dropped_later = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(sending);
    };
    tokio::join!(waves.gather(id), dropped_later);
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(!waves.sending.load(Ordering::Acquire));
    assert_eq!(waves.take(id).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_one_by_one_wave_gathers_briefly_when_no_other_wave_sends() {
    let waves = std::sync::Arc::new(CreateWaves::new(WaveSettings {
        use_import: false,
        import_batch_size: 50,
    }));
    let id = waves.join(idle_member("a")).expect("driver");
    waves.join(idle_member("b"));
    let started = Instant::now();
    waves.gather(id).await;
    assert_eq!(started.elapsed(), QUIET_ONE_BY_ONE);
    assert_eq!(waves.take(id).len(), 2);
    assert_eq!(
        gathering_under_steady_joins_every(&waves, QUIET_ONE_BY_ONE / 2).await,
        MAX_GATHER_ONE_BY_ONE
    );
}
