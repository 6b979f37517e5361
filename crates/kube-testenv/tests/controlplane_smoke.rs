//! The test control plane works: a real kube-apiserver + etcd start, `kubectl apply` installs a
//! CRD, and the API server itself enforces its OpenAPI schema and CEL rule.

use std::process::Output;
use std::time::Instant;

use kube_testenv::ControlPlane;

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.isc.test
spec:
  group: example.isc.test
  scope: Namespaced
  names:
    kind: Widget
    listKind: WidgetList
    plural: widgets
    singular: widget
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size:
                  type: integer
                color:
                  type: string
              x-kubernetes-validations:
                - rule: "self.size >= 1 && self.size <= 10"
                  message: "size must be between 1 and 10"
                  fieldPath: ".size"
"#;

const VALID: &str = r#"
apiVersion: example.isc.test/v1
kind: Widget
metadata:
  name: good
  namespace: default
spec:
  size: 3
  color: blue
"#;

/// Misses the required `spec.size`.
const MISSING_REQUIRED: &str = r#"
apiVersion: example.isc.test/v1
kind: Widget
metadata:
  name: no-size
  namespace: default
spec:
  color: red
"#;

/// Breaks the CEL rule.
const BREAKS_CEL: &str = r#"
apiVersion: example.isc.test/v1
kind: Widget
metadata:
  name: too-big
  namespace: default
spec:
  size: 42
"#;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[tokio::test]
async fn control_plane_enforces_crd_schema_and_cel() {
    let t0 = Instant::now();
    let cp = ControlPlane::start().await;
    eprintln!(
        "smoke: control plane up in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        cp.server_url().starts_with("https://127.0.0.1:"),
        "{}",
        cp.server_url()
    );
    assert!(cp.kubeconfig_path().is_file());

    let version = cp.kubectl(&["version", "-o", "json"]);
    assert!(
        version.status.success(),
        "kubectl version: {}",
        describe(&version)
    );
    let version: serde_json::Value = serde_json::from_slice(&version.stdout).expect("json");
    assert_eq!(
        version["clientVersion"]["gitVersion"],
        version["serverVersion"]["gitVersion"]
    );

    let write = |name: &str, yaml: &str| {
        let path = cp.dir().join(name);
        std::fs::write(&path, yaml).expect("write manifest");
        path.display().to_string()
    };
    let crd = write("crd.yaml", CRD);
    let out = cp.kubectl(&["apply", "-f", &crd]);
    assert!(out.status.success(), "apply CRD: {}", describe(&out));
    let out = cp.kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/widgets.example.isc.test",
    ]);
    assert!(out.status.success(), "wait for CRD: {}", describe(&out));

    let valid = write("valid.yaml", VALID);
    let out = cp.kubectl(&["apply", "-f", &valid]);
    assert!(
        out.status.success(),
        "apply valid widget: {}",
        describe(&out)
    );
    let out = cp.kubectl(&["get", "widget", "good", "-o", "jsonpath={.spec.size}"]);
    assert!(out.status.success(), "get widget: {}", describe(&out));
    assert_eq!(text(&out.stdout), "3");

    let missing = write("missing.yaml", MISSING_REQUIRED);
    let out = cp.kubectl(&["apply", "-f", &missing]);
    assert!(
        !out.status.success(),
        "a widget without spec.size was accepted: {}",
        describe(&out)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("spec.size") && stderr.contains("Required value"),
        "{stderr}"
    );

    let cel = write("cel.yaml", BREAKS_CEL);
    let out = cp.kubectl(&["apply", "-f", &cel]);
    assert!(
        !out.status.success(),
        "a widget breaking the CEL rule was accepted: {}",
        describe(&out)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("spec.size") && stderr.contains("size must be between 1 and 10"),
        "{stderr}"
    );

    // The kubeconfig works for kube-rs (rustls, token, the self-signed CA with its IP SAN).
    let kubeconfig = kube::config::Kubeconfig::read_from(cp.kubeconfig_path()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("kube config from the kubeconfig");
    let client = kube::Client::try_from(config).expect("kube client");
    let gvk = kube::api::GroupVersionKind::gvk("example.isc.test", "v1", "Widget");
    let widgets: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client, "default", &kube::api::ApiResource::from_gvk(&gvk));
    let good = widgets.get("good").await.expect("get widget with kube-rs");
    assert_eq!(good.data["spec"]["size"], 3);

    // Server-side apply works too (field managers, no client/server skew complaints).
    let out = cp.apply_yaml(&VALID.replace("size: 3", "size: 4"));
    assert!(
        out.status.success(),
        "client-side re-apply: {}",
        describe(&out)
    );
    let out = cp.kubectl(&["apply", "--server-side", "--force-conflicts", "-f", &valid]);
    assert!(
        out.status.success(),
        "server-side apply: {}",
        describe(&out)
    );

    let dir = cp.dir().to_path_buf();
    cp.stop();
    assert!(!dir.exists(), "temp dir {} left behind", dir.display());
    eprintln!("smoke: whole test {:.1} s", t0.elapsed().as_secs_f64());
}
