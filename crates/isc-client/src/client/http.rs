//! The HTTP layer under the client: TLS provider, the reqwest client, and transport errors
//! described without URLs.

use std::time::Duration;

use super::config::TenantClientConfig;
use crate::error::IscError;

static CRYPTO_PROVIDER: std::sync::Once = std::sync::Once::new();

/// Installs ring as the process-wide rustls provider (kube uses ring too), once.
pub fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        // Another part of the process may have installed ring already; that is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The reqwest client for `config`: its timeouts and any extra CA bundle.
pub(crate) fn build_http_client(config: &TenantClientConfig) -> Result<reqwest::Client, IscError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("isc-operator/", env!("CARGO_PKG_VERSION")))
        .timeout(config.request_timeout)
        .connect_timeout(Duration::from_secs(10));
    if let Some(pem) = &config.ca_bundle_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| IscError::Config(format!("CA bundle is not valid PEM: {e}")))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| IscError::Config(format!("HTTP client: {e}")))
}

/// A short, stable description of a transport error: its kind and root cause, without the URL.
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    format!("{kind}: {root}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_bundle_is_a_configuration_error() {
        let mut config = TenantClientConfig::new(
            "https://acme.example",
            "c",
            secrecy::SecretString::from("s"),
        )
        .unwrap();
        config.ca_bundle_pem = Some(b"-----BEGIN CERTIFICATE-----\nnot base64!\n".to_vec());
        let err = build_http_client(&config).unwrap_err();
        assert!(matches!(err, IscError::Config(_)), "{err}");
    }

    #[tokio::test]
    async fn transport_errors_do_not_quote_the_url() {
        install_crypto_provider();
        // A port that was just free: the connect is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/secret-path?token=abc"))
            .send()
            .await
            .unwrap_err();
        let text = without_url(&e);
        assert!(!text.contains("secret-path"), "{text}");
        assert!(!text.contains("token=abc"), "{text}");
        assert!(text.starts_with("connection failed"), "{text}");
    }
}
