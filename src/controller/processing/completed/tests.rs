use super::*;
use crate::api::ProcessingRequest;

fn spec(yaml_spec: &str) -> ProcessingRequestSpec {
    let obj: ProcessingRequest = serde_yaml_ng::from_str(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: ProcessingRequest\nmetadata:\n  name: r\nspec:\n{yaml_spec}"
    ))
    .unwrap();
    obj.spec
}

const PROCESS: &str =
    "  tenantRef: {name: t}\n  action: ProcessIdentities\n  identities: {ids: [a1, b2]}\n";

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn run(uid: &str, hash: &str, finished: i64) -> CompletedRun {
    CompletedRun {
        spec_hash: hash.into(),
        outcome: Phase::Succeeded,
        completed_at: Time(at(finished)),
        uid: uid.into(),
    }
}

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn the_hash_is_the_specs_and_ignores_key_order() {
    let a = spec(PROCESS);
    let reordered = spec(
        "  identities: {ids: [a1, b2]}\n  action: ProcessIdentities\n  tenantRef: {name: t}\n",
    );
    assert_eq!(spec_hash(&a), spec_hash(&reordered));
    assert_eq!(spec_hash(&a).len(), 64);
    assert!(spec_hash(&a).chars().all(|c| c.is_ascii_hexdigit()));
    let other_ids = spec(
        "  tenantRef: {name: t}\n  action: ProcessIdentities\n  identities: {ids: [b2, a1]}\n",
    );
    assert_ne!(
        spec_hash(&a),
        spec_hash(&other_ids),
        "order of ids is part of the spec"
    );
    let with_ttl = spec(&format!("{PROCESS}  ttlSecondsAfterFinished: 60\n"));
    assert_ne!(spec_hash(&a), spec_hash(&with_ttl));
    // A known value, so the hash never changes between releases by accident.
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn only_another_objects_run_of_the_same_spec_within_the_window_counts() {
    let mut runs = CompletedRuns::default();
    runs.record("r", run("uid-1", "h1", 0), at(0), 7 * DAY);
    let now = at(3600);
    assert_eq!(
        runs.earlier_run("r", "uid-2", "h1", now, 7 * DAY),
        Some(&run("uid-1", "h1", 0))
    );
    assert_eq!(
        runs.earlier_run("r", "uid-1", "h1", now, 7 * DAY),
        None,
        "its own record"
    );
    assert_eq!(
        runs.earlier_run("r", "uid-2", "h2", now, 7 * DAY),
        None,
        "another spec"
    );
    assert_eq!(
        runs.earlier_run("s", "uid-2", "h1", now, 7 * DAY),
        None,
        "another name"
    );
    let later = at(7 * 86_400);
    assert_eq!(
        runs.earlier_run("r", "uid-2", "h1", later, 7 * DAY),
        None,
        "window over"
    );
}

#[test]
fn records_survive_the_config_map_and_bad_entries_are_dropped() {
    let mut runs = CompletedRuns::default();
    runs.record("r", run("uid-1", "h1", 0), at(0), DAY);
    let mut data = runs.to_data();
    assert!(data["r"].contains("\"specHash\":\"h1\""), "{data:?}");
    assert!(data["r"].contains("\"completedAt\""), "{data:?}");
    data.insert("junk".into(), "not json".into());
    let read = CompletedRuns::from_data(Some(&data));
    assert_eq!(read, runs);
    assert!(CompletedRuns::from_data(None).is_empty());
}

#[test]
fn old_records_are_pruned_when_written() {
    let mut runs = CompletedRuns::default();
    runs.record("old", run("u1", "h", 0), at(0), DAY);
    runs.record("new", run("u2", "h", 86_000), at(86_000), DAY);
    assert_eq!(runs.len(), 2);
    runs.record("newer", run("u3", "h", 90_000), at(90_000), DAY);
    assert_eq!(runs.len(), 2, "the first is older than a day");
    assert!(runs.get("old").is_none());
}

#[test]
fn the_records_are_bounded_and_the_oldest_go_first() {
    let mut runs = CompletedRuns::default();
    for i in 0..(MAX_ENTRIES + 9) {
        let seconds = i64::try_from(i).unwrap();
        runs.entries.insert(format!("r{i}"), run("u", "h", seconds));
    }
    runs.record("last", run("u", "h", 5000), at(5000), DAY);
    assert_eq!(runs.len(), MAX_ENTRIES);
    assert!(runs.get("r9").is_none() && runs.get("r10").is_some());
    assert!(runs.get("last").is_some());
    // Entries larger than any today (a longer value format): the byte bound holds first.
    let mut large = CompletedRuns::default();
    let large_hash = "h".repeat(2000);
    for i in 0..400i64 {
        let seconds = i;
        large
            .entries
            .insert(format!("{i:0>253}"), run("u", &large_hash, seconds));
    }
    large.prune(at(400), DAY);
    let bytes: usize = large.to_data().iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(bytes <= MAX_BYTES, "{bytes}");
    assert!(large.len() < 400 && large.len() > 200, "{}", large.len());
    assert!(
        large.get(&format!("{:0>253}", 399)).is_some(),
        "the newest stay"
    );
}

#[test]
fn a_request_that_finds_its_earlier_run_ends_succeeded_naming_it() {
    let mut status = ProcessingRequestStatus::default();
    let earlier = CompletedRun {
        outcome: Phase::Failed,
        ..run("uid-1", "h", 0)
    };
    let message = mark_already_completed(&mut status, &earlier, 7 * DAY, Some(1));
    assert_eq!(status.phase, Some(Phase::Succeeded));
    assert_eq!(status.previous_run, Some(earlier.previous_run()));
    assert!(
        message.contains("failed at 2027-01-15T08:00:00Z"),
        "{message}"
    );
    assert!(
        message.contains("uid-1") && message.contains("generateName"),
        "{message}"
    );
    let complete =
        crate::controller::status::find_condition(&status.conditions, condition::COMPLETE).unwrap();
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        (TRUE, super::super::progress::ALREADY_COMPLETED)
    );
}
