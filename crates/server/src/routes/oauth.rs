//! Browser endpoints of the connect flow: `GET /vault/authorize/{service_id}/{application_id}`,
//! `GET /vault/callback` and `GET /vault/revoke/{service_id}/{application_id}`.
//!
//! Every answer carries `Cache-Control: no-store` and `Referrer-Policy: no-referrer`: these
//! URLs hold states and codes, which must stay out of caches and Referer headers.

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
    let message = escape_html(&e.message());
    let title = escape_html(spec.type_name);
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Connection failed</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head><body style=\"font-family:sans-serif;max-width:40rem;margin:3rem auto\">\
         <h1>The connection could not be made</h1><p>{message}</p><p><small>{title} (HTTP {})</small></p></body></html>",
        spec.status.as_u16()
    );
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

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
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
