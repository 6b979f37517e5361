//! The `isc-operator` binary: clear errors on bad input, and no simulator inside.

use isc_sim::testing as support;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_isc-operator");

#[test]
fn the_operator_binary_has_no_simulator() {
    // The simulator ships as its own binary (`isc-sim`); the operator image does not contain it.
    let out = Command::new(BIN).arg("simulator").output().expect("run");
    assert!(!out.status.success());
    let help = Command::new(BIN).arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("export"), "{help}");
    assert!(!help.contains("simulator"), "{help}");
}

#[test]
fn export_without_a_secret_fails_with_a_one_line_cause() {
    let out = Command::new(BIN)
        .args([
            "export",
            "--base-url",
            "http://127.0.0.1:9",
            "--client-id",
            "a",
        ])
        .env_remove("ISC_CLIENT_SECRET")
        .env("ISC_LOG", "warn")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "error: set the client secret in the environment variable ISC_CLIENT_SECRET"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn plan_previews_changes_without_writing_and_signals_them_in_the_exit_code() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt.block_on(support::start_sim(support::sim_config()));
    let admin = support::SimAdmin::new(&sim);
    let source = isc_sim::Seed::builtin().sources[0].id.clone();
    rt.block_on(
        admin.put_profile(serde_json::json!({"name": "Staff", "description": "old",
            "authoritativeSource": {"type": "SOURCE", "id": source, "name": "HR"}})),
    );
    rt.block_on(admin.clear_journal());
    let dir = std::env::temp_dir().join(format!("isc-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = |description: &str, extra: bool| {
        let mut yaml = format!(
            "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata: {{name: staff}}\nspec:\n  tenantRef: {{name: demo}}\n  name: Staff\n  description: {description}\n  authoritativeSource: {{id: {source}}}\n"
        );
        if extra {
            yaml.push_str(&format!(
                "---\napiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata: {{name: fresh}}\nspec:\n  tenantRef: {{name: demo}}\n  name: Fresh\n  authoritativeSource: {{id: {source}}}\n"
            ));
        }
        let path = dir.join(format!("{description}.yaml"));
        std::fs::write(&path, yaml).unwrap();
        path
    };
    let plan = |file: &std::path::Path| {
        Command::new(BIN)
            .args([
                "plan",
                "--base-url",
                &sim.base_url(),
                "--client-id",
                support::USER_CLIENT_ID,
                "--detailed-exitcode",
                "-f",
                file.to_str().unwrap(),
            ])
            .env("ISC_CLIENT_SECRET", support::USER_CLIENT_SECRET)
            .env("ISC_LOG", "warn")
            .output()
            .unwrap()
    };

    let out = plan(&manifest("new", true));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("IdentityProfile staff (\"Staff\"): 1 PATCH call(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("replace /description = \"new\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("IdentityProfile fresh (\"Fresh\"): create"),
        "{stdout}"
    );

    // A directory works too: every *.yaml in it.
    let out = plan(&dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 of 2 profile(s) would change"));

    let out = plan(&manifest("old", false));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("IdentityProfile staff (\"Staff\"): no changes"),
        "{stdout}"
    );

    let writes: Vec<_> = rt
        .block_on(admin.api_calls())
        .into_iter()
        .filter(|e| e.method != "GET")
        .collect();
    assert!(writes.is_empty(), "plan never writes: {writes:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
