//! Running the built kubectl against the control plane.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::ControlPlane;

impl ControlPlane {
    /// kubectl with this cluster's kubeconfig and a per-cluster discovery cache.
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
}
