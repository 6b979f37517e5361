//! The release operator as its own process, so its memory can be read from `/proc`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::report::{BenchError, BenchResult};

/// Finds (by default builds) the release operator binary.
///
/// Without `--operator-bin`, runs `cargo build --release --bin isc-operator` into the target
/// directory this example runs from, so the operator measured is the tree's current code (a
/// no-op when it is up to date).
pub fn operator_binary(given: Option<&Path>) -> BenchResult<PathBuf> {
    if let Some(path) = given {
        return match path.is_file() {
            true => Ok(path.to_path_buf()),
            false => Err(BenchError::Setup(format!(
                "--operator-bin {} is not a file",
                path.display()
            ))),
        };
    }
    let exe = std::env::current_exe()
        .map_err(|e| BenchError::Setup(format!("cannot locate this executable: {e}")))?;
    // <target>/<profile>/examples/bench
    let target_dir = exe
        .ancestors()
        .nth(3)
        .ok_or_else(|| BenchError::Setup(format!("unexpected location {}", exe.display())))?;
    if exe.ancestors().nth(2).and_then(Path::file_name) != Some("release".as_ref()) {
        eprintln!(
            "» warning: the bench itself is not a release build; the in-process simulator is slower (use --release)"
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    eprintln!("» cargo build --release --bin isc-operator");
    let status = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--bin",
            "isc-operator",
            "--manifest-path",
        ])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| BenchError::Setup(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(BenchError::Setup(format!(
            "cargo build --release --bin isc-operator failed ({status})"
        )));
    }
    Ok(target_dir.join("release").join("isc-operator"))
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS` in KiB.
    pub rss_kib: u64,
    /// `VmHWM` (peak RSS) in KiB.
    pub peak_kib: u64,
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} MiB (peak {:.1} MiB)",
            self.rss_kib as f64 / 1024.0,
            self.peak_kib as f64 / 1024.0
        )
    }
}

/// The operator process (cluster-wide, loopback tenants over http); killed on drop.
#[derive(Debug)]
pub struct OperatorProcess {
    child: Child,
    log: PathBuf,
}

impl OperatorProcess {
    /// Starts `isc-operator run` watching every namespace. Call it from the main thread: the
    /// process is killed when the thread that started it ends (`PR_SET_PDEATHSIG`).
    pub fn start(
        bin: &Path,
        kubeconfig: &Path,
        log: PathBuf,
        extra: &[String],
    ) -> BenchResult<Self> {
        let file = std::fs::File::create(&log)
            .map_err(|e| BenchError::Setup(format!("operator log {}: {e}", log.display())))?;
        let err_file = file
            .try_clone()
            .map_err(|e| BenchError::Setup(format!("operator log: {e}")))?;
        let health = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| BenchError::Setup(format!("no free port: {e}")))?;
        let mut cmd = Command::new(bin);
        cmd.args(["run", "--health-listen", &health.to_string()])
            .args([
                "--allowed-tenant-hosts",
                "127.0.0.1",
                "--allow-insecure-http",
            ])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("ISC_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err_file);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| BenchError::Setup(format!("cannot start {}: {e}", bin.display())))?;
        Ok(OperatorProcess { child, log })
    }

    /// Fails when the operator is no longer running.
    pub fn check_alive(&mut self) -> BenchResult<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(BenchError::Unexpected(format!(
                "the operator exited ({status}); log: {}",
                self.log.display()
            ))),
            Err(e) => Err(BenchError::Unexpected(format!(
                "cannot poll the operator: {e}"
            ))),
        }
    }

    /// Current and peak resident memory.
    pub fn memory(&mut self) -> BenchResult<Memory> {
        self.check_alive()?;
        let path = format!("/proc/{}/status", self.child.id());
        let text = std::fs::read_to_string(&path)
            .map_err(|e| BenchError::Unexpected(format!("cannot read {path}: {e}")))?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .ok_or_else(|| BenchError::Unexpected(format!("{path} has no {name}")))
        };
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }

    /// Where the operator's log goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
