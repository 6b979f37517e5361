//! Evaluates a [`Filter`] against a stored object: a JSON value, or anything that can hand
//! out the fields a filter names ([`Fields`]), so large collections need not build a JSON
//! view of every object for every list call.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use isc_wire::filter::{CmpOp, Filter, FilterValue};

/// An object a filter can be evaluated against: its fields by dotted path.
pub trait Fields {
    /// The value at `path`, if the object has it.
    fn field(&self, path: &str) -> Option<Cow<'_, Value>>;
}

impl Fields for Value {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        path.split('.')
            .try_fold(self, |v, key| v.get(key))
            .map(Cow::Borrowed)
    }
}

pub(super) fn matches<F: Fields + ?Sized>(filter: &Filter, object: &F) -> bool {
    match filter {
        Filter::Cmp { field, op, value } => {
            let Some(actual) = object.field(field) else {
                return matches!(op, CmpOp::Ne);
            };
            compare(&actual, *op, value)
        }
        Filter::In { field, values } => object
            .field(field)
            .is_some_and(|actual| values.iter().any(|v| compare(&actual, CmpOp::Eq, v))),
        Filter::ContainsAll { field, values } => match object.field(field).as_deref() {
            Some(Value::Array(items)) => values
                .iter()
                .all(|v| items.iter().any(|item| compare(item, CmpOp::Eq, v))),
            _ => false,
        },
        Filter::Present(field) => object.field(field).is_some_and(|v| !v.is_null()),
        Filter::IsNull(field) => object.field(field).is_none_or(|v| v.is_null()),
        Filter::And(parts) => parts.iter().all(|p| matches(p, object)),
        Filter::Or(parts) => parts.iter().any(|p| matches(p, object)),
        Filter::Not(inner) => !matches(inner, object),
    }
}

fn compare(actual: &Value, op: CmpOp, expected: &FilterValue) -> bool {
    let ordering: Option<Ordering> = match (actual, expected) {
        (Value::String(a), FilterValue::Str(e)) | (Value::String(a), FilterValue::DateTime(e)) => {
            let (a, e) = (a.to_lowercase(), e.to_lowercase());
            match op {
                CmpOp::Sw => return a.starts_with(&e),
                CmpOp::Co => return a.contains(&e),
                _ => Some(a.cmp(&e)),
            }
        }
        (Value::Number(a), FilterValue::Int(e)) => a.as_i64().map(|a| a.cmp(e)),
        (Value::Bool(a), FilterValue::Bool(e)) => Some(a.cmp(e)),
        (Value::Array(items), _) if matches!(op, CmpOp::Eq) => {
            return items.iter().any(|i| compare(i, op, expected));
        }
        _ => None,
    };
    match (op, ordering) {
        (CmpOp::Ne, None) => true,
        (_, None) => false,
        (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
        (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Sw | CmpOp::Co, Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::FilterExt;
    use super::*;

    #[test]
    fn evaluates_against_json() {
        let obj = json!({"name": "Human Resources", "priority": 10, "owner": {"id": "o1"}, "tags": ["a", "b"], "gone": null});
        assert!(Filter::parse(r#"name sw "human""#).unwrap().matches(&obj));
        assert!(
            Filter::parse(r#"name co "RESOURCE""#)
                .unwrap()
                .matches(&obj)
        );
        assert!(
            Filter::parse(r#"priority ge 10 and owner.id eq "o1""#)
                .unwrap()
                .matches(&obj)
        );
        assert!(!Filter::parse(r#"priority gt 10"#).unwrap().matches(&obj));
        assert!(Filter::parse(r#"tags ca ("a","b")"#).unwrap().matches(&obj));
        assert!(
            Filter::parse("gone isnull and pr name")
                .unwrap()
                .matches(&obj)
        );
        assert!(Filter::parse(r#"not name eq "x""#).unwrap().matches(&obj));
    }
}
