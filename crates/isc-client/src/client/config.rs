//! What a client needs to talk to one tenant with one credential.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::observe::CallObserver;
use super::rate_limit::RateLimit;
use super::retry::RetryPolicy;
use crate::error::IscError;

/// Everything needed to talk to one tenant with one credential.
#[derive(Clone)]
pub struct TenantClientConfig {
    /// Base URL, e.g. `https://acme.api.identitynow.com` (no `/v2024`).
    pub base_url: Url,
    /// OAuth client id (not secret, but not logged either).
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretString,
    /// Client-side rate limit shared by every clone.
    pub rate_limit: RateLimit,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Extra PEM CA bundle to trust (for tenants behind a private CA or a test proxy).
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// Told about every HTTP attempt (metrics).
    pub observer: Option<Arc<dyn CallObserver>>,
    /// Allows an `http://` base URL, and then only for a loopback host (the simulator, tests);
    /// credentials never travel in clear text to another machine.
    pub allow_insecure_http: bool,
    /// Largest successful response body read; a longer one is an error, never buffered whole.
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for TenantClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("rate_limit", &self.rate_limit)
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl TenantClientConfig {
    /// A config with default limits.
    pub fn new(
        base_url: &str,
        client_id: &str,
        client_secret: SecretString,
    ) -> Result<Self, IscError> {
        let mut base_url = Url::parse(base_url)
            .map_err(|e| IscError::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(IscError::Config(format!(
                "base URL must be http(s), got {}",
                base_url.scheme()
            )));
        }
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        Ok(TenantClientConfig {
            base_url,
            client_id: client_id.to_string(),
            client_secret,
            rate_limit: RateLimit::default(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            ca_bundle_pem: None,
            observer: None,
            allow_insecure_http: false,
            max_body_bytes: MAX_BODY_BYTES,
        })
    }

    /// Refuses an `http://` base URL unless insecure http is allowed and the host is loopback.
    pub(crate) fn check_transport_security(&self) -> Result<(), IscError> {
        if self.base_url.scheme() == "https" {
            return Ok(());
        }
        if !self.allow_insecure_http {
            return Err(IscError::Config(
                "plain http is not allowed for tenant URLs (use https)".to_string(),
            ));
        }
        if !is_loopback_host(&self.base_url) {
            return Err(IscError::Config(
                "plain http is allowed only for a loopback host (127.0.0.0/8, ::1, localhost)"
                    .to_string(),
            ));
        }
        Ok(())
    }
}

/// Default of [`TenantClientConfig::max_body_bytes`]: 64 MiB, far above any real list page.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// True for `localhost` and loopback IP addresses (127.0.0.0/8, `::1`).
fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let config = TenantClientConfig::new(
            "https://acme.api.identitynow.com",
            "client-1",
            SecretString::from("s3cr3t-value"),
        )
        .unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        let client = crate::TenantClient::new(config).unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn config_rejects_non_http_urls() {
        let err = TenantClientConfig::new("ftp://x", "c", SecretString::from("s")).unwrap_err();
        assert!(err.to_string().contains("http"), "{err}");
    }

    fn config(url: &str, allow_insecure_http: bool) -> TenantClientConfig {
        let mut config = TenantClientConfig::new(url, "c", SecretString::from("s")).unwrap();
        config.allow_insecure_http = allow_insecure_http;
        config
    }

    #[test]
    fn https_is_always_allowed() {
        assert!(crate::TenantClient::new(config("https://acme.example", false)).is_ok());
        assert!(crate::TenantClient::new(config("https://10.0.0.1:8443", true)).is_ok());
    }

    #[test]
    fn http_needs_the_opt_in_and_a_loopback_host() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:1",
        ] {
            let err = crate::TenantClient::new(config(url, false)).unwrap_err();
            assert!(matches!(err, IscError::Config(_)), "{url}: {err}");
            assert!(err.to_string().contains("https"), "{err}");
            assert!(crate::TenantClient::new(config(url, true)).is_ok(), "{url}");
        }
        assert!(crate::TenantClient::new(config("http://127.8.9.10", true)).is_ok());
        for url in [
            "http://10.0.0.1",
            "http://acme.example",
            "http://localhost.evil.example",
            "http://[::2]",
            "http://169.254.169.254",
        ] {
            let err = crate::TenantClient::new(config(url, true)).unwrap_err();
            assert!(err.to_string().contains("loopback"), "{url}: {err}");
        }
    }

    #[test]
    fn the_base_url_always_ends_with_a_slash() {
        let config =
            TenantClientConfig::new("https://acme.example/prefix", "c", SecretString::from("s"))
                .unwrap();
        assert_eq!(config.base_url.as_str(), "https://acme.example/prefix/");
    }
}
