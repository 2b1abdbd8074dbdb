//! CORS for the Vault endpoints a session token may call (`/vault/connections…`,
//! `/vault/logs`, `/vault/custom-mappings…`), so that Apideck's embeddable modal works from
//! the SaaS app's own origin. The rules (see `service::cors`):
//! - a preflight is answered with allow headers only for an origin some application allows;
//! - an actual answer carries `Access-Control-Allow-Origin` (that exact origin, never `*`) only
//!   when the call was authenticated by a valid session of an application that allows it;
//! - API-key calls, the admin API, the console and every other path never get one.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::AppState;

const ALLOW_METHODS: &str = "GET, POST, PATCH, PUT, DELETE";
const ALLOW_HEADERS: &str = "authorization, content-type, x-apideck-app-id, \
     x-apideck-consumer-id, x-apideck-auth-type, x-apideck-service-id";
const EXPOSE_HEADERS: &str = "x-patchbay-ignored-fields";

/// Paths the embeddable modal calls with a session token.
fn session_callable(path: &str) -> bool {
    path == "/vault/connections"
        || path.starts_with("/vault/connections/")
        || path == "/vault/logs"
        || path.starts_with("/vault/custom-mappings/")
}

fn vary(h: &mut HeaderMap, value: &'static str) {
    h.append(header::VARY, HeaderValue::from_static(value));
}

/// The CORS rules as a layer. Hand-written rather than `from_fn`: most requests carry no
/// `Origin` or are not session-callable, and those go straight to the inner service's own future
/// (no boxing, no service clone); only the CORS cases pay for a boxed future.
#[derive(Clone)]
pub(super) struct CorsLayer {
    state: AppState,
}

impl CorsLayer {
    pub(super) fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub(super) struct Cors<S> {
    inner: S,
    state: AppState,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The inner service's own future, or the boxed CORS handling. The router's future is `Unpin`,
/// so no pin projection is needed.
pub(super) enum CorsFuture<F: Future> {
    Direct(F),
    Cors(BoxFuture<F::Output>),
}

impl<F: Future + Unpin> Future for CorsFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.get_mut() {
            CorsFuture::Direct(f) => Pin::new(f).poll(cx),
            CorsFuture::Cors(f) => f.as_mut().poll(cx),
        }
    }
}

impl<S> Service<Request> for Cors<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + Unpin + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|_| session_callable(req.uri().path()))
            .map(str::to_owned);
        let Some(origin) = origin else {
            return CorsFuture::Direct(self.inner.call(req));
        };
        let state = self.state.clone();
        if req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return CorsFuture::Cors(Box::pin(
                async move { Ok(preflight(&state, &origin).await) },
            ));
        }
        // The ready service answers this request; its clone waits for the next one.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        CorsFuture::Cors(Box::pin(async move {
            let session_app = session_application(&state, req.headers());
            let mut response = inner.call(req).await?;
            let h = response.headers_mut();
            vary(h, "origin");
            if let Some(app) = session_app
                && state.vault.origin_allowed(&app, &origin).await
                && let Ok(v) = HeaderValue::from_str(&origin)
            {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                h.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static(EXPOSE_HEADERS),
                );
            }
            Ok(response)
        }))
    }
}

async fn preflight(state: &AppState, origin: &str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let allowed = state.vault.origin_registered(origin).await;
    let h = response.headers_mut();
    vary(h, "origin");
    vary(h, "access-control-request-method");
    vary(h, "access-control-request-headers");
    if let (true, Ok(v)) = (allowed, HeaderValue::from_str(origin)) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

/// The application of a valid session token whose `x-apideck-app-id` matches; `None` for API
/// keys, bad tokens and mismatches (those calls get no allow header).
fn session_application(
    state: &AppState,
    headers: &HeaderMap,
) -> Option<patchbay_core::ApplicationId> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.starts_with("pbk_") {
        return None;
    }
    let claims = state.vault.verify_session(token).ok()?;
    let app_header = headers
        .get(crate::auth::APP_ID_HEADER)?
        .to_str()
        .ok()?
        .trim();
    (claims.application_id.as_str() == app_header).then_some(claims.application_id)
}
