//! The ISC collection-parameter filter grammar (`filters=` query parameter).
//!
//! Callers build a [`Filter`] tree and render it with `Display`; values are always quoted and
//! escaped here, so user input is never concatenated into filter text. Parsing and evaluating
//! filter text is the tenant's job, so it lives in the simulator (`isc_sim::query`), whose tests
//! prove that rendering and parsing round-trip.
//!
//! Grammar (docs `standard-collection-parameters.md`): `not` binds tightest, then `and`, then
//! `or`; operators are lowercase; `pr field` is prefix, `field isnull` is postfix; `in` and `ca`
//! take a parenthesised, comma-separated list.

use std::fmt;

/// A binary comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `sw` (starts with; strings only)
    Sw,
    /// `co` (contains; strings only)
    Co,
}

impl CmpOp {
    /// Every comparison operator, so a parser can look keywords up without its own table.
    pub const ALL: [CmpOp; 8] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Sw,
        CmpOp::Co,
    ];

    /// The lowercase keyword the filter text uses.
    pub fn keyword(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Sw => "sw",
            CmpOp::Co => "co",
        }
    }
}

/// Every operator a predicate can use; endpoints allow a subset per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    /// A comparison.
    Cmp(CmpOp),
    /// `in (...)`
    In,
    /// `ca (...)`
    Ca,
    /// `pr`
    Pr,
    /// `isnull`
    IsNull,
}

impl fmt::Display for FilterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FilterOp::Cmp(op) => op.keyword(),
            FilterOp::In => "in",
            FilterOp::Ca => "ca",
            FilterOp::Pr => "pr",
            FilterOp::IsNull => "isnull",
        })
    }
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// A double-quoted string (escaped on output).
    Str(String),
    /// An integer.
    Int(i64),
    /// `true` / `false`.
    Bool(bool),
    /// An unquoted RFC 3339 date-time.
    DateTime(String),
}

impl From<&str> for FilterValue {
    fn from(v: &str) -> Self {
        FilterValue::Str(v.to_string())
    }
}
impl From<String> for FilterValue {
    fn from(v: String) -> Self {
        FilterValue::Str(v)
    }
}
impl From<&String> for FilterValue {
    fn from(v: &String) -> Self {
        FilterValue::Str(v.clone())
    }
}
impl From<i64> for FilterValue {
    fn from(v: i64) -> Self {
        FilterValue::Int(v)
    }
}
impl From<bool> for FilterValue {
    fn from(v: bool) -> Self {
        FilterValue::Bool(v)
    }
}

impl fmt::Display for FilterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterValue::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '\\' => f.write_str("\\\\")?,
                        '"' => f.write_str("\\\"")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            FilterValue::Int(i) => write!(f, "{i}"),
            FilterValue::Bool(b) => write!(f, "{b}"),
            FilterValue::DateTime(d) => f.write_str(d),
        }
    }
}

/// A filter expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `field op value`
    Cmp {
        /// Dotted field path.
        field: String,
        /// Operator.
        op: CmpOp,
        /// Literal.
        value: FilterValue,
    },
    /// `field in (v1, v2, ...)`
    In {
        /// Dotted field path.
        field: String,
        /// Candidate values (at least one).
        values: Vec<FilterValue>,
    },
    /// `field ca (v1, v2, ...)`
    ContainsAll {
        /// Dotted field path.
        field: String,
        /// Values that must all be present.
        values: Vec<FilterValue>,
    },
    /// `pr field`
    Present(String),
    /// `field isnull`
    IsNull(String),
    /// Conjunction (two or more).
    And(Vec<Filter>),
    /// Disjunction (two or more).
    Or(Vec<Filter>),
    /// Negation.
    Not(Box<Filter>),
}

impl Filter {
    /// `field eq value`
    pub fn eq(field: &str, value: impl Into<FilterValue>) -> Self {
        Self::cmp(field, CmpOp::Eq, value)
    }

    /// `field sw value`
    pub fn starts_with(field: &str, value: impl Into<FilterValue>) -> Self {
        Self::cmp(field, CmpOp::Sw, value)
    }

    /// Any comparison.
    pub fn cmp(field: &str, op: CmpOp, value: impl Into<FilterValue>) -> Self {
        Filter::Cmp {
            field: field.to_string(),
            op,
            value: value.into(),
        }
    }

    /// `field in (...)`; an empty list is rejected by the API, so callers must not build one.
    pub fn is_in<V: Into<FilterValue>>(field: &str, values: impl IntoIterator<Item = V>) -> Self {
        Filter::In {
            field: field.to_string(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// `self and other`, flattening nested conjunctions.
    pub fn and(self, other: Filter) -> Self {
        let mut parts = match self {
            Filter::And(parts) => parts,
            f => vec![f],
        };
        match other {
            Filter::And(more) => parts.extend(more),
            f => parts.push(f),
        }
        Filter::And(parts)
    }

    /// `self or other`, flattening nested disjunctions.
    pub fn or(self, other: Filter) -> Self {
        let mut parts = match self {
            Filter::Or(parts) => parts,
            f => vec![f],
        };
        match other {
            Filter::Or(more) => parts.extend(more),
            f => parts.push(f),
        }
        Filter::Or(parts)
    }

    /// `not self`
    pub fn negate(self) -> Self {
        Filter::Not(Box::new(self))
    }

    /// Every `(field, operator)` the expression uses, so an endpoint can reject unsupported ones.
    pub fn predicates(&self) -> Vec<(&str, FilterOp)> {
        let mut out = Vec::new();
        self.collect_predicates(&mut out);
        out
    }

    fn collect_predicates<'a>(&'a self, out: &mut Vec<(&'a str, FilterOp)>) {
        match self {
            Filter::Cmp { field, op, .. } => out.push((field, FilterOp::Cmp(*op))),
            Filter::In { field, .. } => out.push((field, FilterOp::In)),
            Filter::ContainsAll { field, .. } => out.push((field, FilterOp::Ca)),
            Filter::Present(field) => out.push((field, FilterOp::Pr)),
            Filter::IsNull(field) => out.push((field, FilterOp::IsNull)),
            Filter::And(parts) | Filter::Or(parts) => {
                parts.iter().for_each(|p| p.collect_predicates(out))
            }
            Filter::Not(inner) => inner.collect_predicates(out),
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(_) => 1,
            Filter::And(_) => 2,
            Filter::Not(_) => 3,
            _ => 4,
        }
    }

    fn fmt_child(&self, child: &Filter, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if child.precedence() <= self.precedence() && child.precedence() < 4 {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, values: &[FilterValue]) -> fmt::Result {
            f.write_str("(")?;
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(")")
        }
        match self {
            Filter::Cmp { field, op, value } => write!(f, "{field} {} {value}", op.keyword()),
            Filter::In { field, values } => {
                write!(f, "{field} in ")?;
                list(f, values)
            }
            Filter::ContainsAll { field, values } => {
                write!(f, "{field} ca ")?;
                list(f, values)
            }
            Filter::Present(field) => write!(f, "pr {field}"),
            Filter::IsNull(field) => write!(f, "{field} isnull"),
            Filter::And(parts) | Filter::Or(parts) => {
                let joiner = if matches!(self, Filter::And(_)) {
                    " and "
                } else {
                    " or "
                };
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(joiner)?;
                    }
                    self.fmt_child(p, f)?;
                }
                Ok(())
            }
            Filter::Not(inner) => {
                f.write_str("not ")?;
                if inner.precedence() < 4 {
                    write!(f, "({inner})")
                } else {
                    write!(f, "{inner}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes_values() {
        let f = Filter::eq("name", r#"Ann "the \ boss" O'Neil & co #1"#);
        assert_eq!(
            f.to_string(),
            r#"name eq "Ann \"the \\ boss\" O'Neil & co #1""#
        );
    }

    #[test]
    fn renders_in_lists_and_precedence() {
        let f = Filter::is_in("id", ["a", "b"])
            .or(Filter::eq("name", "x").and(Filter::eq("priority", FilterValue::Int(3))));
        assert_eq!(
            f.to_string(),
            r#"id in ("a","b") or name eq "x" and priority eq 3"#
        );
        let g = Filter::eq("a", "1")
            .or(Filter::eq("b", "2"))
            .and(Filter::eq("c", "3"));
        assert_eq!(g.to_string(), r#"(a eq "1" or b eq "2") and c eq "3""#);
    }

    #[test]
    fn predicates_lists_every_field_and_operator() {
        let f = Filter::eq("a", "1")
            .and(Filter::Present("b".into()).negate())
            .or(Filter::is_in("c", ["x"]));
        assert_eq!(
            f.predicates(),
            vec![
                ("a", FilterOp::Cmp(CmpOp::Eq)),
                ("b", FilterOp::Pr),
                ("c", FilterOp::In)
            ]
        );
    }
}
