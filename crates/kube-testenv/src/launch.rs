//! Starting the two servers on free loopback ports and waiting until the API server serves.

use std::fs;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::ControlPlane;
use crate::process::{Supervised, log_tail};

/// How long the API server may take to report `/readyz` ok.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Distinct free loopback ports (all bound at once, then released).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("control plane: bind a loopback port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local addr").port())
}

/// Why one start attempt failed.
pub(crate) enum StartError {
    /// A port picked as free was taken before the server bound it: try again with new ports.
    PortTaken(String),
    /// Anything else: the start cannot succeed by retrying.
    Fatal(String),
}

impl ControlPlane {
    /// Starts etcd, then the API server, waits until it serves and writes the kubeconfig.
    pub(crate) async fn launch(&mut self) -> Result<(), StartError> {
        let [client_port, peer_port, secure_port] = free_ports::<3>();
        self.etcd_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        self.server_url = format!("https://127.0.0.1:{secure_port}");
        let dir = self.dir.clone();
        let path = |p: &str| dir.join(p).display().to_string();

        let etcd_args = vec![
            "--name=default".to_string(),
            format!("--data-dir={}", path("etcd")),
            format!("--listen-client-urls={}", self.etcd_url),
            format!("--advertise-client-urls={}", self.etcd_url),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=default={peer_url}"),
            "--unsafe-no-fsync=true".to_string(),
            "--log-level=warn".to_string(),
        ];
        self.etcd = Some(Supervised::spawn(
            "etcd",
            &self.bin_dir.join("etcd"),
            &etcd_args,
            dir.join("etcd.log"),
            Some(&dir),
        ));

        let apiserver_args = vec![
            format!("--etcd-servers={}", self.etcd_url),
            format!("--cert-dir={}", path("certs")),
            format!("--secure-port={secure_port}"),
            "--bind-address=127.0.0.1".to_string(),
            "--service-cluster-ip-range=10.0.0.0/24".to_string(),
            "--authorization-mode=RBAC".to_string(),
            "--disable-admission-plugins=ServiceAccount".to_string(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_string(),
            format!("--service-account-key-file={}", path("sa.key")),
            format!("--service-account-signing-key-file={}", path("sa.key")),
            format!("--token-auth-file={}", path("tokens.csv")),
            "--allow-privileged=true".to_string(),
        ];
        self.apiserver = Some(Supervised::spawn(
            "kube-apiserver",
            &self.bin_dir.join("kube-apiserver"),
            &apiserver_args,
            dir.join("kube-apiserver.log"),
            None,
        ));

        self.wait_ready().await?;
        self.write_kubeconfig();
        Ok(())
    }

    /// Polls `/readyz` (then the `default` namespace, which a bootstrap hook creates) until both
    /// answer 200, a server exits, or the timeout passes.
    async fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut client: Option<reqwest::Client> = None;
        let mut last = String::from("no answer yet");
        loop {
            for server in [self.etcd.as_mut(), self.apiserver.as_mut()]
                .into_iter()
                .flatten()
            {
                if let Some(status) = server.exited() {
                    let tail = log_tail(&server.log, 40);
                    let msg = format!(
                        "{} exited ({status}); last lines of {}:\n{tail}",
                        server.name,
                        server.log.display()
                    );
                    return Err(if tail.contains("address already in use") {
                        StartError::PortTaken(msg)
                    } else {
                        StartError::Fatal(msg)
                    });
                }
            }
            if client.is_none() {
                // The API server writes its self-signed serving cert + CA on start-up.
                if let Ok(pem) = fs::read(&self.ca_cert) {
                    if let Ok(certs) = reqwest::Certificate::from_pem_bundle(&pem) {
                        if !certs.is_empty() {
                            client = Some(
                                reqwest::Client::builder()
                                    .tls_certs_only(certs)
                                    .timeout(Duration::from_secs(5))
                                    .build()
                                    .map_err(|e| {
                                        StartError::Fatal(format!("readiness client: {e}"))
                                    })?,
                            );
                        }
                    }
                }
            }
            if let Some(client) = &client {
                match self.probe(client).await {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                }
            }
            if Instant::now() >= deadline {
                let log = self.dir.join("kube-apiserver.log");
                return Err(StartError::Fatal(format!(
                    "kube-apiserver at {} not ready after {} s (last: {last}); last lines of {}:\n{}",
                    self.server_url,
                    READY_TIMEOUT.as_secs(),
                    log.display(),
                    log_tail(&log, 40)
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Both readiness checks of [`ControlPlane::wait_ready`], with the admin token.
    async fn probe(&self, client: &reqwest::Client) -> Result<(), String> {
        for path in ["/readyz", "/api/v1/namespaces/default"] {
            let resp = client
                .get(format!("{}{path}", self.server_url))
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| format!("GET {path}: {e}"))?;
            let status = resp.status();
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                return Err(format!("GET {path}: {status}: {}", body.trim()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let [a, b, c] = free_ports::<3>();
        assert!(a != b && b != c && a != c, "{a} {b} {c}");
    }
}
