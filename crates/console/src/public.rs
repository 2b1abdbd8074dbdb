//! The pages anyone may open, with no sign-in: the landing page (`/`), the documentation
//! compiled into the binary (`/docs`, `/docs/{path}`), and the page a customer lands on after
//! connecting when the application has no page of its own (`/connect/done`).
//!
//! The docs are the repository's own Markdown, embedded at build time and rendered on request,
//! so a deployment on a closed network still has its manual, at the version it runs.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::markdown;
use crate::web::{ConsoleState, render, render_status};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/", get(landing))
        .route("/docs", get(|| async { doc_page("README.md") }))
        .route("/docs/", get(|| async { doc_page("README.md") }))
        .route("/docs/{*path}", get(doc))
        .route("/connect/done", get(connect_done))
}

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    version: &'static str,
    public_url: String,
    callback_url: String,
    docs: Vec<(&'static str, &'static str)>,
}

async fn landing(State(state): State<ConsoleState>) -> Response {
    let public_url = state.vault.public_url().to_owned();
    render(&LandingPage {
        version: env!("CARGO_PKG_VERSION"),
        callback_url: format!("{public_url}/vault/callback"),
        public_url,
        docs: markdown::DOCS
            .iter()
            .filter(|d| !d.title.is_empty())
            .map(|d| (d.path, d.title))
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "doc.html")]
struct DocPage {
    title: &'static str,
    /// Rendered from Markdown compiled into the binary (our own text, not user input).
    body: String,
    docs: Vec<(&'static str, &'static str)>,
}

async fn doc(Path(path): Path<String>) -> Response {
    if let Some(image) = markdown::IMAGES.iter().find(|i| i.path == path) {
        return (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                ),
            ],
            image.bytes,
        )
            .into_response();
    }
    doc_page(&path)
}

fn doc_page(path: &str) -> Response {
    let docs = markdown::DOCS
        .iter()
        .filter(|d| !d.title.is_empty())
        .map(|d| (d.path, d.title))
        .collect();
    match markdown::DOCS.iter().find(|d| d.path == path) {
        Some(d) => render(&DocPage {
            title: if d.title.is_empty() { d.path } else { d.title },
            body: markdown::to_html(d.path, d.text),
            docs,
        }),
        None => render_status(
            StatusCode::NOT_FOUND,
            &DocPage {
                title: "Not found",
                body: "<p>There is no such page in the documentation.</p>".to_owned(),
                docs,
            },
        ),
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Template)]
#[template(path = "connect_done.html")]
struct DonePage {
    ok: bool,
    title: String,
    text: String,
    detail: Option<String>,
}

/// Where Patchbay's callback sends a customer whose application named no page of its own.
/// The outcome comes from the query the callback wrote; the description is provider text and
/// is only ever rendered escaped.
async fn connect_done(Query(q): Query<DoneQuery>) -> Response {
    let page = match q.error {
        None => DonePage {
            ok: true,
            title: "Connected".to_owned(),
            text: "Your account is connected. You can close this window and go back to the application.".to_owned(),
            detail: None,
        },
        Some(error) => {
            let notice = crate::views::customer_notice(
                None,
                &error,
                q.error_description.as_deref().unwrap_or(""),
            );
            DonePage {
                ok: false,
                title: notice.title,
                text: notice.text,
                detail: notice.detail,
            }
        }
    };
    render(&page)
}
