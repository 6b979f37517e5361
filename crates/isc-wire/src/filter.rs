//! The ISC collection-parameter filter grammar (`filters=` query parameter).
//!
//! Callers build a [`Filter`] tree and render it with `Display`; values are always quoted and
//! escaped here, so user input is never concatenated into filter text. The same tree is what
//! [`Filter::parse`] returns, which lets the simulator evaluate filters and lets tests prove that
//! rendering and parsing round-trip.
//!
//! Grammar (docs `standard-collection-parameters.md`): `not` binds tightest, then `and`, then
//! `or`; operators are lowercase; `pr field` is prefix, `field isnull` is postfix; `in` and `ca`
//! take a parenthesised, comma-separated list.

use std::fmt;

use serde_json::Value;

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
    fn keyword(self) -> &'static str {
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

    fn from_keyword(word: &str) -> Option<Self> {
        Some(match word {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            "sw" => CmpOp::Sw,
            "co" => CmpOp::Co,
            _ => return None,
        })
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

    /// Parses filter text; the error says where and why.
    pub fn parse(text: &str) -> Result<Filter, FilterParseError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, pos: 0 };
        let filter = parser.parse_or()?;
        if let Some(tok) = parser.tokens.get(parser.pos) {
            return Err(FilterParseError(format!(
                "unexpected {} after a complete expression",
                tok.describe()
            )));
        }
        Ok(filter)
    }

    /// Evaluates the filter against a JSON object, looking fields up by dotted path. String
    /// comparisons are case-insensitive, as the API's mostly are.
    pub fn matches(&self, object: &Value) -> bool {
        match self {
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
            Filter::And(parts) => parts.iter().all(|p| p.matches(object)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches(object)),
            Filter::Not(inner) => !inner.matches(object),
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

fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(object, |v, key| v.get(key))
}

fn compare(actual: &Value, op: CmpOp, expected: &FilterValue) -> bool {
    use std::cmp::Ordering;
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

/// Why filter text could not be parsed; the simulator returns it in a 400 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter: {0}")]
pub struct FilterParseError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    LParen,
    RParen,
    Comma,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("'{w}'"),
            Token::Str(s) => format!("string \"{s}\""),
            Token::LParen => "'('".to_string(),
            Token::RParen => "')'".to_string(),
            Token::Comma => "','".to_string(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterParseError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::LParen);
            }
            ')' => {
                chars.next();
                tokens.push(Token::RParen);
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some((_, e)) => s.push(e),
                            None => break,
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(FilterParseError(format!(
                        "unterminated string starting at offset {i}"
                    )));
                }
                tokens.push(Token::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ',' | '"') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, want: Token) -> Result<(), FilterParseError> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(FilterParseError(format!(
                "expected {} but found {}",
                want.describe(),
                t.describe()
            ))),
            None => Err(FilterParseError(format!(
                "expected {} but the filter ended",
                want.describe()
            ))),
        }
    }

    fn parse_or(&mut self) -> Result<Filter, FilterParseError> {
        let mut parts = vec![self.parse_and()?];
        while self.peek_word() == Some("or") {
            self.pos += 1;
            parts.push(self.parse_and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn parse_and(&mut self) -> Result<Filter, FilterParseError> {
        let mut parts = vec![self.parse_unary()?];
        while self.peek_word() == Some("and") {
            self.pos += 1;
            parts.push(self.parse_unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn parse_unary(&mut self) -> Result<Filter, FilterParseError> {
        match self.next() {
            Some(Token::Word(w)) if w == "not" => Ok(Filter::Not(Box::new(self.parse_unary()?))),
            Some(Token::Word(w)) if w == "pr" => match self.next() {
                Some(Token::Word(field)) => Ok(Filter::Present(check_field(field)?)),
                other => Err(FilterParseError(format!(
                    "'pr' needs a field name, found {}",
                    other.map_or("the end".to_string(), |t| t.describe())
                ))),
            },
            Some(Token::LParen) => {
                let inner = self.parse_or()?;
                self.expect(Token::RParen)?;
                Ok(inner)
            }
            Some(Token::Word(field)) => self.parse_predicate(check_field(field)?),
            Some(t) => Err(FilterParseError(format!(
                "expected a field name, found {}",
                t.describe()
            ))),
            None => Err(FilterParseError(
                "expected an expression but the filter ended".to_string(),
            )),
        }
    }

    fn parse_predicate(&mut self, field: String) -> Result<Filter, FilterParseError> {
        let op = match self.next() {
            Some(Token::Word(op)) => op,
            other => {
                return Err(FilterParseError(format!(
                    "expected an operator after '{field}', found {}",
                    other.map_or("the end".to_string(), |t| t.describe())
                )));
            }
        };
        match op.as_str() {
            "isnull" => Ok(Filter::IsNull(field)),
            "in" | "ca" => {
                self.expect(Token::LParen)?;
                let mut values = vec![self.parse_value()?];
                loop {
                    match self.next() {
                        Some(Token::Comma) => values.push(self.parse_value()?),
                        Some(Token::RParen) => break,
                        other => {
                            return Err(FilterParseError(format!(
                                "expected ',' or ')' in the '{op}' list, found {}",
                                other.map_or("the end".to_string(), |t| t.describe())
                            )));
                        }
                    }
                }
                Ok(if op == "in" {
                    Filter::In { field, values }
                } else {
                    Filter::ContainsAll { field, values }
                })
            }
            word => match CmpOp::from_keyword(word) {
                Some(op) => Ok(Filter::Cmp {
                    field,
                    op,
                    value: self.parse_value()?,
                }),
                None if CmpOp::from_keyword(&word.to_ascii_lowercase()).is_some() => Err(
                    FilterParseError(format!("operators must be lowercase: '{word}'")),
                ),
                None => Err(FilterParseError(format!("unknown operator '{word}'"))),
            },
        }
    }

    fn parse_value(&mut self) -> Result<FilterValue, FilterParseError> {
        match self.next() {
            Some(Token::Str(s)) => Ok(FilterValue::Str(s)),
            Some(Token::Word(w)) if w == "true" => Ok(FilterValue::Bool(true)),
            Some(Token::Word(w)) if w == "false" => Ok(FilterValue::Bool(false)),
            Some(Token::Word(w)) => {
                if let Ok(i) = w.parse::<i64>() {
                    Ok(FilterValue::Int(i))
                } else if chrono::DateTime::parse_from_rfc3339(&w).is_ok() {
                    Ok(FilterValue::DateTime(w))
                } else {
                    Err(FilterParseError(format!(
                        "'{w}' is not a value (strings must be double-quoted)"
                    )))
                }
            }
            Some(t) => Err(FilterParseError(format!(
                "expected a value, found {}",
                t.describe()
            ))),
            None => Err(FilterParseError(
                "expected a value but the filter ended".to_string(),
            )),
        }
    }
}

fn check_field(field: String) -> Result<String, FilterParseError> {
    let valid = !field.is_empty()
        && field
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_'));
    if valid {
        Ok(field)
    } else {
        Err(FilterParseError(format!("'{field}' is not a field name")))
    }
}

/// Parses a `sorters=` value into `(field, descending)` pairs.
pub fn parse_sorters(text: &str) -> Vec<(String, bool)> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('-') {
            Some(field) => (field.to_string(), true),
            None => (s.to_string(), false),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn renders_and_escapes_values() {
        let f = Filter::eq("name", r#"Ann "the \ boss" O'Neil & co #1"#);
        assert_eq!(
            f.to_string(),
            r#"name eq "Ann \"the \\ boss\" O'Neil & co #1""#
        );
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
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
        assert_eq!(Filter::parse(&g.to_string()).unwrap(), g);
    }

    #[test]
    fn parses_documented_examples() {
        for text in [
            r#"identitySummary.id eq "2c91""#,
            r#"type ne "ROLE""#,
            "daysUntilEscalation gt 7",
            "created gt 2018-12-18T23:05:55Z",
            r#"id in ("2c91a","2c91b")"#,
            r#"groups ca ("Venezia","Firenze")"#,
            "pr accountRequestInfo",
            "lastUsed isnull",
            r#"not a eq 1 or b eq 2 and c eq 3"#,
            r#"id eq "6c9079b270a266a60170a2779fcb0006" or correlated eq false"#,
        ] {
            Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
        let f = Filter::parse("not a eq 1 or b eq 2 and c eq 3").unwrap();
        assert_eq!(
            f,
            Filter::Or(vec![
                Filter::Not(Box::new(Filter::cmp("a", CmpOp::Eq, 1i64))),
                Filter::And(vec![
                    Filter::cmp("b", CmpOp::Eq, 2i64),
                    Filter::cmp("c", CmpOp::Eq, 3i64)
                ]),
            ])
        );
    }

    #[test]
    fn rejects_bad_filters_with_reasons() {
        for (text, why) in [
            (r#"name EQ "x""#, "lowercase"),
            (r#"name eq x"#, "double-quoted"),
            (r#"name eq "x"#, "unterminated"),
            (r#"(name eq "x""#, "')'"),
            (r#"name eq "x" extra"#, "unexpected"),
            (r#"name foo "x""#, "unknown operator"),
            ("", "ended"),
        ] {
            let err = Filter::parse(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

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

    fn value_strategy() -> impl Strategy<Value = FilterValue> {
        prop_oneof![
            any::<String>().prop_map(FilterValue::Str),
            any::<i64>().prop_map(FilterValue::Int),
            any::<bool>().prop_map(FilterValue::Bool),
        ]
    }

    fn filter_strategy() -> impl Strategy<Value = Filter> {
        // Fields start with `f` so none collides with a keyword (`not`, `pr`, `and`, `or`).
        let field = "f[a-zA-Z0-9]{0,6}(\\.[a-z][a-zA-Z0-9]{0,4})?";
        let leaf = prop_oneof![
            (field, 0..8usize, value_strategy()).prop_map(|(f, op, v)| {
                let op = [
                    CmpOp::Eq,
                    CmpOp::Ne,
                    CmpOp::Gt,
                    CmpOp::Ge,
                    CmpOp::Lt,
                    CmpOp::Le,
                    CmpOp::Sw,
                    CmpOp::Co,
                ][op];
                Filter::Cmp {
                    field: f,
                    op,
                    value: v,
                }
            }),
            (field, prop::collection::vec(value_strategy(), 1..4))
                .prop_map(|(f, values)| Filter::In { field: f, values }),
            field.prop_map(Filter::Present),
            field.prop_map(Filter::IsNull),
        ];
        leaf.prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
    }

    proptest! {
        #[test]
        fn render_then_parse_round_trips(f in filter_strategy()) {
            let text = f.to_string();
            let parsed = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(parsed, f);
        }

        #[test]
        fn any_string_value_round_trips(s in any::<String>()) {
            let f = Filter::eq("name", s.as_str());
            prop_assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
        }
    }
}
