//! The `isc-sim` binary: its startup contract (one `listening on URL` line) and one-line
//! errors on bad input.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_isc-sim");

#[test]
fn help_works_on_its_own() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--listen"), "{help}");
    assert!(help.contains("--client-id"), "{help}");
}

#[test]
fn simulator_prints_one_listening_line_and_serves_tokens() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--client-id", "cli-id"])
        .env("ISC_SIM_CLIENT_SECRET", "cli-secret")
        .env("ISC_SIM_LOG", "warn")
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
        isc_client::client::install_crypto_provider();
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
            "--client-id",
            "a",
            "--client-secret",
            "b",
            "--seed",
            "/nonexistent/seed.json",
        ])
        .env("ISC_SIM_LOG", "warn")
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
            "--listen",
            &addr,
            "--client-id",
            "a",
            "--client-secret",
            "b",
        ])
        .env("ISC_SIM_LOG", "warn")
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

/// Starts the binary with `args`; returns its base URL and the child.
fn spawn_sim(args: &[&str]) -> (String, std::process::Child) {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--client-id", "cli-id"])
        .args(args)
        .env("ISC_SIM_CLIENT_SECRET", "cli-secret")
        .env("ISC_SIM_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn simulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read the listening line");
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (url, child)
}

#[test]
fn source_id_options_give_a_second_tenant_the_same_names_under_other_ids() {
    let (default_url, mut default_sim) = spawn_sim(&[]);
    let (other_url, mut other_sim) = spawn_sim(&[
        "--tenant-source-ids",
        "production",
        "--source-id",
        "HR Employees=prod-employees",
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let [default_sources, other_sources] = [&default_url, &other_url].map(|url| {
        rt.block_on(async {
            isc_client::client::install_crypto_provider();
            let http = reqwest::Client::new();
            let token: serde_json::Value = http
                .post(format!("{url}/oauth/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "cli-id"),
                    ("client_secret", "cli-secret"),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let sources: Vec<serde_json::Value> = http
                .get(format!("{url}/v2024/sources"))
                .bearer_auth(token["access_token"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            sources
                .iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap().to_string(),
                        s["id"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    let names = |list: &[(String, String)]| list.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&default_sources), names(&other_sources));
    assert_eq!(default_sources.len(), 3);
    assert_eq!(
        other_sources[0],
        ("HR Employees".to_string(), "prod-employees".to_string())
    );
    for (d, o) in default_sources.iter().zip(&other_sources) {
        assert_ne!(d.1, o.1, "{} has another id", d.0);
    }
    for child in [&mut default_sim, &mut other_sim] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn a_malformed_source_id_option_fails_with_a_one_line_cause() {
    let out = Command::new(BIN)
        .args(["--client-id", "cli-id", "--source-id", "HR Employees"])
        .env("ISC_SIM_CLIENT_SECRET", "cli-secret")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not NAME=ID"), "{stderr}");
    let out = Command::new(BIN)
        .args(["--client-id", "cli-id", "--source-id", "Nope=x1"])
        .env("ISC_SIM_CLIENT_SECRET", "cli-secret")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no source is named 'Nope'"));
}
