//! The incident switches: `Tenant.spec.suspend` holds every tenant write for one tenant, the
//! annotation `isc.identitynow.dev/paused: "true"` holds them for one object. Reads and plans go
//! on, so status still shows what would be done; the object shows `Suspended=True`.

use kube::ResourceExt;

use crate::api::Tenant;

/// The annotation that holds tenant writes for one object.
pub const PAUSED_ANNOTATION: &str = "isc.identitynow.dev/paused";

/// Reason when the object's Tenant has `spec.suspend: true`.
pub const TENANT_SUSPENDED: &str = "TenantSuspended";
/// Reason when the object carries `isc.identitynow.dev/paused: "true"`.
pub const PAUSED: &str = "Paused";

/// Why tenant writes for an object are held, as the `Suspended` condition shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteHold {
    /// [`TENANT_SUSPENDED`] or [`PAUSED`].
    pub reason: &'static str,
    /// What holds the writes and how to release them.
    pub message: String,
}

/// Whether the object's own annotation pauses it (`"true"`, any case; other values do not).
pub fn object_paused(object: &impl ResourceExt) -> bool {
    object
        .annotations()
        .get(PAUSED_ANNOTATION)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Why tenant writes for `object` (served by `tenant`, when known) are held; `None` when they
/// may go. The object's annotation is named first when both hold.
pub fn writes_held(object: &impl ResourceExt, tenant: Option<&Tenant>) -> Option<WriteHold> {
    if object_paused(object) {
        return Some(WriteHold {
            reason: PAUSED,
            message: format!(
                "tenant writes are paused by the annotation {PAUSED_ANNOTATION}: \"true\"; remove it to resume"
            ),
        });
    }
    let tenant = tenant.filter(|t| t.spec.suspend)?;
    Some(WriteHold {
        reason: TENANT_SUSPENDED,
        message: format!(
            "tenant writes are suspended by Tenant {} (spec.suspend: true); set it to false to resume",
            tenant.name_any()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::IdentityProfile;

    fn tenant(suspend: bool) -> Tenant {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "isc.identitynow.dev/v1alpha1", "kind": "Tenant",
            "metadata": {"name": "acme", "namespace": "ns"},
            "spec": {"baseUrl": "https://acme.api.identitynow.com",
                     "credentialsSecretRef": {"name": "s"}, "suspend": suspend}
        }))
        .unwrap()
    }

    fn profile(paused: Option<&str>) -> IdentityProfile {
        let mut value = serde_json::json!({
            "apiVersion": "isc.identitynow.dev/v1alpha1", "kind": "IdentityProfile",
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"tenantRef": {"name": "acme"}, "name": "P",
                     "authoritativeSource": {"id": "2c9180835d2e5168015d32f890ca1581"}}
        });
        if let Some(v) = paused {
            value["metadata"]["annotations"] = serde_json::json!({ PAUSED_ANNOTATION: v });
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_annotation_or_the_tenant_holds_writes() {
        assert_eq!(writes_held(&profile(None), Some(&tenant(false))), None);
        assert_eq!(writes_held(&profile(Some("false")), None), None);
        let by_tenant = writes_held(&profile(None), Some(&tenant(true))).unwrap();
        assert_eq!(by_tenant.reason, TENANT_SUSPENDED);
        assert!(by_tenant.message.contains("acme"));
        let by_annotation = writes_held(&profile(Some("True")), Some(&tenant(true))).unwrap();
        assert_eq!(by_annotation.reason, PAUSED);
    }
}
