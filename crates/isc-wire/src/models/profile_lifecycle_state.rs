//! Lifecycle states of an identity profile (`/identity-profiles/{id}/lifecycle-states`).
//!
//! The official schema is named `LifecycleState`; here it is [`ProfileLifecycleState`], because
//! [`super::LifecycleState`] already names an identity's current state.

use serde::{Deserialize, Serialize};

/// A lifecycle state of one identity profile (`LifecycleState` schema: `BaseCommonDto` plus
/// the state's fields). `technicalName` is the key within the profile and cannot be changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProfileLifecycleState {
    /// Tenant-assigned id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Key of the state within its profile (required; fixed once created).
    pub technical_name: String,
    /// Free text; nullable on the wire.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether identities can be moved into this state (API default `false`).
    #[serde(default)]
    pub enabled: bool,
    /// Identities currently in this state (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_count: Option<i32>,
    /// Who is emailed when an identity enters the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_notification_option: Option<EmailNotificationOption>,
    /// What happens to the identity's accounts on entering the state.
    #[serde(default)]
    pub account_actions: Vec<AccountAction>,
    /// Access profiles granted on entering the state (unique).
    #[serde(default)]
    pub access_profile_ids: Vec<String>,
    /// Associated identity state, e.g. `ACTIVE`; generally null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_state: Option<String>,
    /// Creation time (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last modification time (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// Email configuration of a lifecycle state (`EmailNotificationOption`); every flag defaults
/// to `false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EmailNotificationOption {
    /// Notify the identity's manager.
    #[serde(default)]
    pub notify_managers: bool,
    /// Notify every admin.
    #[serde(default)]
    pub notify_all_admins: bool,
    /// Notify the addresses in `email_address_list`.
    #[serde(default)]
    pub notify_specific_users: bool,
    /// Addresses used when `notify_specific_users` is set.
    #[serde(default)]
    pub email_address_list: Vec<String>,
}

/// An action on the identity's accounts of some sources (`AccountAction`).
///
/// `excludeSourceIds` and `allSources` are not in the schema but appear in the official PATCH
/// example; they are kept so a read-modify-write does not drop them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccountAction {
    /// `ENABLE`, `DISABLE` or `DELETE` (kept as text so a new value still decodes; the schema
    /// does not require it, so a missing one decodes as empty).
    #[serde(default)]
    pub action: String,
    /// Sources whose accounts the action applies to (unique).
    #[serde(default)]
    pub source_ids: Vec<String>,
    /// Sources excluded when `all_sources` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_source_ids: Option<Vec<String>>,
    /// Apply to the accounts of every source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_sources: Option<bool>,
}

/// The answer to a lifecycle-state delete (`LifecyclestateDeleted`, status 202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LifecycleStateDeleted {
    /// `LIFECYCLE_STATE` or `TASK_RESULT`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Id of the deleted state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name of the deleted state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_tenant_state_decodes_with_unknown_fields_and_nulls() {
        let state: ProfileLifecycleState = serde_json::from_value(json!({
            "id": "ls1", "name": "Active", "technicalName": "active", "description": null,
            "enabled": true, "identityCount": 3, "identityState": null, "somethingNew": 1,
            "accountActions": [{"action": "DELETE", "sourceIds": ["s1"], "allSources": false}],
            "emailNotificationOption": {"notifyManagers": true}
        }))
        .unwrap();
        assert_eq!(state.technical_name, "active");
        assert_eq!(state.identity_count, Some(3));
        assert_eq!(state.account_actions[0].all_sources, Some(false));
        let email = state.email_notification_option.unwrap();
        assert!(email.notify_managers && email.email_address_list.is_empty());
    }

    #[test]
    fn a_create_body_carries_no_read_only_fields() {
        let state = ProfileLifecycleState {
            name: "Active".into(),
            technical_name: "active".into(),
            ..Default::default()
        };
        let body = serde_json::to_value(&state).unwrap();
        for read_only in ["id", "identityCount", "created", "modified"] {
            assert!(body.get(read_only).is_none(), "{read_only}");
        }
        assert_eq!(body["enabled"], false);
    }
}
