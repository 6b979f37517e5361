//! A reference to another tenant object, shared by many models.

use serde::{Deserialize, Serialize};

/// A reference to another tenant object (`{type, id, name}`), as used by `owner`,
/// `authoritativeSource`, `managerRef` and friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ObjectRef {
    /// Object type, e.g. `SOURCE` or `IDENTITY`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Tenant id of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
