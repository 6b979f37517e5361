//! End-to-end environment: one real control plane per test process (CRDs installed once),
//! and per test a namespace, an in-process simulator and an operator process.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use isc_operator::api::{IdentityProfile, ProcessingRequest, Tenant};
use isc_sim::{JournalEntry, RunningSimulator};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::{SimAdmin, USER_CLIENT_ID, USER_CLIENT_SECRET, sim_config};
use kube_testenv::ControlPlane;

const BIN: &str = env!("CARGO_BIN_EXE_isc-operator");

static CONTROL_PLANE: OnceCell<ControlPlane> = OnceCell::const_new();

/// The shared control plane with the operator's CRDs installed and established.
pub async fn control_plane() -> &'static ControlPlane {
    CONTROL_PLANE
        .get_or_init(|| async {
            let cp = ControlPlane::start().await;
            let crds = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/isc-operator.yaml");
            let out = cp.kubectl_async(&["apply", "-f", crds]).await;
            assert_success(&out, "kubectl apply -f crds/");
            let out = cp
                .kubectl_async(&[
                    "wait",
                    "--for=condition=Established",
                    "--timeout=60s",
                    "crd/tenants.isc.identitynow.dev",
                    "crd/identityprofiles.isc.identitynow.dev",
                    "crd/processingrequests.isc.identitynow.dev",
                ])
                .await;
            assert_success(&out, "CRDs established");
            cp
        })
        .await
}

/// Panics with kubectl's output unless it succeeded.
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The tenant policy of the tests' operators: the simulator on loopback over plain http.
pub const LOOPBACK_POLICY: [&str; 3] = [
    "--allowed-tenant-hosts",
    "127.0.0.1,localhost",
    "--allow-insecure-http",
];

/// An operator process (watching one namespace, or all); killed on drop.
pub struct Operator {
    child: Child,
    log: PathBuf,
    health: String,
}

impl Operator {
    /// Runs `isc-operator run` watching `namespace` (every namespace with `None`), with `extra`
    /// arguments and, unless `extra` sets a tenant policy flag itself, [`LOOPBACK_POLICY`].
    fn start(
        kubeconfig: &std::path::Path,
        namespace: Option<&str>,
        log: PathBuf,
        extra: &[&str],
    ) -> Operator {
        let file = std::fs::File::create(&log).expect("operator log file");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let health = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(BIN);
        let sets_policy = extra.iter().any(|a| {
            a.starts_with("--allowed-tenant-hosts") || a.starts_with("--allow-insecure-http")
        });
        let policy: &[&str] = if sets_policy { &[] } else { &LOOPBACK_POLICY };
        cmd.args(["run", "--health-listen", &health]);
        if let Some(namespace) = namespace {
            cmd.args(["--namespace", namespace]);
        }
        cmd.args(policy)
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("ISC_LOG", "info,isc_operator=debug")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file);
        // The operator dies with the test thread that started it, even if the test is killed.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start the operator binary");
        Operator { child, log, health }
    }

    /// The operator's `/metrics` text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.health))
            .await
            .expect("scrape /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Kills the process (SIGKILL: no chance to finish anything).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The operator's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One test's world: namespace, simulator, operator.
pub struct Env {
    pub cp: &'static ControlPlane,
    pub ns: String,
    pub sim: RunningSimulator,
    pub admin: SimAdmin,
    pub kube: Client,
    pub operator: Option<Operator>,
    dir: PathBuf,
    operator_kubeconfig: Option<PathBuf>,
}

impl Env {
    /// A fresh namespace, a simulator on `listen` (port 0 = free), a Tenant `demo` with a 2 s
    /// resync, and a running operator.
    pub async fn new(name: &str) -> Env {
        Self::with_listen(name, "127.0.0.1:0").await
    }

    /// Like [`Env::new`] with the simulator on a given address.
    pub async fn with_listen(name: &str, listen: &str) -> Env {
        Self::with_sim(name, listen, sim_config()).await
    }

    /// Like [`Env::new`] with a given simulator address and configuration.
    pub async fn with_sim(name: &str, listen: &str, config: isc_sim::SimConfig) -> Env {
        Self::build(name, listen, config, None).await
    }

    /// The general form: `operator_kubeconfig` runs the operator with other credentials than
    /// the admin's (e.g. the deployment's ServiceAccount).
    pub async fn build(
        name: &str,
        listen: &str,
        config: isc_sim::SimConfig,
        operator_kubeconfig: Option<PathBuf>,
    ) -> Env {
        let cp = control_plane().await;
        let ns = format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let kube = kube_client(cp).await;
        let namespaces: Api<Namespace> = Api::all(kube.clone());
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .expect("create namespace");
        let sim = isc_sim::start(config, listen.parse().unwrap())
            .await
            .unwrap_or_else(|e| panic!("simulator cannot listen on {listen}: {e}"));
        let admin = SimAdmin::new(&sim);
        let dir = cp.dir().join(&ns);
        std::fs::create_dir_all(&dir).unwrap();
        let mut env = Env {
            cp,
            ns,
            sim,
            admin,
            kube,
            operator: None,
            dir,
            operator_kubeconfig,
        };
        env.start_operator();
        env
    }

    /// Waits until the ProcessingRequest CRD is served (installed with the others at start).
    pub async fn wait_processing_crd(&self) {
        let out = self
            .cp
            .kubectl_async(&[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/processingrequests.isc.identitynow.dev",
            ])
            .await;
        assert_success(&out, "ProcessingRequest CRD established");
    }

    /// Applies the demo Tenant and its Secret, pointing at this test's simulator.
    pub async fn apply_tenant(&self, resync_seconds: u32) {
        self.apply(&tenant_yaml(&self.sim.base_url(), resync_seconds))
            .await;
    }

    /// Starts (or restarts) the operator.
    pub fn start_operator(&mut self) {
        let n = std::fs::read_dir(&self.dir).map(|d| d.count()).unwrap_or(0);
        let log = self.dir.join(format!("operator-{n}.log"));
        let kubeconfig = self
            .operator_kubeconfig
            .clone()
            .unwrap_or_else(|| self.cp.kubeconfig_path().to_path_buf());
        self.operator = Some(Operator::start(&kubeconfig, Some(&self.ns), log, &[]));
    }

    /// Starts one more operator process with extra arguments; the caller owns it.
    pub fn spawn_operator(&self, extra: &[&str]) -> Operator {
        let n = std::fs::read_dir(&self.dir).map(|d| d.count()).unwrap_or(0);
        let log = self.dir.join(format!("operator-{n}.log"));
        let kubeconfig = self
            .operator_kubeconfig
            .clone()
            .unwrap_or_else(|| self.cp.kubeconfig_path().to_path_buf());
        Operator::start(&kubeconfig, Some(&self.ns), log, extra)
    }

    /// Kills the operator with SIGKILL.
    pub fn kill_operator(&mut self) {
        if let Some(op) = self.operator.take() {
            op.kill();
        }
    }

    /// `kubectl apply -f -` in the test namespace; panics on failure.
    pub async fn apply(&self, yaml: &str) {
        let out = self.try_apply(yaml).await;
        assert_success(&out, "kubectl apply");
    }

    /// `kubectl apply -f -` in the test namespace.
    pub async fn try_apply(&self, yaml: &str) -> Output {
        let path = self
            .dir
            .join(format!("manifest-{}.yaml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, yaml).unwrap();
        self.kubectl(&["apply", "-f", path.to_str().unwrap()]).await
    }

    /// kubectl in the test namespace.
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        let mut full = vec!["-n", self.ns.as_str()];
        full.extend_from_slice(args);
        self.cp.kubectl_async(&full).await
    }

    /// Typed access to IdentityProfiles of the namespace.
    pub fn profiles(&self) -> Api<IdentityProfile> {
        Api::namespaced(self.kube.clone(), &self.ns)
    }

    /// Typed access to Tenants of the namespace.
    pub fn tenants(&self) -> Api<Tenant> {
        Api::namespaced(self.kube.clone(), &self.ns)
    }

    /// Waits until `check` returns `Some`, polling every 200 ms; panics with `what` and the
    /// operator log after `timeout`.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, timeout: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if Instant::now() > deadline {
                let log = self.operator.as_ref().map(|o| o.log()).unwrap_or_default();
                let tail: Vec<_> = log
                    .lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                panic!(
                    "timed out waiting for {what}\noperator log tail:\n{}",
                    tail.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the profile's condition `type_` has `status` for its current generation.
    pub async fn wait_condition(&self, name: &str, type_: &str, status: &str) -> IdentityProfile {
        let api = self.profiles();
        self.wait_for(
            &format!("{name} {type_}={status}"),
            Duration::from_secs(60),
            || {
                let api = api.clone();
                async move {
                    let p = api.get_opt(name).await.ok()??;
                    let st = p.status.as_ref()?;
                    let generation_seen = st.observed_generation == p.metadata.generation;
                    let ok = st
                        .conditions
                        .iter()
                        .any(|c| c.type_ == type_ && c.status == status);
                    (generation_seen && ok).then_some(p)
                }
            },
        )
        .await
    }

    /// Waits for Ready=True on the current generation.
    pub async fn wait_ready(&self, name: &str) -> IdentityProfile {
        self.wait_condition(name, "Ready", "True").await
    }

    /// Tenant-side profiles, straight from the simulator state.
    pub async fn tenant_profiles(&self) -> Vec<Value> {
        self.admin.get("/__sim/identity-profiles").await
    }

    /// Write calls (POST, PATCH, DELETE) the simulator saw, excluding token requests.
    pub async fn tenant_writes(&self) -> Vec<JournalEntry> {
        self.admin
            .api_calls()
            .await
            .into_iter()
            .filter(|e| matches!(e.method.as_str(), "POST" | "PATCH" | "DELETE" | "PUT"))
            .collect()
    }

    /// Events recorded on an object.
    pub async fn events_for(&self, name: &str) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.kube.clone(), &self.ns);
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect()
    }
}

/// A kube client for the control plane.
pub async fn kube_client(cp: &ControlPlane) -> Client {
    let kubeconfig = Kubeconfig::read_from(cp.kubeconfig_path()).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kube config");
    Client::try_from(config).expect("kube client")
}

/// Secret (labelled for the operator) + Tenant `demo` for a simulator URL.
pub fn tenant_yaml(base_url: &str, resync_seconds: u32) -> String {
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: isc-demo-credentials
  labels:
    isc.identitynow.dev/credentials: "true"
type: Opaque
stringData:
  client_id: {USER_CLIENT_ID}
  client_secret: {USER_CLIENT_SECRET}
---
apiVersion: isc.identitynow.dev/v1alpha1
kind: Tenant
metadata:
  name: demo
spec:
  baseUrl: {base_url}
  credentialsSecretRef:
    name: isc-demo-credentials
  resyncIntervalSeconds: {resync_seconds}
"#
    )
}

/// The first source of the built-in seed (HR Employees).
pub const SOURCE_EMPLOYEES: &str = "2c9180835d2e5168015d32f890ca1581";
/// The second source (HR Contractors).
pub const SOURCE_CONTRACTORS: &str = "2c9180835d2e5168015d32f890ca1582";

/// An IdentityProfile manifest with the given extra spec lines (indented by two spaces).
pub fn profile_yaml(name: &str, tenant_name: &str, extra_spec: &str) -> String {
    format!(
        r#"apiVersion: isc.identitynow.dev/v1alpha1
kind: IdentityProfile
metadata:
  name: {name}
spec:
  tenantRef:
    name: demo
  name: {tenant_name}
{extra_spec}"#
    )
}

impl Operator {
    /// `GET` of a health endpoint (`/healthz`, `/readyz`): status and body, or `None` while
    /// nothing answers yet.
    pub async fn probe(&self, path: &str) -> Option<(u16, String)> {
        let resp = reqwest::get(format!("http://{}{path}", self.health))
            .await
            .ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.text().await.ok()?))
    }
}

impl Env {
    /// Starts one more operator process as the user of `kubeconfig`, with extra arguments;
    /// the caller owns it.
    pub fn spawn_operator_as(&self, kubeconfig: &std::path::Path, extra: &[&str]) -> Operator {
        let n = std::fs::read_dir(&self.dir).map(|d| d.count()).unwrap_or(0);
        let log = self.dir.join(format!("operator-{n}.log"));
        Operator::start(kubeconfig, Some(&self.ns), log, extra)
    }
}

/// A control plane of the calling test's own, with the CRDs installed: for an operator that
/// watches every namespace, which on the shared one would also reconcile the objects of tests
/// running in parallel. It lives until the test process ends.
pub async fn private_control_plane() -> &'static ControlPlane {
    let cp: &'static ControlPlane = Box::leak(Box::new(ControlPlane::start().await));
    let crds = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/isc-operator.yaml");
    assert_success(
        &cp.kubectl_async(&["apply", "-f", crds]).await,
        "kubectl apply -f crds/",
    );
    let established = cp
        .kubectl_async(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/tenants.isc.identitynow.dev",
            "crd/identityprofiles.isc.identitynow.dev",
        ])
        .await;
    assert_success(&established, "CRDs established");
    cp
}

impl Env {
    /// A world on its own control plane ([`private_control_plane`]) whose operator watches
    /// every namespace (no `--namespace`), for cluster-wide behaviour such as one owner per
    /// tenant profile across namespaces. `restart` is not supported for this operator.
    pub async fn cluster_wide(name: &str) -> Env {
        let cp = private_control_plane().await;
        let ns = format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let kube = kube_client(cp).await;
        create_namespace(&kube, &ns).await;
        let sim = isc_sim::start(sim_config(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator listens");
        let admin = SimAdmin::new(&sim);
        let dir = cp.dir().join(&ns);
        std::fs::create_dir_all(&dir).unwrap();
        let operator = Operator::start(cp.kubeconfig_path(), None, dir.join("operator-0.log"), &[]);
        Env {
            cp,
            ns,
            sim,
            admin,
            kube,
            operator: Some(operator),
            dir,
            operator_kubeconfig: None,
        }
    }

    /// `kubectl apply -f -` in another namespace; panics on failure.
    pub async fn apply_in(&self, namespace: &str, yaml: &str) {
        let path = self
            .dir
            .join(format!("manifest-{}.yaml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, yaml).unwrap();
        let out = self
            .cp
            .kubectl_async(&["-n", namespace, "apply", "-f", path.to_str().unwrap()])
            .await;
        assert_success(&out, "kubectl apply");
    }
}

/// Creates a namespace (the test API server has no namespace controller: it is never removed).
pub async fn create_namespace(kube: &Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(kube.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
        )
        .await
        .expect("create namespace");
}

impl Env {
    /// The ProcessingRequests of this test's namespace.
    pub fn requests(&self) -> Api<ProcessingRequest> {
        Api::namespaced(self.kube.clone(), &self.ns)
    }

    /// Waits (up to two minutes) until request `name` has finished, either way.
    pub async fn wait_request_finished(&self, name: &str) -> ProcessingRequest {
        let api = self.requests();
        self.wait_for(
            &format!("{name} finished"),
            Duration::from_secs(120),
            || {
                let api = api.clone();
                async move {
                    let r = api.get_opt(name).await.ok()??;
                    r.status.as_ref()?.phase?.is_finished().then_some(r)
                }
            },
        )
        .await
    }
}
