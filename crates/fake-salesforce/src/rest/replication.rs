//! Replication helpers (docs/salesforce.md §11.7): `GET /sobjects/{Type}/deleted/?start=&end=` and
//! `GET /sobjects/{Type}/updated/?start=&end=`.
//!
//! The data engine finds records by `SystemModstamp`, which every write and every delete bumps,
//! so a record deleted at time T shows `deletedDate` T. As in Salesforce, seconds are ignored
//! (the window `[start, end)` is cut to whole minutes, `end` no later than now) and only the
//! last 15 days are available. Error codes for bad windows are inferred: `INVALID_REPLICATION_DATE`, the code of
//! the SOAP calls these resources mirror.

use patchbay_fake_salesforce_data::SfError;
use patchbay_fake_salesforce_data::datetime::{MS_PER_DAY, format_datetime, parse_datetime_input};
use serde_json::{Value, json};

use super::error::{RestResult, ok};
use super::extract::{QueryParams, SfPath};
use super::guard::Ctx;
use super::records::ObjectPath;

/// How far back the delete log reaches.
const RETENTION_MS: i64 = 15 * MS_PER_DAY;
/// More ids than this in one window is `EXCEEDED_ID_LIMIT`.
const MAX_IDS: usize = 600_000;
const MINUTE_MS: i64 = 60_000;

/// `GET /sobjects/{Type}/deleted/`
pub async fn deleted(
    ctx: Ctx,
    SfPath(path): SfPath<ObjectPath>,
    params: QueryParams,
) -> RestResult {
    let now = ctx.emu.now_ms();
    let (start, end) = window(&params, now)?;
    let earliest = floor_minute(now - RETENTION_MS);
    let found =
        (ctx.emu.org().read()).deleted_between(&path.object, start.max(earliest), end - 1)?;
    check_size(found.len())?;
    let deleted: Vec<Value> = (found.into_iter())
        .map(|(id, at)| json!({"id": id.to_18(), "deletedDate": format_datetime(at)}))
        .collect();
    Ok(ok(&json!({
        "deletedRecords": deleted,
        "earliestDateAvailable": format_datetime(earliest),
        "latestDateCovered": format_datetime(end),
    })))
}

/// `GET /sobjects/{Type}/updated/`: ids of live records changed in the window.
pub async fn updated(
    ctx: Ctx,
    SfPath(path): SfPath<ObjectPath>,
    params: QueryParams,
) -> RestResult {
    let now = ctx.emu.now_ms();
    let (start, end) = window(&params, now)?;
    let earliest = floor_minute(now - RETENTION_MS);
    let found =
        (ctx.emu.org().read()).updated_between(&path.object, start.max(earliest), end - 1)?;
    check_size(found.len())?;
    let ids: Vec<String> = found.iter().map(|id| id.to_18()).collect();
    Ok(ok(
        &json!({"ids": ids, "latestDateCovered": format_datetime(end)}),
    ))
}

fn check_size(n: usize) -> Result<(), SfError> {
    if n > MAX_IDS {
        return Err(SfError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            format!(
                "record limit reached. cannot submit more than {MAX_IDS} records into this call"
            ),
        ));
    }
    Ok(())
}

/// `start` and `end`, cut to whole minutes, `end` no later than now.
fn window(params: &QueryParams, now: i64) -> Result<(i64, i64), SfError> {
    let start = datetime_param(params, "start")?;
    let end = datetime_param(params, "end")?.min(now);
    let (start, end) = (floor_minute(start), floor_minute(end));
    if start > end {
        return Err(bad_window("startDate must chronologically precede endDate"));
    }
    Ok((start, end))
}

fn datetime_param(params: &QueryParams, name: &str) -> Result<i64, SfError> {
    let raw = params
        .get(name)
        .ok_or_else(|| bad_window(&format!("Missing required parameter: {name}")))?;
    // A `+hh:mm` offset sent unencoded arrives as a space.
    parse_datetime_input(raw.trim())
        .or_else(|| parse_datetime_input(&raw.trim().replace(' ', "+")))
        .ok_or_else(|| bad_window(&format!("Invalid value for parameter {name}: {raw}")))
}

fn bad_window(message: &str) -> SfError {
    SfError::new(400, "INVALID_REPLICATION_DATE", message)
}

fn floor_minute(ms: i64) -> i64 {
    ms.div_euclid(MINUTE_MS) * MINUTE_MS
}
