//! `isc-operator plan` on a change to a profile's attribute mappings: before/after values of
//! sample identities from the tenant's identity preview, never a write.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use isc_sim::testing::{self as support, SimAdmin};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_isc-operator");

/// A simulator holding profile "Staff" (HR Employees) whose `email` and `lastname` come from
/// the account attributes of the same name.
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
        let source = &isc_sim::Seed::builtin().sources[0];
        let mapping = |attribute: &str| {
            json!({"identityAttributeName": attribute, "transformDefinition": {"type": "accountAttribute",
                "attributes": {"attributeName": attribute, "sourceName": source.name, "sourceId": source.id}}})
        };
        rt.block_on(admin.put_profile(json!({"name": "Staff",
            "authoritativeSource": {"type": "SOURCE", "id": source.id, "name": source.name},
            "identityAttributeConfig": {"enabled": true,
                "attributeTransforms": [mapping("email"), mapping("lastname")]}})));
        rt.block_on(admin.clear_journal());
        let dir =
            std::env::temp_dir().join(format!("isc-plan-preview-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        World {
            rt,
            sim,
            admin,
            dir,
        }
    }

    /// A manifest for "Staff" whose `email` comes from `uid` and `lastname` from `title` (which
    /// no account has).
    fn mapping_change(&self) -> PathBuf {
        let source = &isc_sim::Seed::builtin().sources[0];
        let yaml = format!(
            "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata: {{name: staff}}\nspec:\n  tenantRef: {{name: demo}}\n  name: Staff\n  authoritativeSource: {{id: {}}}\n  identityAttributeConfig:\n    attributeTransforms:\n    - identityAttributeName: email\n      transformDefinition: {{type: accountAttribute, attributes: {{attributeName: uid}}}}\n    - identityAttributeName: lastname\n      transformDefinition: {{type: accountAttribute, attributes: {{attributeName: title}}}}\n",
            source.id
        );
        let path = self.dir.join("staff.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    fn plan(&self, file: &Path, client: (&str, &str), extra: &[&str]) -> Output {
        Command::new(BIN)
            .args([
                "plan",
                "--base-url",
                &self.sim.base_url(),
                "--client-id",
                client.0,
            ])
            .args(["--detailed-exitcode", "-f", file.to_str().unwrap()])
            .args(extra)
            .env("ISC_CLIENT_SECRET", client.1)
            .env("ISC_LOG", "warn")
            .output()
            .unwrap()
    }

    /// Operation ids of the tenant calls since the journal was cleared.
    fn calls(&self) -> Vec<String> {
        self.rt
            .block_on(self.admin.api_calls())
            .into_iter()
            .map(|e| e.operation_id.unwrap_or(e.path))
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const USER: (&str, &str) = (support::USER_CLIENT_ID, support::USER_CLIENT_SECRET);
const APP: (&str, &str) = (support::APP_CLIENT_ID, support::APP_CLIENT_SECRET);

#[test]
fn plan_shows_before_and_after_values_of_sample_identities_and_exits_2() {
    let world = World::new("user");
    let out = world.plan(&world.mapping_change(), USER, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "    attribute preview on 3 identities of the profile (attribute: before -> after):\n"
        ),
        "{stdout}"
    );
    // The first three identities of HR Employees in the built-in seed.
    for (name, alias) in [
        ("Ada Lovelace", "ada.lovelace"),
        ("Alan Lovelace", "alan.lovelace"),
        ("Claude Lovelace", "claude.lovelace"),
    ] {
        let email = format!("      {name}  email: \"{alias}@example.com\" -> \"{alias}\"\n");
        assert!(stdout.contains(&email), "{email} in {stdout}");
        let lastname = format!(
            "      {name}  lastname: \"Lovelace\" -> (none)  [error: The account has no value for attribute 'title']\n"
        );
        assert!(stdout.contains(&lastname), "{lastname} in {stdout}");
    }
    assert!(
        stdout.ends_with("1 of 1 profile(s) would change the tenant.\n"),
        "{stdout}"
    );
    // Reads and preview calls only: the profile list, one page of identities, one preview
    // per sample identity.
    assert_eq!(
        world.calls(),
        [
            "listIdentityProfiles",
            "listIdentities",
            "generateIdentityPreview",
            "generateIdentityPreview",
            "generateIdentityPreview",
        ]
    );
}

#[test]
fn the_sample_size_is_configurable_and_zero_turns_previews_off() {
    let world = World::new("size");
    let out = world.plan(
        &world.mapping_change(),
        USER,
        &["--preview-identities", "1"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("attribute preview on 1 identity of the profile"),
        "{stdout}"
    );
    assert!(stdout.contains("      Ada Lovelace  email:"), "{stdout}");
    assert!(!stdout.contains("Alan Lovelace"), "{stdout}");
    let previews = |calls: Vec<String>| {
        calls
            .iter()
            .filter(|c| *c == "generateIdentityPreview")
            .count()
    };
    assert_eq!(previews(world.calls()), 1);

    world.rt.block_on(world.admin.clear_journal());
    let out = world.plan(
        &world.mapping_change(),
        USER,
        &["--preview-identities", "0"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(!stdout.contains("attribute preview"), "{stdout}");
    assert_eq!(world.calls(), ["listIdentityProfiles"]);

    let out = world.plan(
        &world.mapping_change(),
        USER,
        &["--preview-identities", "11"],
    );
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--preview-identities"));
}

#[test]
fn without_user_context_the_plan_says_so_and_still_shows_the_change() {
    let world = World::new("app");
    let out = world.plan(&world.mapping_change(), APP, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "    no preview: listing the profile's identities needs a credential with user context (a personal access token); the tenant answered 403\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("replace /identityAttributeConfig/attributeTransforms/0"),
        "{stdout}"
    );
    assert_eq!(world.calls(), ["listIdentityProfiles", "listIdentities"]);
}
