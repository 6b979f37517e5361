//! The control plane's credentials: the admin token (static token file), the service-account
//! signing key, and the kubeconfig that trusts the API server's self-signed CA.

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::ControlPlane;

/// A 64-hex-digit bearer token.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl ControlPlane {
    /// Temp dir, token file, service-account key.
    pub(crate) fn prepare(bin_dir: PathBuf) -> ControlPlane {
        let dir = std::env::temp_dir().join(format!("isc-cp-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir_all(dir.join("certs"))
            .unwrap_or_else(|e| panic!("control plane: cannot create {}: {e}", dir.display()));
        let token = random_token();
        let cp = ControlPlane {
            kubeconfig: dir.join("kubeconfig"),
            ca_cert: dir.join("certs/apiserver.crt"),
            dir,
            bin_dir,
            etcd: None,
            apiserver: None,
            server_url: String::new(),
            etcd_url: String::new(),
            token,
        };
        // Static token auth: token,user,uid,"groups".
        fs::write(
            cp.dir.join("tokens.csv"),
            format!("{},admin,admin,\"system:masters\"\n", cp.token),
        )
        .expect("control plane: write token file");
        // Service-account signing key (RSA; the API server refuses to start without one).
        let key = cp.dir.join("sa.key");
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&key)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "control plane: openssl is required to make the service-account key \
                     (apt-get install openssl): {e}"
                )
            });
        assert!(
            out.status.success(),
            "control plane: openssl genpkey failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cp
    }

    /// Writes the admin kubeconfig (see [`ControlPlane::kubeconfig_path`]).
    pub(crate) fn write_kubeconfig(&self) {
        // JSON is YAML: kubectl and kube-rs both read it.
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{
                "name": "isc-test",
                "cluster": {
                    "server": self.server_url,
                    "certificate-authority": self.ca_cert.display().to_string(),
                },
            }],
            "users": [{ "name": "admin", "user": { "token": self.token } }],
            "contexts": [{
                "name": "isc-test",
                "context": { "cluster": "isc-test", "user": "admin", "namespace": "default" },
            }],
            "current-context": "isc-test",
        });
        let mut file = File::create(&self.kubeconfig).expect("control plane: create kubeconfig");
        file.write_all(
            serde_json::to_string_pretty(&config)
                .expect("json")
                .as_bytes(),
        )
        .expect("control plane: write kubeconfig");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_plain() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }
}
