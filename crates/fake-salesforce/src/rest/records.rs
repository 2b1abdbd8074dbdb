//! sObject rows and object-level resources: create, read, update and delete of records,
//! describe-global, basic info and describe.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use patchbay_fake_salesforce_data::SfId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::conditional;
use super::error::{RestResult, json, ok};
use super::extract::{JsonObject, QueryParams, SfPath};
use super::guard::Ctx;

/// `/sobjects/{object}`
#[derive(Deserialize)]
pub struct ObjectPath {
    pub object: String,
}

/// `/sobjects/{object}/{id}`
#[derive(Deserialize)]
pub struct RecordPath {
    object: String,
    id: String,
}

/// The acting user as an org record id. A principal whose id does not parse (the OAuth side
/// owns that format) acts as the org's default user rather than failing the write.
fn acting_user(ctx: &Ctx) -> SfId {
    SfId::parse(&ctx.principal.user_id).unwrap_or_else(|_| ctx.emu.org().read().default_user_id())
}

/// `GET /sobjects`
pub async fn describe_global(ctx: Ctx) -> Response {
    let body = ctx.emu.org().read().describe_global(&ctx.version.number());
    ok(&body)
}

/// `GET /sobjects/{Type}/describe`
pub async fn describe(ctx: Ctx, SfPath(ObjectPath { object }): SfPath<ObjectPath>) -> RestResult {
    let body = ctx
        .emu
        .org()
        .read()
        .describe(&object, &ctx.version.number())?;
    Ok(ok(&body))
}

/// `GET /sobjects/{Type}`: the object's describe summary. `recentItems` is always empty: the
/// emulator keeps no most-recently-used list.
pub async fn basic_info(ctx: Ctx, SfPath(ObjectPath { object }): SfPath<ObjectPath>) -> RestResult {
    let version = ctx.version.number();
    let global = ctx.emu.org().read().describe_global(&version);
    let summary = (global["sobjects"].as_array())
        .and_then(|all| {
            all.iter().find(|o| {
                o["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&object))
            })
        })
        .cloned()
        .ok_or_else(patchbay_fake_salesforce_data::SfError::not_found)?;
    Ok(ok(&json!({"objectDescribe": summary, "recentItems": []})))
}

/// `POST /sobjects/{Type}`
pub async fn create(
    ctx: Ctx,
    SfPath(ObjectPath { object }): SfPath<ObjectPath>,
    JsonObject(body): JsonObject,
) -> RestResult {
    let user = acting_user(&ctx);
    let now = ctx.emu.now_ms();
    let id = ctx
        .emu
        .org()
        .write()
        .create(&object, &Value::Object(body), user, now)?;
    let body = json!({"id": id.to_18(), "success": true, "errors": []});
    Ok(json(StatusCode::CREATED, &body))
}

/// `GET /sobjects/{Type}/{id}` with optional `?fields=A,B`; `304` under `If-Modified-Since`
/// when the record has not changed.
pub async fn read(
    ctx: Ctx,
    SfPath(RecordPath { object, id }): SfPath<RecordPath>,
    params: QueryParams,
    headers: HeaderMap,
) -> RestResult {
    let fields: Option<Vec<String>> =
        (params.get("fields")).map(|f| f.split(',').map(str::to_owned).collect());
    let version = ctx.version.number();
    let org = ctx.emu.org().read();
    let record = org.get(&object, &id, fields.as_deref(), &version)?;
    if let Some(since) = conditional::if_modified_since(&headers) {
        let stamp = org.get(
            &object,
            &id,
            Some(&["LastModifiedDate".to_owned()]),
            &version,
        )?;
        let last_modified = stamp["LastModifiedDate"].as_str().unwrap_or_default();
        if conditional::unchanged_since(last_modified, since) {
            return Ok(StatusCode::NOT_MODIFIED.into_response());
        }
    }
    drop(org);
    Ok(ok(&record))
}

/// `PATCH /sobjects/{Type}/{id}`: `204` with no body.
pub async fn update(
    ctx: Ctx,
    SfPath(RecordPath { object, id }): SfPath<RecordPath>,
    JsonObject(body): JsonObject,
) -> RestResult {
    let user = acting_user(&ctx);
    let now = ctx.emu.now_ms();
    ctx.emu
        .org()
        .write()
        .update(&object, &id, &Value::Object(body), user, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /sobjects/{Type}/{id}`: a soft delete into the Recycle Bin, `204`.
pub async fn delete(ctx: Ctx, SfPath(RecordPath { object, id }): SfPath<RecordPath>) -> RestResult {
    let user = acting_user(&ctx);
    let now = ctx.emu.now_ms();
    ctx.emu.org().write().delete(&object, &id, user, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
