//! A real Kubernetes control plane for tests: etcd + kube-apiserver on loopback, started the way
//! controller-runtime's envtest starts them, with an admin token and a kubeconfig.
//!
//! ```ignore
//! #[path = "support/controlplane.rs"]
//! mod controlplane;
//!
//! let cp = controlplane::ControlPlane::start().await; // panics if it cannot start; never skips
//! let out = cp.kubectl(&["apply", "-f", "crd.yaml"]);
//! // cp.kubeconfig_path(), cp.server_url(), cp.token(), cp.ca_cert_path()
//! drop(cp); // or cp.stop(): kills etcd and the API server, removes the temp dir
//! ```
//!
//! Binaries: `ISC_CONTROLPLANE_BIN` (a directory with `etcd`, `kube-apiserver`, `kubectl`) or,
//! when unset, `crates/kube-testenv/controlplane-bins.sh`, which builds and caches them (once per user; the
//! first build takes minutes and needs Go). The script runs at most once per test process.
//!
//! No orphans: each server runs under a `sh` watchdog whose stdin is a pipe from the test
//! process. Drop tells the watchdog to stop the server, then kills the process group; if the test
//! process dies without dropping (a panic with abort, a signal, a timeout kill), the pipe closes
//! with it and the watchdog kills the server and removes the temp dir.
//!
//! Only etcd and the API server run: no controllers, so there is no garbage collection, no
//! namespace finalization and no pods. Set `ISC_CONTROLPLANE_KEEP=1` to keep the temp dir (data,
//! certificates, logs) after the test; after a panic the logs are kept and their path is printed.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the API server may take to report `/readyz` ok.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How many times a start is retried when a freshly picked port was taken meanwhile.
const PORT_RETRIES: usize = 3;

/// A running etcd + kube-apiserver pair. Dropping it stops both and removes its temp dir.
pub struct ControlPlane {
    dir: PathBuf,
    bin_dir: PathBuf,
    etcd: Option<Supervised>,
    apiserver: Option<Supervised>,
    server_url: String,
    etcd_url: String,
    token: String,
    kubeconfig: PathBuf,
    ca_cert: PathBuf,
}

/// A server process under its `sh` watchdog (see the module docs).
struct Supervised {
    name: &'static str,
    child: Child,
    /// Write end of the watchdog's pipe: a line ("stop") or EOF makes it kill the server.
    lifeline: Option<ChildStdin>,
    log: PathBuf,
}

impl Supervised {
    /// Starts `program args…` with stdout and stderr appended to `log`, in its own process group.
    /// Starts `program args…` with stdout and stderr appended to `log`, in its own process group.
    /// If the test process dies without dropping this, the watchdog kills the server and removes
    /// `orphan_cleanup` (when given).
    fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: PathBuf,
        orphan_cleanup: Option<&Path>,
    ) -> Supervised {
        let out = File::create(&log)
            .unwrap_or_else(|e| panic!("control plane: cannot create {}: {e}", log.display()));
        let err = out
            .try_clone()
            .expect("control plane: duplicate log file handle");
        // $1 = dir to remove if orphaned (may be empty), then the program and its arguments.
        // The server gets no stdin (and not fd 3). The watchdog reads the lifeline (saved as
        // fd 3): a line ("stop", written by kill()) or EOF with no line (the test process died)
        // both kill the server; only the latter also removes the temp dir.
        let script = r#"
            cleanup=$1; shift
            exec 3<&0
            "$@" 3<&- </dev/null &
            server=$!
            {
                if read -r _ <&3; then
                    kill -KILL "$server" 2>/dev/null
                else
                    kill -KILL "$server" 2>/dev/null
                    if [ -n "$cleanup" ]; then sleep 1; rm -rf -- "$cleanup"; fi
                fi
            } &
            wait "$server"
        "#;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("isc-cp-watchdog")
            .arg(orphan_cleanup.map(|p| p.as_os_str()).unwrap_or_default())
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("control plane: cannot start {}: {e}", program.display()));
        let lifeline = child.stdin.take();
        Supervised {
            name,
            child,
            lifeline,
            log,
        }
    }

    /// `Some(status)` once the server has exited.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn kill(&mut self) {
        // "stop" on the lifeline makes the watchdog kill the server; the shell then reaps it and
        // exits. The group kill afterwards covers anything left (the watchdog, or the server if
        // the shell did not exit in time).
        if let Some(mut lifeline) = self.lifeline.take() {
            let _ = lifeline.write_all(b"stop\n");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let pgid = self.child.id();
        let _ = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("kill -KILL -- -{pgid} 2>/dev/null"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Bin dir, resolved once per test process (the build script is slow the first time).
static BIN_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The directory holding `etcd`, `kube-apiserver` and `kubectl`: `ISC_CONTROLPLANE_BIN`, or the
/// output of `crates/kube-testenv/controlplane-bins.sh` (built and cached on first use). Panics if neither
/// yields the three binaries.
pub fn bin_dir() -> PathBuf {
    let mut guard = BIN_DIR.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = guard.as_ref() {
        return dir.clone();
    }
    let dir = match std::env::var_os("ISC_CONTROLPLANE_BIN") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => build_bins(),
    };
    for name in ["etcd", "kube-apiserver", "kubectl"] {
        let path = dir.join(name);
        assert!(
            path.is_file(),
            "control plane: {} is missing (bin dir from {})",
            path.display(),
            if std::env::var_os("ISC_CONTROLPLANE_BIN").is_some() {
                "ISC_CONTROLPLANE_BIN"
            } else {
                "crates/kube-testenv/controlplane-bins.sh"
            }
        );
    }
    *guard = Some(dir.clone());
    dir
}

fn build_bins() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("controlplane-bins.sh");
    // The script's progress goes to stderr, straight to the terminal; stdout's last line is
    // the bin dir.
    let output = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("control plane: cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "control plane: {} failed ({}); see its message above. Set ISC_CONTROLPLANE_BIN to a \
         directory with etcd, kube-apiserver and kubectl to use prebuilt binaries.",
        script.display(),
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("control plane: {} printed no bin dir", script.display()));
    PathBuf::from(last.trim())
}

/// Distinct free loopback ports (all bound at once, then released).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("control plane: bind a loopback port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local addr").port())
}

/// The last `lines` lines of a log file (for failure messages).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Why one start attempt failed.
enum StartError {
    /// A port picked as free was taken before the server bound it: try again with new ports.
    PortTaken(String),
    Fatal(String),
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver on free loopback ports and waits until the API server is
    /// ready (up to a minute). Builds the binaries first if needed. Panics with the cause (and the
    /// tail of the server's log) if the control plane cannot start; it never skips.
    pub async fn start() -> ControlPlane {
        // ring is the one rustls provider of every binary in this workspace.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bin_dir = bin_dir();
        let started = Instant::now();
        let mut last = String::new();
        for _ in 0..PORT_RETRIES {
            let mut cp = ControlPlane::prepare(bin_dir.clone());
            match cp.launch().await {
                Ok(()) => {
                    eprintln!(
                        "control plane: ready at {} in {:.1} s (dir {})",
                        cp.server_url,
                        started.elapsed().as_secs_f64(),
                        cp.dir.display()
                    );
                    return cp;
                }
                Err(StartError::PortTaken(msg)) => last = msg,
                Err(StartError::Fatal(msg)) => {
                    cp.keep_logs();
                    panic!("control plane failed to start: {msg}");
                }
            }
        }
        panic!("control plane failed to start: ports kept being taken: {last}");
    }

    /// Temp dir, token file, service-account key.
    fn prepare(bin_dir: PathBuf) -> ControlPlane {
        let dir = std::env::temp_dir().join(format!("isc-cp-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir_all(dir.join("certs"))
            .unwrap_or_else(|e| panic!("control plane: cannot create {}: {e}", dir.display()));
        let token = random_token();
        let cp = ControlPlane {
            kubeconfig: dir.join("kubeconfig"),
            ca_cert: dir.join("certs/apiserver.crt"),
            dir,
            bin_dir,
            etcd: None,
            apiserver: None,
            server_url: String::new(),
            etcd_url: String::new(),
            token,
        };
        // Static token auth: token,user,uid,"groups".
        fs::write(
            cp.dir.join("tokens.csv"),
            format!("{},admin,admin,\"system:masters\"\n", cp.token),
        )
        .expect("control plane: write token file");
        // Service-account signing key (RSA; the API server refuses to start without one).
        let key = cp.dir.join("sa.key");
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&key)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "control plane: openssl is required to make the service-account key \
                     (apt-get install openssl): {e}"
                )
            });
        assert!(
            out.status.success(),
            "control plane: openssl genpkey failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cp
    }

    async fn launch(&mut self) -> Result<(), StartError> {
        let [client_port, peer_port, secure_port] = free_ports::<3>();
        self.etcd_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        self.server_url = format!("https://127.0.0.1:{secure_port}");
        let dir = self.dir.clone();
        let path = |p: &str| dir.join(p).display().to_string();

        let etcd_args = vec![
            "--name=default".to_string(),
            format!("--data-dir={}", path("etcd")),
            format!("--listen-client-urls={}", self.etcd_url),
            format!("--advertise-client-urls={}", self.etcd_url),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=default={peer_url}"),
            "--unsafe-no-fsync=true".to_string(),
            "--log-level=warn".to_string(),
        ];
        self.etcd = Some(Supervised::spawn(
            "etcd",
            &self.bin_dir.join("etcd"),
            &etcd_args,
            dir.join("etcd.log"),
            Some(&dir),
        ));

        let apiserver_args = vec![
            format!("--etcd-servers={}", self.etcd_url),
            format!("--cert-dir={}", path("certs")),
            format!("--secure-port={secure_port}"),
            "--bind-address=127.0.0.1".to_string(),
            "--service-cluster-ip-range=10.0.0.0/24".to_string(),
            "--authorization-mode=RBAC".to_string(),
            "--disable-admission-plugins=ServiceAccount".to_string(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_string(),
            format!("--service-account-key-file={}", path("sa.key")),
            format!("--service-account-signing-key-file={}", path("sa.key")),
            format!("--token-auth-file={}", path("tokens.csv")),
            "--allow-privileged=true".to_string(),
        ];
        self.apiserver = Some(Supervised::spawn(
            "kube-apiserver",
            &self.bin_dir.join("kube-apiserver"),
            &apiserver_args,
            dir.join("kube-apiserver.log"),
            None,
        ));

        self.wait_ready().await?;
        self.write_kubeconfig();
        Ok(())
    }

    /// Polls `/readyz` (then the `default` namespace, which a bootstrap hook creates) until both
    /// answer 200, a server exits, or the timeout passes.
    async fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut client: Option<reqwest::Client> = None;
        let mut last = String::from("no answer yet");
        loop {
            for server in [self.etcd.as_mut(), self.apiserver.as_mut()]
                .into_iter()
                .flatten()
            {
                if let Some(status) = server.exited() {
                    let tail = log_tail(&server.log, 40);
                    let msg = format!(
                        "{} exited ({status}); last lines of {}:\n{tail}",
                        server.name,
                        server.log.display()
                    );
                    return Err(if tail.contains("address already in use") {
                        StartError::PortTaken(msg)
                    } else {
                        StartError::Fatal(msg)
                    });
                }
            }
            if client.is_none() {
                // The API server writes its self-signed serving cert + CA on start-up.
                if let Ok(pem) = fs::read(&self.ca_cert) {
                    if let Ok(certs) = reqwest::Certificate::from_pem_bundle(&pem) {
                        if !certs.is_empty() {
                            client = Some(
                                reqwest::Client::builder()
                                    .tls_certs_only(certs)
                                    .timeout(Duration::from_secs(5))
                                    .build()
                                    .map_err(|e| {
                                        StartError::Fatal(format!("readiness client: {e}"))
                                    })?,
                            );
                        }
                    }
                }
            }
            if let Some(client) = &client {
                match self.probe(client).await {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                }
            }
            if Instant::now() >= deadline {
                let log = self.dir.join("kube-apiserver.log");
                return Err(StartError::Fatal(format!(
                    "kube-apiserver at {} not ready after {} s (last: {last}); last lines of {}:\n{}",
                    self.server_url,
                    READY_TIMEOUT.as_secs(),
                    log.display(),
                    log_tail(&log, 40)
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn probe(&self, client: &reqwest::Client) -> Result<(), String> {
        for path in ["/readyz", "/api/v1/namespaces/default"] {
            let resp = client
                .get(format!("{}{path}", self.server_url))
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| format!("GET {path}: {e}"))?;
            let status = resp.status();
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                return Err(format!("GET {path}: {status}: {}", body.trim()));
            }
        }
        Ok(())
    }

    fn write_kubeconfig(&self) {
        // JSON is YAML: kubectl and kube-rs both read it.
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{
                "name": "isc-test",
                "cluster": {
                    "server": self.server_url,
                    "certificate-authority": self.ca_cert.display().to_string(),
                },
            }],
            "users": [{ "name": "admin", "user": { "token": self.token } }],
            "contexts": [{
                "name": "isc-test",
                "context": { "cluster": "isc-test", "user": "admin", "namespace": "default" },
            }],
            "current-context": "isc-test",
        });
        let mut file = File::create(&self.kubeconfig).expect("control plane: create kubeconfig");
        file.write_all(
            serde_json::to_string_pretty(&config)
                .expect("json")
                .as_bytes(),
        )
        .expect("control plane: write kubeconfig");
    }

    /// A kubeconfig (current context `isc-test`, namespace `default`) for the admin user
    /// (token in group `system:masters`), trusting the API server's self-signed CA.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// `http://127.0.0.1:PORT` of etcd.
    pub fn etcd_url(&self) -> &str {
        &self.etcd_url
    }

    /// The admin bearer token (group `system:masters`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// PEM bundle (serving cert + self-signed CA) that verifies the API server.
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_cert
    }

    /// The directory with the binaries in use.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The temp dir (etcd data, certs, kubeconfig, logs); removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The API server's log file.
    pub fn apiserver_log(&self) -> PathBuf {
        self.dir.join("kube-apiserver.log")
    }

    fn kubectl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin_dir.join("kubectl"));
        cmd.arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            // A per-cluster discovery cache: ports get reused across runs, CRDs do not.
            .arg(format!(
                "--cache-dir={}",
                self.dir.join("kubectl-cache").display()
            ))
            .args(args)
            .env_remove("KUBECONFIG");
        cmd
    }

    /// Runs the built kubectl against this control plane (blocking). Use
    /// [`ControlPlane::kubectl_async`] when something in the same runtime must make progress
    /// meanwhile (e.g. `kubectl wait` for a condition an in-process operator sets).
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_command(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("control plane: cannot run kubectl: {e}"))
    }

    /// Like [`ControlPlane::kubectl`], with `stdin` as kubectl's standard input
    /// (e.g. `cp.kubectl_stdin(&["apply", "-f", "-"], yaml)`).
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .kubectl_command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("control plane: cannot run kubectl: {e}"));
        let mut input = child.stdin.take().expect("kubectl stdin");
        let data = stdin.as_bytes().to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let output = child
            .wait_with_output()
            .expect("control plane: wait for kubectl");
        let _ = writer.join();
        output
    }

    /// Runs kubectl without blocking the async runtime.
    pub async fn kubectl_async(&self, args: &[&str]) -> Output {
        let cmd = self.kubectl_command(args);
        tokio::process::Command::from(cmd)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .unwrap_or_else(|e| panic!("control plane: cannot run kubectl: {e}"))
    }

    /// `kubectl apply -f -` with `yaml`; returns kubectl's output (check `status` yourself).
    pub fn apply_yaml(&self, yaml: &str) -> Output {
        self.kubectl_stdin(&["apply", "-f", "-"], yaml)
    }

    /// Stops both servers and removes the temp dir (same as dropping).
    pub fn stop(self) {
        drop(self);
    }

    /// After a failure: delete the bulky etcd data but keep certs, kubeconfig and logs.
    fn keep_logs(&mut self) {
        self.stop_processes();
        let _ = fs::remove_dir_all(self.dir.join("etcd"));
        eprintln!(
            "control plane: logs kept in {} (kube-apiserver.log, etcd.log)",
            self.dir.display()
        );
        self.dir = PathBuf::new();
    }

    fn stop_processes(&mut self) {
        // API server first, so it does not log etcd connection errors while going down.
        drop(self.apiserver.take());
        drop(self.etcd.take());
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop_processes();
        if self.dir.as_os_str().is_empty() {
            return; // keep_logs() already ran
        }
        if std::env::var_os("ISC_CONTROLPLANE_KEEP").is_some_and(|v| !v.is_empty() && v != "0") {
            eprintln!("control plane: kept {}", self.dir.display());
        } else if std::thread::panicking() {
            self.keep_logs();
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
