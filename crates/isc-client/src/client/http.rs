//! The HTTP layer under the client: TLS provider, the reqwest client (no redirects), and
//! transport errors described as short categories, never with the host's own error text.

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
        .connect_timeout(Duration::from_secs(10))
        // A redirect would re-send the credentials (the token form, the bearer header) to a
        // host nobody allowed: every 3xx is handed back as an error instead.
        .redirect(reqwest::redirect::Policy::none());
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

/// A short, stable category of a transport error: never the URL, and never the text of the
/// host's resolver, TLS stack or socket, so a tenant URL cannot be used to probe a network.
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    if e.is_body() || e.is_decode() {
        return "reading the response failed".to_string();
    }
    match (e.is_connect(), cause_of(e)) {
        (true, Some(cause)) => format!("connection failed ({cause})"),
        (true, None) => "connection failed".to_string(),
        (false, Some(cause)) => format!("request failed ({cause})"),
        (false, None) => "request failed".to_string(),
    }
}

/// The category of the root cause of `e`, when it is one of the known ones.
fn cause_of(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Some("connection refused"),
                std::io::ErrorKind::ConnectionReset => return Some("connection reset"),
                std::io::ErrorKind::TimedOut => return Some("timed out"),
                _ => {}
            }
        }
        if err.downcast_ref::<rustls::Error>().is_some() {
            return Some("TLS error");
        }
        // The resolver's error type is private to hyper-util; its text names it. The text is
        // only matched here, never shown.
        if err.to_string().starts_with("dns error") {
            return Some("name resolution failed");
        }
        next = err.source();
    }
    None
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
        assert_eq!(text, "connection failed (connection refused)");
    }

    #[tokio::test]
    async fn name_resolution_errors_are_a_category_without_resolver_text() {
        install_crypto_provider();
        let e = reqwest::Client::new()
            .get("http://does-not-exist.invalid/x")
            .send()
            .await
            .unwrap_err();
        let text = without_url(&e);
        assert!(!text.contains("invalid"), "{text}");
        assert!(text.starts_with("connection failed"), "{text}");
        assert!(!text.contains("os error"), "{text}");
    }
}
