//! Reads `filters=` text back into a [`Filter`] tree, and `sorters=` into field order.
//!
//! Grammar (docs `standard-collection-parameters.md`): `not` binds tightest, then `and`, then
//! `or`; operators are lowercase; `pr field` is prefix, `field isnull` is postfix; `in` and `ca`
//! take a parenthesised, comma-separated list.

use isc_wire::filter::{CmpOp, Filter, FilterValue};

/// Parses filter text; the error says where and why.
pub(super) fn parse_filter(text: &str) -> Result<Filter, FilterParseError> {
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

fn cmp_op(keyword: &str) -> Option<CmpOp> {
    CmpOp::ALL.into_iter().find(|op| op.keyword() == keyword)
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
            word => match cmp_op(word) {
                Some(op) => Ok(Filter::Cmp {
                    field,
                    op,
                    value: self.parse_value()?,
                }),
                None if cmp_op(&word.to_ascii_lowercase()).is_some() => Err(FilterParseError(
                    format!("operators must be lowercase: '{word}'"),
                )),
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
    use proptest::prelude::*;

    use super::super::FilterExt;
    use super::*;

    #[test]
    fn builder_output_parses_back() {
        let escaped = Filter::eq("name", r#"Ann "the \ boss" O'Neil & co #1"#);
        assert_eq!(Filter::parse(&escaped.to_string()).unwrap(), escaped);
        let grouped = Filter::eq("a", "1")
            .or(Filter::eq("b", "2"))
            .and(Filter::eq("c", "3"));
        assert_eq!(Filter::parse(&grouped.to_string()).unwrap(), grouped);
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
    fn sorters_split_into_fields_and_direction() {
        assert_eq!(
            parse_sorters(" name,-priority,,"),
            vec![("name".to_string(), false), ("priority".to_string(), true)]
        );
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
            (field, 0..CmpOp::ALL.len(), value_strategy()).prop_map(|(f, op, v)| Filter::Cmp {
                field: f,
                op: CmpOp::ALL[op],
                value: v,
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
