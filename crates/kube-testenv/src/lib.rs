//! A real Kubernetes control plane for tests: etcd + kube-apiserver on loopback, started the way
//! controller-runtime's envtest starts them, with an admin token and a kubeconfig.
//!
//! ```no_run
//! # async fn example() {
//! use kube_testenv::ControlPlane;
//!
//! let cp = ControlPlane::start().await; // panics if it cannot start; never skips
//! let out = cp.kubectl(&["apply", "-f", "crd.yaml"]);
//! assert!(out.status.success());
//! // cp.kubeconfig_path(), cp.server_url(), cp.token(), cp.ca_cert_path()
//! cp.stop(); // or drop(cp): kills etcd and the API server, removes the temp dir
//! # }
//! ```
//!
//! Binaries: `ISC_CONTROLPLANE_BIN` (a directory with `etcd`, `kube-apiserver`, `kubectl`) or,
//! when unset, `crates/kube-testenv/controlplane-bins.sh`, which builds them from the Go modules in
//! `crates/kube-testenv/controlplane/` (`k8s.io/kubernetes`; etcd from `controlplane/etcd/`) and
//! caches them per user (by default under `~/.cache/isc-operator/controlplane/`; the first build
//! takes minutes and needs Go). The script runs at most once per test process.
//!
//! No orphans: each server runs under a `sh` watchdog whose stdin is a pipe from the test
//! process. Drop tells the watchdog to stop the server, then kills the process group; if the test
//! process dies without dropping (a panic with abort, a signal, a timeout kill), the pipe closes
//! with it and the watchdog kills the server and removes the temp dir.
//!
//! Only etcd and the API server run: no controllers, so there is no garbage collection, no
//! namespace finalization and no pods. Set `ISC_CONTROLPLANE_KEEP=1` to keep the temp dir (data,
//! certificates, logs) after the test; after a panic the logs are kept and their path is printed.
//!
//! The smoke test (`tests/controlplane_smoke.rs`) needs the binaries, so it runs only with
//! `cargo test -p kube-testenv --features e2e`.

mod binaries;
mod credentials;
mod kubectl;
mod launch;
mod process;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use binaries::{bin_dir, run_build_script};
pub use process::log_tail;

use launch::StartError;
use process::Supervised;

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

    /// Stops both servers and removes the temp dir (same as dropping).
    pub fn stop(self) {
        drop(self);
    }

    /// After a failure: delete the bulky etcd data but keep certs, kubeconfig and logs.
    pub(crate) fn keep_logs(&mut self) {
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
