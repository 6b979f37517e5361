//! The legacy `cc` filter grammar of `POST /cc/api/system/refreshIdentities`.
//!
//! Grammar: `attr == "value"`, `attr != "value"`, `&&` (binds tighter), `||`, parentheses.
//! The simulator must know exactly when a filter fails to parse or matches nothing, because
//! that is when the real tenant silently refreshes EVERY identity.

use std::fmt;

/// A parsed legacy filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyFilter {
    /// `attr == "value"` (or `!=` when `negated`).
    Cmp {
        /// Attribute name: `id`, `name`, `alias`, `email` or an identity attribute key.
        attr: String,
        /// `!=` instead of `==`.
        negated: bool,
        /// The quoted value.
        value: String,
    },
    /// `a && b && ...`
    And(Vec<LegacyFilter>),
    /// `a || b || ...`
    Or(Vec<LegacyFilter>),
}

/// Why legacy filter text did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid legacy filter: {0}")]
pub struct LegacyFilterError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    EqEq,
    NotEq,
    AndAnd,
    OrOr,
    LParen,
    RParen,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "'{s}'"),
            Tok::Str(s) => write!(f, "\"{s}\""),
            Tok::EqEq => f.write_str("'=='"),
            Tok::NotEq => f.write_str("'!='"),
            Tok::AndAnd => f.write_str("'&&'"),
            Tok::OrOr => f.write_str("'||'"),
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, LegacyFilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let two = |i: usize, a: char, b: char| chars.get(i) == Some(&a) && chars.get(i + 1) == Some(&b);
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if two(i, '=', '=') {
            out.push(Tok::EqEq);
            i += 2;
        } else if two(i, '!', '=') {
            out.push(Tok::NotEq);
            i += 2;
        } else if two(i, '&', '&') {
            out.push(Tok::AndAnd);
            i += 2;
        } else if two(i, '|', '|') {
            out.push(Tok::OrOr);
            i += 2;
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == '"' || c == '\'' {
            let quote = c;
            let mut s = String::new();
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '\\' if i + 1 < chars.len() => {
                        s.push(chars[i + 1]);
                        i += 2;
                    }
                    ch if ch == quote => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    ch => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(LegacyFilterError("unterminated string".to_string()));
            }
            out.push(Tok::Str(s));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.')) {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            return Err(LegacyFilterError(format!("unexpected character '{c}'")));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<LegacyFilter, LegacyFilterError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::OrOr) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            LegacyFilter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<LegacyFilter, LegacyFilterError> {
        let mut parts = vec![self.primary()?];
        while self.peek() == Some(&Tok::AndAnd) {
            self.pos += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            LegacyFilter::And(parts)
        })
    }

    fn primary(&mut self) -> Result<LegacyFilter, LegacyFilterError> {
        let describe = |t: Option<Tok>| t.map_or("the end".to_string(), |t| t.to_string());
        match self.next() {
            Some(Tok::LParen) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(inner),
                    other => Err(LegacyFilterError(format!(
                        "expected ')' but found {}",
                        describe(other)
                    ))),
                }
            }
            Some(Tok::Ident(attr)) => {
                let negated = match self.next() {
                    Some(Tok::EqEq) => false,
                    Some(Tok::NotEq) => true,
                    other => {
                        return Err(LegacyFilterError(format!(
                            "expected '==' or '!=' after '{attr}' but found {}",
                            describe(other)
                        )));
                    }
                };
                match self.next() {
                    Some(Tok::Str(value)) => Ok(LegacyFilter::Cmp {
                        attr,
                        negated,
                        value,
                    }),
                    other => Err(LegacyFilterError(format!(
                        "expected a quoted value after '{attr}' but found {}",
                        describe(other)
                    ))),
                }
            }
            other => Err(LegacyFilterError(format!(
                "expected an attribute name or '(' but found {}",
                describe(other)
            ))),
        }
    }
}

impl LegacyFilter {
    /// Parses legacy filter text; empty text is an error (the tenant treats it as "everyone").
    pub fn parse(text: &str) -> Result<LegacyFilter, LegacyFilterError> {
        let toks = tokenize(text)?;
        if toks.is_empty() {
            return Err(LegacyFilterError("the filter is empty".to_string()));
        }
        let mut parser = Parser { toks, pos: 0 };
        let filter = parser.or()?;
        if let Some(extra) = parser.peek() {
            return Err(LegacyFilterError(format!(
                "unexpected {extra} after a complete expression"
            )));
        }
        Ok(filter)
    }

    /// Evaluates the filter; `lookup` returns an attribute's value (None when absent).
    /// Values compare exactly (case-sensitive), as the legacy API did.
    pub fn matches(&self, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            LegacyFilter::Cmp {
                attr,
                negated,
                value,
            } => {
                let equal = lookup(attr).as_deref() == Some(value.as_str());
                equal != *negated
            }
            LegacyFilter::And(parts) => parts.iter().all(|p| p.matches(lookup)),
            LegacyFilter::Or(parts) => parts.iter().any(|p| p.matches(lookup)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(attr: &str) -> Option<String> {
        match attr {
            "name" => Some("Ada Lovelace".to_string()),
            "uid" => Some("1219028".to_string()),
            _ => None,
        }
    }

    #[test]
    fn parses_and_evaluates() {
        let f = LegacyFilter::parse(r#"uid == "1219028""#).unwrap();
        assert!(f.matches(&person));
        let f =
            LegacyFilter::parse(r#"uid == "x" || (name == "Ada Lovelace" && uid != "2")"#).unwrap();
        assert!(f.matches(&person));
        let f = LegacyFilter::parse(r#"uid == "x" || name == "A" && uid == "1219028""#).unwrap();
        assert!(!f.matches(&person), "&& binds tighter than ||");
        assert!(
            LegacyFilter::parse(r#"missing != "x""#)
                .unwrap()
                .matches(&person)
        );
    }

    #[test]
    fn rejects_bad_text() {
        for text in [
            "",
            "   ",
            "uid eq \"1\"",
            "uid == 1",
            "(uid == \"1\"",
            "uid == \"1",
            "uid == \"1\" x",
        ] {
            assert!(LegacyFilter::parse(text).is_err(), "{text}");
        }
    }
}
