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

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
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

/// Builds a pooled client (http/1.1 and h2 by ALPN) sending bodies of type `B`.
pub(crate) fn client<B>(connect_timeout: Duration) -> Result<Client<B>>
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
{
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
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector),
    )
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
        assert!(client::<Whole>(Duration::from_secs(5)).is_ok());
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
