//! `isc-operator export` and `plan` for the whole identity model (identity attributes,
//! transforms, profiles, lifecycle states) against the simulator: the export plans to nothing,
//! a changed transform plans to one update, and both commands only read.

use std::path::PathBuf;
use std::process::{Command, Output};

use isc_client::models::{IdentityAttribute, ProfileLifecycleState, Transform};
use isc_sim::testing::{self as support, SimAdmin};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_isc-operator");

/// A simulator holding one custom identity attribute, one transform, and profile "Staff" (with
/// a lifecycle state) that maps into both; and a temporary directory for manifests.
struct World {
    rt: tokio::runtime::Runtime,
    sim: isc_sim::RunningSimulator,
    admin: SimAdmin,
    dir: PathBuf,
}

impl World {
    fn new(tag: &str) -> World {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = rt.block_on(support::start_sim(support::sim_config()));
        let admin = SimAdmin::new(&sim);
        let mut config = isc_client::TenantClientConfig::new(
            &sim.base_url(),
            support::USER_CLIENT_ID,
            secrecy::SecretString::from(support::USER_CLIENT_SECRET.to_string()),
        )
        .unwrap();
        config.allow_insecure_http = true;
        let client = isc_client::TenantClient::new(config).unwrap();
        let source = &isc_sim::Seed::builtin().sources[0];
        rt.block_on(async {
            client
                .create_identity_attribute(&IdentityAttribute {
                    name: "costCenter".into(),
                    display_name: Some("Cost Center".into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            let upper = client
                .create_transform(&Transform {
                    name: "Upper Department".into(),
                    kind: "upper".into(),
                    attributes: json!({"input": {"type": "accountAttribute",
                        "attributes": {"attributeName": "department", "sourceName": source.name}}})
                    .as_object()
                    .cloned(),
                    ..Default::default()
                })
                .await
                .unwrap();
            let profile = admin
                .put_profile(json!({"name": "Staff",
                    "authoritativeSource": {"type": "SOURCE", "id": source.id, "name": source.name},
                    "identityAttributeConfig": {"enabled": true, "attributeTransforms": [
                        {"identityAttributeName": "costCenter", "transformDefinition": {"type": "reference",
                            "attributes": {"id": upper.id}}}]}}))
                .await;
            client
                .create_lifecycle_state(
                    profile["id"].as_str().unwrap(),
                    &ProfileLifecycleState {
                        name: "Active".into(),
                        technical_name: "active".into(),
                        enabled: true,
                        account_actions: vec![isc_client::models::AccountAction {
                            action: "ENABLE".into(),
                            source_ids: vec![source.id.clone()],
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            admin.clear_journal().await;
        });
        let dir = std::env::temp_dir().join(format!("isc-cli-model-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        World {
            rt,
            sim,
            admin,
            dir,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .args(["--base-url", &self.sim.base_url()])
            .args(["--client-id", support::USER_CLIENT_ID])
            .env("ISC_CLIENT_SECRET", support::USER_CLIENT_SECRET)
            .env("ISC_LOG", "warn")
            .output()
            .unwrap()
    }

    fn plan(&self) -> (Option<i32>, String) {
        let dir = self.dir.to_str().unwrap();
        let out = self.run(&[
            "plan",
            "--detailed-exitcode",
            "--preview-identities",
            "0",
            "-f",
            dir,
        ]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }

    /// Tenant calls since the journal was cleared, as `METHOD operationId`.
    fn calls(&self) -> Vec<String> {
        self.rt
            .block_on(self.admin.api_calls())
            .into_iter()
            .map(|e| format!("{} {}", e.method, e.operation_id.unwrap_or(e.path)))
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn export_covers_every_kind_and_plans_to_nothing_then_a_changed_transform_plans_one_update() {
    let world = World::new("ids");
    let out = world.run(&["export", "--tenant-ref", "demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let yaml = String::from_utf8(out.stdout).unwrap();
    // System attributes are the tenant's own: left out, with a warning naming them.
    assert!(
        stderr.contains("identity attribute \"cloudLifecycleState\" is a system attribute"),
        "{stderr}"
    );
    assert!(!yaml.contains("name: cloudLifecycleState"), "{yaml}");
    for wanted in [
        "kind: IdentityAttribute",
        "name: costCenter",
        "kind: Transform",
        "name: Upper Department",
        "kind: IdentityProfile",
        "kind: LifecycleState",
        "technicalName: active",
    ] {
        assert!(yaml.contains(wanted), "{wanted} in {yaml}");
    }
    // The lifecycle state names the exported profile object; attributes and transforms come
    // before the profiles that use them.
    assert!(
        yaml.contains("identityProfileRef:\n    name: staff"),
        "{yaml}"
    );
    assert!(
        yaml.find("kind: Transform").unwrap() < yaml.find("kind: IdentityProfile").unwrap(),
        "{yaml}"
    );
    assert_eq!(
        world
            .calls()
            .iter()
            .filter(|c| !c.starts_with("GET "))
            .count(),
        0
    );
    std::fs::write(world.dir.join("exported.yaml"), &yaml).unwrap();

    world.rt.block_on(world.admin.clear_journal());
    let (code, text) = world.plan();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Transform upper-department (\"Upper Department\"): no changes"),
        "{text}"
    );
    assert!(
        text.contains("LifecycleState staff-active (\"active\"): no changes"),
        "{text}"
    );
    assert!(text.contains("\n0 of "), "{text}");

    let changed = yaml.replace("attributeName: department", "attributeName: location");
    assert_ne!(changed, yaml);
    std::fs::write(world.dir.join("exported.yaml"), changed).unwrap();
    world.rt.block_on(world.admin.clear_journal());
    let (code, text) = world.plan();
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains(
            "Transform upper-department (\"Upper Department\"): update\n    replace /attributes = "
        ),
        "{text}"
    );
    assert!(text.contains("\n1 of "), "{text}");
    let calls = world.calls();
    assert!(
        calls.iter().all(|c| c.starts_with("GET ")),
        "a plan only reads: {calls:?}"
    );
    assert!(
        calls.contains(&"GET listTransforms".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"GET getLifecycleStates".to_string()),
        "{calls:?}"
    );
}

#[test]
fn an_export_by_name_holds_no_source_id_and_plans_nothing_on_its_tenant() {
    let world = World::new("names");
    let source = &isc_sim::Seed::builtin().sources[0];
    let out = world.run(&["export", "--tenant-ref", "demo", "--references", "names"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(!yaml.contains(&source.id), "no source id left: {yaml}");
    assert!(
        yaml.contains(&format!("authoritativeSource:\n    name: {}", source.name)),
        "{yaml}"
    );
    assert!(
        yaml.contains(&format!("sourceNames:\n    - {}", source.name)),
        "{yaml}"
    );
    std::fs::write(world.dir.join("exported.yaml"), &yaml).unwrap();
    world.rt.block_on(world.admin.clear_journal());
    // The names resolve to this tenant's ids: nothing to change.
    let (code, text) = world.plan();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("0 of 1 profile(s) would change the tenant."),
        "{text}"
    );
    assert!(text.contains("\n0 of "), "{text}");
    let calls = world.calls();
    assert!(calls.iter().all(|c| c.starts_with("GET ")), "{calls:?}");
    assert!(calls.contains(&"GET listSources".to_string()), "{calls:?}");
}
