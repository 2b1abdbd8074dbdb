//! Token calls whose token is the last path segment of an OAuth endpoint rather than a form
//! field (a connector's `revocation_call` and `metadata_call`). The URL holds a token, so it is
//! built here, sent, and never logged: a transport failure is reported by its kind only, since
//! the HTTP client's own error text names the URL.

use patchbay_connectors::connector::{Method, TokenInPath};
use patchbay_oauth::ClientConfig;
use reqwest::header::ACCEPT;

/// Largest answer read (metadata answers are a few hundred bytes).
const MAX_ANSWER: usize = 64 * 1024;

/// An answer: status and (bounded) body.
pub(crate) struct PathAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why no answer came; never holds the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathCallError {
    /// The endpoint URL cannot take a path segment.
    BadEndpoint,
    /// Timed out.
    Timeout,
    /// Could not connect.
    Connect,
    /// Any other transport failure.
    Transport,
}

impl PathCallError {
    /// Worth another attempt later.
    pub(crate) fn is_retryable(self) -> bool {
        self != Self::BadEndpoint
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::BadEndpoint => "the endpoint URL cannot take a token segment",
            Self::Timeout => "the request timed out",
            Self::Connect => "the endpoint could not be reached",
            Self::Transport => "the request failed in transport",
        }
    }
}

/// Sends `call` for `token` at the integration's endpoint.
pub(crate) async fn send(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    call: TokenInPath,
    token: &str,
) -> Result<PathAnswer, PathCallError> {
    let mut url = cfg.endpoint_url(call.endpoint);
    url.path_segments_mut()
        .map_err(|()| PathCallError::BadEndpoint)?
        .pop_if_empty()
        .push(token);
    let method = match call.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Patch => reqwest::Method::PATCH,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
    };
    let kind = |e: reqwest::Error| {
        if e.is_timeout() {
            PathCallError::Timeout
        } else if e.is_connect() {
            PathCallError::Connect
        } else {
            PathCallError::Transport
        }
    };
    let mut response = http
        .request(method, url)
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(kind)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(kind)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            body.truncate(MAX_ANSWER);
            break;
        }
    }
    Ok(PathAnswer { status, body })
}
