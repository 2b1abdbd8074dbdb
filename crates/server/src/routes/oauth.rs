//! Browser endpoints of the connect flow: `GET /vault/authorize/{service_id}/{application_id}`,
//! `GET /vault/callback` and `GET /vault/revoke/{service_id}/{application_id}`.
//!
//! Every answer carries `Cache-Control: no-store` and `Referrer-Policy: no-referrer`: these
//! URLs hold states and codes, which must stay out of caches and Referer headers.

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
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

/// The spec answers these with 301. `no-store` keeps browsers from caching it.
fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => private((StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, v)]).into_response()),
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
        Err(e) => private(e.into_response()),
    }
}

async fn callback(
    State(state): State<AppState>,
    Extension(slot): Extension<LogSlot>,
    uri: axum::http::Uri,
) -> Response {
    match state.vault.finish_connect(uri.query().unwrap_or("")).await {
        Ok(outcome) => {
            slot.set(&outcome.application_id, &outcome.consumer_id);
            redirect(&outcome.location)
        }
        Err(e) => private(e.into_response()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    Extension(slot): Extension<LogSlot>,
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
        Err(e) => private(e.into_response()),
    }
}
