//! RFC 6902 operations, the body of profile updates.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One RFC 6902 operation (`JsonPatchOperation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonPatchOperation {
    /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub op: String,
    /// JSON Pointer.
    pub path: String,
    /// Value for `add`, `replace`, `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Source pointer for `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}
