//! The unified CRM API over a consumer's connection: parse the unified request, let the
//! connector plan the Salesforce calls, execute them with the connection's token, and hand the
//! answers back to the connector for mapping (the flow `patchbay_connectors::salesforce`
//! documents). Everything here is IO glue; mapping, SOQL and paging live in the pure crates.
//!
//! Token rules: a downstream `INVALID_SESSION_ID` triggers one refresh (single-flight, in
//! [`Vault::token_after_invalid_session`]) and one retry per unified call; a second refusal is
//! `ConnectorCredentialsError`. The token only ever goes to the connection's validated
//! `instance_url`; `nextRecordsUrl` is followed only when it is a path under `/services/data/`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use patchbay_connectors::salesforce::{
    self, ApiUsage, CallKind, Failure, ListPlan, Method, SalesforceRequest, map_error,
    parse_limit_info, plan_create, plan_delete, plan_get, plan_list, plan_update, read_pipeline,
    read_record, session_still_invalid,
};
use patchbay_core::{ApplicationId, ConnectionId, ConsumerId, ServiceId, UnifiedApi};
use patchbay_unified::{
    CommonParams, CursorCodec, Envelope, ListParams, Page, Resource, Response, UnifiedError,
};
use serde_json::Value;

use super::Vault;
use super::custom_mappings::{mapped_values, route_mapped_writes};
use super::downstream::CallOutcome as Health;
use super::logs::RequestRecord;
use super::telemetry::{self, CallOutcome};
use super::tokens::ConnectionToken;
use crate::error::{Error, Result};

/// The REST API version Patchbay speaks (Spring '26).
pub const API_VERSION: &str = "v66.0";
/// Largest downstream body read into memory; a page of 200 records with every field is far
/// below this, so more means something is wrong downstream.
const MAX_DOWNSTREAM_BODY: usize = 32 * 1024 * 1024;
/// How long a describe result (the object's custom fields) is reused.
const DESCRIBE_TTL: Duration = Duration::from_secs(300);
/// Domain-separation label for the cursor key (derived from the keyring's stable secret).
const CURSOR_KEY_LABEL: &[u8] = b"patchbay/crm/cursor-key/v1";

/// What the caller asked for.
#[derive(Debug, Clone)]
pub enum CrmOperation {
    List,
    Get(String),
    Create(Value),
    Update(String, Value),
    Delete(String),
}

/// One unified CRM call, as the HTTP edge parsed it.
#[derive(Debug)]
pub struct CrmRequest<'a> {
    pub app: &'a ApplicationId,
    pub consumer: &'a ConsumerId,
    /// `x-apideck-service-id`, when given.
    pub service: Option<&'a ServiceId>,
    pub resource: Resource,
    pub operation: CrmOperation,
    /// The decoded query pairs, in order.
    pub query: &'a [(String, String)],
}

/// The answer: the envelope (or error) plus what the edge adds as headers and logs.
#[derive(Debug)]
pub struct CrmReply {
    pub result: Result<Response>,
    /// From the last `Sforce-Limit-Info` seen, for `x-downstream-ratelimit-*`.
    pub usage: Option<ApiUsage>,
    /// Time spent in Salesforce REST calls (sending, waiting, reading the answer), summed over
    /// every call; `None` when Salesforce was not called. Token refreshes are not included:
    /// they are Patchbay's own work around the call.
    pub downstream: Option<Duration>,
    /// Parts of a write's body Salesforce cannot hold, left out (`websites[0]`…); the edge
    /// names them in `x-patchbay-ignored-fields`.
    pub ignored: Vec<String>,
}

/// What the calls of one unified request observed downstream.
#[derive(Debug, Default)]
struct Observed {
    usage: Option<ApiUsage>,
    time: Option<Duration>,
    ignored: Vec<String>,
}

impl Vault {
    /// Runs one unified CRM call against the consumer's connection.
    #[tracing::instrument(skip_all, fields(app = %request.app, consumer = %request.consumer, resource = ?request.resource))]
    pub async fn crm(&self, request: CrmRequest<'_>) -> CrmReply {
        let mut observed = Observed::default();
        let result = self.crm_inner(&request, &mut observed).await;
        CrmReply {
            result,
            usage: observed.usage,
            downstream: observed.time,
            ignored: observed.ignored,
        }
    }

    async fn crm_inner(
        &self,
        request: &CrmRequest<'_>,
        observed: &mut Observed,
    ) -> Result<Response> {
        // Parse and plan before touching the connection: bad input never costs an API call.
        let resource = request.resource;
        let envelope = Envelope {
            service: salesforce::SERVICE_ID,
            resource,
        };
        let mappings = if resource == Resource::Pipelines {
            Vec::new()
        } else {
            self.crm_mappings(request.app, request.consumer, resource)
                .await?
        };
        match &request.operation {
            CrmOperation::List => {
                let codec = self.cursor_codec()?;
                let params = ListParams::parse(resource, request.query)?;
                let first_plan = plan_list(&params, &codec, &[])?;
                let mut session = self.session(request, observed).await?;
                let plan = if resource == Resource::Pipelines {
                    first_plan
                } else {
                    let object = first_plan.select.object.as_str().to_owned();
                    let mut custom = session.custom_fields(&object).await?;
                    // Mapped fields are selected too, custom or standard.
                    for (_, field) in &mappings {
                        if !custom.contains(field) {
                            custom.push(field.clone());
                        }
                    }
                    if custom.is_empty() {
                        first_plan
                    } else {
                        plan_list(&params, &codec, &custom)?
                    }
                };
                let (records, raw) = session.collect(&plan).await?;
                let page = plan.finish(&params, &codec, &records)?;
                let mut unified = page.data;
                if !mappings.is_empty() {
                    for record in &mut unified {
                        let id = record.get("id").and_then(Value::as_str);
                        let source = records
                            .iter()
                            .find(|r| r.get("Id").and_then(Value::as_str) == id)
                            .unwrap_or(&Value::Null);
                        record["custom_mappings"] = mapped_values(&mappings, source);
                    }
                }
                let data = match &params.common.fields {
                    Some(fields) => unified.iter().map(|r| fields.apply(r)).collect(),
                    None => unified,
                };
                let base_url = format!("{}/crm/{}", self.public_url(), resource.as_str());
                Ok(envelope.list(
                    data,
                    &Page {
                        base_url: &base_url,
                        query: request.query,
                        current: params.cursor.as_deref(),
                        next: page.next_cursor.as_deref(),
                    },
                    params.common.raw.then_some(raw),
                ))
            }
            CrmOperation::Get(id) => {
                let common = CommonParams::parse(request.query)?;
                let call = plan_get(resource, id, &common)?;
                let mut session = self.session(request, observed).await?;
                let raw = session.send(&call, CallKind::OneRecord).await?;
                let mut record = if resource == Resource::Pipelines {
                    read_pipeline(records_of(&raw))
                } else {
                    read_record(resource, &raw)?
                };
                if !mappings.is_empty() {
                    record["custom_mappings"] = mapped_values(&mappings, &raw);
                }
                let data = match &common.fields {
                    Some(fields) => fields.apply(&record),
                    None => record,
                };
                Ok(envelope.one(data, common.raw.then_some(raw)))
            }
            CrmOperation::Create(body) => {
                let common = CommonParams::parse(request.query)?;
                let mut body = body.clone();
                let unmapped = route_mapped_writes(&mut body, &mappings)?;
                let call = plan_create(resource, body)?;
                observed.ignored.clone_from(&call.ignored);
                observed.ignored.extend(unmapped);
                let mut session = self.session(request, observed).await?;
                let raw = session.send(&call, CallKind::Create).await?;
                let id = salesforce::created_id(&raw)?;
                Ok(envelope.added(&id, common.raw.then_some(raw)))
            }
            CrmOperation::Update(id, body) => {
                let common = CommonParams::parse(request.query)?;
                let mut body = body.clone();
                let unmapped = route_mapped_writes(&mut body, &mappings)?;
                let call = plan_update(resource, id, body)?;
                observed.ignored.clone_from(&call.ignored);
                observed.ignored.extend(unmapped);
                let mut session = self.session(request, observed).await?;
                let raw = session.send(&call, CallKind::OneRecord).await?;
                Ok(envelope.updated(id, common.raw.then_some(raw)))
            }
            CrmOperation::Delete(id) => {
                let common = CommonParams::parse(request.query)?;
                let call = plan_delete(resource, id)?;
                let mut session = self.session(request, observed).await?;
                let raw = session.send(&call, CallKind::OneRecord).await?;
                Ok(envelope.deleted(id, common.raw.then_some(raw)))
            }
        }
    }

    /// The custom fields of a resource's Salesforce object, from the cached describe
    /// (`GET …/{resource}/custom-fields`).
    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer))]
    pub async fn resource_custom_fields(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        resource: Resource,
    ) -> Result<Vec<String>> {
        if resource == Resource::Pipelines {
            return Ok(Vec::new());
        }
        let object = salesforce::records::default_map(resource).object;
        let query: Vec<(String, String)> = Vec::new();
        let request = CrmRequest {
            app,
            consumer,
            service: None,
            resource,
            operation: CrmOperation::List,
            query: &query,
        };
        let mut observed = Observed::default();
        let mut session = self.session(&request, &mut observed).await?;
        session.custom_fields(object).await
    }

    async fn session<'s>(
        &'s self,
        request: &CrmRequest<'_>,
        observed: &'s mut Observed,
    ) -> Result<Session<'s>> {
        let token = self
            .connection_token(
                request.app,
                request.consumer,
                &UnifiedApi::crm(),
                request.service,
            )
            .await?;
        Ok(Session {
            vault: self,
            token,
            refreshed: false,
            observed,
        })
    }

    /// One planned Salesforce call outside a unified request (the CRM poller), with the same
    /// token rules: one refresh and one retry on `INVALID_SESSION_ID`. Returns the answer and
    /// the API usage the responses reported.
    pub(crate) async fn salesforce_call(
        &self,
        token: ConnectionToken,
        call: &SalesforceRequest,
    ) -> (Result<Value>, Option<ApiUsage>) {
        let mut observed = Observed::default();
        let mut session = Session {
            vault: self,
            token,
            refreshed: false,
            observed: &mut observed,
        };
        let result = session.send(call, CallKind::List).await;
        (result, observed.usage)
    }

    /// Cursors are sealed with a key derived from the keyring's stable secret, so they survive
    /// restarts and data-key rotation and are valid on every node.
    fn cursor_codec(&self) -> Result<CursorCodec> {
        let secret = self.keyring().audit_fingerprint(CURSOR_KEY_LABEL);
        CursorCodec::new(secret.as_bytes()).map_err(Error::internal)
    }

    /// Queues a CRM call for `GET /vault/logs` (unified API `crm`, service `salesforce`); the
    /// write happens off the request path, in batches.
    pub async fn log_crm_request(&self, r: RequestRecord) {
        let log = self.request_log(r, salesforce::SERVICE_ID, "Salesforce");
        self.log_request(log).await;
    }
}

/// The records array of a query response (empty when absent).
fn records_of(response: &Value) -> &[Value] {
    response
        .get("records")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// One unified call's conversation with Salesforce: the token, whether the one refresh has been
/// spent, the latest API usage and the time spent waiting on Salesforce.
struct Session<'s> {
    vault: &'s Vault,
    token: ConnectionToken,
    refreshed: bool,
    observed: &'s mut Observed,
}

impl Session<'_> {
    /// Sends a planned call; 2xx gives the JSON body (`Null` for 204).
    async fn send(&mut self, call: &SalesforceRequest, kind: CallKind) -> Result<Value> {
        let path = format!("/services/data/{API_VERSION}/{}", call.path);
        self.execute(call.method, &path, &call.query, call.body.as_ref(), kind)
            .await
    }

    /// Runs the list plan: the query, then `nextRecordsUrl` while the plan wants more rows.
    /// Returns the records and the raw answer (the first page, with every followed batch's
    /// records appended).
    async fn collect(&mut self, plan: &ListPlan) -> Result<(Vec<Value>, Value)> {
        let mut response = self.send(&plan.request, CallKind::List).await?;
        let mut records = records_of(&response).to_vec();
        let mut next = next_records_url(&response)?;
        while let Some(path) = next.take() {
            if !plan.wants_more(records.len()) {
                break;
            }
            let batch = self
                .execute(Method::Get, &path, &[], None, CallKind::List)
                .await?;
            records.extend_from_slice(records_of(&batch));
            next = next_records_url(&batch)?;
        }
        if let Some(obj) = response.as_object_mut() {
            obj.insert("records".to_owned(), Value::Array(records.clone()));
        }
        Ok((records, response))
    }

    /// The custom fields (`*__c`) of `object`, from a cached describe.
    async fn custom_fields(&mut self, object: &str) -> Result<Vec<String>> {
        let key = (self.token.row.id.clone(), object.to_owned());
        if let Some(fields) = describe_cache_get(&key) {
            return Ok(fields);
        }
        let path = format!("/services/data/{API_VERSION}/sobjects/{object}/describe");
        let describe = self
            .execute(Method::Get, &path, &[], None, CallKind::List)
            .await?;
        let fields: Vec<String> = describe
            .get("fields")
            .and_then(Value::as_array)
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| f.get("name").and_then(Value::as_str))
                    .filter(|name| salesforce::ids::is_custom_field(name))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        describe_cache_put(key, fields.clone());
        Ok(fields)
    }

    async fn execute(
        &mut self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        kind: CallKind,
    ) -> Result<Value> {
        loop {
            let (status, bytes) = self.once(method, path, query, body).await?;
            if (200..300).contains(&status) {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Value::Null);
                }
                return serde_json::from_slice(&bytes).map_err(|_| {
                    Error::Unified(UnifiedError::ConnectorExecution {
                        status: 502,
                        message: "Salesforce answered with a body that is not JSON".to_owned(),
                        downstream_errors: Vec::new(),
                    })
                });
            }
            match map_error(status, &bytes, kind) {
                Failure::RefreshAndRetry if !self.refreshed => {
                    self.refreshed = true;
                    self.token = self.vault.token_after_invalid_session(&self.token).await?;
                }
                Failure::RefreshAndRetry => return Err(session_still_invalid().into()),
                Failure::Error(e) => return Err(e.into()),
            }
        }
    }

    /// One HTTP call to Salesforce, timed from the send to the last byte of the answer
    /// (failed calls too: the wait was spent all the same).
    async fn once(
        &mut self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>)> {
        let started = Instant::now();
        let mut transport = CallOutcome::Error;
        let result = self
            .once_untimed(method, path, query, body, &mut transport)
            .await;
        let spent = started.elapsed();
        self.observed.time = Some(self.observed.time.unwrap_or_default() + spent);
        let outcome = match &result {
            Ok((status, _)) => CallOutcome::Status(*status),
            Err(_) => transport,
        };
        self.vault.downstream_stats().record(
            telemetry::CallKind::Crm,
            self.token.row.service_id.as_str(),
            outcome,
            spent,
        );
        let health = match &result {
            Ok((status, _)) => Health::of_status(*status),
            Err(Error::Downstream(_)) => Health::Unreachable,
            // Too large an answer is still an answer.
            Err(_) => Health::Answered,
        };
        self.vault.observe_downstream(&self.token, health).await;
        result
    }

    async fn once_untimed(
        &mut self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        transport: &mut CallOutcome,
    ) -> Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.token.instance_url);
        let method = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self
            .vault
            .http()
            .request(method, url)
            .bearer_auth(self.token.access_token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            builder = builder.query(query);
        }
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let mut failed = |e: reqwest::Error| {
            *transport = CallOutcome::of_reqwest(&e);
            unreachable(e)
        };
        let mut response = builder.send().await.map_err(&mut failed)?;
        if let Some(usage) = response
            .headers()
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_limit_info)
        {
            self.observed.usage = Some(usage);
        }
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(&mut failed)? {
            if bytes.len() + chunk.len() > MAX_DOWNSTREAM_BODY {
                return Err(Error::Unified(UnifiedError::ConnectorExecution {
                    status: 502,
                    message: "Salesforce's answer is larger than Patchbay accepts".to_owned(),
                    downstream_errors: Vec::new(),
                }));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }
}

/// Network failures say what failed, never the URL (it could carry a query).
fn unreachable(e: reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "Salesforce did not answer in time"
    } else if e.is_connect() {
        "Salesforce could not be reached"
    } else {
        "the connection to Salesforce failed"
    };
    Error::Downstream(what.to_owned())
}

/// `nextRecordsUrl`, accepted only as a plain path under `/services/data/` so the token can
/// never be sent anywhere but the connection's own instance.
fn next_records_url(response: &Value) -> Result<Option<String>> {
    if response.get("done").and_then(Value::as_bool) != Some(false) {
        return Ok(None);
    }
    let Some(next) = response.get("nextRecordsUrl").and_then(Value::as_str) else {
        return Ok(None);
    };
    if is_safe_next_path(next) {
        Ok(Some(next.to_owned()))
    } else {
        Err(Error::Unified(UnifiedError::ConnectorExecution {
            status: 502,
            message: "Salesforce returned a nextRecordsUrl outside its REST API".to_owned(),
            downstream_errors: Vec::new(),
        }))
    }
}

fn is_safe_next_path(next: &str) -> bool {
    next.starts_with("/services/data/")
        && next.len() <= 512
        && !next.contains("..")
        && !next.contains("//")
        && next
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
}

type DescribeKey = (ConnectionId, String);
type DescribeCache = Mutex<HashMap<DescribeKey, (Instant, Vec<String>)>>;

/// Per-process describe cache. Custom fields change rarely; a stale entry at worst omits a new
/// field (or fails a query on a deleted one) until the entry expires.
fn describe_cache() -> &'static DescribeCache {
    static CACHE: OnceLock<DescribeCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn describe_cache_get(key: &DescribeKey) -> Option<Vec<String>> {
    let cache = describe_cache().lock().ok()?;
    cache
        .get(key)
        .filter(|(at, _)| at.elapsed() < DESCRIBE_TTL)
        .map(|(_, fields)| fields.clone())
}

fn describe_cache_put(key: DescribeKey, fields: Vec<String>) {
    if let Ok(mut cache) = describe_cache().lock() {
        // Bounded: one entry per connection and object, evicted wholesale when it grows large.
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(key, (Instant::now(), fields));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_records_urls_stay_on_the_rest_api() {
        assert!(is_safe_next_path(
            "/services/data/v66.0/query/01gRO0000016PIAYA2-2000"
        ));
        for bad in [
            "https://evil.example/services/data/v66.0/query/x",
            "//evil.example/services/data/",
            "/services/data/../../oauth2/token",
            "/services/data/v66.0/query/x?y=1",
            "/services/data/v66.0/query/x@evil",
            "/services/data/v66.0/query/x%2f..",
            "/services/apexrest/x",
            "/services/data/v66.0/query/\r\nHost: evil",
        ] {
            assert!(!is_safe_next_path(bad), "{bad}");
        }
    }

    #[test]
    fn only_unfinished_answers_have_a_next_page() {
        let done =
            serde_json::json!({"done": true, "nextRecordsUrl": "/services/data/v66.0/query/a-1"});
        assert_eq!(next_records_url(&done).ok().flatten(), None);
        let more =
            serde_json::json!({"done": false, "nextRecordsUrl": "/services/data/v66.0/query/a-1"});
        assert_eq!(
            next_records_url(&more).ok().flatten().as_deref(),
            Some("/services/data/v66.0/query/a-1")
        );
        let evil = serde_json::json!({"done": false, "nextRecordsUrl": "https://evil.example/x"});
        assert!(next_records_url(&evil).is_err());
    }
}
