//! Test-only SOQL tokenizer, written independently of the escaper, used to prove that user input
//! never changes a query's structure: every string literal is decoded back to its text and every
//! token outside literals is compared with the query built from a harmless value.

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A string literal, decoded (LIKE escapes `\%` `\_` decode to `%` `_` marked by a leading
    /// private-use `\u{f8ff}` so they stay distinguishable from wildcards).
    Str(String),
    /// A keyword, identifier, number or date literal.
    Word(String),
    /// An operator or punctuation.
    Sym(&'static str),
}

/// Marker put before a LIKE-escaped `%` or `_` in decoded text.
pub const LIKE_ESCAPED: char = '\u{f8ff}';

/// Tokenizes a SOQL statement the way Salesforce's lexer would (docs/salesforce.md §12.1).
pub fn tokenize(soql: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = soql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            i += 1;
        } else if c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                let Some(&c) = chars.get(i) else {
                    return Err("unterminated string".into());
                };
                i += 1;
                match c {
                    '\'' => break,
                    '\\' => {
                        let Some(&e) = chars.get(i) else {
                            return Err("dangling backslash".into());
                        };
                        i += 1;
                        match e {
                            'n' | 'N' => text.push('\n'),
                            'r' | 'R' => text.push('\r'),
                            't' | 'T' => text.push('\t'),
                            'b' | 'B' => text.push('\u{8}'),
                            'f' | 'F' => text.push('\u{c}'),
                            '"' | '\'' | '\\' => text.push(e),
                            '%' | '_' => {
                                text.push(LIKE_ESCAPED);
                                text.push(e);
                            }
                            'u' => {
                                let hex: String =
                                    chars.get(i..i + 4).ok_or("short \\u")?.iter().collect();
                                let code = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\u")?;
                                text.push(char::from_u32(code).ok_or("bad code point")?);
                                i += 4;
                            }
                            other => return Err(format!("invalid escape \\{other}")),
                        }
                    }
                    c if c.is_control() => return Err("raw control character in literal".into()),
                    c => text.push(c),
                }
            }
            out.push(Tok::Str(text));
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || "_.:-+".contains(chars[i]))
            {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = match two.as_str() {
                "!=" => "!=",
                "<=" => "<=",
                ">=" => ">=",
                _ => match c {
                    '=' => "=",
                    '<' => "<",
                    '>' => ">",
                    '(' => "(",
                    ')' => ")",
                    ',' => ",",
                    _ => return Err(format!("unexpected character {c:?}")),
                },
            };
            i += sym.len();
            out.push(Tok::Sym(sym));
        }
    }
    Ok(out)
}

/// The token sequence with every literal's content blanked: the query's structure.
pub fn shape(tokens: &[Tok]) -> Vec<String> {
    tokens
        .iter()
        .map(|t| match t {
            Tok::Str(_) => "'…'".to_owned(),
            Tok::Word(w) => w.to_ascii_uppercase(),
            Tok::Sym(s) => (*s).to_owned(),
        })
        .collect()
}

/// The decoded string literals, in order.
pub fn literals(tokens: &[Tok]) -> Vec<String> {
    tokens
        .iter()
        .filter_map(|t| match t {
            Tok::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Injection attempts fed through every filter.
pub const PAYLOADS: &[&str] = &[
    "'",
    "\\",
    "\\'",
    "' OR Name != '",
    "x' OR Id != null OR Name = 'x",
    "' OR 1=1 --",
    "1 OR 1=1",
    "\") OR (Name LIKE '%",
    "%",
    "_",
    "%' OR Name LIKE '%",
    "a\nb\rc\td",
    "\u{8}\u{c}",
    "\u{0}",
    "\u{1b}[31m",
    "Zoë 😀 ﬁ \u{202e}",
    "\\u0027 OR Name != \\u0027",
    "' ORDER BY Id LIMIT 1 --",
    "x')) OR ((Id != null",
    "\"double\" 'single'",
];
