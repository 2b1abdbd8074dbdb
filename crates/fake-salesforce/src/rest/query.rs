//! `GET /query?q=`, `GET /queryAll?q=` and the `nextRecordsUrl` pages after them
//! (docs/salesforce.md §11.2).
//!
//! The data engine runs the query once and returns row positions; the first batch is rendered
//! at once and, if more remain, the result is parked in the cursor store behind a locator. Each
//! later page renders its slice from the org under a brief read lock.

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;
use patchbay_fake_salesforce_data::QueryResult;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cursor::{CursorStore, parse_locator};
use super::error::{RestError, RestResult, ok};
use super::extract::{QueryParams, SfPath};
use super::guard::Ctx;

/// `/query/{cursor}`, where the cursor segment is `{locator}-{offset}`.
#[derive(Deserialize)]
pub struct CursorPath {
    cursor: String,
}

pub type LocatorStore = CursorStore<Parked>;

/// A query result waiting for its next pages, with the batch size it was asked for: clients
/// often send `Sforce-Query-Options` only with the first request.
pub struct Parked {
    result: QueryResult,
    batch: usize,
}

/// Records per page when the client asks for nothing else, and the most it may ask for.
pub const MAX_BATCH: usize = 2000;
/// The fewest records per page a client may ask for.
pub const MIN_BATCH: usize = 200;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryResponse {
    total_size: usize,
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_records_url: Option<String>,
    records: Vec<Value>,
}

/// `GET /query?q=`
pub async fn query(ctx: Ctx, params: QueryParams, headers: HeaderMap) -> RestResult {
    run(&ctx, &params, &headers, Resource::Query)
}

/// `GET /queryAll?q=`: also returns deleted (Recycle Bin) rows.
pub async fn query_all(ctx: Ctx, params: QueryParams, headers: HeaderMap) -> RestResult {
    run(&ctx, &params, &headers, Resource::QueryAll)
}

/// `GET /query/{locator}-{offset}`
pub async fn more(
    ctx: Ctx,
    SfPath(CursorPath { cursor }): SfPath<CursorPath>,
    headers: HeaderMap,
) -> RestResult {
    next_page(&ctx, &cursor, &headers, Resource::Query)
}

/// `GET /queryAll/{locator}-{offset}`
pub async fn more_all(
    ctx: Ctx,
    SfPath(CursorPath { cursor }): SfPath<CursorPath>,
    headers: HeaderMap,
) -> RestResult {
    next_page(&ctx, &cursor, &headers, Resource::QueryAll)
}

#[derive(Clone, Copy)]
enum Resource {
    Query,
    QueryAll,
}

impl Resource {
    fn path(self) -> &'static str {
        match self {
            Resource::Query => "query",
            Resource::QueryAll => "queryAll",
        }
    }
}

fn run(ctx: &Ctx, params: &QueryParams, headers: &HeaderMap, resource: Resource) -> RestResult {
    let soql = (params.get("q"))
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(RestError::missing_query)?;
    let include_deleted = matches!(resource, Resource::QueryAll);
    let now = ctx.emu.now_ms();
    let result = ctx.emu.org().read().query(soql, include_deleted, now)?;
    let batch = batch_size(headers).unwrap_or(MAX_BATCH);
    if row_count(&result) <= batch {
        return Ok(page(ctx, &result, 0, batch, "", resource));
    }
    let parked = Arc::new(Parked { result, batch });
    let locator = (ctx.locators).open(&ctx.principal.user_id, Arc::clone(&parked), now);
    Ok(page(ctx, &parked.result, 0, batch, &locator, resource))
}

/// A later page. Only the user who ran the query may read it, and only from an offset this
/// cursor could have handed out.
fn next_page(ctx: &Ctx, segment: &str, headers: &HeaderMap, resource: Resource) -> RestResult {
    let (locator, offset) = parse_locator(segment).ok_or_else(RestError::invalid_query_locator)?;
    let now = ctx.emu.now_ms();
    let parked = (ctx.locators)
        .get(locator, &ctx.principal.user_id, now)
        .ok_or_else(RestError::invalid_query_locator)?;
    if offset == 0 || offset >= row_count(&parked.result) {
        return Err(RestError::invalid_query_locator());
    }
    let batch = batch_size(headers).unwrap_or(parked.batch);
    Ok(page(ctx, &parked.result, offset, batch, locator, resource))
}

/// Renders `batch` records from `offset`, with a `nextRecordsUrl` while more remain.
fn page(
    ctx: &Ctx,
    result: &QueryResult,
    offset: usize,
    batch: usize,
    locator: &str,
    resource: Resource,
) -> Response {
    let end = offset.saturating_add(batch).min(row_count(result));
    let records = result.records(&ctx.emu.org().read(), offset..end, &ctx.version.number());
    let done = end >= row_count(result);
    let next_records_url =
        (!done).then(|| format!("{}/{}/{locator}-{end}", ctx.version.base(), resource.path()));
    ok(&QueryResponse {
        total_size: result.total_size(),
        done,
        next_records_url,
        records,
    })
}

/// Rows to page through; `COUNT()` has a size but no rows.
fn row_count(result: &QueryResult) -> usize {
    if result.is_count() {
        0
    } else {
        result.total_size()
    }
}

/// `Sforce-Query-Options: batchSize=N`, clamped to 200..=2000 as Salesforce treats it as a hint;
/// `None` when absent or unreadable.
fn batch_size(headers: &HeaderMap) -> Option<usize> {
    let value = headers.get("sforce-query-options")?.to_str().ok()?;
    value
        .split([',', ';'])
        .filter_map(|option| option.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .map(|n| n.clamp(MIN_BATCH, MAX_BATCH))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn batch_size_is_a_clamped_hint() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert("sforce-query-options", HeaderValue::from_static(v));
            batch_size(&h)
        };
        assert_eq!(batch_size(&HeaderMap::new()), None);
        assert_eq!(with("batchSize=500"), Some(500));
        assert_eq!(with(" BatchSize = 250 "), Some(250));
        assert_eq!(with("batchSize=50"), Some(200));
        assert_eq!(with("batchSize=5000"), Some(2000));
        assert_eq!(with("batchSize=abc"), None);
        assert_eq!(with("batchSize=-5"), None);
        assert_eq!(with("other=1, batchSize=300"), Some(300));
    }
}
