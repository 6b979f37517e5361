//! `deploy/install.yaml`, `deploy/base/operator.yaml` and the chart's `crds/` are generated
//! (`charts/generate-install.sh`, from the Helm chart and `crds/isc-operator.yaml`). These checks
//! need no helm: the CRDs in all three places are byte-identical to `crds/isc-operator.yaml`, the
//! install file is the CRDs plus the kustomize base's objects, and the chart deploys this crate's
//! version. The full re-render is compared in `tests/helm.rs` (feature `e2e`: it builds helm).

use serde_yaml_ng::Value;

const REGENERATE: &str = "regenerate with `charts/generate-install.sh`";

fn read(relative: &str) -> String {
    let path = format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The YAML documents of `text` (empty ones dropped).
fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("valid YAML"))
        .filter(|doc: &Value| !doc.is_null())
        .collect()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

/// Text after the generated header (the leading `#` comment lines).
fn without_header(text: &str) -> String {
    text.lines()
        .skip_while(|l| l.starts_with("# "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_chart_crds_are_the_generated_crds() {
    assert!(
        read("charts/isc-operator/crds/isc-operator.yaml") == read("crds/isc-operator.yaml"),
        "charts/isc-operator/crds/isc-operator.yaml differs from crds/isc-operator.yaml: {REGENERATE}"
    );
}

#[test]
fn install_yaml_is_the_crds_plus_the_kustomize_base() {
    let install = read("deploy/install.yaml");
    let crds = read("crds/isc-operator.yaml");
    let operator = without_header(&read("deploy/base/operator.yaml"));
    // `helm template --include-crds` prints each file of crds/ verbatim under a Source comment.
    let expected =
        format!("---\n# Source: isc-operator/crds/isc-operator.yaml\n{crds}\n{operator}");
    assert!(
        without_header(&install) == expected,
        "deploy/install.yaml is not crds/isc-operator.yaml followed by deploy/base/operator.yaml: \
         {REGENERATE}"
    );
    let kinds: Vec<String> = documents(&install)
        .iter()
        .map(|d| kind(d).to_string())
        .collect();
    for wanted in [
        "CustomResourceDefinition",
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
    ] {
        assert!(
            kinds.iter().any(|k| k == wanted),
            "deploy/install.yaml has no {wanted}: {kinds:?}"
        );
    }
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "CustomResourceDefinition")
            .count(),
        isc_operator::api::all_crds().len()
    );
    // Applied in file order: the CRDs and the namespace before anything in it.
    let namespace = kinds.iter().position(|k| k == "Namespace").unwrap();
    let first_namespaced = kinds.iter().position(|k| k == "ServiceAccount").unwrap();
    assert!(namespace < first_namespaced, "{kinds:?}");
}

#[test]
fn the_kustomize_base_is_the_crds_plus_the_generated_objects() {
    let kustomization = documents(&read("deploy/base/kustomization.yaml"));
    let resources: Vec<&str> = kustomization[0]["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(resources, ["../../crds", "operator.yaml"]);
}

#[test]
fn the_chart_deploys_this_version_of_the_operator() {
    let chart = documents(&read("charts/isc-operator/Chart.yaml")).remove(0);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        chart["appVersion"].as_str(),
        Some(version),
        "charts/isc-operator/Chart.yaml appVersion must be the crate version {version}"
    );
    let install = documents(&read("deploy/install.yaml"));
    let deployment = install
        .iter()
        .find(|d| kind(d) == "Deployment")
        .expect("a Deployment");
    let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"].as_str();
    assert_eq!(
        image,
        Some(format!("ghcr.io/isc-operator/isc-operator:{version}").as_str()),
        "{REGENERATE}"
    );
}
