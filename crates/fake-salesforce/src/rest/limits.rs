//! `GET /limits`: the org's limits as `{"Name":{"Max","Remaining"}}`. Daily API requests come
//! from the emulator's live counter; the rest are a typical Enterprise org's fixed figures.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::error::ok;
use super::guard::Ctx;

/// Limits the emulator does not enforce, with a typical Enterprise Edition maximum.
const STATIC_LIMITS: &[(&str, u64)] = &[
    ("ConcurrentAsyncGetReportInstances", 200),
    ("ConcurrentSyncReportRuns", 20),
    ("DailyAsyncApexExecutions", 250_000),
    ("DailyBulkApiBatches", 15_000),
    ("DailyBulkV2QueryJobs", 10_000),
    ("DailyStreamingApiEvents", 200_000),
    ("DataStorageMB", 1_024),
    ("FileStorageMB", 10_240),
    ("HourlyODataCallout", 20_000),
    ("MassEmail", 5_000),
    ("SingleEmail", 5_000),
];

pub async fn limits(ctx: Ctx) -> Response {
    let usage = ctx.emu.api_usage();
    let mut body = Map::new();
    body.insert(
        "DailyApiRequests".to_owned(),
        json!({"Max": usage.max, "Remaining": usage.max.saturating_sub(usage.used)}),
    );
    for (name, max) in STATIC_LIMITS {
        body.insert((*name).to_owned(), json!({"Max": max, "Remaining": max}));
    }
    ok(&Value::Object(body))
}
