//! `deploy/argocd/argocd-cm.yaml` is generated from the health scripts beside it
//! (`deploy/argocd/*.lua`); this fails when they drift apart. Regenerate with
//! `ISC_WRITE_ARGOCD_CM=1 cargo test --test argocd_cm`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The API group of every kind (Argo CD's key is `<group>_<kind>`).
const GROUP: &str = "isc.identitynow.dev";
/// Every kind with its health script (`deploy/argocd/<script>.lua`), in the order the snippet
/// lists them. The tenant-object kinds share one script: their conditions mean the same.
const KINDS: [(&str, &str); 6] = [
    ("Tenant", "tenant"),
    ("IdentityProfile", "tenant-object"),
    ("ProcessingRequest", "processingrequest"),
    ("IdentityAttribute", "tenant-object"),
    ("Transform", "tenant-object"),
    ("LifecycleState", "tenant-object"),
];

fn argocd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/argocd")
}

fn script(name: &str) -> String {
    let path = argocd_dir().join(format!("{name}.lua"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn data_key(kind: &str) -> String {
    format!("resource.customizations.health.{GROUP}_{kind}")
}

/// The snippet: Argo CD's `argocd-cm` with one health customization per kind, each script as a
/// YAML block literal (indented four spaces, text unchanged).
fn generated() -> String {
    let mut out = String::from(
        "# GENERATED from deploy/argocd/*.lua by tests/argocd_cm.rs: edit the scripts, then run\n\
         # `ISC_WRITE_ARGOCD_CM=1 cargo test --test argocd_cm`.\n\
         # Argo CD health for the operator's kinds: merge `data` into the argocd-cm ConfigMap of\n\
         # your Argo CD (e.g. `kubectl -n argocd patch configmap argocd-cm --patch-file\n\
         # deploy/argocd/argocd-cm.yaml`), or add this file to the kustomization that installs it.\n\
         apiVersion: v1\n\
         kind: ConfigMap\n\
         metadata:\n  name: argocd-cm\n  labels:\n    app.kubernetes.io/name: argocd-cm\n    app.kubernetes.io/part-of: argocd\n\
         data:\n",
    );
    for (kind, name) in KINDS {
        out.push_str(&format!("  {}: |\n", data_key(kind)));
        for line in script(name).lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out
}

#[test]
fn argocd_cm_snippet_matches_the_scripts() {
    let path = argocd_dir().join("argocd-cm.yaml");
    let generated = generated();
    if std::env::var_os("ISC_WRITE_ARGOCD_CM").is_some() {
        std::fs::write(&path, &generated).expect("write deploy/argocd/argocd-cm.yaml");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "deploy/argocd/argocd-cm.yaml is stale: regenerate it with \
         `ISC_WRITE_ARGOCD_CM=1 cargo test --test argocd_cm`"
    );
}

/// The snippet read back as YAML holds each script byte for byte under its Argo CD key, and
/// nothing else.
#[test]
fn argocd_cm_snippet_parses_to_the_scripts() {
    #[derive(serde::Deserialize)]
    struct ConfigMap {
        data: BTreeMap<String, String>,
    }
    let cm: ConfigMap = serde_yaml_ng::from_str(&generated()).expect("the snippet is YAML");
    let expected: BTreeMap<String, String> = KINDS
        .iter()
        .map(|(k, n)| (data_key(k), script(n)))
        .collect();
    assert_eq!(cm.data, expected);
}

/// Argo CD opens no string library for custom health scripts (unless
/// `resource.customizations.useOpenLibs` is set): the scripts use the base library only.
#[test]
fn health_scripts_use_only_the_base_library() {
    for (_, name) in KINDS {
        let text = script(name);
        for lib in [
            "string.", "os.", "io.", "math.", "require", ":format", ":sub", ":find",
        ] {
            let used = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .any(|l| l.contains(lib));
            assert!(!used, "{name}.lua uses {lib}");
        }
    }
}
