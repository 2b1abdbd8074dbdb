//! The org's REST API under `/services/data` (docs/salesforce.md §10, §11).
//!
//! - `GET /services/data/` lists versions without authentication or counting ([`version`]).
//! - Everything below `/services/data/{version}` passes one guard ([`guard`]): bearer token,
//!   daily-limit count, `Sforce-Limit-Info`, version resolution (`v66.0` or `latest`). Only then
//!   are the resource routes matched, so no resource can skip authentication.
//! - Errors are Salesforce error arrays ([`error`]), including unknown paths (`404 NOT_FOUND`),
//!   wrong methods (`405 METHOD_NOT_ALLOWED`) and bad bodies (`400 JSON_PARSER_ERROR`).
//! - Query cursors (`nextRecordsUrl`) are kept per emulator, bounded and expiring ([`query`]).
//!
//! The org lock is taken only inside synchronous sections, never across an `.await`.

mod conditional;
mod cursor;
mod error;
mod extract;
mod guard;
mod limits;
mod query;
mod records;
mod replication;
mod version;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{MethodRouter, any, get};

use crate::state::Emulator;
use error::{MAX_BODY_BYTES, RestError};
use guard::{Api, Ctx};

/// The REST surface, merged into the emulator's router. Each call makes a fresh cursor store,
/// so each emulator has its own.
pub fn router() -> Router<Emulator> {
    let api = Arc::new(Api {
        routes: resource_routes(),
        locators: Arc::new(query::LocatorStore::default()),
    });
    let versions = only(get(version::list_versions), "GET,HEAD");
    Router::new()
        .route("/services/data", versions.clone())
        .route("/services/data/", versions)
        .route(
            "/services/data/{*rest}",
            any(move |State(emu): State<Emulator>, req: Request| {
                guard::serve(emu, Arc::clone(&api), req)
            }),
        )
}

/// The versioned resources; handlers read the guard's [`Ctx`] from the request.
fn resource_routes() -> Router {
    let read_only = "GET,HEAD";
    let routes: [(&str, MethodRouter); 12] = [
        ("", only(get(directory), read_only)),
        ("/limits", only(get(limits::limits), read_only)),
        ("/sobjects", only(get(records::describe_global), read_only)),
        (
            "/sobjects/{object}",
            only(
                get(records::basic_info).post(records::create),
                "GET,HEAD,POST",
            ),
        ),
        (
            "/sobjects/{object}/describe",
            only(get(records::describe), read_only),
        ),
        (
            "/sobjects/{object}/deleted",
            only(get(replication::deleted), read_only),
        ),
        (
            "/sobjects/{object}/updated",
            only(get(replication::updated), read_only),
        ),
        (
            "/sobjects/{object}/{id}",
            only(
                get(records::read)
                    .patch(records::update)
                    .delete(records::delete),
                "GET,PATCH,DELETE,HEAD",
            ),
        ),
        ("/query", only(get(query::query), read_only)),
        ("/queryAll", only(get(query::query_all), read_only)),
        ("/query/{cursor}", only(get(query::more), read_only)),
        ("/queryAll/{cursor}", only(get(query::more_all), read_only)),
    ];
    let mut r = Router::new();
    for (path, methods) in routes {
        // Salesforce ignores a trailing slash on every resource.
        r = r
            .route(
                &format!("/services/data/{{version}}{path}"),
                methods.clone(),
            )
            .route(&format!("/services/data/{{version}}{path}/"), methods);
    }
    r.fallback(|| async { RestError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// `GET /services/data/vXX.X`
async fn directory(ctx: Ctx) -> Response {
    version::directory(ctx.version)
}

/// Answers any method outside `allowed` with `405 METHOD_NOT_ALLOWED`.
fn only<S>(methods: MethodRouter<S>, allowed: &'static str) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    methods.fallback(move |method: Method| async move {
        RestError::method_not_allowed(&method, allowed)
    })
}
