//! Evaluates a [`Filter`] against a stored JSON object.

use std::cmp::Ordering;

use serde_json::Value;

use isc_wire::filter::{CmpOp, Filter, FilterValue};

pub(super) fn matches(filter: &Filter, object: &Value) -> bool {
    match filter {
        Filter::Cmp { field, op, value } => {
            let Some(actual) = lookup(object, field) else {
                return matches!(op, CmpOp::Ne);
            };
            compare(actual, *op, value)
        }
        Filter::In { field, values } => lookup(object, field)
            .is_some_and(|actual| values.iter().any(|v| compare(actual, CmpOp::Eq, v))),
        Filter::ContainsAll { field, values } => match lookup(object, field) {
            Some(Value::Array(items)) => values
                .iter()
                .all(|v| items.iter().any(|item| compare(item, CmpOp::Eq, v))),
            _ => false,
        },
        Filter::Present(field) => lookup(object, field).is_some_and(|v| !v.is_null()),
        Filter::IsNull(field) => lookup(object, field).is_none_or(Value::is_null),
        Filter::And(parts) => parts.iter().all(|p| matches(p, object)),
        Filter::Or(parts) => parts.iter().any(|p| matches(p, object)),
        Filter::Not(inner) => !matches(inner, object),
    }
}

fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(object, |v, key| v.get(key))
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
