//! The `isc-operator` binary: the simulator's startup contract and clear errors on bad input.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_isc-operator");

#[test]
fn simulator_prints_one_listening_line_and_serves_tokens() {
    let mut child = Command::new(BIN)
        .args([
            "simulator",
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            "cli-id",
        ])
        .env("ISC_SIM_CLIENT_SECRET", "cli-secret")
        .env("ISC_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn simulator");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the listening line");
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a loopback URL with a port: {url}"));
    assert_ne!(port, 0, "the chosen port is printed, not 0");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        isc_operator::isc::client::install_crypto_provider();
        let http = reqwest::Client::new();
        let ok = http
            .post(format!("{url}/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "cli-id"),
                ("client_secret", "cli-secret"),
            ])
            .send()
            .await
            .unwrap()
            .status();
        let bad = http
            .post(format!("{url}/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "cli-id"),
                ("client_secret", "nope"),
            ])
            .send()
            .await
            .unwrap()
            .status();
        (ok, bad)
    });
    assert_eq!(status.0, 200);
    assert_eq!(status.1, 401);

    child.kill().unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "nothing else on stdout");
}

#[test]
fn a_missing_seed_file_fails_with_a_one_line_cause() {
    let out = Command::new(BIN)
        .args([
            "simulator",
            "--client-id",
            "a",
            "--client-secret",
            "b",
            "--seed",
            "/nonexistent/seed.json",
        ])
        .env("ISC_LOG", "warn")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: cannot load seed /nonexistent/seed.json"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_address_in_use_fails_with_a_one_line_cause() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(BIN)
        .args([
            "simulator",
            "--listen",
            &addr,
            "--client-id",
            "a",
            "--client-secret",
            "b",
        ])
        .env("ISC_LOG", "warn")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .trim()
            .starts_with(&format!("error: cannot listen on {addr}")),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
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
    let admin = support::Admin::new(&sim);
    let source = isc_operator::sim::Seed::builtin().sources[0].id.clone();
    rt.block_on(admin.post(
        "/__sim/identity-profiles",
        serde_json::json!({"name": "Staff", "description": "old",
            "authoritativeSource": {"type": "SOURCE", "id": source, "name": "HR"}}),
    ));
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
        .filter(|e| e["method"] != "GET")
        .collect();
    assert!(writes.is_empty(), "plan never writes: {writes:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
