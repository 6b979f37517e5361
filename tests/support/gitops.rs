//! The GitOps judges of an object: kstatus as `sigs.k8s.io/cli-utils` computes it (Flux, kubectl
//! tooling) and the Argo CD health scripts of `deploy/argocd/` run with gopher-lua. Both run in
//! the Go test tool `tests/tools/kstatus/` (built and cached by its `build.sh` on first use).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::Value;

/// The tool's binary, resolved once per test process (the build is slow the first time).
static TOOL: Mutex<Option<PathBuf>> = Mutex::new(None);

/// What both judges print: a status word and a message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Verdict {
    pub status: String,
    pub message: String,
}

/// The kinds that have an Argo CD health script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tenant,
    IdentityProfile,
    ProcessingRequest,
    IdentityAttribute,
    Transform,
    LifecycleState,
}

impl Kind {
    /// All kinds, in the order the `argocd-cm` snippet lists them.
    pub const ALL: [Kind; 6] = [
        Kind::Tenant,
        Kind::IdentityProfile,
        Kind::ProcessingRequest,
        Kind::IdentityAttribute,
        Kind::Transform,
        Kind::LifecycleState,
    ];

    /// The `kind` field.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tenant => "Tenant",
            Kind::IdentityProfile => "IdentityProfile",
            Kind::ProcessingRequest => "ProcessingRequest",
            Kind::IdentityAttribute => "IdentityAttribute",
            Kind::Transform => "Transform",
            Kind::LifecycleState => "LifecycleState",
        }
    }

    /// `deploy/argocd/<script>.lua`: the tenant-object kinds share `tenant-object.lua`.
    pub fn health_script(self) -> PathBuf {
        let script = match self {
            Kind::Tenant => "tenant",
            Kind::ProcessingRequest => "processingrequest",
            Kind::IdentityProfile
            | Kind::IdentityAttribute
            | Kind::Transform
            | Kind::LifecycleState => "tenant-object",
        };
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/argocd")
            .join(format!("{script}.lua"))
    }

    /// The kind an object says it is.
    pub fn of(obj: &Value) -> Kind {
        match obj["kind"].as_str() {
            Some("Tenant") => Kind::Tenant,
            Some("IdentityProfile") => Kind::IdentityProfile,
            Some("ProcessingRequest") => Kind::ProcessingRequest,
            Some("IdentityAttribute") => Kind::IdentityAttribute,
            Some("Transform") => Kind::Transform,
            Some("LifecycleState") => Kind::LifecycleState,
            other => panic!("no health script for kind {other:?}"),
        }
    }
}

/// The path of the tool's binary: built by `tests/tools/kstatus/build.sh` (a no-op once
/// cached). Panics when it cannot be built: these tests never skip.
pub fn tool() -> PathBuf {
    let mut guard = TOOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = guard.as_ref() {
        return path.clone();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/kstatus/build.sh");
    let path = kube_testenv::run_build_script(
        "kstatus tool",
        &script,
        "It needs Go >= 1.26 and the Go module proxy.",
    );
    assert!(
        path.is_file(),
        "kstatus tool: {} is missing",
        path.display()
    );
    *guard = Some(path.clone());
    path
}

/// Runs the tool with `args`, the object on stdin; panics unless it prints one verdict.
fn run(args: &[&std::ffi::OsStr], obj: &Value) -> Verdict {
    let mut child = Command::new(tool())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the kstatus tool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(obj.to_string().as_bytes())
        .expect("write the object to the kstatus tool");
    let out = child.wait_with_output().expect("kstatus tool output");
    assert!(
        out.status.success(),
        "kstatus tool {args:?} failed ({}): {}\nobject: {obj:#}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "kstatus tool printed no verdict ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// kstatus of the object: `Current`, `InProgress`, `Failed`, `Terminating`, ...
pub fn kstatus(obj: &Value) -> Verdict {
    run(&["-".as_ref()], obj)
}

/// Argo CD health of the object by its kind's script in `deploy/argocd/`.
pub fn argocd_health(obj: &Value) -> Verdict {
    lua_health(&Kind::of(obj).health_script(), obj)
}

/// Argo CD health of the object by a given script.
pub fn lua_health(script: &Path, obj: &Value) -> Verdict {
    run(
        &["lua-health".as_ref(), script.as_os_str(), "-".as_ref()],
        obj,
    )
}
