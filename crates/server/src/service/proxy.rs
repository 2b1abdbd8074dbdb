//! The Proxy API (docs/apideck.md §4): a caller's raw request is sent to the consumer's
//! connection (its provider account) with the stored access token injected.
//!
//! Where a request may go is decided by [`resolve_target`] alone: only the connection's own
//! validated API origin (the connector's `api_base`, tied to the integration's login host),
//! never another one. Redirects are followed only within that origin. Names under any
//! registered provider's domains must resolve to public addresses ([`GuardedResolver`]), so DNS
//! cannot point a token at a private or metadata address; an explicitly configured custom
//! login host (an emulator) is trusted as configured.
//!
//! Bodies stream both ways through [`CappedBody`]: memory stays bounded whatever the size,
//! and a configurable cap ends an over-long body with a clear error. `x-apideck-timeout`
//! bounds the wait for the response headers and, after them, any silence in the middle of the
//! response body (a long body that keeps moving is not cut). Small request bodies
//! (up to `replay_buffer_bytes`) are kept so a request can be sent again after a token
//! refresh; GET and HEAD are retried on 5xx, 429 and connection failures with backoff and
//! `Retry-After`; other methods are never retried except after a 401 the connector reads as
//! "token invalid" (`Connector::token_invalid`), which a provider answers before doing
//! anything.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::dns::Name;
use patchbay_core::{ApplicationId, ConsumerId, ServiceId, UnifiedApi};
use url::Url;

use super::Vault;
use super::downstream::CallOutcome as Health;
use super::telemetry::{CallKind, CallOutcome};
use crate::error::{Error, Result};

/// Apideck's default downstream timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 28_000;

/// Tunables of the proxy.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// The largest request or response body the proxy passes, in bytes (Apideck stops at 2 MB
    /// and redirects to a temporary URL; Patchbay streams up to this cap).
    pub max_body_bytes: u64,
    /// Request bodies up to this size are held in memory so the request can be replayed once
    /// after a token refresh; larger ones stream and a `401` is passed through instead.
    pub replay_buffer_bytes: usize,
    /// Upper bound for `x-apideck-timeout`.
    pub max_timeout_ms: u64,
    /// Retries of a GET or HEAD after 5xx, 429 or a connection failure.
    pub get_retries: u32,
    /// First backoff between GET retries; doubles per retry.
    pub retry_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the answer goes to the caller.
    pub max_retry_wait: Duration,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024 * 1024,
            replay_buffer_bytes: 1024 * 1024,
            max_timeout_ms: 300_000,
            get_retries: 2,
            retry_backoff: Duration::from_millis(100),
            max_retry_wait: Duration::from_secs(5),
        }
    }
}

/// The proxy's HTTP client and options, built once per [`Vault`].
///
/// hyper's pooled client, not reqwest: reqwest's per-request layers (a copy of the header
/// map, re-parsing the URL, the redirect and cookie services, its retry wrapper) cost more
/// CPU per call than the rest of the proxy's own work (issue 14). What reqwest gave for free
/// is here instead: the guarded resolver, the same-origin redirect rule ([`Vault::send`]),
/// TLS with the platform's verifier, the connect timeout and the idle pool timeout.
pub(crate) struct ProxyRuntime {
    client: super::outbound::PerThread<OutBody>,
    options: ProxyOptions,
}

/// Redirects followed per attempt, all within the request's origin.
const MAX_REDIRECTS: usize = 5;

impl ProxyRuntime {
    pub(crate) fn new(options: ProxyOptions) -> Result<Self> {
        let client = super::outbound::PerThread::new(Duration::from_secs(5))?;
        Ok(Self { client, options })
    }

    /// Pins a client of its own to the calling serving thread (see [`super::outbound::PerThread`]).
    pub(crate) fn pin_client(&self) -> super::outbound::Pinned {
        self.client.pin()
    }
}

/// What a redirect answer asks for: where to, and with which method and body.
enum Hop {
    /// Not a redirect to follow: the answer goes back as it is.
    Stop,
    /// Follow to this URL; `true` = as a GET without the body (301/302 after POST, 303).
    Follow(Url, bool),
}

/// Follows a redirect only to the origin the request was sent to (the injected
/// `Authorization` stays on same-origin hops), as browsers change methods: 303, and 301/302
/// after a POST, become a GET without body; 307/308 repeat the request, body included.
fn redirect_hop(status: StatusCode, headers: &HeaderMap, current: &Url, method: &Method) -> Hop {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Hop::Stop;
    }
    let Some(next) = headers
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| current.join(l.trim()).ok())
    else {
        return Hop::Stop;
    };
    let same = next.scheme() == current.scheme()
        && next.host() == current.host()
        && next.port_or_known_default() == current.port_or_known_default();
    if !same || !next.username().is_empty() || next.password().is_some() {
        return Hop::Stop;
    }
    let to_get = match status.as_u16() {
        303 => *method != Method::HEAD,
        301 | 302 => *method == Method::POST,
        _ => false,
    };
    Hop::Follow(next, to_get)
}

/// What the caller asked for, parsed by the route from `/proxy`'s headers.
pub struct ProxyCall {
    pub app: ApplicationId,
    pub consumer: ConsumerId,
    pub unified_api: UnifiedApi,
    pub service: Option<ServiceId>,
    /// The downstream method (`x-apideck-downstream-method`, else the incoming one).
    pub method: Method,
    /// `x-apideck-downstream-url`, as sent.
    pub downstream_url: String,
    /// `x-apideck-downstream-authorization`: sent as `Authorization` instead of the token.
    pub downstream_authorization: Option<HeaderValue>,
    /// `x-apideck-timeout` in ms (None = the default).
    pub timeout_ms: Option<u64>,
    /// The incoming headers; [`forward_headers`] decides which go on.
    pub headers: HeaderMap,
    pub body: Body,
}

/// The downstream answer, streaming.
pub struct ProxyReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Body,
    /// Where the request went (origin and path, no query), for the request log.
    pub target: Url,
    /// The service of the connection whose token was used, for the request log.
    pub service_id: ServiceId,
    /// Time spent waiting for the downstream's response headers, over all attempts.
    pub downstream: Duration,
}

/// A proxy failure and, when the downstream was already chosen, where it was going.
pub struct ProxyFailure {
    pub error: Error,
    pub target: Option<Url>,
    /// The service of the resolved connection, when it was resolved.
    pub service_id: Option<ServiceId>,
    /// Time spent on downstream attempts before the failure; `None` when none was made.
    pub downstream: Option<Duration>,
}

impl From<Error> for ProxyFailure {
    fn from(error: Error) -> Self {
        Self {
            error,
            target: None,
            service_id: None,
            downstream: None,
        }
    }
}

impl Vault {
    /// Sends `call` to the consumer's provider account (see the module docs for the rules).
    #[tracing::instrument(skip_all, fields(app = %call.app, consumer = %call.consumer, method = %call.method))]
    pub async fn proxy(&self, call: ProxyCall) -> std::result::Result<ProxyReply, ProxyFailure> {
        let mut spent = None;
        let outcome = self.proxy_timed(call, &mut spent).await;
        outcome.map_err(|failure| ProxyFailure {
            downstream: spent,
            ..failure
        })
    }

    /// [`Vault::proxy`], adding the time of every downstream attempt to `spent`.
    async fn proxy_timed(
        &self,
        call: ProxyCall,
        spent: &mut Option<Duration>,
    ) -> std::result::Result<ProxyReply, ProxyFailure> {
        let rt = self.proxy_runtime();
        let opts = &rt.options;
        let timeout = Duration::from_millis(
            call.timeout_ms
                .unwrap_or(DEFAULT_TIMEOUT_MS)
                .clamp(1, opts.max_timeout_ms),
        );
        let deadline = Instant::now() + timeout;
        let mut token = self
            .connection_token(
                &call.app,
                &call.consumer,
                &call.unified_api,
                call.service.as_ref(),
            )
            .await?;
        let target = resolve_target_on(&call.downstream_url, &token.instance)
            .map_err(|e| Error::validation(e.to_string()))?;
        let service_id = token.row.service_id.clone();
        let fail = |error: Error| ProxyFailure {
            error,
            target: Some(target.clone()),
            service_id: Some(service_id.clone()),
            downstream: None,
        };
        let inject = call.downstream_authorization.is_none();
        let length = content_length(&call.headers);
        if length.is_some_and(|l| l > opts.max_body_bytes) {
            return Err(fail(Error::BodyTooLarge {
                limit: opts.max_body_bytes,
                downstream: false,
            }));
        }
        // The first attempt takes these headers as they are; a retry builds them again, which
        // is rare, instead of every call paying for a copy.
        let outgoing_headers = || {
            let mut headers = forward_headers(&call.headers);
            if let Some(auth) = &call.downstream_authorization {
                headers.insert(header::AUTHORIZATION, auth.clone());
            }
            if let Some(l) = length {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(l));
            }
            headers
        };
        let mut first_headers = Some(outgoing_headers());
        let mut body = OutgoingBody::new(call.body, length, opts)
            .await
            .map_err(fail)?;

        let is_read = matches!(call.method, Method::GET | Method::HEAD);
        let mut retries_left = if is_read { opts.get_retries } else { 0 };
        let mut refreshed = false;
        let mut backoff = opts.retry_backoff;
        loop {
            let Some(send_body) = body.take() else {
                // Only reached after a streamed body was used; the loop below never retries then.
                return Err(fail(Error::internal(ReplayUnavailable)));
            };
            let auth = if inject {
                Some(
                    token
                        .authorization
                        .clone()
                        .ok_or_else(|| fail(Error::internal(UnusableToken)))?,
                )
            } else {
                None
            };
            let with_auth = |mut headers: HeaderMap| {
                if let Some(auth) = &auth {
                    headers.insert(header::AUTHORIZATION, auth.clone());
                }
                headers
            };
            let headers = with_auth(first_headers.take().unwrap_or_else(outgoing_headers));
            let remaining = deadline.saturating_duration_since(Instant::now());
            let started = Instant::now();
            let attempt = rt.send(&call.method, &target, headers, send_body, &mut body, || {
                with_auth(outgoing_headers())
            });
            let outcome = tokio::time::timeout(remaining, attempt).await;
            let took = started.elapsed();
            *spent = Some(spent.unwrap_or_default() + took);
            // To the response head: the body streams to the caller afterwards.
            self.downstream_stats().record(
                CallKind::Proxy,
                service_id.as_str(),
                match &outcome {
                    Err(_) => CallOutcome::Timeout,
                    Ok(Err(_)) => CallOutcome::Error,
                    Ok(Ok(r)) => CallOutcome::Status(r.status().as_u16()),
                },
                took,
            );
            let health = match &outcome {
                Ok(Ok(r)) => Health::of_status(r.status().as_u16()),
                // Our own size limit, not the provider failing.
                Ok(Err(e)) if e.body_too_large() => Health::Answered,
                _ => Health::Unreachable,
            };
            self.observe_downstream(&token, health).await;
            let response = match outcome {
                Err(_) => {
                    return Err(fail(Error::Downstream(format!(
                        "{} did not answer within {} ms (x-apideck-timeout)",
                        token.connector.display().name,
                        timeout.as_millis()
                    ))));
                }
                Ok(Err(e)) => {
                    if e.body_too_large() {
                        return Err(fail(Error::BodyTooLarge {
                            limit: opts.max_body_bytes,
                            downstream: false,
                        }));
                    }
                    if retries_left > 0 && body.replayable() && fits(deadline, backoff) {
                        retries_left -= 1;
                        tokio::time::sleep(backoff).await;
                        backoff = backoff.saturating_mul(2);
                        continue;
                    }
                    return Err(fail(Error::Downstream(
                        e.describe(token.connector.display().name),
                    )));
                }
                Ok(Ok(r)) => r,
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && inject && !refreshed {
                let (head, prefix, rest) = read_prefix(response, 64 * 1024).await;
                if token.connector.token_invalid(status.as_u16(), &prefix) {
                    refreshed = true;
                    token = self
                        .token_after_invalid_session(&token)
                        .await
                        .map_err(&fail)?;
                    if body.replayable() {
                        continue;
                    }
                }
                let sent = Sent {
                    target,
                    service_id,
                    waited: spent.unwrap_or_default(),
                };
                return Ok(reply(head, Some(prefix), rest, sent, opts, timeout));
            }
            let retryable = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
            if retryable && retries_left > 0 && body.replayable() {
                let wait = retry_after(response.headers())
                    .unwrap_or(backoff)
                    .max(backoff);
                if wait <= opts.max_retry_wait && fits(deadline, wait) {
                    retries_left -= 1;
                    drop(response);
                    tokio::time::sleep(wait).await;
                    backoff = backoff.saturating_mul(2);
                    continue;
                }
            }
            if content_length(response.headers()).is_some_and(|l| l > opts.max_body_bytes) {
                return Err(fail(Error::BodyTooLarge {
                    limit: opts.max_body_bytes,
                    downstream: true,
                }));
            }
            let (head, rest) = response.into_parts();
            let sent = Sent {
                target,
                service_id,
                waited: spent.unwrap_or_default(),
            };
            return Ok(reply(head, None, rest, sent, opts, timeout));
        }
    }
}

impl ProxyRuntime {
    /// One attempt: the request, then any same-origin redirects ([`redirect_hop`]), up to
    /// [`MAX_REDIRECTS`]. `again` builds the headers for a hop: only a redirect pays for them.
    async fn send(
        &self,
        method: &Method,
        target: &Url,
        headers: HeaderMap,
        first: OutBody,
        body: &mut OutgoingBody,
        again: impl Fn() -> HeaderMap,
    ) -> std::result::Result<hyper::Response<Incoming>, SendError> {
        let mut response = self
            .client
            .request(outgoing(method.clone(), target, headers, first)?)
            .await
            .map_err(SendError::Client)?;
        let mut method = method.clone();
        let mut current: Option<Url> = None;
        for _ in 0..MAX_REDIRECTS {
            let at = current.as_ref().unwrap_or(target);
            let Hop::Follow(next, to_get) =
                redirect_hop(response.status(), response.headers(), at, &method)
            else {
                return Ok(response);
            };
            let mut headers = again();
            let next_body = if to_get {
                method = Method::GET;
                for name in [
                    header::CONTENT_LENGTH,
                    header::CONTENT_TYPE,
                    header::CONTENT_ENCODING,
                    header::TRANSFER_ENCODING,
                ] {
                    headers.remove(name);
                }
                OutBody::Full(None)
            } else {
                match body.take() {
                    Some(b) => b,
                    // A streamed body is gone: the redirect goes back to the caller.
                    None => return Ok(response),
                }
            };
            drop(response);
            response = self
                .client
                .request(outgoing(method.clone(), &next, headers, next_body)?)
                .await
                .map_err(SendError::Client)?;
            current = Some(next);
        }
        Ok(response)
    }
}

fn outgoing(
    method: Method,
    url: &Url,
    headers: HeaderMap,
    body: OutBody,
) -> std::result::Result<hyper::Request<OutBody>, SendError> {
    let uri = hyper::Uri::try_from(url.as_str()).map_err(|_| SendError::Uri)?;
    let mut request = hyper::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Why an attempt got no answer.
#[derive(Debug)]
enum SendError {
    /// The (already checked) URL is not a valid request target for HTTP.
    Uri,
    Client(hyper_util::client::legacy::Error),
}

impl SendError {
    fn describe(&self, provider: &str) -> String {
        match self {
            Self::Uri => format!("the request to {provider} has an invalid URL"),
            Self::Client(e) if e.is_connect() => {
                format!("{provider} could not be reached (connection failed)")
            }
            Self::Client(_) => {
                format!("the request to {provider} failed before an answer arrived")
            }
        }
    }

    /// The request body went past the cap while it was being sent.
    fn body_too_large(&self) -> bool {
        let Self::Client(e) = self else {
            return false;
        };
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if s.is::<BodyTooLarge>() {
                return true;
            }
            source = s.source();
        }
        false
    }
}

fn fits(deadline: Instant, wait: Duration) -> bool {
    Instant::now() + wait < deadline
}

#[derive(Debug, thiserror::Error)]
#[error("the stored access token cannot be sent in a header")]
struct UnusableToken;

#[derive(Debug, thiserror::Error)]
#[error("a streamed request body cannot be sent twice")]
struct ReplayUnavailable;

/// Where a request went and how long its attempts waited, for the reply's log fields.
struct Sent {
    target: Url,
    service_id: ServiceId,
    waited: Duration,
}

fn reply(
    head: axum::http::response::Parts,
    prefix: Option<Bytes>,
    rest: Incoming,
    sent: Sent,
    opts: &ProxyOptions,
    idle: Duration,
) -> ProxyReply {
    let mut headers = strip_hop_by_hop(&head.headers);
    if head.status.is_client_error() || head.status.is_server_error() {
        headers.insert(DOWNSTREAM_ERROR, HeaderValue::from_static("true"));
    }
    // `x-apideck-timeout` bounds the wait for the headers; after them a body may stream for as
    // long as it keeps moving, but a silence that long ends it.
    let body = CappedBody::new(prefix, rest, opts.max_body_bytes).with_idle_timeout(idle);
    let mut logged = sent.target;
    logged.set_query(None);
    logged.set_fragment(None);
    ProxyReply {
        status: head.status,
        headers,
        body: Body::new(body),
        target: logged,
        service_id: sent.service_id,
        downstream: sent.waited,
    }
}

/// Marks whose error a failed `/proxy` answer carries.
pub const DOWNSTREAM_ERROR: HeaderName = HeaderName::from_static("x-apideck-downstream-error");

/// Reads up to `limit` bytes of a (small) error body to classify it; the rest stays unread.
async fn read_prefix(
    response: hyper::Response<Incoming>,
    limit: usize,
) -> (axum::http::response::Parts, Bytes, Incoming) {
    let (head, mut body) = response.into_parts();
    let mut buf = Vec::new();
    while buf.len() < limit {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    (head, Bytes::from(buf), body)
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when =
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let delta = when - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(delta).unwrap_or(Duration::ZERO))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Why a downstream URL is refused. Each message says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("x-apideck-downstream-url must not contain control characters, spaces or backslashes")]
    BadCharacters,
    #[error(
        "x-apideck-downstream-url must be an absolute https URL on the connection's instance, or a path starting with a single /"
    )]
    NotAUrl,
    #[error("x-apideck-downstream-url must not contain a user name or password")]
    Userinfo,
    #[error(
        "x-apideck-downstream-url must not contain dot segments or encoded slashes in its path"
    )]
    Traversal,
    #[error("x-apideck-downstream-url must be on the connection's instance ({0})")]
    OtherOrigin(String),
}

/// Resolves `x-apideck-downstream-url` against the connection's validated origin and refuses
/// anything that would leave it. Pure: the test corpus runs against this function.
pub fn resolve_target(raw: &str, instance_url: &str) -> std::result::Result<Url, TargetError> {
    let base = Url::parse(instance_url).map_err(|_| TargetError::NotAUrl)?;
    resolve_target_on(raw, &base)
}

/// [`resolve_target`] against an instance URL parsed once (the cached token keeps it), so the
/// hot path does not parse and IDNA-map the instance's host on every call.
pub fn resolve_target_on(raw: &str, base: &Url) -> std::result::Result<Url, TargetError> {
    if raw.is_empty()
        || raw
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err(TargetError::BadCharacters);
    }
    let path_part = path_of(raw);
    let dot_segment = path_part.split('/').any(|seg| seg == ".." || seg == ".");
    if dot_segment
        || path_part.as_bytes().windows(3).any(|w| {
            w[0] == b'%'
                && ["2e", "2f", "5c", "00", "0a", "0d"]
                    .iter()
                    .any(|bad| w[1..].eq_ignore_ascii_case(bad.as_bytes()))
        })
    {
        return Err(TargetError::Traversal);
    }
    let url = if raw.starts_with('/') {
        if raw.starts_with("//") {
            return Err(TargetError::NotAUrl);
        }
        // A path-absolute reference keeps the base's scheme, host and port and replaces the
        // rest: the same URL as parsing `{origin}{raw}`, without parsing the host again.
        base.join(raw).map_err(|_| TargetError::NotAUrl)?
    } else {
        Url::parse(raw).map_err(|_| TargetError::NotAUrl)?
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::NotAUrl);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Userinfo);
    }
    // Origin equality (scheme, host, port with the scheme's default), compared in place
    // instead of through two allocated `Origin`s.
    if url.scheme() != base.scheme()
        || url.host() != base.host()
        || url.port_or_known_default() != base.port_or_known_default()
    {
        return Err(TargetError::OtherOrigin(
            base.origin().ascii_serialization(),
        ));
    }
    let mut url = url;
    url.set_fragment(None);
    Ok(url)
}

/// The path of a raw URL or path: after the authority, before `?` or `#`.
fn path_of(raw: &str) -> &str {
    let rest = match raw.find("://") {
        Some(i) => {
            let after = &raw[i + 3..];
            after.find('/').map_or("", |j| &after[j..])
        }
        None => raw,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) never cross the proxy.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The caller's headers that go on to the provider: everything except `x-apideck-*`, the
/// caller's `Authorization` (its Patchbay API key), `Cookie`, `Host`, `Content-Length`
/// (set again from the body) and hop-by-hop headers, including those `Connection` names.
pub fn forward_headers(incoming: &HeaderMap) -> HeaderMap {
    copy_headers(incoming, |name| {
        name.starts_with("x-apideck-")
            || name == "authorization"
            || name == "cookie"
            || name == "host"
            || name == "content-length"
            || name == "forwarded"
            || name.starts_with("x-forwarded-")
    })
}

fn strip_hop_by_hop(incoming: &HeaderMap) -> HeaderMap {
    copy_headers(incoming, |_| false)
}

/// The headers without hop-by-hop ones (those `Connection` names too) and without those
/// `also_drop` names, in one pass.
fn copy_headers(incoming: &HeaderMap, also_drop: impl Fn(&str) -> bool) -> HeaderMap {
    let named: Vec<String> = incoming
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = HeaderMap::with_capacity(incoming.len());
    for (k, v) in incoming {
        let name = k.as_str();
        if HOP_BY_HOP.contains(&name) || named.iter().any(|n| n == name) || also_drop(name) {
            continue;
        }
        out.append(k.clone(), v.clone());
    }
    out
}

/// A registered provider's domains: names under them must resolve to public addresses.
fn is_provider_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    patchbay_connectors::registry::is_provider_host(&host)
}

/// Whether an address may receive a token: not loopback, private, link-local (cloud
/// metadata lives at 169.254.169.254), CGNAT, multicast, documentation or unspecified.
/// An IPv6 address that carries an IPv4 one (mapped, IPv4-compatible, 6to4, NAT64) is judged
/// by the IPv4 address it leads to, since that is where a translating router sends it.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d))
            };
            // NAT64's well-known prefix (RFC 6052): 64:ff9b::/96 plus an IPv4 address.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public_ip(embedded(seg[6], seg[7]));
            }
            // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 is routed to the IPv4 address AA.BB.CC.DD.
            if seg[0] == 0x2002 && !is_public_ip(embedded(seg[1], seg[2])) {
                return false;
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // IPv4-compatible (::a.b.c.d, deprecated by RFC 4291) and the rest of ::/96.
                || seg[..6] == [0; 6]
                // The rest of NAT64's /32, including the local-use 64:ff9b:1::/48 (RFC 8215).
                || (seg[0] == 0x64 && seg[1] == 0xff9b)
                // Discard-only (RFC 6666).
                || seg[..4] == [0x100, 0, 0, 0]
                // Teredo (2001::/32) tunnels to an IPv4 address it hides; benchmarking 2001:2::/48.
                || (seg[0] == 0x2001 && seg[1] == 0)
                || (seg[0] == 0x2001 && seg[1] == 2 && seg[2] == 0)
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                // Site-local (deprecated by RFC 3879, still routed inside some networks).
                || (seg[0] & 0xffc0) == 0xfec0
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
                || (seg[0] & 0xfff0) == 0x3ff0
                // Outside global unicast (2000::/3) nothing is assigned to the public Internet.
                || (seg[0] & 0xe000) != 0x2000)
        }
    }
}

/// DNS for the proxy: provider names resolving to a non-public address are refused, so a
/// poisoned or rebinding answer cannot turn the proxy toward internal services.
#[derive(Clone, Copy)]
pub(super) struct GuardedResolver;

type Resolving = Pin<
    Box<dyn Future<Output = std::result::Result<std::vec::IntoIter<SocketAddr>, BoxError>> + Send>,
>;

impl tower::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let guarded = is_provider_name(&host);
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !guarded || is_public_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(PrivateAddress) as BoxError);
            }
            Ok(addrs.into_iter())
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the downstream host resolves only to private or reserved addresses")]
struct PrivateAddress;

/// The request body: held in memory when small (so it can be sent again), else streamed once.
enum OutgoingBody {
    Replayable(Bytes),
    Streaming(Option<CappedBody<Body>>),
}

impl OutgoingBody {
    async fn new(body: Body, length: Option<u64>, opts: &ProxyOptions) -> Result<Self> {
        let buffer = u64::try_from(opts.replay_buffer_bytes).unwrap_or(u64::MAX);
        if length.is_some_and(|l| l <= buffer) || length.is_none() {
            // Read up to the replay buffer; a body that turns out longer keeps streaming.
            let mut body = body;
            let mut buf = Vec::new();
            loop {
                match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            buf.extend_from_slice(&data);
                        }
                        if buf.len() > opts.replay_buffer_bytes {
                            let capped =
                                CappedBody::new(Some(Bytes::from(buf)), body, opts.max_body_bytes);
                            return Ok(Self::Streaming(Some(capped)));
                        }
                    }
                    Some(Err(_)) => {
                        return Err(Error::validation(
                            "the request body could not be read to its end",
                        ));
                    }
                    None => return Ok(Self::Replayable(Bytes::from(buf))),
                }
            }
        }
        Ok(Self::Streaming(Some(CappedBody::new(
            None,
            body,
            opts.max_body_bytes,
        ))))
    }

    fn replayable(&self) -> bool {
        matches!(self, Self::Replayable(_))
    }

    /// The body for the next attempt; `None` once a streamed body has been used.
    fn take(&mut self) -> Option<OutBody> {
        match self {
            Self::Replayable(b) if b.is_empty() => Some(OutBody::Full(None)),
            // A `Bytes` clone shares the buffer: a replay copies nothing.
            Self::Replayable(b) => Some(OutBody::Full(Some(b.clone()))),
            Self::Streaming(b) => b.take().map(OutBody::Stream),
        }
    }
}

/// What one attempt sends: the held bytes (none for an empty body) or the capped stream.
enum OutBody {
    Full(Option<Bytes>),
    Stream(CappedBody<Body>),
}

impl HttpBody for OutBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Self::Stream(s) => Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(b) => b.is_none(),
            Self::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(b) => SizeHint::with_exact(
                b.as_ref()
                    .map_or(0, |b| u64::try_from(b.len()).unwrap_or(u64::MAX)),
            ),
            Self::Stream(s) => s.size_hint(),
        }
    }
}

/// A body that passes at most `cap` bytes: past it, the stream ends with [`BodyTooLarge`].
/// An optional prefix (bytes already read to classify the body) is sent first.
/// With [`CappedBody::with_idle_timeout`], a body that sends nothing for that long ends with
/// [`BodyStalled`], so a downstream that hangs mid-body cannot hold a connection forever.
pub struct CappedBody<B> {
    prefix: Option<Bytes>,
    inner: B,
    seen: u64,
    cap: u64,
    idle: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
}

impl<B> CappedBody<B> {
    pub fn new(prefix: Option<Bytes>, inner: B, cap: u64) -> Self {
        Self {
            prefix: prefix.filter(|p| !p.is_empty()),
            inner,
            seen: 0,
            cap,
            idle: None,
        }
    }

    /// Ends the body with [`BodyStalled`] when no frame arrives for `after`.
    pub fn with_idle_timeout(mut self, after: Duration) -> Self {
        self.idle = Some((after, Box::pin(tokio::time::sleep(after))));
        self
    }
}

/// The body stopped moving for longer than the idle timeout.
#[derive(Debug, thiserror::Error)]
#[error("the downstream sent nothing for {0} ms in the middle of its body")]
pub struct BodyStalled(pub u128);

/// The body went past the proxy's size cap.
#[derive(Debug, thiserror::Error)]
#[error("the body exceeds the proxy's size cap of {0} bytes")]
pub struct BodyTooLarge(pub u64);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> HttpBody for CappedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let frame = if let Some(prefix) = this.prefix.take() {
            Frame::data(prefix)
        } else {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => {
                    if let Some((after, timer)) = &mut this.idle
                        && timer.as_mut().poll(cx).is_ready()
                    {
                        let ms = after.as_millis();
                        this.idle = None;
                        return Poll::Ready(Some(Err(Box::new(BodyStalled(ms)))));
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Some(Ok(f))) => f,
            }
        };
        if let Some((after, timer)) = &mut this.idle {
            timer.as_mut().reset(tokio::time::Instant::now() + *after);
        }
        if let Some(data) = frame.data_ref() {
            this.seen = this
                .seen
                .saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
            if this.seen > this.cap {
                return Poll::Ready(Some(Err(Box::new(BodyTooLarge(this.cap)))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        if let Some(p) = &self.prefix {
            let extra = u64::try_from(p.len()).unwrap_or(u64::MAX);
            let mut h = SizeHint::new();
            h.set_lower(hint.lower().saturating_add(extra));
            if let Some(u) = hint.upper() {
                h.set_upper(u.saturating_add(extra));
            }
            hint = h;
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMU: &str = "http://127.0.0.1:4321";
    const SF: &str = "https://acme.my.crmhost.com";

    #[test]
    fn relative_paths_resolve_against_the_instance() {
        let u = resolve_target("/services/data/v66.0/limits?x=1#frag", SF).unwrap();
        assert_eq!(
            u.as_str(),
            "https://acme.my.crmhost.com/services/data/v66.0/limits?x=1"
        );
        let u = resolve_target("http://127.0.0.1:4321/services/data", EMU).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:4321/services/data");
        // A query may carry encoded slashes (SOQL); only the path is checked for traversal.
        assert!(resolve_target("/services/data/v66.0/query?q=a%2Fb", SF).is_ok());
    }

    #[test]
    fn the_bypass_corpus_is_refused() {
        let corpus: &[(&str, TargetError)] = &[
            ("https://evil.com/", TargetError::OtherOrigin(SF.to_owned())),
            ("//evil.com/x", TargetError::NotAUrl),
            ("///evil.com/x", TargetError::NotAUrl),
            (
                "https://acme.my.crmhost.com@evil.com/",
                TargetError::Userinfo,
            ),
            ("https://user@acme.my.crmhost.com/", TargetError::Userinfo),
            (
                "https://acme.my.crmhost.com.evil.com/",
                TargetError::OtherOrigin(SF.to_owned()),
            ),
            (
                "https://evil。com/",
                TargetError::OtherOrigin(SF.to_owned()),
            ),
            (
                "https://acme.my.crmhost.com:8443/",
                TargetError::OtherOrigin(SF.to_owned()),
            ),
            (
                "http://acme.my.crmhost.com/",
                TargetError::OtherOrigin(SF.to_owned()),
            ),
            ("https://[::1]/", TargetError::OtherOrigin(SF.to_owned())),
            (
                "https://169.254.169.254/latest/meta-data/",
                TargetError::OtherOrigin(SF.to_owned()),
            ),
            ("/services/..%2f..%2fsecret", TargetError::Traversal),
            ("/services/%2e%2e/secret", TargetError::Traversal),
            ("/services/../secret", TargetError::Traversal),
            ("/services/./x", TargetError::Traversal),
            ("/a\r\nHost: evil.com", TargetError::BadCharacters),
            ("/a%0d%0aHost:%20evil", TargetError::Traversal),
            ("/a\\..\\b", TargetError::BadCharacters),
            ("/a b", TargetError::BadCharacters),
            ("", TargetError::BadCharacters),
            ("file:///etc/passwd", TargetError::NotAUrl),
            ("gopher://acme.my.crmhost.com/", TargetError::NotAUrl),
            ("javascript:alert(1)", TargetError::NotAUrl),
            ("services/data", TargetError::NotAUrl),
        ];
        for (raw, want) in corpus {
            assert_eq!(
                resolve_target(raw, SF).as_ref().err(),
                Some(want),
                "{raw:?}"
            );
        }
        for raw in [
            "http://[::1]:4321/",
            "http://localhost:4321/",
            "http://127.0.0.1:4322/",
            "http://127.0.0.1:4321@evil.com/",
            "http://evil.com#@127.0.0.1:4321/",
            "https://127.0.0.1:4321/",
        ] {
            assert!(resolve_target(raw, EMU).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn unicode_dots_normalise_to_the_same_origin_or_are_refused() {
        // IDNA maps ideographic full stops to dots: the same origin stays the same origin.
        assert!(resolve_target("https://acme。my。crmhost。com/x", SF).is_ok());
        assert!(resolve_target("https://acme.my.crmhost．com.evil/x", SF).is_err());
    }

    #[test]
    fn header_rules() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer pbk_caller"),
            ("cookie", "a=b"),
            ("host", "patchbay.local"),
            ("x-apideck-app-id", "app"),
            ("x-apideck-downstream-url", "/x"),
            ("connection", "keep-alive, x-custom-hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic x"),
            ("content-length", "10"),
            ("x-forwarded-for", "1.2.3.4"),
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("x-query-options", "batchSize=200"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forward_headers(&h);
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["accept", "content-type", "x-query-options"],
            "{names:?}"
        );
    }

    #[test]
    fn only_public_addresses_are_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            // IPv4-compatible, 6to4 and NAT64 forms of inward addresses.
            "::127.0.0.1",
            "::10.0.0.1",
            "::169.254.169.254",
            "::8.8.8.8",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:0101:1::1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::10.1.2.3",
            "64:ff9b::169.254.169.254",
            "64:ff9b:1::8.8.8.8",
            "64:ff9b:0:0:1::808:808",
            // Site-local, discard-only, Teredo, benchmarking, both documentation prefixes.
            "fec0::1",
            "feff:ffff::1",
            "100::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "fe00::1",
            "4000::1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "13.110.54.1",
            "2a01:4f8::1",
            "8.8.8.8",
            "2002:808:808::1",
            "64:ff9b::13.110.54.1",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for connector in patchbay_connectors::registry::all() {
            for domain in connector.provider_domains() {
                let upper = format!("ACME{}.", domain.to_ascii_uppercase());
                assert!(is_provider_name(&upper), "{upper}");
                assert!(!is_provider_name(&format!("{}.evil.com", &domain[1..])));
            }
        }
    }

    #[test]
    fn redirects_stay_on_the_origin_and_change_methods_as_browsers_do() {
        let at = Url::parse("http://127.0.0.1:4321/a/b?q=1").unwrap();
        let to = |status: u16, location: &str, method: Method| {
            let mut h = HeaderMap::new();
            h.insert(header::LOCATION, HeaderValue::from_str(location).unwrap());
            match redirect_hop(StatusCode::from_u16(status).unwrap(), &h, &at, &method) {
                Hop::Stop => None,
                Hop::Follow(u, get) => Some((u.to_string(), get)),
            }
        };
        let here = |p: &str| format!("http://127.0.0.1:4321{p}");
        assert_eq!(to(302, "/c", Method::GET), Some((here("/c"), false)));
        assert_eq!(to(302, "c", Method::POST), Some((here("/a/c"), true)));
        assert_eq!(to(301, "/c", Method::PUT), Some((here("/c"), false)));
        assert_eq!(to(303, "/c", Method::DELETE), Some((here("/c"), true)));
        assert_eq!(to(303, "/c", Method::HEAD), Some((here("/c"), false)));
        assert_eq!(to(307, "/c", Method::POST), Some((here("/c"), false)));
        assert_eq!(
            to(308, &here("/c"), Method::PATCH),
            Some((here("/c"), false))
        );
        for elsewhere in [
            "http://127.0.0.1:4322/c",
            "https://127.0.0.1:4321/c",
            "http://localhost:4321/c",
            "//evil.com/c",
            "http://user@127.0.0.1:4321/c",
        ] {
            assert_eq!(to(302, elsewhere, Method::GET), None, "{elsewhere}");
        }
        assert_eq!(to(300, "/c", Method::GET), None);
        assert_eq!(to(304, "/c", Method::GET), None);
        let none = redirect_hop(StatusCode::FOUND, &HeaderMap::new(), &at, &Method::GET);
        assert!(matches!(none, Hop::Stop));
    }

    #[test]
    fn the_client_builds_with_the_platform_verifier() {
        assert!(ProxyRuntime::new(ProxyOptions::default()).is_ok());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[tokio::test]
    async fn the_cap_ends_an_overlong_body() {
        use http_body_util_shim::collect;
        let body = Body::from(vec![7_u8; 10_000]);
        let capped = CappedBody::new(Some(Bytes::from_static(b"abc")), body, 5_000);
        let err = collect(capped).await.expect_err("past the cap");
        assert!(err.is::<BodyTooLarge>());
        let body = Body::from(vec![7_u8; 100]);
        let capped = CappedBody::new(Some(Bytes::from_static(b"abc")), body, 5_000);
        assert_eq!(collect(capped).await.expect("under the cap").len(), 103);
    }

    /// Collecting without pulling in http-body-util for one test.
    mod http_body_util_shim {
        use super::*;

        pub async fn collect<B>(mut b: B) -> std::result::Result<Vec<u8>, BoxError>
        where
            B: HttpBody<Data = Bytes, Error = BoxError> + Unpin,
        {
            let mut out = Vec::new();
            while let Some(f) = std::future::poll_fn(|cx| Pin::new(&mut b).poll_frame(cx)).await {
                if let Ok(d) = f?.into_data() {
                    out.extend_from_slice(&d);
                }
            }
            Ok(out)
        }
    }
}
