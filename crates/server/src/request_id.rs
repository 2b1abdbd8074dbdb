//! Every request's id: a client's own `x-request-id` when it is safe to echo and to log, else a
//! fresh UUID. The id is answered in `x-request-id` (and Apideck's `Request-Id`), names the
//! request's tracing span, is stored with its `/vault/logs` entry, and is the `ref` of its
//! error envelope, so one string leads from a customer's error report to the log entry and the
//! server's log lines.
//!
//! The error envelope is rendered deep inside the handler, with no access to the request, so the
//! id travels in a task-local set around the whole request ([`current`]).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The header Patchbay reads and answers.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Apideck's own response header (docs/apideck.md); also read when `x-request-id` is absent.
pub const APIDECK_HEADER: HeaderName = HeaderName::from_static("request-id");
/// Longer incoming ids are replaced: the id lands in every log line and a database column.
pub const MAX_LEN: usize = 128;

/// The id of the request being served, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request this task is serving, if any (none outside a request, e.g. the CLI).
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// Whether a client's id may be kept: 1 to [`MAX_LEN`] characters of `A–Z a–z 0–9 . _ : -`.
/// Anything else (spaces, quotes, control characters, non-ASCII) could forge log lines or
/// break the log format, so it is replaced, not cleaned.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The id for a request: the client's when valid, else a new UUID.
pub fn choose(incoming: Option<&HeaderValue>) -> String {
    incoming
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid(v))
        .map_or_else(
            // Encoded into a stack buffer: `to_string` would go through the formatter.
            || {
                uuid::Uuid::new_v4()
                    .hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer())
                    .to_owned()
            },
            str::to_owned,
        )
}

/// Around the whole app: picks the id, puts it on the request (header and extension), runs the
/// request with it as the task's current id, and answers it. The server itself uses
/// [`crate::metrics::ObserveLayer`], which does the same in one layer with the metrics.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let (value, id) = tag(&mut req);
    let mut response = CURRENT.scope(id, next.run(req)).await;
    answer(&mut response, value);
    response
}

/// Picks the request's id and puts it on the request (header and extension); returns the header
/// value to answer and the id to run the request with.
pub(crate) fn tag(req: &mut Request) -> (HeaderValue, RequestId) {
    let headers = req.headers();
    let incoming = headers.get(HEADER).or_else(|| headers.get(APIDECK_HEADER));
    let (value, id) = match incoming.and_then(|v| Some((v, v.to_str().ok()?))) {
        // A kept client id is answered with its own header value: shared bytes, no copy.
        Some((v, s)) if is_valid(s) => (v.clone(), s.to_owned()),
        _ => {
            let id = choose(None);
            // Valid by construction (a UUID).
            let value =
                HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
            (value, id)
        }
    };
    req.headers_mut().insert(HEADER, value.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    (value, RequestId(id))
}

/// Runs `f` with `id` as the task's current id (what [`current`] and error envelopes read).
pub(crate) fn scope<F: std::future::Future>(
    id: RequestId,
    f: F,
) -> tokio::task::futures::TaskLocalFuture<RequestId, F> {
    CURRENT.scope(id, f)
}

/// Answers the request's id in both headers.
pub(crate) fn answer(response: &mut Response, value: HeaderValue) {
    response.headers_mut().insert(HEADER, value.clone());
    response.headers_mut().insert(APIDECK_HEADER, value);
}

/// The request's span: its id, method and path (the path only: a query may carry an OAuth
/// code or state).
pub fn make_span(req: &Request) -> tracing::Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map_or("", |r| r.0.as_str());
    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_client_id_is_kept() {
        let v = HeaderValue::from_static("trace-01.abc_DEF:9");
        assert_eq!(choose(Some(&v)), "trace-01.abc_DEF:9");
    }

    #[test]
    fn unsafe_or_oversized_ids_are_replaced() {
        for bad in [
            "",
            "has space",
            "quote\"",
            "new\\nline",
            "semi;colon",
            "ünïcode",
            &"a".repeat(MAX_LEN + 1),
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
        let v = HeaderValue::from_static("no spaces please");
        let chosen = choose(Some(&v));
        assert_ne!(chosen, "no spaces please");
        assert!(uuid::Uuid::parse_str(&chosen).is_ok(), "{chosen}");
        assert!(is_valid(&"a".repeat(MAX_LEN)));
    }

    #[test]
    fn no_header_gets_a_fresh_uuid() {
        let a = choose(None);
        let b = choose(None);
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }

    #[tokio::test]
    async fn the_current_id_is_scoped_to_its_request() {
        assert_eq!(current(), None);
        let seen = CURRENT
            .scope(RequestId("r-1".to_owned()), async { current() })
            .await;
        assert_eq!(seen.as_deref(), Some("r-1"));
    }
}
