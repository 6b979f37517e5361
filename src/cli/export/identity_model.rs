//! Manifests for the rest of the identity model: identity attributes, transforms and the
//! lifecycle states of exported profiles. Each manifest declares every field the kind manages,
//! exactly as the tenant holds it, so applying it adopts the object with zero writes.

use crate::api::identity_attribute::AttributeSourceSpec;
use crate::api::lifecycle_state::{
    AccountActionKind, AccountActionSpec, EmailNotificationSpec, IdentityProfileRef,
};
use crate::api::managed::{DeletionPolicy, ManagementPolicy};
use crate::api::{
    IdentityAttribute, IdentityAttributeSpec, LifecycleState, LifecycleStateSpec, TenantRef,
    Transform, TransformSpec,
};
use isc_client::models::{
    IdentityAttribute as TenantAttribute, ProfileLifecycleState, Transform as TenantTransform,
};

/// Why a tenant object is left out of the export.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// System attributes are the tenant's own: no client can change or delete them.
    #[error("identity attribute {0:?} is a system attribute (the tenant's own)")]
    SystemAttribute(String),
    /// Internal transforms are SailPoint's own: no client can change them.
    #[error("transform {0:?} is internal (SailPoint's own)")]
    InternalTransform(String),
    /// A lifecycle state action the CRD cannot express.
    #[error(
        "lifecycle state {state:?}: account action {action:?} is not ENABLE, DISABLE or DELETE"
    )]
    UnknownAccountAction {
        /// Technical name of the state.
        state: String,
        /// The action the tenant holds.
        action: String,
    },
}

fn tenant_ref(name: &str) -> TenantRef {
    TenantRef {
        name: name.to_string(),
    }
}

/// The manifest that manages `attribute` as it is; system attributes are skipped.
pub fn attribute_manifest(
    attribute: &TenantAttribute,
    object_name: &str,
    tenant: &str,
) -> Result<IdentityAttribute, SkipReason> {
    if attribute.system {
        return Err(SkipReason::SystemAttribute(attribute.name.clone()));
    }
    let spec = IdentityAttributeSpec {
        tenant_ref: tenant_ref(tenant),
        name: attribute.name.clone(),
        display_name: attribute.display_name.clone(),
        standard: Some(attribute.standard),
        searchable: Some(attribute.searchable),
        multi: attribute.multi,
        sources: Some(
            attribute
                .sources
                .iter()
                .map(|s| AttributeSourceSpec {
                    kind: s.kind.clone().unwrap_or_default(),
                    properties: s.properties.clone().unwrap_or_default(),
                })
                .collect(),
        ),
        deletion_policy: DeletionPolicy::Orphan,
        management_policy: ManagementPolicy::Manage,
    };
    Ok(IdentityAttribute::new(object_name, spec))
}

/// The manifest that manages `transform` as it is; internal transforms are skipped.
pub fn transform_manifest(
    transform: &TenantTransform,
    object_name: &str,
    tenant: &str,
) -> Result<Transform, SkipReason> {
    if transform.internal == Some(true) {
        return Err(SkipReason::InternalTransform(transform.name.clone()));
    }
    let spec = TransformSpec {
        tenant_ref: tenant_ref(tenant),
        name: transform.name.clone(),
        kind: transform.kind.clone(),
        attributes: transform.attributes.clone().unwrap_or_default(),
        deletion_policy: DeletionPolicy::Orphan,
        management_policy: ManagementPolicy::Manage,
    };
    Ok(Transform::new(object_name, spec))
}

fn account_action(state: &str, action: &str) -> Result<AccountActionKind, SkipReason> {
    match action {
        "ENABLE" => Ok(AccountActionKind::Enable),
        "DISABLE" => Ok(AccountActionKind::Disable),
        "DELETE" => Ok(AccountActionKind::Delete),
        other => Err(SkipReason::UnknownAccountAction {
            state: state.to_string(),
            action: other.to_string(),
        }),
    }
}

/// The manifest that manages `state` of the profile exported as `profile_object`.
pub fn lifecycle_state_manifest(
    state: &ProfileLifecycleState,
    object_name: &str,
    profile_object: &str,
    tenant: &str,
) -> Result<LifecycleState, SkipReason> {
    let account_actions = state
        .account_actions
        .iter()
        .map(|a| {
            Ok(AccountActionSpec {
                action: account_action(&state.technical_name, &a.action)?,
                source_ids: a.source_ids.clone(),
                source_names: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, SkipReason>>()?;
    let spec = LifecycleStateSpec {
        tenant_ref: tenant_ref(tenant),
        identity_profile_ref: IdentityProfileRef {
            name: profile_object.to_string(),
        },
        technical_name: state.technical_name.clone(),
        name: state.name.clone(),
        description: state.description.clone(),
        enabled: Some(state.enabled),
        identity_state: state.identity_state.clone(),
        email_notification_option: state.email_notification_option.as_ref().map(|e| {
            EmailNotificationSpec {
                notify_managers: e.notify_managers,
                notify_all_admins: e.notify_all_admins,
                notify_specific_users: e.notify_specific_users,
                email_address_list: e.email_address_list.clone(),
            }
        }),
        account_actions: Some(account_actions),
        access_profile_ids: Some(state.access_profile_ids.clone()),
        deletion_policy: DeletionPolicy::Orphan,
        management_policy: ManagementPolicy::Manage,
    };
    Ok(LifecycleState::new(object_name, spec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use isc_client::models::{AccountAction, IdentityAttributeSource};
    use serde_json::json;

    #[test]
    fn system_attributes_and_internal_transforms_are_skipped() {
        let system = TenantAttribute {
            name: "uid".into(),
            system: true,
            ..Default::default()
        };
        assert_eq!(
            attribute_manifest(&system, "uid", "t").unwrap_err(),
            SkipReason::SystemAttribute("uid".into())
        );
        let internal = TenantTransform {
            name: "ToUpper".into(),
            kind: "upper".into(),
            internal: Some(true),
            ..Default::default()
        };
        assert!(transform_manifest(&internal, "x", "t").is_err());
    }

    #[test]
    fn an_attribute_manifest_declares_what_the_tenant_holds() {
        let a = TenantAttribute {
            name: "costCenter".into(),
            display_name: Some("Cost Center".into()),
            searchable: true,
            sources: vec![IdentityAttributeSource {
                kind: Some("rule".into()),
                properties: json!({"ruleName": "R"}).as_object().cloned(),
            }],
            ..Default::default()
        };
        let m = attribute_manifest(&a, "costcenter", "prod").unwrap();
        assert_eq!(m.spec.name, "costCenter");
        assert_eq!(m.spec.searchable, Some(true));
        assert_eq!(m.spec.standard, Some(false));
        assert_eq!(m.spec.sources.as_ref().unwrap()[0].kind, "rule");
        assert_eq!(m.spec.tenant_ref.name, "prod");
    }

    #[test]
    fn a_lifecycle_state_names_its_profile_object() {
        let s = ProfileLifecycleState {
            id: Some("l1".into()),
            name: "Active".into(),
            technical_name: "active".into(),
            enabled: true,
            account_actions: vec![AccountAction {
                action: "ENABLE".into(),
                source_ids: vec!["s1".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = lifecycle_state_manifest(&s, "hr-active", "hr", "prod").unwrap();
        assert_eq!(m.spec.identity_profile_ref.name, "hr");
        assert_eq!(m.spec.enabled, Some(true));
        assert_eq!(
            m.spec.account_actions.as_ref().unwrap()[0].action,
            AccountActionKind::Enable
        );
        let mut odd = s.clone();
        odd.account_actions[0].action = "ARCHIVE".into();
        assert!(lifecycle_state_manifest(&odd, "x", "hr", "prod").is_err());
    }
}
