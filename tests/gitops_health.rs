//! The Argo CD health scripts (`deploy/argocd/*.lua`, run by gopher-lua as Argo CD runs them)
//! and kstatus (`sigs.k8s.io/cli-utils`) on fixture objects of every state the operator writes
//! (`tests/gitops_fixtures/`), and the two agreeing. Fast, but needs the Go test tool
//! (`tests/tools/kstatus/`), hence feature `e2e`. The end-to-end counterpart, on objects the
//! operator wrote, is `tests/e2e_gitops.rs`.

pub mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::gitops::{Verdict, argocd_health, kstatus, lua_health};

/// Every fixture with its Argo CD health and its kstatus.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("identityprofile-ready", "Healthy", "Current"),
    ("identityprofile-reconciling", "Progressing", "InProgress"),
    ("identityprofile-rate-limited", "Progressing", "InProgress"),
    ("identityprofile-ready-false", "Progressing", "InProgress"),
    ("identityprofile-stalled", "Degraded", "Failed"),
    // An edit after a stall: neither judge blames the new generation for the old one's fault.
    (
        "identityprofile-stalled-stale-generation",
        "Progressing",
        "InProgress",
    ),
    (
        "identityprofile-ready-stale-generation",
        "Progressing",
        "InProgress",
    ),
    ("identityprofile-paused-pending", "Suspended", "InProgress"),
    ("identityprofile-paused-in-sync", "Suspended", "Current"),
    // Paused and needing a person's change: Degraded, as kstatus says Failed (Stalled comes
    // first); paused with transient trouble reading: Suspended.
    ("identityprofile-paused-stalled", "Degraded", "Failed"),
    (
        "identityprofile-paused-reconciling",
        "Suspended",
        "InProgress",
    ),
    (
        "identityprofile-tenant-suspended",
        "Suspended",
        "InProgress",
    ),
    // kstatus assumes an object without conditions is Current (its rule for kinds it does not
    // know); Argo CD health waits for the operator.
    ("identityprofile-no-status", "Progressing", "Current"),
    ("tenant-ready", "Healthy", "Current"),
    ("tenant-reconciling", "Progressing", "InProgress"),
    ("tenant-stalled", "Degraded", "Failed"),
    ("tenant-suspended", "Suspended", "Current"),
    ("tenant-no-status", "Progressing", "Current"),
    ("processingrequest-no-status", "Progressing", "Current"),
    ("processingrequest-running", "Progressing", "InProgress"),
    ("processingrequest-succeeded", "Healthy", "Current"),
    ("processingrequest-already-completed", "Healthy", "Current"),
    ("processingrequest-failed", "Degraded", "Failed"),
    ("processingrequest-paused", "Suspended", "InProgress"),
    // The other tenant-object kinds share the IdentityProfile script and conditions.
    ("identityattribute-ready", "Healthy", "Current"),
    (
        "identityattribute-user-context-required",
        "Degraded",
        "Failed",
    ),
    ("transform-reconciling", "Progressing", "InProgress"),
    ("transform-ambiguous-reference", "Degraded", "Failed"),
    ("transform-paused", "Suspended", "InProgress"),
    (
        "lifecyclestate-waiting-for-dependencies",
        "Progressing",
        "InProgress",
    ),
    ("lifecyclestate-no-status", "Progressing", "Current"),
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gitops_fixtures")
}

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The condition of `type_` that is True, if any.
fn true_condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_ && c["status"] == "True")
}

#[test]
fn every_fixture_has_an_expectation() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("tests/gitops_fixtures/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = EXPECTED.iter().map(|(n, _, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(on_disk, expected);
}

#[test]
fn argocd_health_of_every_fixture() {
    let mut wrong = Vec::new();
    for (name, health, _) in EXPECTED {
        let got = argocd_health(&fixture(name));
        if got.status != *health {
            wrong.push(format!("{name}: expected {health}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn kstatus_of_every_fixture() {
    let mut wrong = Vec::new();
    for (name, _, status) in EXPECTED {
        let got = kstatus(&fixture(name));
        if got.status != *status {
            wrong.push(format!("{name}: expected {status}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The two judges agree wherever both have a word for the state: Healthy is Current, Degraded
/// is Failed, Progressing is InProgress (but for an object without status, see above).
/// Suspended has no kstatus word: Current when nothing is held, InProgress when a write is.
#[test]
fn argocd_health_and_kstatus_agree() {
    for (name, _, _) in EXPECTED {
        let obj = fixture(name);
        let health = argocd_health(&obj).status;
        let status = kstatus(&obj).status;
        let has_status = obj.get("status").is_some();
        let agree = match health.as_str() {
            "Healthy" => status == "Current",
            "Degraded" => status == "Failed",
            "Progressing" if has_status => status == "InProgress",
            "Progressing" => status == "Current",
            "Suspended" => status == "Current" || status == "InProgress",
            _ => false,
        };
        assert!(agree, "{name}: Argo CD {health} but kstatus {status}");
    }
}

/// Degraded and Suspended carry the condition's own message (what a person must act on);
/// Progressing names the generation the operator has not observed yet.
#[test]
fn argocd_messages_come_from_the_conditions() {
    for (name, health, _) in EXPECTED {
        let obj = fixture(name);
        let got = argocd_health(&obj);
        let expected_text = match *health {
            "Degraded" => true_condition(&obj, "Stalled"),
            "Suspended" => true_condition(&obj, "Suspended"),
            _ => None,
        }
        .map(|c| c["message"].as_str().unwrap().to_string());
        if let Some(text) = expected_text {
            assert!(
                got.message.ends_with(&text),
                "{name}: message {:?} is not the condition's {text:?}",
                got.message
            );
        }
    }
    let stale = argocd_health(&fixture("identityprofile-ready-stale-generation"));
    assert_eq!(
        stale.message,
        "Waiting for the operator to observe generation 3"
    );
}

/// The tool runs scripts as Argo CD does: a status outside Argo CD's set becomes Unknown with
/// Argo CD's message; what fails in Argo CD fails here.
#[test]
fn the_tool_judges_scripts_as_argocd_does() {
    let dir = std::env::temp_dir().join(format!("gitops-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let invalid = dir.join("invalid.lua");
    std::fs::write(&invalid, "return { status = \"Fine\", message = \"x\" }\n").unwrap();
    assert_eq!(
        lua_health(&invalid, &obj),
        Verdict {
            status: "Unknown".into(),
            message: "Lua returned an invalid health status".into()
        }
    );
    let numbers = dir.join("numbers.lua");
    std::fs::write(
        &numbers,
        "return { status = \"Healthy\", message = \"generation \" .. obj.metadata.generation }\n",
    )
    .unwrap();
    let with_generation = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "generation": 7}});
    assert_eq!(
        lua_health(&numbers, &with_generation).message,
        "generation 7"
    );
    // Errors in Argo CD, so errors here: the string library is not open; an empty table
    // encodes as a JSON array, which is no health status.
    let obj_file = dir.join("obj.json");
    std::fs::write(&obj_file, obj.to_string()).unwrap();
    for (script, error) in [
        (
            "return { status = string.upper(\"healthy\") }\n",
            "attempt to index a non-table object(nil) with key 'upper'",
        ),
        ("return {}\n", "cannot unmarshal array"),
    ] {
        let path = dir.join("failing.lua");
        std::fs::write(&path, script).unwrap();
        let out = std::process::Command::new(support::gitops::tool())
            .args([
                "lua-health",
                path.to_str().unwrap(),
                obj_file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(error),
            "{script}: must fail with {error:?}: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
