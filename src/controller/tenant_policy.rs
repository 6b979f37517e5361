//! Where the operator may send a credential: the admin's policy, checked before any client is
//! built or any Secret value is read.
//!
//! Anyone who may create a `Tenant` chooses a URL and a Secret name. Without a policy the
//! operator would POST that Secret's values to any address, so [`TenantPolicy`] decides, in one
//! pure place used by every path that resolves a tenant ([`crate::controller::tenant_pool`]):
//!
//! - the URL's host must match the admin's allow-list (`--allowed-tenant-hosts`, default the
//!   domain SailPoint documents for tenant APIs, [`DEFAULT_ALLOWED_TENANT_HOSTS`]);
//! - the scheme must be `https`; plain `http` only to a loopback host, and only when the admin
//!   allowed it (`--allow-insecure-http`, for the simulator and tests);
//! - the Secret must carry the label [`CREDENTIALS_LABEL`]`: "true"`, so a Tenant cannot aim the
//!   operator at an unrelated Secret of its namespace.

use std::collections::BTreeMap;

use url::{Host, Url};

use crate::controller::status::reason;

/// Host patterns allowed when the admin gives none: SailPoint's documented tenant API domain.
pub const DEFAULT_ALLOWED_TENANT_HOSTS: &str = "*.api.identitynow.com";

/// Label a Secret must carry (with value `"true"`) before the operator reads its values.
pub const CREDENTIALS_LABEL: &str = "isc.identitynow.dev/credentials";

/// Condition type on a `Tenant` reached over plain http (a Warning: True is the bad state).
pub const INSECURE_TRANSPORT_CONDITION: &str = "InsecureTransport";

/// Reasons of the policy's refusals and warnings (conditions and Events).
pub mod policy_reason {
    /// The URL's host is not in the admin's allow-list.
    pub const HOST_NOT_ALLOWED: &str = "HostNotAllowed";
    /// Plain http to a host or with a configuration that does not allow it.
    pub const INSECURE_TRANSPORT_REFUSED: &str = "InsecureTransportRefused";
    /// The credentials Secret lacks the operator's label.
    pub const SECRET_NOT_LABELLED: &str = "SecretNotLabelled";
    /// Plain http was used because the admin allowed it (the Warning condition's reason).
    pub const PLAIN_HTTP_ALLOWED: &str = "PlainHttpAllowed";
}

/// The admin's rules for tenant URLs and credential Secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPolicy {
    /// Host patterns, lowercase: `acme.example.com` (exactly this host) or `*.example.com`
    /// (any subdomain, not `example.com` itself). IPv6 addresses without brackets.
    pub allowed_hosts: Vec<String>,
    /// Plain http allowed to loopback hosts (127.0.0.0/8, ::1, localhost); never elsewhere.
    pub allow_insecure_http: bool,
}

impl Default for TenantPolicy {
    /// SailPoint's tenant API domain only, https only.
    fn default() -> Self {
        TenantPolicy {
            allowed_hosts: parse_host_patterns(DEFAULT_ALLOWED_TENANT_HOSTS)
                .expect("the default host pattern is valid"),
            allow_insecure_http: false,
        }
    }
}

/// How credentials travel to a tenant the policy allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS.
    Https,
    /// Plain http to a loopback host, allowed by `--allow-insecure-http`.
    InsecureHttp,
}

/// Why the policy refuses a Tenant; nothing was sent anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// The base URL does not parse, has no host, or carries user info.
    #[error("baseUrl is not a usable tenant URL: {0}")]
    InvalidUrl(String),
    /// The host is outside the allow-list.
    #[error(
        "host {host:?} is not an allowed tenant host (allowed: {allowed}); nothing was sent. \
         An operator administrator can add it with --allowed-tenant-hosts"
    )]
    HostNotAllowed {
        /// The refused host.
        host: String,
        /// The allow-list, comma-separated.
        allowed: String,
    },
    /// Plain http where it is not allowed.
    #[error("plain http is refused for host {host:?}: {why}; use https. Nothing was sent")]
    InsecureTransport {
        /// The refused host.
        host: String,
        /// What would have to be different.
        why: &'static str,
    },
    /// The Secret lacks the operator's label.
    #[error(
        "Secret {secret:?} is not labelled {CREDENTIALS_LABEL}: \"true\"; the operator reads only \
         Secrets labelled for it (kubectl label secret {secret} {CREDENTIALS_LABEL}=true)"
    )]
    SecretNotLabelled {
        /// Secret name.
        secret: String,
    },
}

impl PolicyViolation {
    /// Short CamelCase reason for conditions and events.
    pub fn reason(&self) -> &'static str {
        match self {
            PolicyViolation::InvalidUrl(_) => reason::INVALID_SPEC,
            PolicyViolation::HostNotAllowed { .. } => policy_reason::HOST_NOT_ALLOWED,
            PolicyViolation::InsecureTransport { .. } => policy_reason::INSECURE_TRANSPORT_REFUSED,
            PolicyViolation::SecretNotLabelled { .. } => policy_reason::SECRET_NOT_LABELLED,
        }
    }

    /// Whether a change to the Secret (not watched) can fix it, rather than one to the Tenant.
    pub fn fixed_in_secret(&self) -> bool {
        matches!(self, PolicyViolation::SecretNotLabelled { .. })
    }
}

/// Parses a comma-separated list of host patterns (the `--allowed-tenant-hosts` syntax).
pub fn parse_host_patterns(list: &str) -> Result<Vec<String>, String> {
    let patterns: Vec<String> = list
        .split(',')
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(parse_host_pattern)
        .collect::<Result<_, _>>()?;
    if patterns.is_empty() {
        return Err("at least one host pattern is needed".to_string());
    }
    Ok(patterns)
}

fn parse_host_pattern(pattern: &str) -> Result<String, String> {
    let lower = pattern.to_ascii_lowercase();
    let (wildcard, host) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    let host = host.trim_end_matches('.');
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let valid = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
        && !(wildcard && bare.contains(':'));
    if !valid {
        return Err(format!(
            "invalid host pattern {pattern:?}: use a host name, an IP address, or *.domain"
        ));
    }
    Ok(if wildcard {
        format!("*.{bare}")
    } else {
        bare.to_string()
    })
}

impl TenantPolicy {
    /// A policy from the flags' values.
    pub fn new(allowed_hosts: Vec<String>, allow_insecure_http: bool) -> Self {
        TenantPolicy {
            allowed_hosts,
            allow_insecure_http,
        }
    }

    /// Whether `host` (lowercase, IPv6 without brackets) matches a pattern of the allow-list.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed_hosts
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(domain) => host
                    .strip_suffix(domain)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                None => *pattern == host,
            })
    }

    /// Checks a Tenant's base URL: the transport the credentials would use, or why not.
    pub fn check_url(&self, base_url: &str) -> Result<Transport, PolicyViolation> {
        let url =
            Url::parse(base_url.trim()).map_err(|e| PolicyViolation::InvalidUrl(format!("{e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PolicyViolation::InvalidUrl(
                "user info (user@host) is not allowed".to_string(),
            ));
        }
        let (host, loopback) = match url.host() {
            Some(Host::Domain(name)) => (
                name.trim_end_matches('.').to_ascii_lowercase(),
                name.eq_ignore_ascii_case("localhost"),
            ),
            Some(Host::Ipv4(ip)) => (ip.to_string(), ip.is_loopback()),
            Some(Host::Ipv6(ip)) => (ip.to_string(), ip.is_loopback()),
            None => return Err(PolicyViolation::InvalidUrl("no host".to_string())),
        };
        let transport = match url.scheme() {
            "https" => Transport::Https,
            "http" if !loopback => {
                return Err(PolicyViolation::InsecureTransport {
                    host,
                    why: "plain http is allowed only to loopback hosts",
                });
            }
            "http" if !self.allow_insecure_http => {
                return Err(PolicyViolation::InsecureTransport {
                    host,
                    why: "the operator does not run with --allow-insecure-http",
                });
            }
            "http" => Transport::InsecureHttp,
            other => {
                return Err(PolicyViolation::InvalidUrl(format!(
                    "scheme {other:?} (use https)"
                )));
            }
        };
        if !self.allows_host(&host) {
            return Err(PolicyViolation::HostNotAllowed {
                host,
                allowed: self.allowed_hosts.join(","),
            });
        }
        Ok(transport)
    }

    /// Checks that a Secret is labelled for the operator before its values are read.
    pub fn check_secret(
        &self,
        secret: &str,
        labels: Option<&BTreeMap<String, String>>,
    ) -> Result<(), PolicyViolation> {
        match labels.and_then(|l| l.get(CREDENTIALS_LABEL)) {
            Some(value) if value == "true" => Ok(()),
            _ => Err(PolicyViolation::SecretNotLabelled {
                secret: secret.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &str, http: bool) -> TenantPolicy {
        TenantPolicy::new(parse_host_patterns(hosts).unwrap(), http)
    }

    #[test]
    fn the_default_allows_sailpoint_tenants_over_https_only() {
        let p = TenantPolicy::default();
        assert_eq!(
            p.check_url("https://acme.api.identitynow.com"),
            Ok(Transport::Https)
        );
        assert_eq!(
            p.check_url("https://ACME-sb.API.identitynow.com.:443/"),
            Ok(Transport::Https)
        );
        for refused in [
            "https://api.identitynow.com",
            "https://evil.com",
            "https://acme.api.identitynow.com.evil.com",
            "https://evilapi.identitynow.com",
            "https://10.0.0.1",
        ] {
            let e = p.check_url(refused).unwrap_err();
            assert_eq!(e.reason(), "HostNotAllowed", "{refused}: {e}");
        }
        let e = p.check_url("http://acme.api.identitynow.com").unwrap_err();
        assert_eq!(e.reason(), "InsecureTransportRefused", "{e}");
        let e = p.check_url("http://127.0.0.1:8080").unwrap_err();
        assert!(e.to_string().contains("--allow-insecure-http"), "{e}");
    }

    #[test]
    fn user_info_cannot_disguise_the_host() {
        let p = TenantPolicy::default();
        let e = p
            .check_url("https://acme.api.identitynow.com@evil.com")
            .unwrap_err();
        assert_eq!(e.reason(), "InvalidSpec", "{e}");
        assert!(p.check_url("not a url").is_err());
        assert!(p.check_url("ftp://acme.api.identitynow.com").is_err());
    }

    #[test]
    fn plain_http_needs_the_flag_a_loopback_host_and_the_allow_list() {
        let p = policy("127.0.0.1,localhost,::1,*.internal.example", true);
        for ok in [
            "http://127.0.0.1:18085",
            "http://localhost:1",
            "http://[::1]:80",
        ] {
            assert_eq!(p.check_url(ok), Ok(Transport::InsecureHttp), "{ok}");
        }
        for (refused, reason) in [
            ("http://10.1.2.3", "InsecureTransportRefused"),
            ("http://a.internal.example", "InsecureTransportRefused"),
            ("http://127.0.0.2", "HostNotAllowed"),
        ] {
            assert_eq!(
                p.check_url(refused).unwrap_err().reason(),
                reason,
                "{refused}"
            );
        }
        assert_eq!(
            p.check_url("https://a.internal.example"),
            Ok(Transport::Https)
        );
    }

    #[test]
    fn host_patterns_are_validated_and_normalized() {
        assert_eq!(
            parse_host_patterns(" *.API.identitynow.com , [::1],tenant.example.com. ").unwrap(),
            vec!["*.api.identitynow.com", "::1", "tenant.example.com"]
        );
        for bad in ["", " , ", "*", "*.", "a/b", "http://x", "*.::1", "a b"] {
            assert!(parse_host_patterns(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_labelled_secrets_are_read() {
        let p = TenantPolicy::default();
        let labels = |v: &str| BTreeMap::from([(CREDENTIALS_LABEL.to_string(), v.to_string())]);
        assert_eq!(p.check_secret("creds", Some(&labels("true"))), Ok(()));
        for unlabelled in [None, Some(labels("false")), Some(BTreeMap::new())] {
            let e = p.check_secret("creds", unlabelled.as_ref()).unwrap_err();
            assert_eq!(e.reason(), "SecretNotLabelled");
            assert!(e.to_string().contains(CREDENTIALS_LABEL), "{e}");
            assert!(e.fixed_in_secret());
        }
    }
}
