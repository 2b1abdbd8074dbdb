//! The outbound HTTP client for calls that carry a connection's token to its provider: the
//! proxy's ([`super::proxy`]) and the unified CRM's ([`super::crm`]).
//!
//! hyper's pooled client, not reqwest: reqwest's per-request layers (a copy of the header
//! map, re-parsing the URL, the redirect and cookie services, its retry wrapper) cost more
//! CPU per call than the rest of a proxied call's own work, and ≈ 9 % of a unified read
//! (issue 14). What reqwest gave for free is here instead: DNS through the
//! [`GuardedResolver`] (provider names must resolve to public addresses), TLS with the
//! platform's verifier, the connect timeout and the idle pool timeout. Redirects are never
//! followed by the client; a caller that follows them decides where (the proxy, same origin
//! only). Request deadlines are the caller's.

use std::any::Any;
use std::cell::RefCell;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::proxy::GuardedResolver;
use crate::error::{Error, Result};

pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>;
pub(crate) type Client<B> = hyper_util::client::legacy::Client<Connector, B>;

/// The TLS-over-TCP connector (http/1.1 and h2 by ALPN) every client of one [`PerThread`]
/// shares: cloning it shares its TLS configuration and resolver.
fn connector(connect_timeout: Duration) -> Result<Connector> {
    let mut http = HttpConnector::new_with_resolver(GuardedResolver);
    // https goes through the TLS layer, which hands the plain connector any URI.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier =
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(Error::internal)?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::internal)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http))
}

/// A client with a pool of its own over `connector`.
fn pooled<B>(connector: Connector) -> Client<B>
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
{
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector)
}

/// Each [`PerThread`] gets its own key, so one thread serving two vaults (a test) never sends
/// one vault's calls through the other's pool.
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The clients pinned to this thread, by [`PerThread`] key ([`PerThread::pin`]). Empty on
    /// the threads of a work-stealing runtime, where every call uses the shared client.
    static PINNED: RefCell<Vec<(u64, Box<dyn Any>)>> = const { RefCell::new(Vec::new()) };
}

/// A pooled client shared by the whole process, and one per serving thread of the
/// thread-per-core server ([`crate::listener::per_core`]).
///
/// hyper-util's client drives each pooled connection in a task spawned on the runtime that
/// opened it. Shared across per-core runtimes, a request from one core would often take a
/// connection opened by another, and every read and write of that call would wake a task on
/// the other thread: the cross-core hand-off the per-core server exists to avoid. So each
/// serving thread pins a client of its own ([`PerThread::pin`]), whose connections live and
/// are used on that thread only; any other thread (a work-stealing runtime, background tasks)
/// uses the shared one.
pub(crate) struct PerThread<B> {
    shared: Client<B>,
    connector: Connector,
    key: u64,
}

impl<B> PerThread<B>
where
    B: HttpBody + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    pub(crate) fn new(connect_timeout: Duration) -> Result<Self> {
        let connector = connector(connect_timeout)?;
        Ok(Self {
            shared: pooled(connector.clone()),
            connector,
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Sends `request` through this thread's pinned client, or the shared one.
    pub(crate) fn request(&self, request: hyper::Request<B>) -> ResponseFuture {
        PINNED.with_borrow(|pinned| {
            let local = pinned
                .iter()
                .find(|(key, _)| *key == self.key)
                .and_then(|(_, client)| client.downcast_ref::<Client<B>>());
            local.unwrap_or(&self.shared).request(request)
        })
    }

    /// Gives the calling thread a client (and pool) of its own until the guard drops. Call it
    /// on a thread that runs a current-thread runtime, before that runtime serves.
    pub(crate) fn pin(&self) -> Pinned {
        let client: Client<B> = pooled(self.connector.clone());
        PINNED.with_borrow_mut(|pinned| pinned.push((self.key, Box::new(client))));
        Pinned {
            key: self.key,
            _not_send: std::marker::PhantomData,
        }
    }
}

pub(crate) type ResponseFuture = hyper_util::client::legacy::ResponseFuture;

/// Unpins a thread's client ([`PerThread::pin`]) on drop; its pooled connections close with it.
pub(crate) struct Pinned {
    key: u64,
    /// The pin is the thread's: dropping it elsewhere would unpin another thread's slot.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // A client dropped inside `with_borrow_mut` could run arbitrary drop code while the
        // slot is borrowed; take it out first.
        let removed = PINNED.with_borrow_mut(|pinned| {
            pinned
                .iter()
                .position(|(key, _)| *key == self.key)
                .map(|i| pinned.swap_remove(i))
        });
        drop(removed);
    }
}

/// A request body held whole in memory (a planned JSON body, or none), sent in one frame
/// with an exact length.
pub(crate) struct Whole(Option<Bytes>);

impl Whole {
    pub(crate) fn empty() -> Self {
        Self(None)
    }

    pub(crate) fn new(bytes: Bytes) -> Self {
        Self(Some(bytes).filter(|b| !b.is_empty()))
    }
}

impl HttpBody for Whole {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(
            self.0
                .as_ref()
                .map_or(0, |b| u64::try_from(b.len()).unwrap_or(u64::MAX)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_builds_with_the_platform_verifier() {
        assert!(PerThread::<Whole>::new(Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn a_whole_body_has_its_exact_length() {
        let body = Whole::new(Bytes::from_static(b"{\"a\":1}"));
        assert_eq!(body.size_hint().exact(), Some(7));
        assert!(!body.is_end_stream());
        let empty = Whole::new(Bytes::new());
        assert_eq!(empty.size_hint().exact(), Some(0));
        assert!(empty.is_end_stream());
    }
}
