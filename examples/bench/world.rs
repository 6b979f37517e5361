//! The world the benchmark runs in: the real control plane with the operator's CRDs, a kube
//! client, namespaces with a Tenant each, and in-process simulators with their rate limit on.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::status::{condition, is_true};
use isc_sim::testing::{USER_CLIENT_ID, USER_CLIENT_SECRET, sim_config, start_sim};
use isc_sim::{RunningSimulator, Seed};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use kube_testenv::ControlPlane;
use serde_json::{Value, json};

use crate::report::{BenchError, BenchResult};

/// Name of the Tenant object in every benchmark namespace.
pub const TENANT: &str = "bench";

/// Which of the fields other work adds this build's CRDs have.
#[derive(Debug, Clone, Copy)]
pub struct Supports {
    /// `Tenant.spec.creation` (creates through import or one by one).
    pub tenant_creation: bool,
    /// `ProcessingRequest.spec.maxIdentities`.
    pub max_identities: bool,
}

/// Control plane, client and the CRDs' capabilities.
pub struct World {
    /// etcd + kube-apiserver (stopped on drop).
    pub cp: ControlPlane,
    /// Admin client.
    pub kube: kube::Client,
    /// Where logs and manifests go (kept after the run).
    pub dir: PathBuf,
    /// Optional fields the installed CRDs know.
    pub supports: Supports,
}

fn output_text(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().last().unwrap_or_default().to_string()
}

impl World {
    /// Starts the control plane and installs the CRDs of `operator_bin` (`isc-operator crds`,
    /// which is what `crds/isc-operator.yaml` is generated from).
    pub async fn start(operator_bin: &Path) -> BenchResult<World> {
        let dir = std::env::temp_dir().join(format!("isc-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| BenchError::Setup(format!("{}: {e}", dir.display())))?;
        let crds = std::process::Command::new(operator_bin)
            .arg("crds")
            .output()
            .map_err(|e| BenchError::Setup(format!("{} crds: {e}", operator_bin.display())))?;
        if !crds.status.success() {
            return Err(BenchError::Setup(format!(
                "isc-operator crds failed: {}",
                output_text(&crds)
            )));
        }
        let checked_in = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/isc-operator.yaml");
        if std::fs::read(checked_in).ok().as_deref() != Some(&crds.stdout[..]) {
            eprintln!(
                "» note: crds/isc-operator.yaml differs from the operator's own CRDs; installing the operator's"
            );
        }
        let crds_path = dir.join("crds.yaml");
        std::fs::write(&crds_path, &crds.stdout)
            .map_err(|e| BenchError::Setup(format!("{}: {e}", crds_path.display())))?;

        eprintln!("» starting etcd + kube-apiserver");
        let cp = ControlPlane::start().await;
        let crds_arg = crds_path.to_string_lossy().to_string();
        kubectl(&cp, &["apply", "--server-side", "-f", &crds_arg]).await?;
        kubectl(
            &cp,
            &[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd",
                "--all",
            ],
        )
        .await?;
        let kube = kube_client(&cp).await?;
        let supports = Supports {
            tenant_creation: spec_has(&kube, "tenants", "creation").await?,
            max_identities: spec_has(&kube, "processingrequests", "maxIdentities").await?,
        };
        Ok(World {
            cp,
            kube,
            dir,
            supports,
        })
    }

    /// Creates a namespace.
    pub async fn namespace(&self, name: &str) -> BenchResult<()> {
        let api: Api<Namespace> = Api::all(self.kube.clone());
        let ns = from_json(json!({"metadata": {"name": name}}))?;
        api.create(&PostParams::default(), &ns)
            .await
            .map_err(BenchError::kube(format!("create namespace {name}")))?;
        Ok(())
    }

    /// Deletes every IdentityProfile in `ns` (its Tenant keeps `deletionPolicy: Orphan`, so the
    /// operator makes no tenant call) and waits until the API server holds none, so later
    /// figures describe the objects that remain. Namespaces are not deleted: the harness runs
    /// no namespace controller to finish that.
    pub async fn delete_profiles(&self, ns: &str) -> BenchResult<usize> {
        use kube::api::{DeleteParams, ListParams};
        let api: Api<IdentityProfile> = Api::namespaced(self.kube.clone(), ns);
        let lp = ListParams::default();
        let count = || async {
            let listed = api.list_metadata(&lp).await;
            listed
                .map(|l| l.items.len())
                .map_err(BenchError::kube(format!("list IdentityProfiles in {ns}")))
        };
        let held = count().await?;
        api.delete_collection(&DeleteParams::default(), &lp)
            .await
            .map_err(BenchError::kube(format!("delete IdentityProfiles in {ns}")))?;
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let left = count().await?;
            if left == 0 {
                return Ok(held);
            }
            if Instant::now() > deadline {
                return Err(BenchError::Timeout(format!(
                    "{left} IdentityProfiles still in {ns} 300 s after their deletion"
                )));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The credential Secret and Tenant `bench` in `ns`, pointing at `base_url`, with extra
    /// spec fields (e.g. `creation`); waits until the Tenant is Ready.
    pub async fn tenant(
        &self,
        ns: &str,
        base_url: &str,
        resync: u32,
        extra: Value,
    ) -> BenchResult<()> {
        let secrets: Api<Secret> = Api::namespaced(self.kube.clone(), ns);
        let secret = from_json(json!({
            "metadata": {"name": "bench-credentials",
                         "labels": {"isc.identitynow.dev/credentials": "true"}},
            "stringData": {"client_id": USER_CLIENT_ID, "client_secret": USER_CLIENT_SECRET},
        }))?;
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .map_err(BenchError::kube(format!("create Secret in {ns}")))?;
        let mut spec = json!({
            "baseUrl": base_url,
            "credentialsSecretRef": {"name": "bench-credentials"},
            "resyncIntervalSeconds": resync,
        });
        if let (Value::Object(spec), Value::Object(extra)) = (&mut spec, extra) {
            spec.extend(extra);
        }
        let resource = ApiResource::erase::<Tenant>(&());
        let tenants: Api<DynamicObject> = Api::namespaced_with(self.kube.clone(), ns, &resource);
        let tenant = from_json(json!({
            "apiVersion": resource.api_version, "kind": resource.kind,
            "metadata": {"name": TENANT}, "spec": spec,
        }))?;
        tenants
            .create(&PostParams::default(), &tenant)
            .await
            .map_err(BenchError::kube(format!("create Tenant in {ns}")))?;
        let typed: Api<Tenant> = Api::namespaced(self.kube.clone(), ns);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let t = typed
                .get(TENANT)
                .await
                .map_err(BenchError::kube(format!("get Tenant in {ns}")))?;
            if t.status
                .is_some_and(|s| is_true(&s.conditions, condition::READY))
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(BenchError::Timeout(format!(
                    "Tenant {ns}/{TENANT} not Ready in 60 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A simulator on a free loopback port with the tenant's rate limit (100 requests / 10 s per
/// credential), the user-context credential the Tenants use, and `seed` as its content.
pub async fn simulator(seed: Seed) -> BenchResult<RunningSimulator> {
    let mut config = sim_config();
    config.rate_limit = Some((100, Duration::from_secs(10)));
    config.seed = seed;
    Ok(start_sim(config).await)
}

/// Decodes a JSON literal into a Kubernetes object.
pub fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> BenchResult<T> {
    serde_json::from_value(value).map_err(|e| BenchError::Unexpected(format!("bad object: {e}")))
}

async fn kubectl(cp: &ControlPlane, args: &[&str]) -> BenchResult<()> {
    let out = cp.kubectl_async(args).await;
    match out.status.success() {
        true => Ok(()),
        false => Err(BenchError::Setup(format!(
            "kubectl {} failed: {}",
            args.join(" "),
            output_text(&out)
        ))),
    }
}

async fn kube_client(cp: &ControlPlane) -> BenchResult<kube::Client> {
    let setup = |e: &dyn std::fmt::Display| BenchError::Setup(format!("kube client: {e}"));
    let kubeconfig = Kubeconfig::read_from(cp.kubeconfig_path()).map_err(|e| setup(&e))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| setup(&e))?;
    kube::Client::try_from(config).map_err(|e| setup(&e))
}

/// Whether the installed CRD `<plural>.isc.identitynow.dev` has `spec.<field>`.
async fn spec_has(kube: &kube::Client, plural: &str, field: &str) -> BenchResult<bool> {
    let api: Api<CustomResourceDefinition> = Api::all(kube.clone());
    let name = format!("{plural}.isc.identitynow.dev");
    let crd = api
        .get(&name)
        .await
        .map_err(BenchError::kube(format!("get CRD {name}")))?;
    let crd = serde_json::to_value(crd).unwrap_or_default();
    let pointer =
        format!("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/{field}");
    Ok(crd.pointer(&pointer).is_some())
}
