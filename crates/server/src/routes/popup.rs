//! `GET /vault/connect-complete/{application_id}`: where a popup opened by an embedded Vault
//! modal ends when the session named no `redirect_uri` of its own (authorize and revoke alike).
//! The page tells its opener the outcome with `postMessage`, addressed to each of the
//! application's allowed origins only (so no other page can read it), then closes itself;
//! opened without an opener it just says "You can close this window". Apideck's modal polls
//! `window.closed`, so closing is what makes it re-read the connection.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::AppState;
use crate::extract::{ApiPath, QueryPairs};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/vault/connect-complete/{application_id}", get(complete))
}

/// The completion page. askama escapes `title`, `text` and `nonce`; `data` is
/// [`script_json`], safe inside a `<script>` element.
#[derive(Template)]
#[template(path = "popup_complete.html")]
struct CompletePage<'a> {
    title: &'a str,
    text: &'a str,
    data: String,
    nonce: &'a str,
}

/// JSON that can sit inside a `<script>` element: no `<`, so no `</script>`.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

async fn complete(
    State(state): State<AppState>,
    ApiPath(application_id): ApiPath<String>,
    q: QueryPairs,
) -> Response {
    let origins = match patchbay_core::ApplicationId::parse(&application_id) {
        Ok(app) => state.vault.allowed_origins(&app).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let error = q.get("error").filter(|e| !e.is_empty()).map(|e| {
        e.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            .take(64)
            .collect::<String>()
    });
    let description = q
        .get("error_description")
        .map(|d| d.chars().take(500).collect::<String>());
    let (title, text) = match &error {
        None => ("Done", "Done. You can close this window.".to_owned()),
        Some(_) => (
            "The connection could not be made",
            format!(
                "{} You can close this window.",
                description.as_deref().unwrap_or("Something went wrong.")
            ),
        ),
    };
    let message = json!({
        "source": "patchbay",
        "type": "vault.connection",
        "status": if error.is_some() { "error" } else { "done" },
        "error": error,
        "error_description": description,
    });
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let page = CompletePage {
        title,
        text: &text,
        data: script_json(&json!({ "origins": origins, "message": message })),
        nonce: &nonce,
    };
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => return crate::error::Error::internal(e).into_response(),
    };
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let h = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script() {
        let v = json!({ "x": "</script><script>alert(1)</script>" });
        let s = script_json(&v);
        assert!(!s.contains('<'), "{s}");
        let back: serde_json::Value = serde_json::from_str(&s).expect("still JSON");
        assert_eq!(back, v);
    }
}
