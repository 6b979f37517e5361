//! `Tenant`: where and how to reach one ISC tenant.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Connection settings for one ISC tenant. Several can live side by side (sandbox, prod).
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "isc.identitynow.dev",
    version = "v1alpha1",
    kind = "Tenant",
    namespaced,
    status = "TenantStatus",
    shortname = "isctenant",
    category = "isc",
    doc = "An ISC tenant the operator manages, and the credential it uses.",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.baseUrl"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Suspended","type":"boolean","jsonPath":".spec.suspend","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// Tenant API base URL, e.g. `https://acme.api.identitynow.com` (no `/v2024` suffix). Its
    /// host must be allowed by the operator (`--allowed-tenant-hosts`); https only (plain http
    /// only to loopback, when the operator runs with `--allow-insecure-http`).
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+(/[^?#]*)?$') && !self.endsWith('/v2024') && !self.endsWith('/v3')").message("baseUrl must be an http(s) URL without query and without an API version suffix, e.g. https://acme.api.identitynow.com"))]
    #[schemars(length(min = 8, max = 2048))]
    pub base_url: String,
    /// Secret (same namespace, labelled `isc.identitynow.dev/credentials: "true"`) holding the
    /// OAuth client credentials.
    pub credentials_secret_ref: CredentialsSecretRef,
    /// Client-side rate limit for all calls to this tenant with this credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    /// How often every profile of this tenant is compared with the tenant (drift correction),
    /// in seconds. Jittered by up to 10%.
    #[serde(default = "default_resync_seconds")]
    #[schemars(range(min = 1, max = 86400))]
    pub resync_interval_seconds: u32,
    /// Extra PEM CA certificates to trust (a tenant behind a TLS-inspecting proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub ca_bundle: Option<String>,
    /// How new identity profiles are created on this tenant (omit for the defaults: import in
    /// batches of 50).
    #[serde(default)]
    pub creation: CreationSpec,
    /// Incident switch: `true` stops every tenant write for this tenant (profile creates,
    /// patches and deletes, processing calls); reads and plans go on and every affected object
    /// shows `Suspended`. Set it back to `false` (or remove it) to resume.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

fn default_resync_seconds() -> u32 {
    300
}

/// Where the OAuth client credentials are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    /// Secret name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key holding the client id.
    #[serde(default = "default_client_id_key")]
    #[schemars(length(min = 1, max = 253))]
    pub client_id_key: String,
    /// Key holding the client secret.
    #[serde(default = "default_client_secret_key")]
    #[schemars(length(min = 1, max = 253))]
    pub client_secret_key: String,
}

fn default_client_id_key() -> String {
    "client_id".to_string()
}

fn default_client_secret_key() -> String {
    "client_secret".to_string()
}

/// A client-side rate limit. The tenant allows 100 requests per 10 s per client id and API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitSpec {
    /// Requests allowed in any window.
    #[serde(default = "default_requests")]
    #[schemars(range(min = 1, max = 100))]
    pub requests: u32,
    /// Window length in seconds.
    #[serde(default = "default_window")]
    #[schemars(range(min = 1, max = 3600))]
    pub window_seconds: u32,
}

fn default_requests() -> u32 {
    isc_client::client::DEFAULT_REQUESTS_PER_WINDOW
}

fn default_window() -> u32 {
    10
}

/// How the operator creates identity profiles that do not exist yet.
///
/// New profiles that are ready at the same time form a wave: one fresh list of the tenant's
/// profiles proves which names are free (compared case-insensitively), then the wave is created
/// with `Import` (a few calls for many profiles) or `Individual` (one call per profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreationSpec {
    /// `Import` (default): `POST /v2024/identity-profiles/import`, `importBatchSize` profiles per
    /// call; needs a credential with user context (a personal access token) and falls back to
    /// `Individual` when the tenant answers 403. `Individual`: one
    /// `POST /v2024/identity-profiles` per profile.
    #[serde(default)]
    pub method: CreationMethod,
    /// Profiles per import call (1 to 250).
    #[serde(default = "default_import_batch_size")]
    #[schemars(range(min = 1, max = 250))]
    pub import_batch_size: u32,
}

impl Default for CreationSpec {
    fn default() -> Self {
        CreationSpec {
            method: CreationMethod::default(),
            import_batch_size: default_import_batch_size(),
        }
    }
}

fn default_import_batch_size() -> u32 {
    50
}

/// How new identity profiles are sent to the tenant.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum CreationMethod {
    /// In batches through `POST /v2024/identity-profiles/import`.
    #[default]
    Import,
    /// One `POST /v2024/identity-profiles` per profile.
    Individual,
}

/// Observed state of a `Tenant`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// `Ready` is True once a token was obtained with the current credential; `Stalled` when
    /// only a person can help (policy, refused credential, unusable Secret), `Reconciling` for
    /// transient trouble; `Suspended` while `spec.suspend` is true; `InsecureTransport`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::api::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The identity of an ISC tenant: its base URL normalized (scheme and host lowercased, default
/// port and trailing slashes dropped). Two `Tenant` objects with the same identity point at the
/// same ISC tenant, whatever their names or namespaces; `None` for a URL that does not parse.
pub fn tenant_identity(base_url: &str) -> Option<String> {
    let url = url::Url::parse(base_url.trim()).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    // `Url` already drops a port that is the scheme's default.
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    Some(format!("{}://{host}{port}{path}", url.scheme()))
}

#[cfg(test)]
mod tests {
    use super::tenant_identity;

    #[test]
    fn one_tenant_has_one_identity_however_its_url_is_written() {
        let id = tenant_identity("https://acme.api.identitynow.com").unwrap();
        for same in [
            "https://ACME.api.identitynow.com/",
            "HTTPS://acme.api.identitynow.com:443",
            " https://acme.api.identitynow.com// ",
        ] {
            assert_eq!(
                tenant_identity(same).as_deref(),
                Some(id.as_str()),
                "{same}"
            );
        }
        assert_ne!(
            tenant_identity("https://acme-sb.api.identitynow.com"),
            Some(id.clone())
        );
        assert_eq!(
            tenant_identity("http://127.0.0.1:18085").as_deref(),
            Some("http://127.0.0.1:18085")
        );
        assert_eq!(tenant_identity("not a url"), None);
    }
}
