//! Extractors whose rejections are Apideck error envelopes, never axum's plain-text bodies:
//! JSON bodies (required or optional), path segments and raw query pairs.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A required JSON body.
pub struct ApiJson<T>(pub T);

/// A JSON body that may be absent (empty body); `None` then.
pub struct OptionalJson<T>(pub Option<T>);

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<(bool, Bytes), Error> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge
        } else {
            Error::validation("the request body could not be read")
        }
    })?;
    Ok((is_json, bytes))
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    // JSON is UTF-8 (RFC 8259 §8.1). serde_json checks only the strings it keeps, so a body
    // with invalid bytes in a field the type ignores would otherwise be accepted.
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::MalformedJson(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    serde_json::from_str(text).map_err(|e| {
        // serde's messages name fields and positions; classify so syntax errors and schema
        // errors get distinct messages.
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                Error::MalformedJson(format!("line {} column {}", e.line(), e.column()))
            }
            Category::Data => Error::Validation(data_error_text(&e)),
        }
    })
}

/// serde data errors can quote the offending value; keep only the part that names the field.
fn data_error_text(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let kept = if text.contains("invalid type") || text.contains("invalid value") {
        // e.g. `invalid type: string "…", expected a boolean at line 1 column 9`: drop the value.
        match (text.find(", expected"), text.rfind(" at line")) {
            (Some(a), Some(b)) if a < b => format!("invalid type or value{}", &text[a..b]),
            _ => "invalid type or value".to_owned(),
        }
    } else {
        text.split(" at line")
            .next()
            .unwrap_or("invalid body")
            .to_owned()
    };
    kept.chars().take(300).collect()
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let (is_json, bytes) = read_body(req, state).await?;
        if bytes.is_empty() {
            return Err(Error::validation("a JSON body is required"));
        }
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        parse(&bytes).map(ApiJson)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let (is_json, bytes) = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        parse(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// Raw path segments; parsing into typed ids is the handler's job (so it can pick the right
/// not-found error).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_| Error::validation("the URL path is malformed"))
    }
}

/// All query pairs, percent-decoded, in order. Repeated keys are kept (deepObject filters and
/// arrays such as `filter[http_methods][]=GET`).
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `limit` in 1..=200, default 20.
    pub fn limit(&self) -> Result<u32, Error> {
        match self.get("limit") {
            None | Some("") => Ok(20),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=200).contains(&n) => Ok(n),
                _ => Err(Error::validation("limit must be an integer from 1 to 200")),
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let q = parts.uri.query().unwrap_or("");
        if q.len() > 16 * 1024 {
            return Err(Error::validation("the query string is too long"));
        }
        parse_query(q).map(QueryPairs)
    }
}

/// `application/x-www-form-urlencoded` pairs, refusing percent-escapes that decode to invalid
/// UTF-8: a lossy decoder would turn them into U+FFFD and answer for a value nobody sent
/// (a filter on `%FF` would search for `\u{FFFD}`).
fn parse_query(q: &str) -> Result<Vec<(String, String)>, Error> {
    q.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode_component(k)?, decode_component(v)?))
        })
        .collect()
}

fn decode_component(s: &str) -> Result<String, Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 2;
                }
                // Like every form decoder: a `%` not followed by two hex digits is itself.
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| Error::validation("the query string is not valid UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode_like_forms_and_refuse_invalid_utf8() {
        let pairs = parse_query("a=1&b=x+y%20z&&c&filter%5Bname%5D=Zo%C3%AB&p=50%&q=%zz").unwrap();
        let want = [
            ("a", "1"),
            ("b", "x y z"),
            ("c", ""),
            ("filter[name]", "Zoë"),
            ("p", "50%"),
            ("q", "%zz"),
        ];
        let got: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, want);
        for bad in ["a=%FF", "%C0%AF=1", "a=%ED%A0%80", "a=ok&b=%FE"] {
            assert!(
                matches!(parse_query(bad), Err(Error::Validation(_))),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Whatever a form encoder writes decodes back to the same pairs.
        #[test]
        fn encoded_pairs_round_trip(pairs in proptest::collection::vec((".{0,12}", ".{0,12}"), 0..6)) {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish();
            let decoded = parse_query(&encoded).unwrap();
            proptest::prop_assert_eq!(decoded, pairs);
        }

        /// Any query string decodes or is refused; never a panic, never U+FFFD that was not sent.
        #[test]
        fn any_query_string_decodes_or_is_refused(q in "[ -~]{0,40}", bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8)) {
            let escaped: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
            let q = format!("{q}&x={escaped}");
            if let Ok(pairs) = parse_query(&q) {
                for (k, v) in pairs {
                    let sent = q.contains("%EF%BF%BD");
                    let clean = !k.contains(char::REPLACEMENT_CHARACTER) && !v.contains(char::REPLACEMENT_CHARACTER);
                    proptest::prop_assert!(clean || sent, "{:?} gave {:?}={:?}", q, k, v);
                }
            }
        }
    }

    #[test]
    fn data_errors_do_not_quote_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code, reason = "only deserialised")]
        struct B {
            enabled: bool,
        }
        let Err(e) = parse::<B>(br#"{"enabled":"secret-value"}"#) else {
            panic!("accepted");
        };
        let text = e.detail().to_string();
        assert!(!text.contains("secret-value"), "{text}");
        assert!(matches!(parse::<B>(b"{nope"), Err(Error::MalformedJson(_))));
        // Invalid UTF-8 in a field the type ignores is still refused.
        assert!(matches!(
            parse::<B>(b"{\"enabled\":true,\"other\":\"\xff\xfe\"}"),
            Err(Error::MalformedJson(_))
        ));
        assert!(parse::<B>(br#"{"enabled":true,"other":"ok"}"#).is_ok());
    }
}
