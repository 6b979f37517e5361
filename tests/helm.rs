//! The Helm chart (`charts/isc-operator`) and the one-file install (`deploy/install.yaml`):
//! `helm lint` and `helm template` with default and non-default values, the generated files
//! up to date with the chart, and every rendered object accepted by a real API server
//! (`kubectl apply --dry-run=server`; `deploy/install.yaml` is also applied for real).
//!
//! helm is built from its Go module and cached by `tests/tools/helm/helm-bin.sh` (like the
//! control plane); these tests fail, never skip, when it cannot be built.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use kube_testenv::ControlPlane;
use serde_yaml_ng::Value;
use tokio::sync::OnceCell;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/isc-operator");
const EVERYTHING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/charts/isc-operator/ci/everything-values.yaml"
);
const SERVICE_MONITOR_CRD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/helm_fixtures/servicemonitor-crd.yaml"
);

/// The objects the chart renders with its default values (no optional object).
const DEFAULT_KINDS: [&str; 6] = [
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Deployment",
];

// ---------------------------------------------------------------------------------------------
// helm and the rendered documents

/// The helm binary: `tests/tools/helm/helm-bin.sh` builds it on first use (its last stdout line).
fn helm() -> &'static Path {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        let script = format!("{ROOT}/tests/tools/helm/helm-bin.sh");
        let path = kube_testenv::run_build_script(
            "helm",
            Path::new(&script),
            "It needs Go and the Go module proxy, or ISC_HELM_BIN set to a prebuilt helm.",
        );
        assert!(path.is_file(), "helm: {script} printed no binary path");
        path
    })
}

/// Runs helm with its state (cache, config, plugins) in a temp dir of its own.
fn run_helm(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("isc-helm-home-{}", std::process::id()));
    Command::new(helm())
        .args(args)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run helm: {e}"))
}

/// helm's stdout; panics with its output unless it succeeded.
fn helm_ok(args: &[&str]) -> String {
    let out = run_helm(args);
    assert!(
        out.status.success(),
        "helm {} failed:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("helm prints UTF-8")
}

/// `helm template isc-operator <chart> --namespace <namespace> <extra>`.
fn render(namespace: &str, extra: &[&str]) -> String {
    let mut args = vec!["template", "isc-operator", CHART, "--namespace", namespace];
    args.extend_from_slice(extra);
    helm_ok(&args)
}

/// The YAML documents of `text` (empty ones dropped).
fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("helm renders valid YAML"))
        .filter(|doc: &Value| !doc.is_null())
        .collect()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn kinds(docs: &[Value]) -> BTreeSet<&str> {
    docs.iter().map(kind).collect()
}

fn only<'a>(docs: &'a [Value], wanted: &str) -> &'a Value {
    let mut found = docs.iter().filter(|d| kind(d) == wanted);
    let first = found.next().unwrap_or_else(|| panic!("no {wanted}"));
    assert!(found.next().is_none(), "more than one {wanted}");
    first
}

fn container(docs: &[Value]) -> &Value {
    &only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
}

fn args(docs: &[Value]) -> Vec<&str> {
    container(docs)["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg"))
        .collect()
}

fn label<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc["metadata"]["labels"][key].as_str()
}

// ---------------------------------------------------------------------------------------------
// lint and template

#[test]
fn helm_lint_passes_with_default_and_non_default_values() {
    let out = helm_ok(&["lint", "--strict", CHART]);
    assert!(
        out.contains("1 chart(s) linted, 0 chart(s) failed"),
        "{out}"
    );
    let out = helm_ok(&["lint", "--strict", CHART, "-f", EVERYTHING]);
    assert!(
        out.contains("1 chart(s) linted, 0 chart(s) failed"),
        "{out}"
    );
}

#[test]
fn default_values_render_a_cluster_wide_operator_with_leader_election() {
    let docs = documents(&render("ops", &[]));
    assert_eq!(kinds(&docs), BTreeSet::from(DEFAULT_KINDS));
    assert_eq!(docs.len(), DEFAULT_KINDS.len());
    let deployment = only(&docs, "Deployment");
    assert_eq!(
        deployment["metadata"]["name"].as_str(),
        Some("isc-operator")
    );
    assert_eq!(deployment["metadata"]["namespace"].as_str(), Some("ops"));
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(2));
    let chart_version = documents(&std::fs::read_to_string(format!("{CHART}/Chart.yaml")).unwrap())
        .remove(0)["appVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        container(&docs)["image"].as_str(),
        Some(format!("ghcr.io/isc-operator/isc-operator:{chart_version}").as_str())
    );
    assert_eq!(
        args(&docs),
        [
            "run",
            "--log=info",
            "--log-format=json",
            "--allowed-tenant-hosts=*.api.identitynow.com",
            "--health-listen=0.0.0.0:8080",
            "--completed-run-retention=7d",
            "--leader-election-namespace=ops",
            "--lease-duration-secs=15",
        ]
    );
    // Cluster-wide rules, bound to the operator's ServiceAccount; the Lease Role in its namespace.
    let binding = only(&docs, "ClusterRoleBinding");
    assert_eq!(binding["subjects"][0]["namespace"].as_str(), Some("ops"));
    let role = only(&docs, "Role");
    assert_eq!(
        role["metadata"]["name"].as_str(),
        Some("isc-operator-leader-election")
    );
    assert_eq!(role["rules"][0]["resources"][0].as_str(), Some("leases"));
    // No Secret may be written: the only verbs on secrets are reads.
    let secrets = only(&docs, "ClusterRole")["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|r| r["resources"][0].as_str() == Some("secrets"))
        .expect("a secrets rule");
    assert_eq!(
        serde_yaml_ng::to_string(&secrets["verbs"]).unwrap(),
        "- get\n- list\n- watch\n"
    );
    for doc in &docs {
        assert_eq!(label(doc, "app.kubernetes.io/name"), Some("isc-operator"));
        assert_eq!(label(doc, "team"), None);
    }
}

#[test]
fn non_default_values_render_a_namespaced_operator_with_every_option() {
    let docs = documents(&render("ops", &["-f", EVERYTHING]));
    assert_eq!(
        kinds(&docs),
        BTreeSet::from([
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "Deployment",
            "Service",
            "ServiceMonitor",
            "NetworkPolicy",
            "PodDisruptionBudget",
        ])
    );
    // One namespace watched: its Role and RoleBinding there, nothing cluster-wide; no election.
    let role = only(&docs, "Role");
    assert_eq!(role["metadata"]["namespace"].as_str(), Some("team-a"));
    assert_eq!(role["metadata"]["name"].as_str(), Some("isc-operator"));
    let binding = only(&docs, "RoleBinding");
    assert_eq!(binding["metadata"]["namespace"].as_str(), Some("team-a"));
    assert_eq!(binding["subjects"][0]["namespace"].as_str(), Some("ops"));
    assert_eq!(binding["roleRef"]["kind"].as_str(), Some("Role"));
    let deployment = only(&docs, "Deployment");
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(1));
    assert_eq!(
        container(&docs)["image"].as_str(),
        Some("registry.example.com/isc-operator:0.1.0-rc.1")
    );
    assert_eq!(
        args(&docs),
        [
            "run",
            "--log=info,isc_operator=debug",
            "--log-format=text",
            "--allowed-tenant-hosts=*.api.identitynow.com,isc.example.com",
            "--health-listen=0.0.0.0:9090",
            "--completed-run-retention=14d",
            "--namespace=team-a",
            "--max-identities-ceiling=10000",
        ]
    );
    let pod = &deployment["spec"]["template"];
    assert_eq!(
        pod["metadata"]["annotations"]["example.com/scrape"].as_str(),
        Some("true")
    );
    assert_eq!(
        pod["spec"]["nodeSelector"]["kubernetes.io/os"].as_str(),
        Some("linux")
    );
    assert_eq!(
        pod["spec"]["tolerations"][0]["key"].as_str(),
        Some("dedicated")
    );
    assert!(pod["spec"]["affinity"]["nodeAffinity"].is_mapping());
    assert_eq!(label(pod, "team"), Some("identity"));
    // extraLabels on every object; the ServiceMonitor also carries its selector labels.
    for doc in &docs {
        assert_eq!(label(doc, "team"), Some("identity"), "{}", kind(doc));
        assert_eq!(label(doc, "cost-center"), Some("4711"), "{}", kind(doc));
    }
    let monitor = only(&docs, "ServiceMonitor");
    assert_eq!(label(monitor, "release"), Some("prometheus"));
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"].as_str(),
        only(&docs, "Service")["spec"]["ports"][0]["name"].as_str()
    );
    // Egress: DNS, the API server and the tenant only.
    let policy = &only(&docs, "NetworkPolicy")["spec"];
    let egress = policy["egress"].as_sequence().unwrap();
    assert_eq!(egress.len(), 3);
    assert_eq!(
        egress[1]["to"][0]["ipBlock"]["cidr"].as_str(),
        Some("192.0.2.10/32")
    );
    assert_eq!(egress[2]["to"].as_sequence().unwrap().len(), 2);
    assert_eq!(
        policy["ingress"][0]["ports"][0]["port"].as_u64(),
        Some(9090)
    );
    assert_eq!(
        only(&docs, "PodDisruptionBudget")["spec"]["maxUnavailable"].as_u64(),
        Some(1)
    );
}

#[test]
fn another_release_name_prefixes_every_object_and_binds_its_own_service_account() {
    let docs = documents(&helm_ok(&[
        "template",
        "payroll",
        CHART,
        "--namespace",
        "ops",
    ]));
    for doc in &docs {
        let name = doc["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("payroll-isc-operator"), "{name}");
        assert_eq!(label(doc, "app.kubernetes.io/instance"), Some("payroll"));
    }
    assert_eq!(
        only(&docs, "ClusterRoleBinding")["subjects"][0]["name"].as_str(),
        Some("payroll-isc-operator")
    );
}

#[test]
fn unsafe_or_incomplete_values_are_refused_with_a_reason() {
    for (set, reason) in [
        (
            "leaderElection.enabled=false",
            "replicaCount > 1 needs leaderElection.enabled",
        ),
        (
            "networkPolicy.enabled=true",
            "networkPolicy.apiServer.cidrs is required",
        ),
        ("log.format=xml", "log.format must be json or text"),
        ("allowedTenantHosts=null", "allowedTenantHosts must name"),
    ] {
        let out = run_helm(&["template", "isc-operator", CHART, "--set", set]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {set} rendered");
        assert!(stderr.contains(reason), "--set {set}: {stderr}");
    }
}

#[test]
fn the_generated_install_files_match_the_chart() {
    let dir = std::env::temp_dir().join(format!("isc-install-{}", uuid::Uuid::new_v4().simple()));
    let script = format!("{ROOT}/charts/generate-install.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in ["deploy/install.yaml", "deploy/base/operator.yaml"] {
        let committed = std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap();
        let generated = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            committed == generated,
            "{file} is stale: regenerate it with `charts/generate-install.sh`"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    // The documented CRD upgrade step prints exactly the generated CRDs.
    let crds = std::fs::read_to_string(format!("{ROOT}/crds/isc-operator.yaml")).unwrap();
    assert!(
        helm_ok(&["show", "crds", CHART]).trim_end() == crds.trim_end(),
        "`helm show crds charts/isc-operator` differs from crds/isc-operator.yaml: regenerate \
         with `charts/generate-install.sh`"
    );
}

// ---------------------------------------------------------------------------------------------
// the real API server

static CONTROL_PLANE: OnceCell<ControlPlane> = OnceCell::const_new();

/// This test process's control plane, with a (trimmed) ServiceMonitor CRD: the test API server
/// has no Prometheus Operator, and the chart's ServiceMonitor is validated all the same.
async fn control_plane() -> &'static ControlPlane {
    CONTROL_PLANE
        .get_or_init(|| async {
            let cp = ControlPlane::start().await;
            kubectl_ok(&cp, &["apply", "-f", SERVICE_MONITOR_CRD], None);
            kubectl_ok(
                &cp,
                &[
                    "wait",
                    "--for=condition=Established",
                    "--timeout=60s",
                    "crd/servicemonitors.monitoring.coreos.com",
                ],
                None,
            );
            cp
        })
        .await
}

/// kubectl's stdout; panics with its output unless it succeeded.
fn kubectl_ok(cp: &ControlPlane, args: &[&str], stdin: Option<&str>) -> String {
    let out = match stdin {
        Some(input) => cp.kubectl_stdin(args, input),
        None => cp.kubectl(args),
    };
    assert!(
        out.status.success(),
        "kubectl {} failed:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("kubectl prints UTF-8")
}

/// `kubectl apply --dry-run=server` of `yaml`: every object is accepted (one line each).
fn dry_run_accepts(cp: &ControlPlane, yaml: &str, what: &str) {
    let objects = documents(yaml).len();
    let out = kubectl_ok(cp, &["apply", "--dry-run=server", "-f", "-"], Some(yaml));
    let accepted = out
        .lines()
        .filter(|l| l.ends_with("(server dry run)"))
        .count();
    assert_eq!(accepted, objects, "{what}: server dry run accepted:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_server_accepts_the_chart_with_default_and_non_default_values() {
    let cp = control_plane().await;
    for namespace in ["chart-default", "chart-everything", "team-a"] {
        kubectl_ok(cp, &["create", "namespace", namespace], None);
    }
    let default = render("chart-default", &["--include-crds"]);
    let crds = isc_operator::api::all_crds().len();
    assert_eq!(documents(&default).len(), DEFAULT_KINDS.len() + crds);
    dry_run_accepts(cp, &default, "default values");
    // Every optional object, the ServiceMonitor included (its CRD is installed above).
    let everything = render("chart-everything", &["-f", EVERYTHING]);
    assert!(kinds(&documents(&everything)).contains("ServiceMonitor"));
    dry_run_accepts(cp, &everything, "ci/everything-values.yaml");
    // Applied for real: the watched namespace's Role gives the operator its kinds there and
    // nowhere else, and no Secret anywhere but there.
    kubectl_ok(cp, &["apply", "-f", "-"], Some(&everything));
    let operator = "--as=system:serviceaccount:chart-everything:isc-operator";
    for (verb, resource, namespace, allowed) in [
        (
            "watch",
            "identityprofiles.isc.identitynow.dev",
            "team-a",
            "yes",
        ),
        (
            "patch",
            "tenants.isc.identitynow.dev/status",
            "team-a",
            "yes",
        ),
        ("watch", "secrets", "team-a", "yes"),
        (
            "watch",
            "identityprofiles.isc.identitynow.dev",
            "default",
            "no",
        ),
        ("watch", "secrets", "chart-everything", "no"),
        ("create", "secrets", "team-a", "no"),
        (
            "create",
            "leases.coordination.k8s.io",
            "chart-everything",
            "no",
        ),
    ] {
        let out = cp.kubectl(&["auth", "can-i", verb, resource, "-n", namespace, operator]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            allowed,
            "may the namespaced operator {verb} {resource} in {namespace}?"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_yaml_applies_to_an_empty_cluster_and_upgrades_its_crds() {
    let cp = control_plane().await;
    let install = format!("{ROOT}/deploy/install.yaml");
    // As the README says: one `kubectl apply -f` on a cluster without the operator.
    kubectl_ok(cp, &["apply", "-f", &install], None);
    kubectl_ok(
        cp,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/tenants.isc.identitynow.dev",
            "crd/identityprofiles.isc.identitynow.dev",
            "crd/processingrequests.isc.identitynow.dev",
        ],
        None,
    );
    let yaml = std::fs::read_to_string(&install).unwrap();
    dry_run_accepts(cp, &yaml, "deploy/install.yaml");
    // The ServiceAccount reads Secrets everywhere and writes none.
    let operator = "--as=system:serviceaccount:isc-operator-system:isc-operator";
    for (verb, allowed) in [("watch", "yes"), ("create", "no"), ("delete", "no")] {
        let out = cp.kubectl(&["auth", "can-i", verb, "secrets", "-A", operator]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            allowed,
            "may the operator {verb} secrets?"
        );
    }
    // The documented CRD upgrade step (before a `helm upgrade`) works over a kubectl install.
    let crds = helm_ok(&["show", "crds", CHART]);
    let out = kubectl_ok(
        cp,
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        Some(&crds),
    );
    assert_eq!(
        out.lines().count(),
        isc_operator::api::all_crds().len(),
        "{out}"
    );
}
