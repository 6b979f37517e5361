//! The incident switches: `Tenant.spec.suspend` holds every tenant write for one tenant, the
//! annotation `isc.identitynow.dev/paused: "true"` holds them for one object. Reads and plans go
//! on, so status still shows what would be done; the object shows `Suspended=True`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;

use crate::api::{IdentityProfile, Tenant};
use crate::controller::kstatus::condition::SUSPENDED;
use crate::controller::status::{TRUE, find_condition};

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
    tenant.and_then(tenant_suspended)
}

/// The hold `Tenant.spec.suspend` puts on every object of `tenant` (and that the Tenant shows
/// itself); `None` when it is not suspended. A Tenant's own pause annotation holds nothing.
pub fn tenant_suspended(tenant: &Tenant) -> Option<WriteHold> {
    tenant.spec.suspend.then(|| WriteHold {
        reason: TENANT_SUSPENDED,
        message: format!(
            "tenant writes are suspended by Tenant {} (spec.suspend: true); set it to false to resume",
            tenant.name_any()
        ),
    })
}

/// The reason of the `Suspended=True` condition among `conditions`, if shown.
pub fn shown_hold(conditions: &[Condition]) -> Option<&str> {
    find_condition(conditions, SUSPENDED)
        .filter(|c| c.status == TRUE)
        .map(|c| c.reason.as_str())
}

/// Whether `profile`'s status shows another hold than the one in force with `tenant` (a
/// suspend or pause set or lifted since its last reconcile): the resync sweep reconciles it
/// then, so every profile of a suspended Tenant shows `Suspended`, and a deletion held by it
/// goes on once it is lifted. Pure; objects never reconciled are left to their own reconcile.
pub fn shown_hold_outdated(profile: &IdentityProfile, tenant: &Tenant) -> bool {
    let Some(status) = &profile.status else {
        return false;
    };
    let in_force = writes_held(profile, Some(tenant));
    shown_hold(&status.conditions) != in_force.as_ref().map(|h| h.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(tenant_suspended(&tenant(false)), None);
        assert_eq!(tenant_suspended(&tenant(true)), Some(by_tenant));
    }

    #[test]
    fn a_shown_hold_is_outdated_when_the_switch_moved() {
        let mut shown = profile(None);
        assert!(
            !shown_hold_outdated(&shown, &tenant(true)),
            "never reconciled: its own reconcile shows it"
        );
        shown.status = Some(Default::default());
        assert!(shown_hold_outdated(&shown, &tenant(true)), "suspend set");
        assert!(!shown_hold_outdated(&shown, &tenant(false)));
        let conditions = &mut shown.status.as_mut().unwrap().conditions;
        let hold = tenant_suspended(&tenant(true));
        crate::controller::kstatus::set_suspended(conditions, Some(1), hold.as_ref());
        assert!(!shown_hold_outdated(&shown, &tenant(true)));
        assert!(
            shown_hold_outdated(&shown, &tenant(false)),
            "suspend lifted"
        );
        shown
            .metadata
            .annotations
            .get_or_insert_default()
            .insert(PAUSED_ANNOTATION.into(), "true".into());
        assert!(
            shown_hold_outdated(&shown, &tenant(true)),
            "paused names the annotation instead"
        );
    }
}
