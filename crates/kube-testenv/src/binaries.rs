//! Where the control plane binaries come from: `ISC_CONTROLPLANE_BIN`, or
//! `crates/kube-testenv/controlplane-bins.sh`, which builds them from the Go modules in
//! `crates/kube-testenv/controlplane/` (`controlplane/etcd/` for etcd) and caches them per user.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Bin dir, resolved once per test process (the build script is slow the first time).
static BIN_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The directory holding `etcd`, `kube-apiserver` and `kubectl`: `ISC_CONTROLPLANE_BIN`, or the
/// output of `crates/kube-testenv/controlplane-bins.sh` (built and cached on first use).
/// Panics if neither yields the three binaries.
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

/// Runs `controlplane-bins.sh` (a no-op once the binaries are cached) and returns the bin dir
/// it prints last.
fn build_bins() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("controlplane-bins.sh");
    run_build_script(
        "control plane",
        &script,
        "Set ISC_CONTROLPLANE_BIN to a directory with etcd, kube-apiserver and kubectl to use \
         prebuilt binaries.",
    )
}

/// Runs one of the project's cached Go build scripts (control plane, helm, the kstatus test
/// tool: each a no-op once cached) and returns the path it prints on its last stdout line.
/// Its progress goes to stderr, straight to the terminal. Panics naming `what` and `hint` when
/// the script fails: tests that need the tool never skip.
pub fn run_build_script(what: &str, script: &Path, hint: &str) -> PathBuf {
    let output = Command::new("bash")
        .arg(script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{what}: {} failed ({}); see its message above. {hint}",
        script.display(),
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("{what}: {} printed no path", script.display()));
    PathBuf::from(last.trim())
}
