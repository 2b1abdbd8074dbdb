//! Recursive-descent parser for the SOQL subset:
//!
//! ```text
//! query     := SELECT items FROM ident [WHERE or] [ORDER BY order (',' order)*] [LIMIT n] [OFFSET n]
//! items     := COUNT '(' ')' | path (',' path)*
//! or        := and (OR and)*          -- AND and OR may not be mixed without parentheses
//! and       := not (AND not)*
//! not       := NOT not | '(' or ')' | path op value | path [NOT] IN '(' value (',' value)* ')'
//!            | path LIKE string
//! value     := null | true | false | number | string | date | datetime | RELATIVE[:n]
//! order     := path [ASC|DESC] [NULLS (FIRST|LAST)]
//! ```

use super::error::syntax_error;
use super::lexer::{StrChar, Tok, Token};
use crate::error::SfError;

/// A dotted field path and where it starts in the query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    pub(crate) parts: Vec<String>,
    pub(crate) pos: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Null,
    Bool(bool),
    Number(String),
    Str(Vec<StrChar>),
    Date(i64),
    DateTime(i64),
    /// A relative date literal (`TODAY`, `LAST_N_DAYS:30`), upper-cased.
    Relative(String, Option<i64>),
}

/// A literal and where it starts in the query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Value {
    pub(crate) lit: Literal,
    pub(crate) pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(Path, Op, Value),
    In(Path, bool, Vec<Value>),
    Like(Path, Value),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderItem {
    pub(crate) path: Path,
    pub(crate) descending: bool,
    pub(crate) nulls_last: bool,
}

/// One element of the SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    Field(Path),
    /// A child relationship subquery, `(SELECT ... FROM Contacts ...)`; `object` names the
    /// relationship.
    Child(Box<Query>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    /// `None` for `COUNT()`.
    pub(crate) fields: Option<Vec<SelectItem>>,
    pub(crate) object: String,
    pub(crate) object_pos: usize,
    pub(crate) filter: Option<Cond>,
    pub(crate) order: Vec<OrderItem>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<(u64, usize)>,
}

/// The largest `n` of `LAST_N_DAYS:n` and friends.
const MAX_RELATIVE_N: u64 = 1_000_000;

/// Words that cannot be field or object names.
const RESERVED: &[&str] = &[
    "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST",
    "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH", "ORDER", "OFFSET",
    "TRUE", "FALSE",
];

struct Parser<'a> {
    src: &'a str,
    toks: &'a [Token],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // tokenize always ends with Eof and the parser never moves past it.
        &self.toks[self.at.min(self.toks.len() - 1)]
    }
    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.at += 1;
        }
        t
    }
    fn unexpected(&self) -> SfError {
        let t = self.peek();
        syntax_error(self.src, t.start, &t.tok.describe(self.src, t.start, t.end))
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.is_kw(kw);
        if hit {
            self.bump();
        }
        hit
    }
    fn expect_kw(&mut self, kw: &str) -> Result<(), SfError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn expect(&mut self, tok: &Tok) -> Result<(), SfError> {
        if &self.peek().tok == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A non-reserved identifier.
    fn name(&mut self) -> Result<(String, usize), SfError> {
        match self.peek().tok.clone() {
            Tok::Ident(w) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&w)) => {
                let t = self.bump();
                Ok((w, t.start))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<Path, SfError> {
        let (name, pos) = self.name()?;
        let parts: Vec<String> = name.split('.').map(str::to_owned).collect();
        if parts.iter().any(String::is_empty) {
            return Err(syntax_error(self.src, pos, &name));
        }
        Ok(Path { parts, pos })
    }

    fn select_item(&mut self, nested: bool) -> Result<SelectItem, SfError> {
        if !nested && self.peek().tok == Tok::LParen {
            self.bump();
            let sub = self.query(true)?;
            self.expect(&Tok::RParen)?;
            return Ok(SelectItem::Child(Box::new(sub)));
        }
        Ok(SelectItem::Field(self.path()?))
    }

    /// A statement; a `nested` one is a subquery and ends before its closing parenthesis.
    fn query(&mut self, nested: bool) -> Result<Query, SfError> {
        self.expect_kw("SELECT")?;
        let fields = if !nested
            && self.is_kw("COUNT")
            && self
                .toks
                .get(self.at + 1)
                .is_some_and(|t| t.tok == Tok::LParen)
        {
            self.bump();
            self.expect(&Tok::LParen)?;
            self.expect(&Tok::RParen)?;
            None
        } else {
            let mut fields = vec![self.select_item(nested)?];
            while self.peek().tok == Tok::Comma {
                self.bump();
                fields.push(self.select_item(nested)?);
            }
            Some(fields)
        };
        self.expect_kw("FROM")?;
        let (object, object_pos) = self.name()?;
        if object.contains('.') {
            return Err(syntax_error(self.src, object_pos, &object));
        }
        let filter = if self.eat_kw("WHERE") {
            Some(self.or()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                order.push(self.order_item()?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count()?.0)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.count()?)
        } else {
            None
        };
        let end = if nested { Tok::RParen } else { Tok::Eof };
        if self.peek().tok != end {
            return Err(self.unexpected());
        }
        Ok(Query {
            fields,
            object,
            object_pos,
            filter,
            order,
            limit,
            offset,
        })
    }

    /// A non-negative integer (LIMIT, OFFSET, `:n`).
    fn count(&mut self) -> Result<(u64, usize), SfError> {
        match self.peek().tok.clone() {
            Tok::Number(n) => match n.parse::<u64>() {
                Ok(v) => {
                    let t = self.bump();
                    Ok((v, t.start))
                }
                Err(_) => Err(self.unexpected()),
            },
            _ => Err(self.unexpected()),
        }
    }

    fn order_item(&mut self) -> Result<OrderItem, SfError> {
        let path = self.path()?;
        let descending = if self.eat_kw("DESC") {
            true
        } else {
            self.eat_kw("ASC");
            false
        };
        let nulls_last = if self.eat_kw("NULLS") {
            if self.eat_kw("LAST") {
                true
            } else {
                self.expect_kw("FIRST")?;
                false
            }
        } else {
            descending
        };
        Ok(OrderItem {
            path,
            descending,
            nulls_last,
        })
    }

    fn or(&mut self) -> Result<Cond, SfError> {
        let (first, combined) = self.and()?;
        if !self.is_kw("OR") {
            return Ok(first);
        }
        // SOQL refuses `a AND b OR c`: the error points at the operator that mixes them.
        if combined {
            return Err(self.unexpected());
        }
        let mut parts = vec![first];
        while self.eat_kw("OR") {
            parts.push(self.not()?);
            if self.is_kw("AND") {
                return Err(self.unexpected());
            }
        }
        Ok(Cond::Or(parts))
    }

    /// Terms joined by AND; the flag says whether there was more than one.
    fn and(&mut self) -> Result<(Cond, bool), SfError> {
        let first = self.not()?;
        if !self.is_kw("AND") {
            return Ok((first, false));
        }
        let mut parts = vec![first];
        while self.eat_kw("AND") {
            parts.push(self.not()?);
        }
        Ok((Cond::And(parts), true))
    }

    fn not(&mut self) -> Result<Cond, SfError> {
        if self.eat_kw("NOT") {
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.bump();
            let inner = self.or()?;
            self.expect(&Tok::RParen)?;
            return Ok(inner);
        }
        let path = self.path()?;
        let op = match self.peek().tok {
            Tok::Eq => Some(Op::Eq),
            Tok::Ne => Some(Op::Ne),
            Tok::Lt => Some(Op::Lt),
            Tok::Gt => Some(Op::Gt),
            Tok::Le => Some(Op::Le),
            Tok::Ge => Some(Op::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            return Ok(Cond::Cmp(path, op, self.value()?));
        }
        if self.eat_kw("LIKE") {
            return Ok(Cond::Like(path, self.value()?));
        }
        let negated = self.eat_kw("NOT");
        if !self.eat_kw("IN") {
            return Err(self.unexpected());
        }
        self.expect(&Tok::LParen)?;
        let mut values = vec![self.value()?];
        while self.peek().tok == Tok::Comma {
            self.bump();
            values.push(self.value()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(Cond::In(path, negated, values))
    }

    fn value(&mut self) -> Result<Value, SfError> {
        let t = self.peek().clone();
        let lit = match &t.tok {
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Number(n) => Literal::Number(n.clone()),
            Tok::Date(d) => Literal::Date(*d),
            Tok::DateTime(d) => Literal::DateTime(*d),
            Tok::Ident(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(w) if super::dates::is_relative(w) => {
                let name = w.to_ascii_uppercase();
                self.bump();
                let n = if super::dates::takes_n(&name) {
                    self.expect(&Tok::Colon)?;
                    let (n, pos) = self.count()?;
                    // Bounds keep the date arithmetic far from overflow.
                    if n > MAX_RELATIVE_N {
                        return Err(syntax_error(self.src, pos, &n.to_string()));
                    }
                    Some(n as i64)
                } else {
                    None
                };
                return Ok(Value {
                    lit: Literal::Relative(name, n),
                    pos: t.start,
                });
            }
            _ => return Err(self.unexpected()),
        };
        self.bump();
        Ok(Value { lit, pos: t.start })
    }
}

/// Parses one SOQL statement.
pub(crate) fn parse(src: &str, toks: &[Token]) -> Result<Query, SfError> {
    if toks.is_empty() {
        return Err(syntax_error(src, 0, "<EOF>"));
    }
    Parser { src, toks, at: 0 }.query(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soql::lexer::tokenize;

    fn p(src: &str) -> Result<Query, SfError> {
        parse(src, &tokenize(src)?)
    }

    #[test]
    fn parses_the_full_shape() {
        let q = p("select Id, Account.Name from Contact where (Email = 'a' or Phone != null) and not Name like 'x%' \
                   order by LastName desc nulls first, Id limit 10 offset 5")
            .unwrap();
        let fields = q.fields.unwrap();
        assert!(matches!(&fields[1], SelectItem::Field(p) if p.parts == ["Account", "Name"]));
        assert_eq!(q.object, "Contact");
        assert_eq!(q.order.len(), 2);
        assert!(q.order[0].descending && !q.order[0].nulls_last);
        assert!(!q.order[1].descending && !q.order[1].nulls_last);
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.offset.map(|o| o.0), Some(5));
        let Some(Cond::And(parts)) = q.filter else {
            panic!("expected AND")
        };
        assert!(matches!(parts[0], Cond::Or(_)));
        assert!(matches!(parts[1], Cond::Not(_)));
    }

    #[test]
    fn count_in_and_relative_dates() {
        let q = p("SELECT COUNT() FROM Lead WHERE Status NOT IN ('a','b') AND CreatedDate = LAST_N_DAYS:7").unwrap();
        assert!(q.fields.is_none());
        let Some(Cond::And(parts)) = q.filter else {
            panic!()
        };
        assert!(matches!(&parts[0], Cond::In(_, true, v) if v.len() == 2));
        assert!(
            matches!(&parts[1], Cond::Cmp(_, Op::Eq, Value { lit: Literal::Relative(n, Some(7)), .. }) if n == "LAST_N_DAYS")
        );
        assert!(p("SELECT Id FROM Lead ORDER BY Name DESC").unwrap().order[0].nulls_last);
    }

    #[test]
    fn mixing_and_or_needs_parentheses() {
        let e = p("SELECT Id FROM Contact WHERE a = 1 AND b = 2 OR c = 3").unwrap_err();
        assert_eq!(e.error_code, "MALFORMED_QUERY");
        assert!(
            e.message.ends_with("unexpected token: 'OR'"),
            "{}",
            e.message
        );
        let e = p("SELECT Id FROM Contact WHERE a = 1 OR b = 2 AND c = 3").unwrap_err();
        assert!(
            e.message.ends_with("unexpected token: 'AND'"),
            "{}",
            e.message
        );
        assert!(p("SELECT Id FROM Contact WHERE (a = 1 AND b = 2) OR c = 3").is_ok());
    }

    #[test]
    fn syntax_errors_name_the_token() {
        let cases = [
            ("SELECT FROM Contact", "unexpected token: 'FROM'"),
            ("SELECT Id FROM", "unexpected token: '<EOF>'"),
            ("SELECT Id FROM Contact WHERE", "unexpected token: '<EOF>'"),
            ("SELECT Id FROM Contact LIMIT x", "unexpected token: 'x'"),
            ("SELECT Id, FROM Contact", "unexpected token: 'FROM'"),
            (
                "SELECT Id FROM Contact WHERE Name 'x'",
                "unexpected token: ''x''",
            ),
            ("SELECT Id FROM Contact extra", "unexpected token: 'extra'"),
            (
                "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS",
                "unexpected token: '<EOF>'",
            ),
            (
                "SELECT Id FROM Contact WHERE Name IN ()",
                "unexpected token: ')'",
            ),
            ("UPDATE Contact", "unexpected token: 'UPDATE'"),
            ("", "unexpected token: '<EOF>'"),
        ];
        for (q, msg) in cases {
            let e = p(q).unwrap_err();
            assert_eq!(e.error_code, "MALFORMED_QUERY", "{q}");
            assert!(e.message.ends_with(msg), "{q}: {}", e.message);
        }
        assert!(p("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_YEARS:1000000").is_ok());
        let e = p("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_YEARS:1000001").unwrap_err();
        assert!(
            e.message.ends_with("unexpected token: '1000001'"),
            "{}",
            e.message
        );
        let e = p("SELECT Id FROM Contact LIMIT x").unwrap_err();
        assert!(
            e.message.contains("ERROR at Row:1:Column:30"),
            "{}",
            e.message
        );
    }
}
