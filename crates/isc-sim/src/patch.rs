//! RFC 6902 JSON Patch as the simulator applies it to identity profiles.
//!
//! Kept as a small public surface so `tests/rfc6902.rs` can hold it to every example of the
//! RFC's Appendix A: the operator's plans are only as good as the patch semantics they are
//! tested against.

use json_patch::{Patch, PatchOperation};
use serde_json::Value;

/// Parses a JSON Patch document from request text.
///
/// Parsing from text (not from a `Value`) matters: RFC 6902 A.13 has a duplicated `op` member,
/// which a `Value` would silently collapse but the typed parser rejects.
pub fn parse_patch(text: &str) -> Result<Patch, String> {
    serde_json::from_str::<Patch>(text).map_err(|e| format!("invalid JSON Patch document: {e}"))
}

/// Applies a parsed patch atomically: on any failure the input is untouched and the error says
/// which operation failed and why.
pub fn apply_patch(doc: &Value, patch: &Patch) -> Result<Value, String> {
    let mut out = doc.clone();
    json_patch::patch(&mut out, &patch.0).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Applies a JSON Patch given as a JSON value (an array of operations) atomically.
pub fn apply_json_patch(doc: &Value, ops: &Value) -> Result<Value, String> {
    let patch: Patch = serde_json::from_value(ops.clone())
        .map_err(|e| format!("invalid JSON Patch document: {e}"))?;
    apply_patch(doc, &patch)
}

/// Applies a JSON Patch given as request text (see [`parse_patch`]).
pub fn apply_json_patch_text(doc: &Value, text: &str) -> Result<Value, String> {
    apply_patch(doc, &parse_patch(text)?)
}

/// The pointers an operation writes to (`test` writes nothing; `move` writes its source too).
pub fn written_paths(op: &PatchOperation) -> Vec<String> {
    match op {
        PatchOperation::Add(o) => vec![o.path.to_string()],
        PatchOperation::Remove(o) => vec![o.path.to_string()],
        PatchOperation::Replace(o) => vec![o.path.to_string()],
        PatchOperation::Move(o) => vec![o.from.to_string(), o.path.to_string()],
        PatchOperation::Copy(o) => vec![o.path.to_string()],
        PatchOperation::Test(_) => Vec::new(),
    }
}

/// The first reference token of a pointer, unescaped (`/a~1b/c` → `a/b`); `None` for the root.
pub fn top_level_field(pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix('/')?;
    let first = rest.split('/').next().unwrap_or_default();
    Some(first.replace("~1", "/").replace("~0", "~"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failed_patch_leaves_input_untouched() {
        let doc = json!({"a": 1});
        let err = apply_json_patch(
            &doc,
            &json!([{"op": "replace", "path": "/a", "value": 2}, {"op": "remove", "path": "/x"}]),
        )
        .unwrap_err();
        assert!(err.contains("/x"), "{err}");
        assert_eq!(doc, json!({"a": 1}));
    }

    #[test]
    fn reports_written_fields() {
        let patch = parse_patch(
            r#"[{"op":"move","from":"/a~1b/c","path":"/d"},{"op":"test","path":"/e","value":1}]"#,
        )
        .unwrap();
        let paths: Vec<_> = patch.0.iter().flat_map(written_paths).collect();
        assert_eq!(paths, vec!["/a~1b/c", "/d"]);
        assert_eq!(top_level_field("/a~1b/c").as_deref(), Some("a/b"));
        assert_eq!(top_level_field(""), None);
    }
}
