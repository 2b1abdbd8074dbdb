//! A SOQL builder. User input reaches a query only as a [`Literal`], rendered by the escaper
//! (docs/salesforce.md §12.1 and §12.2); field and object names come from static tables or pass
//! [`FieldName::new`]. Nothing else is ever concatenated into a statement.

use std::fmt::Write as _;

use time::{Date, OffsetDateTime, UtcOffset};

/// A field (or dotted relationship path) or object name that is safe to splice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldName(String);

/// The name is not a SOQL identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SOQL identifier")]
pub struct BadIdentifier;

impl FieldName {
    /// Accepts `Name`, `Account.Name`, `Level__c`: segments of `[A-Za-z][A-Za-z0-9_]*`.
    pub fn new(name: &str) -> Result<Self, BadIdentifier> {
        let ok = !name.is_empty()
            && name.len() <= 255
            && name.split('.').all(|seg| {
                let mut b = seg.bytes();
                b.next().is_some_and(|c| c.is_ascii_alphabetic())
                    && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
            });
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(BadIdentifier)
        }
    }

    /// A name from a static mapping table; every table name is checked by a test, so this skips
    /// the run-time check instead of carrying an impossible error.
    pub(crate) fn trusted(name: &'static str) -> Self {
        debug_assert!(Self::new(name).is_ok(), "{name}");
        Self(name.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value in a WHERE clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted, escaped string.
    Text(String),
    /// A LIKE pattern: `%`/`_` in `text` are escaped, then the wildcards asked for are added.
    Like {
        /// The literal text to match.
        text: String,
        /// `%` before the text.
        any_prefix: bool,
        /// `%` after the text.
        any_suffix: bool,
    },
    /// A finite number (non-finite numbers render as `null`, never as text).
    Number(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `YYYY-MM-DD`, unquoted.
    Date(Date),
    /// `YYYY-MM-DDThh:mm:ssZ`, unquoted, UTC, no fractional seconds (SOQL refuses them).
    DateTime(OffsetDateTime),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE`
    Like,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Like => "LIKE",
        }
    }
}

/// A WHERE condition tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `field op literal`
    Compare(FieldName, Op, Literal),
    /// All of them (empty = true).
    And(Vec<Condition>),
    /// Any of them (empty = false).
    Or(Vec<Condition>),
}

impl Condition {
    /// `field op literal` for a static field name from a table.
    pub fn cmp(field: &FieldName, op: Op, value: Literal) -> Self {
        Self::Compare(field.clone(), op, value)
    }

    fn render(&self, out: &mut String) {
        match self {
            Self::Compare(field, op, value) => {
                out.push_str(field.as_str());
                out.push(' ');
                out.push_str(op.as_str());
                out.push(' ');
                render_literal(value, out);
            }
            Self::And(items) | Self::Or(items) if items.is_empty() => {
                // Id is never null, so these are constant true / false without extra syntax.
                out.push_str(if matches!(self, Self::And(_)) {
                    "Id != null"
                } else {
                    "Id = null"
                });
            }
            Self::And(items) | Self::Or(items) => {
                let joiner = if matches!(self, Self::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(joiner);
                    }
                    let nested = matches!(item, Self::And(v) | Self::Or(v) if v.len() > 1);
                    if nested {
                        out.push('(');
                    }
                    item.render(out);
                    if nested {
                        out.push(')');
                    }
                }
            }
        }
    }
}

/// Sort direction with explicit null placement, so paging never depends on a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `ASC NULLS FIRST`
    Asc,
    /// `DESC NULLS LAST`
    Desc,
}

/// `SELECT fields FROM object [WHERE ...] [ORDER BY ...] [LIMIT n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// Object name.
    pub object: FieldName,
    /// Selected fields (deduplicated on render).
    pub fields: Vec<FieldName>,
    /// Filter.
    pub condition: Option<Condition>,
    /// Order.
    pub order_by: Vec<(FieldName, Order)>,
    /// Row limit.
    pub limit: Option<u32>,
}

impl Select {
    /// Renders the statement.
    pub fn to_soql(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("SELECT ");
        let mut seen: Vec<&str> = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            if !seen.iter().any(|s| s.eq_ignore_ascii_case(f.as_str())) {
                seen.push(f.as_str());
            }
        }
        out.push_str(&seen.join(", "));
        out.push_str(" FROM ");
        out.push_str(self.object.as_str());
        if let Some(condition) = &self.condition {
            out.push_str(" WHERE ");
            condition.render(&mut out);
        }
        for (i, (field, order)) in self.order_by.iter().enumerate() {
            out.push_str(if i == 0 { " ORDER BY " } else { ", " });
            out.push_str(field.as_str());
            out.push_str(match order {
                Order::Asc => " ASC NULLS FIRST",
                Order::Desc => " DESC NULLS LAST",
            });
        }
        if let Some(limit) = self.limit {
            let _ = write!(out, " LIMIT {limit}");
        }
        out
    }
}

fn render_literal(value: &Literal, out: &mut String) {
    match value {
        Literal::Text(s) => {
            out.push('\'');
            escape_into(s, false, out);
            out.push('\'');
        }
        Literal::Like {
            text,
            any_prefix,
            any_suffix,
        } => {
            out.push('\'');
            if *any_prefix {
                out.push('%');
            }
            escape_into(text, true, out);
            if *any_suffix {
                out.push('%');
            }
            out.push('\'');
        }
        Literal::Number(n) if n.is_finite() => {
            // f64's Display never uses exponents, which SOQL would not accept.
            let _ = write!(out, "{n}");
        }
        Literal::Number(_) | Literal::Null => out.push_str("null"),
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::Date(d) => {
            let _ = write!(
                out,
                "{:04}-{:02}-{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            );
        }
        Literal::DateTime(dt) => {
            let dt = dt.to_offset(UtcOffset::UTC);
            let _ = write!(
                out,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
        }
    }
}

/// Escapes text for inside a single-quoted SOQL string (docs/salesforce.md §12.1); with `like`,
/// also `%` and `_`.
/// Other control characters become `\uXXXX` so no raw control byte ever reaches the parser.
pub fn escape_into(s: &str, like: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '%' if like => out.push_str("\\%"),
            '_' if like => out.push_str("\\_"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// [`escape_into`] returning a new string.
pub fn escape(s: &str, like: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    escape_into(s, like, &mut out);
    out
}

#[cfg(test)]
#[path = "soql_tests.rs"]
mod tests;
