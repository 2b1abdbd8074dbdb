//! Extractors whose failures are Salesforce error arrays rather than axum's plain-text
//! rejections: path segments, the query string and JSON bodies.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::RestError;

/// Named path parameters (deserialize into a struct: the guard's catch-all adds a parameter of
/// its own). A segment that does not decode names no resource, hence `404 NOT_FOUND`.
pub struct SfPath<T>(pub T);

impl<S, T> FromRequestParts<S> for SfPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RestError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(t)) => Ok(SfPath(t)),
            Err(_) => Err(RestError::not_found()),
        }
    }
}

/// The decoded query string (`+` and `%20` are both spaces). Never fails: undecodable bytes
/// become U+FFFD, and the resource then reports what it could not use.
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        (self.0.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, RestError> {
        let raw = parts.uri.query().unwrap_or_default();
        Ok(QueryParams(
            url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

/// A JSON object body (a record's fields), read up to the router's `DefaultBodyLimit`.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = RestError;

    async fn from_request(req: Request, state: &S) -> Result<Self, RestError> {
        let bytes = match Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status().as_u16() == 413 => {
                return Err(RestError::body_too_large());
            }
            Err(rejection) => return Err(RestError::json_parser(rejection.body_text())),
        };
        parse_object(&bytes).map(JsonObject)
    }
}

/// Parses a record body, with messages in the style of Salesforce's (Jackson's) parser.
fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, RestError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() && bytes.iter().all(u8::is_ascii_whitespace) {
            RestError::json_parser("No content to map due to end-of-input")
        } else {
            RestError::json_parser(format!("{e} at [line:{}, column:{}]", e.line(), e.column()))
        }
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(RestError::json_parser(format!(
            "Cannot deserialize instance of an sObject from {} value [line:1, column:1]",
            token_name(&other)
        ))),
    }
}

fn token_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Null => "VALUE_NULL",
        Value::Object(_) => "START_OBJECT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(parse_object(br#"{"LastName":"Ng"}"#).is_ok());
        for bad in [
            &b""[..],
            b"  ",
            b"{",
            b"[1]",
            b"\"x\"",
            b"null",
            b"{\"a\":}",
            b"\xff",
        ] {
            let err = parse_object(bad).err();
            assert_eq!(
                err.as_ref().map(RestError::code),
                Some("JSON_PARSER_ERROR"),
                "{bad:?}"
            );
        }
    }
}
