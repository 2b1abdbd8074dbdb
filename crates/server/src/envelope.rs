//! Success envelopes exactly as the spec: `{status_code, status, data}`, plus `meta` and
//! `links` on paged lists. Cursors are the store's keys in base64url, opaque to callers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::Error;

/// `200 {status_code, status: "OK", data}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    with_status(StatusCode::OK, data)
}

pub fn with_status<T: Serialize>(status: StatusCode, data: T) -> Response {
    match serde_json::to_value(data) {
        Ok(data) => (
            status,
            Json(json!({
                "status_code": status.as_u16(),
                "status": status.canonical_reason().unwrap_or("OK"),
                "data": data,
            })),
        )
            .into_response(),
        Err(e) => Error::internal(e).into_response(),
    }
}

/// A paged list with `meta.cursors` and absolute `links`. `query` is the request's query; the
/// links keep every parameter (filters, limit) and replace only `cursor`.
pub fn paged<T: Serialize>(
    items: Vec<T>,
    query: &[(String, String)],
    next_cursor: Option<&str>,
    self_url: &str,
) -> Response {
    let current_cursor = query
        .iter()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.as_str())
        .filter(|c| !c.is_empty());
    let link = |cursor: Option<&str>| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.extend_pairs(query.iter().filter(|(k, _)| k != "cursor"));
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        let q = q.finish();
        if q.is_empty() {
            self_url.to_owned()
        } else {
            format!("{self_url}?{q}")
        }
    };
    let next = next_cursor.map(encode_cursor);
    let body = json!({
        "status_code": 200,
        "status": "OK",
        "data": items,
        "meta": {
            "items_on_page": items.len(),
            "cursors": { "previous": Value::Null, "current": current_cursor, "next": next },
        },
        "links": {
            "previous": Value::Null,
            "current": link(current_cursor),
            "next": next.as_deref().map(|n| link(Some(n))),
        },
    });
    (StatusCode::OK, Json(body)).into_response()
}

pub fn encode_cursor(store_cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(store_cursor.as_bytes())
}

/// Decodes a caller's cursor back into the store's key.
pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, Error> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => {
            let bytes = URL_SAFE_NO_PAD
                .decode(c.trim_end_matches('='))
                .map_err(|_| Error::InvalidCursor)?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| Error::InvalidCursor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = encode_cursor("1700000000000:0190");
        assert_eq!(
            decode_cursor(Some(&c)).ok().flatten().as_deref(),
            Some("1700000000000:0190")
        );
        assert!(decode_cursor(Some("***")).is_err());
        assert_eq!(decode_cursor(None).ok().flatten(), None);
    }
}
