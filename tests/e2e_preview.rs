//! End to end on a real kube-apiserver: a change to a profile's attribute mappings under
//! `managementPolicy: Observe` shows in `status.attributePreview` the same before/after values
//! `isc-operator plan` prints for the same manifest, and the tenant sees reads and preview calls
//! only (one preview per sample identity, not one per resync).

pub mod support;

use std::process::Command;
use std::time::Duration;

use isc_operator::api::identity_profile::AttributePreview;
use isc_operator::controller::profile::identity_preview;
use serde_json::json;
use support::e2e::*;
use support::{USER_CLIENT_ID, USER_CLIENT_SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_isc-operator");

/// The Observe manifest: `email` from `uid`, `lastname` from `title` (which no account has).
fn observe_manifest() -> String {
    profile_yaml(
        "staff",
        "Staff",
        &format!(
            "  managementPolicy: Observe\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n  identityAttributeConfig:\n    attributeTransforms:\n    - identityAttributeName: email\n      transformDefinition: {{type: accountAttribute, attributes: {{attributeName: uid}}}}\n    - identityAttributeName: lastname\n      transformDefinition: {{type: accountAttribute, attributes: {{attributeName: title}}}}\n"
        ),
    )
}

fn operation_count(calls: &[isc_sim::JournalEntry], operation: &str) -> usize {
    calls
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some(operation))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_shows_the_values_plan_prints_with_preview_calls_only() {
    let env = Env::new("preview").await;
    let mapping = |attribute: &str| {
        json!({"identityAttributeName": attribute, "transformDefinition": {"type": "accountAttribute",
            "attributes": {"attributeName": attribute, "sourceName": "HR Employees", "sourceId": SOURCE_EMPLOYEES}}})
    };
    env.admin
        .put_profile(json!({"name": "Staff",
            "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"},
            "identityAttributeConfig": {"enabled": true,
                "attributeTransforms": [mapping("email"), mapping("lastname")]}}))
        .await;

    // The plan of the manifest, from the command line.
    let manifest = std::env::temp_dir().join(format!(
        "isc-e2e-preview-{}-{}.yaml",
        env.ns,
        std::process::id()
    ));
    std::fs::write(&manifest, observe_manifest()).unwrap();
    let out = Command::new(BIN)
        .args(["plan", "--base-url", &env.sim.base_url()])
        .args(["--client-id", USER_CLIENT_ID, "--detailed-exitcode", "-f"])
        .arg(&manifest)
        .env("ISC_CLIENT_SECRET", USER_CLIENT_SECRET)
        .env("ISC_LOG", "warn")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&manifest);
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    // Observe: the plan is shown, nothing would be applied (exit 0 for an Observe-only plan).
    assert_eq!(out.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("attribute preview on 3 identities"),
        "{printed}"
    );

    // The operator under Observe.
    env.admin.clear_journal().await;
    env.apply_tenant(2).await;
    env.apply(&observe_manifest()).await;
    let preview: AttributePreview = env
        .wait_for(
            "status.attributePreview",
            Duration::from_secs(60),
            || async {
                let p = env.profiles().get_opt("staff").await.ok()??;
                let status = p.status?;
                (status.observed_generation == p.metadata.generation)
                    .then_some(status.attribute_preview.map(|p| *p))?
            },
        )
        .await;
    assert_eq!(preview.message, None);
    assert_eq!(preview.entries.len(), 6, "{preview:?}");
    // The same rows, printed the same way.
    let shown = identity_preview::render(&preview, "    ");
    assert!(printed.contains(&shown), "{shown}\nnot in\n{printed}");
    assert!(
        shown.contains("Ada Lovelace  email: \"ada.lovelace@example.com\" -> \"ada.lovelace\""),
        "{shown}"
    );

    // Three resync sweeps later the preview was still made once: reads and previews only.
    env.wait_for("three resync sweeps", Duration::from_secs(60), || async {
        let calls = env.admin.api_calls().await;
        (operation_count(&calls, "listIdentityProfiles") >= 4).then_some(())
    })
    .await;
    let calls = env.admin.api_calls().await;
    assert_eq!(operation_count(&calls, "listIdentities"), 1);
    assert_eq!(operation_count(&calls, "generateIdentityPreview"), 3);
    let writes: Vec<String> = env
        .tenant_writes()
        .await
        .into_iter()
        .filter_map(|e| e.operation_id)
        .filter(|op| op != "generateIdentityPreview")
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "Observe writes nothing");
    let tenant = env.tenant_profiles().await;
    let staff = tenant.iter().find(|p| p["name"] == "Staff").unwrap();
    assert_eq!(
        staff["identityAttributeConfig"]["attributeTransforms"][0]["transformDefinition"]["attributes"]
            ["attributeName"],
        "email"
    );
}
