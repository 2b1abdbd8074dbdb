//! `GET /vault/logs` with the spec's deepObject `filter[...]`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use patchbay_store::{LogFilter, PathMatchMode};

use super::{AppState, wire};
use crate::auth::ConsumerCaller;
use crate::envelope;
use crate::error::{Error, Result};
use crate::extract::QueryPairs;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/vault/logs", get(list))
}

fn date_ms(name: &str, v: &str) -> Result<i64> {
    rfc3339_ms(&format!("filter[{name}]"), v)
}

/// An RFC 3339 date-time as Unix milliseconds; `name` is for the error message.
pub(crate) fn rfc3339_ms(name: &str, v: &str) -> Result<i64> {
    let t = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Error::validation(format!("{name} must be an RFC 3339 date-time")))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| Error::validation(format!("{name} is out of range")))
}

/// Parses `filter[...]` per the spec's `LogsFilter`.
pub(crate) fn log_filter(q: &QueryPairs) -> Result<LogFilter> {
    let get = |k: &str| q.get(&format!("filter[{k}]")).filter(|s| !s.is_empty());
    let mut f = LogFilter::default();
    if let Some(c) = get("connector_id") {
        // `crm+{service}` → service `{service}`.
        f.service_id = Some(c.split('+').next_back().unwrap_or(c).to_owned());
    }
    f.path = get("path").map(str::to_owned);
    f.path_match_mode = match get("path_match_mode") {
        None | Some("CONTAINS") => PathMatchMode::Contains,
        Some("STARTS_WITH") => PathMatchMode::StartsWith,
        Some("ENDS_WITH") => PathMatchMode::EndsWith,
        Some("EXACT") => PathMatchMode::Exact,
        Some(_) => {
            return Err(Error::validation(
                "filter[path_match_mode] must be CONTAINS, STARTS_WITH, ENDS_WITH or EXACT",
            ));
        }
    };
    if let Some(m) = get("http_method") {
        f.http_methods.push(m.to_owned());
    }
    for key in ["filter[http_methods][]", "filter[http_methods]"] {
        for m in q.all(key).filter(|s| !s.is_empty()) {
            f.http_methods.extend(
                m.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
            );
        }
    }
    f.start_ms = get("start_date")
        .map(|v| date_ms("start_date", v))
        .transpose()?;
    f.end_ms = get("end_date")
        .map(|v| date_ms("end_date", v))
        .transpose()?;
    let code = |v: &str| -> Result<i64> {
        match v.trim().parse::<i64>() {
            Ok(n) if (100..=599).contains(&n) => Ok(n),
            _ => Err(Error::validation(
                "status codes must be integers from 100 to 599",
            )),
        }
    };
    if let Some(c) = get("status_code") {
        f.status_codes.push(code(c)?);
    }
    for key in ["filter[status_codes][]", "filter[status_codes]"] {
        for v in q.all(key).filter(|s| !s.is_empty()) {
            for part in v.split(',') {
                f.status_codes.push(code(part)?);
            }
        }
    }
    if f.status_codes.len() > 50 {
        return Err(Error::validation(
            "filter[status_codes] takes at most 50 codes",
        ));
    }
    if let Some(x) = get("exclude_unified_apis") {
        f.exclude_unified_apis = x
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
    }
    Ok(f)
}

async fn list(State(state): State<AppState>, c: ConsumerCaller, q: QueryPairs) -> Result<Response> {
    c.ensure_logs_visible()?;
    let filter = log_filter(&q)?;
    let limit = q.limit()?;
    let cursor = envelope::decode_cursor(q.get("cursor"))?;
    let page = state
        .vault
        .list_logs(&c.app, &c.consumer, &filter, cursor.as_deref(), limit)
        .await?;
    let self_url = format!("{}/vault/logs", state.vault.public_url());
    Ok(envelope::paged(
        wire::all::<_, wire::Log>(&page.items),
        &q.0,
        page.next_cursor.as_deref(),
        &self_url,
    ))
}
