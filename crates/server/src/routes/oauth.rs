//! Browser endpoints of the connect flow: `GET /vault/authorize/{service_id}/{application_id}`,
//! `GET /vault/callback` and `GET /vault/revoke/{service_id}/{application_id}`.
//!
//! Every answer carries `Cache-Control: no-store` and `Referrer-Policy: no-referrer`: these
//! URLs hold states and codes, which must stay out of caches and Referer headers.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::auth::LogSlot;
use crate::error::{Error, Result};
use crate::extract::{ApiPath, QueryPairs};
use crate::service::connect::AuthorizeRequest;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/vault/authorize/{service_id}/{application_id}",
            get(authorize),
        )
        .route("/vault/callback", get(callback))
        .route("/vault/revoke/{service_id}/{application_id}", get(revoke))
}

fn private(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The page a browser gets for a failed connect step. askama escapes every value.
#[derive(Template)]
#[template(path = "oauth_error.html")]
struct ErrorPage<'a> {
    message: std::borrow::Cow<'static, str>,
    title: &'a str,
    status: u16,
}

/// People, not programs, usually land on these URLs: a browser (`Accept: text/html`) gets a
/// small self-contained page with the same message; anything else gets the JSON envelope.
/// The message is escaped and the page loads nothing, so provider-influenced text stays text.
fn browser_error(e: Error, headers: &HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !wants_html {
        return e.into_response();
    }
    if let Error::Internal(cause) = &e {
        tracing::error!(error = %crate::error::chain(cause.as_ref()), "internal error");
    }
    let spec = e.spec();
    let page = ErrorPage {
        message: e.message(),
        title: spec.type_name,
        status: spec.status.as_u16(),
    };
    let Ok(body) = page.render() else {
        return e.into_response();
    };
    let mut response = (
        spec.status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response
}

/// The spec answers authorize and revoke links with 301. `no-store` keeps browsers from
/// caching it.
fn redirect(location: &str) -> Response {
    redirect_with(StatusCode::MOVED_PERMANENTLY, location)
}

/// The callback answers 303: a permanent redirect may be cached, and a cached callback would
/// send a later visit of the same URL (which carries a used code) straight to the application.
fn redirect_with(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => private((status, [(header::LOCATION, v)]).into_response()),
        Err(_) => private(
            Error::validation("redirect target is not a valid header value").into_response(),
        ),
    }
}

fn single(q: &QueryPairs, name: &str) -> Result<Option<String>> {
    let mut values = q.all(name);
    let first = values.next().map(str::to_owned);
    if values.next().is_some() {
        return Err(Error::OAuthInvalidState(format!(
            "The {name} parameter is repeated."
        )));
    }
    Ok(first)
}

async fn authorize(
    State(state): State<AppState>,
    Extension(slot): Extension<LogSlot>,
    headers: HeaderMap,
    ApiPath((service_id, application_id)): ApiPath<(String, String)>,
    q: QueryPairs,
) -> Response {
    let run = async {
        let req = AuthorizeRequest {
            service_id,
            application_id,
            state: single(&q, "state")?.ok_or_else(|| {
                Error::OAuthInvalidState("The state parameter is required.".to_owned())
            })?,
            redirect_uri: single(&q, "redirect_uri")?,
            scope: single(&q, "scope")?,
            nonce: single(&q, "nonce")?,
        };
        let (url, key) = state.vault.start_connect(&req).await?;
        slot.set(&key.application_id, &key.consumer_id);
        Ok::<_, Error>(url)
    };
    match run.await {
        Ok(url) => redirect(&url),
        Err(e) => private(browser_error(e, &headers)),
    }
}

async fn callback(
    State(state): State<AppState>,
    Extension(slot): Extension<LogSlot>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    match state.vault.finish_connect(uri.query().unwrap_or("")).await {
        Ok(outcome) => {
            slot.set(&outcome.application_id, &outcome.consumer_id);
            redirect_with(StatusCode::SEE_OTHER, &outcome.location)
        }
        Err(e) => private(browser_error(e, &headers)),
    }
}

async fn revoke(
    State(state): State<AppState>,
    Extension(slot): Extension<LogSlot>,
    headers: HeaderMap,
    ApiPath((service_id, application_id)): ApiPath<(String, String)>,
    q: QueryPairs,
) -> Response {
    let run = async {
        let link = single(&q, "state")?.ok_or_else(|| {
            Error::OAuthInvalidState("The state parameter is required.".to_owned())
        })?;
        let redirect_uri = single(&q, "redirect_uri")?;
        let (location, key) = state
            .vault
            .revoke_via_link(&service_id, &application_id, &link, redirect_uri.as_deref())
            .await?;
        slot.set(&key.application_id, &key.consumer_id);
        Ok::<_, Error>(location)
    };
    match run.await {
        Ok(location) => redirect(&location),
        Err(e) => private(browser_error(e, &headers)),
    }
}
