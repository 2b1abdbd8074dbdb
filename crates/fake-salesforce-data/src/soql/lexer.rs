//! SOQL tokens. String escapes follow docs/salesforce.md §12.1: `\_` and `\%` are kept apart from
//! ordinary characters because they are legal only inside a LIKE pattern.

use super::error::syntax_error;
use crate::datetime;
use crate::error::SfError;

/// One character of a decoded string literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrChar {
    Lit(char),
    /// `\_`: a literal underscore in LIKE.
    EscUnderscore,
    /// `\%`: a literal percent sign in LIKE.
    EscPercent,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A word or dotted path (`Account.Name`, `SELECT`, `LAST_N_DAYS`).
    Ident(String),
    Str(Vec<StrChar>),
    /// A numeric literal, kept as text so integers stay exact.
    Number(String),
    Date(i64),
    DateTime(i64),
    Comma,
    LParen,
    RParen,
    Colon,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Eof,
}

impl Tok {
    /// How an error message shows the token.
    pub(crate) fn describe(&self, source: &str, start: usize, end: usize) -> String {
        match self {
            Tok::Eof => "<EOF>".to_owned(),
            _ => source.get(start..end).unwrap_or_default().to_owned(),
        }
    }
}

/// A token and its byte span in the query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Splits a query into tokens, ending with `Tok::Eof`.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, SfError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(src.len(), |(b, _)| *b);
    let mut i = 0;
    while let Some(&(start, c)) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let simple = match c {
            ',' => Some(Tok::Comma),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ':' => Some(Tok::Colon),
            '=' => Some(Tok::Eq),
            _ => None,
        };
        if let Some(tok) = simple {
            i += 1;
            out.push(Token {
                tok,
                start,
                end: end_of(i),
            });
            continue;
        }
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let two = match (c, next) {
            ('!', Some('=')) | ('<', Some('>')) => Some(Tok::Ne),
            ('<', Some('=')) => Some(Tok::Le),
            ('>', Some('=')) => Some(Tok::Ge),
            _ => None,
        };
        if let Some(tok) = two {
            i += 2;
            out.push(Token {
                tok,
                start,
                end: end_of(i),
            });
            continue;
        }
        if c == '<' || c == '>' {
            i += 1;
            let tok = if c == '<' { Tok::Lt } else { Tok::Gt };
            out.push(Token {
                tok,
                start,
                end: end_of(i),
            });
            continue;
        }
        if c == '\'' {
            let (s, next_i) = string_literal(src, &chars, i)?;
            i = next_i;
            out.push(Token {
                tok: Tok::Str(s),
                start,
                end: end_of(i),
            });
            continue;
        }
        let signed_digit =
            (c == '-' || c == '+') && next.is_some_and(|n| n.is_ascii_digit() || n == '.');
        if c.is_ascii_digit()
            || signed_digit
            || (c == '.' && next.is_some_and(|n| n.is_ascii_digit()))
        {
            let mut j = i + 1;
            while let Some(&(_, d)) = chars.get(j) {
                if d.is_ascii_alphanumeric() || matches!(d, '.' | ':' | '-' | '+') {
                    j += 1;
                } else {
                    break;
                }
            }
            let text = &src[start..end_of(j)];
            let tok = number_or_date(text).ok_or_else(|| syntax_error(src, start, text))?;
            i = j;
            out.push(Token {
                tok,
                start,
                end: end_of(i),
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i + 1;
            while chars.get(j).is_some_and(|(_, d)| is_ident_char(*d)) {
                j += 1;
            }
            let text = &src[start..end_of(j)];
            i = j;
            out.push(Token {
                tok: Tok::Ident(text.to_owned()),
                start,
                end: end_of(i),
            });
            continue;
        }
        return Err(syntax_error(src, start, &c.to_string()));
    }
    out.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    Ok(out)
}

fn number_or_date(text: &str) -> Option<Tok> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let is_number = !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || c == '.')
        && body.chars().filter(|c| *c == '.').count() <= 1
        && body != ".";
    if is_number {
        return Some(Tok::Number(text.to_owned()));
    }
    if text.starts_with(['-', '+']) {
        return None;
    }
    if let Some(d) = datetime::parse_date(text) {
        return Some(Tok::Date(d));
    }
    datetime::parse_soql_datetime(text).map(Tok::DateTime)
}

/// Decodes a quoted string starting at `chars[i] == '\''`; returns the characters and the index
/// after the closing quote.
fn string_literal(
    src: &str,
    chars: &[(usize, char)],
    i: usize,
) -> Result<(Vec<StrChar>, usize), SfError> {
    let mut out = Vec::new();
    let mut j = i + 1;
    loop {
        let Some(&(pos, c)) = chars.get(j) else {
            return Err(syntax_error(src, src.len(), "<EOF>"));
        };
        match c {
            '\'' => return Ok((out, j + 1)),
            '\\' => {
                let Some(&(_, e)) = chars.get(j + 1) else {
                    return Err(syntax_error(src, pos, "\\"));
                };
                let decoded = match e {
                    'n' | 'N' => StrChar::Lit('\n'),
                    'r' | 'R' => StrChar::Lit('\r'),
                    't' | 'T' => StrChar::Lit('\t'),
                    'b' | 'B' => StrChar::Lit('\u{8}'),
                    'f' | 'F' => StrChar::Lit('\u{c}'),
                    '"' => StrChar::Lit('"'),
                    '\'' => StrChar::Lit('\''),
                    '\\' => StrChar::Lit('\\'),
                    '_' => StrChar::EscUnderscore,
                    '%' => StrChar::EscPercent,
                    'u' => {
                        let hex: String =
                            chars.iter().skip(j + 2).take(4).map(|(_, c)| *c).collect();
                        let code = (hex.len() == 4)
                            .then(|| u32::from_str_radix(&hex, 16).ok())
                            .flatten()
                            .and_then(char::from_u32)
                            .ok_or_else(|| syntax_error(src, pos, &format!("\\u{hex}")))?;
                        out.push(StrChar::Lit(code));
                        j += 6;
                        continue;
                    }
                    other => return Err(syntax_error(src, pos, &format!("\\{other}"))),
                };
                out.push(decoded);
                j += 2;
            }
            _ => {
                out.push(StrChar::Lit(c));
                j += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn lit(s: &str) -> Tok {
        Tok::Str(s.chars().map(StrChar::Lit).collect())
    }

    #[test]
    fn splits_a_query() {
        assert_eq!(
            toks("SELECT Id, Account.Name FROM Contact WHERE Amount>=-1.5 AND x<>'a'"),
            vec![
                Tok::Ident("SELECT".into()),
                Tok::Ident("Id".into()),
                Tok::Comma,
                Tok::Ident("Account.Name".into()),
                Tok::Ident("FROM".into()),
                Tok::Ident("Contact".into()),
                Tok::Ident("WHERE".into()),
                Tok::Ident("Amount".into()),
                Tok::Ge,
                Tok::Number("-1.5".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("x".into()),
                Tok::Ne,
                lit("a"),
                Tok::Eof,
            ]
        );
        assert_eq!(toks("a != b")[1], Tok::Ne);
        assert_eq!(
            toks("LAST_N_DAYS:30"),
            vec![
                Tok::Ident("LAST_N_DAYS".into()),
                Tok::Colon,
                Tok::Number("30".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn dates_and_datetimes_are_unquoted_tokens() {
        assert_eq!(
            toks("2024-01-01"),
            vec![Tok::Date(datetime::days_from_civil(2024, 1, 1)), Tok::Eof]
        );
        let dt = datetime::parse_soql_datetime("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(toks("2024-01-01T00:00:00Z)")[0], Tok::DateTime(dt));
        assert_eq!(toks("2024-01-01T01:00:00+01:00")[0], Tok::DateTime(dt));
        assert_eq!(toks("2024-01-01T00:00:00-00:00")[0], Tok::DateTime(dt));
        assert!(tokenize("2024-13-01").is_err());
        assert!(tokenize("2024-01-01T00:00:00.000Z").is_err());
    }

    #[test]
    fn string_escapes() {
        assert_eq!(toks(r"'a\'b'")[0], lit("a'b"));
        assert_eq!(
            toks(r#"'\n\N\r\t\b\f\"\\'"#)[0],
            lit("\n\n\r\t\u{8}\u{c}\"\\")
        );
        assert_eq!(toks(r"'\u00e9'")[0], lit("é"));
        assert_eq!(
            toks(r"'a\_\%'")[0],
            Tok::Str(vec![
                StrChar::Lit('a'),
                StrChar::EscUnderscore,
                StrChar::EscPercent
            ])
        );
        for bad in [r"'\q'", r"'\u12'", r"'\uZZZZ'", "'open", r"'\", r"'\u12'"] {
            let e = tokenize(bad).unwrap_err();
            assert_eq!(e.error_code, "MALFORMED_QUERY", "{bad}");
        }
    }

    #[test]
    fn stray_characters_are_errors() {
        for bad in ["SELECT # FROM", "a ; b", "`x`", "a ! b", "\"x\""] {
            assert_eq!(
                tokenize(bad).unwrap_err().error_code,
                "MALFORMED_QUERY",
                "{bad}"
            );
        }
    }
}
