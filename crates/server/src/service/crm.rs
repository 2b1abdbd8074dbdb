//! The unified CRM API over a consumer's connection: parse the unified request, let the
//! connection's connector (from `patchbay_connectors::registry`, by `service_id`) plan the
//! provider calls, execute them with the connection's token, and hand the answers back to the
//! connector's step machine for mapping (the flow `patchbay_connectors::connector` documents).
//! Everything here is IO glue; mapping, queries and paging live in the pure crates.
//!
//! Token rules: an answer the connector maps to `Failure::RefreshAndRetry` triggers one refresh
//! (single-flight, in [`Vault::token_after_invalid_session`]) and one retry per unified call; a
//! second refusal is the connector's credentials error. The token only ever goes to the
//! connection's validated API origin, and every planned path is a path on it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, header};
use http_body::Body as _;
use patchbay_connectors::connector::{
    ApiUsage, CallKind, Connector, Failure, Method, Request, Run, Step, WriteOp,
};
use patchbay_connectors::record_keys::RecordKeys;
use patchbay_connectors::registry;
use patchbay_core::{ApplicationId, ConnectionId, ConsumerId, ServiceId, UnifiedApi};
use patchbay_unified::{
    CommonParams, CursorCodec, Envelope, ListParams, OneRecord, Page, Resource, Response,
    UnifiedError,
};
use serde_json::Value;

use super::Vault;
use super::custom_mappings::{mapped_values, route_mapped_writes};
use super::downstream::CallOutcome as Health;
use super::logs::RequestRecord;
use super::outbound::Whole;
use super::telemetry::{self, CallOutcome};
use super::tokens::ConnectionToken;
use crate::error::{Error, Result};

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

/// A unified call's success envelope.
#[derive(Debug)]
pub enum CrmAnswer {
    /// Built as a JSON value (lists, writes).
    Built(Response),
    /// A single-record read: written around the record when serialised (status 200).
    One(OneRecord),
}

/// The answer: the envelope (or error) plus what the edge adds as headers and logs.
#[derive(Debug)]
pub struct CrmReply {
    pub result: Result<CrmAnswer>,
    /// From the last rate-limit headers seen, for `x-downstream-ratelimit-*`.
    pub usage: Option<ApiUsage>,
    /// Time spent in provider calls (sending, waiting, reading the answer), summed over
    /// every call; `None` when the provider was not called. Token refreshes are not included:
    /// they are Patchbay's own work around the call.
    pub downstream: Option<Duration>,
    /// Parts of a write's body the provider cannot hold, left out (`websites[0]`…); the edge
    /// names them in `x-patchbay-ignored-fields`.
    pub ignored: Vec<String>,
    /// The service id of the connector that planned the call.
    pub service: &'static str,
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
        let connector = self.crm_connector(&request).await;
        let result = self.crm_inner(&request, connector, &mut observed).await;
        CrmReply {
            service: connector.service_id(),
            result,
            usage: observed.usage,
            downstream: observed.time,
            ignored: observed.ignored,
        }
    }

    async fn crm_inner(
        &self,
        request: &CrmRequest<'_>,
        connector: &'static dyn Connector,
        observed: &mut Observed,
    ) -> Result<CrmAnswer> {
        // Parse and plan before touching the connection: bad input never costs an API call.
        let resource = request.resource;
        let envelope = Envelope {
            service: connector.service_id(),
            resource,
        };
        let mappings = if resource == Resource::Pipelines {
            Vec::new()
        } else {
            self.crm_mappings(
                request.app,
                request.consumer,
                connector.service_id(),
                resource,
            )
            .await?
        };
        match &request.operation {
            CrmOperation::List => {
                let codec = self.cursor_codec()?;
                let params = ListParams::parse(resource, request.query)?;
                let first_plan = connector.plan_list(&params, &codec, &[])?;
                let mut session = self.session(request, connector, observed).await?;
                let plan = if resource == Resource::Pipelines {
                    first_plan
                } else {
                    let mut extra = session.custom_fields(resource).await?;
                    // Mapped fields are read too, custom or standard.
                    for (_, field) in &mappings {
                        if !extra.contains(field) {
                            extra.push(field.clone());
                        }
                    }
                    if extra.is_empty() {
                        first_plan
                    } else {
                        connector.plan_list(&params, &codec, &extra)?
                    }
                };
                let outcome = session.run(plan).await?;
                let mut unified = outcome.data;
                if !mappings.is_empty() {
                    for (record, source) in unified.iter_mut().zip(&outcome.sources) {
                        record["custom_mappings"] = mapped_values(&mappings, source);
                    }
                }
                let data = match &params.common.fields {
                    Some(fields) => unified.iter().map(|r| fields.apply(r)).collect(),
                    None => unified,
                };
                let base_url = format!("{}/crm/{}", self.public_url(), resource.as_str());
                Ok(CrmAnswer::Built(envelope.list(
                    data,
                    &Page {
                        base_url: &base_url,
                        query: request.query,
                        current: params.cursor.as_deref(),
                        next: outcome.next_cursor.as_deref(),
                    },
                    params.common.raw.then_some(outcome.raw),
                )))
            }
            CrmOperation::Get(id) => {
                let common = CommonParams::parse(request.query)?;
                let run = connector.plan_get(resource, id, &common)?;
                // Nothing but the connector's read looks at the answer unless `_raw` or custom
                // mappings are asked for: then only the keys it reads are parsed.
                let keys = if common.raw || !mappings.is_empty() {
                    None
                } else {
                    connector.record_keys(resource, id)
                };
                let mut session = self.session(request, connector, observed).await?;
                let outcome = session
                    .run_keys(run, CallKind::OneRecord, keys.as_ref())
                    .await?;
                let record = if mappings.is_empty() {
                    outcome.data
                } else {
                    let values = mapped_values(&mappings, outcome.source());
                    let mut record = outcome.data;
                    record["custom_mappings"] = values;
                    record
                };
                let data = match &common.fields {
                    Some(fields) => fields.apply(&record),
                    None => record,
                };
                Ok(CrmAnswer::One(
                    envelope.one_record(data, common.raw.then_some(outcome.raw)),
                ))
            }
            CrmOperation::Create(body) => {
                let common = CommonParams::parse(request.query)?;
                let mut body = body.clone();
                let unmapped = route_mapped_writes(connector.service_id(), &mut body, &mappings)?;
                if let Some(plan) = connector.plan_write_run(resource, WriteOp::Create(&body))? {
                    observed.ignored = plan.ignored;
                    observed.ignored.extend(unmapped);
                    let mut session = self.session(request, connector, observed).await?;
                    let outcome = session.run_kind(plan.run, CallKind::Create).await?;
                    return Ok(CrmAnswer::Built(
                        envelope.added(&outcome.id, common.raw.then_some(outcome.raw)),
                    ));
                }
                let call = connector.plan_create(resource, body)?;
                observed.ignored.clone_from(&call.ignored);
                observed.ignored.extend(unmapped);
                let mut session = self.session(request, connector, observed).await?;
                let raw = session.send(&call, CallKind::Create).await?;
                let id = connector.created_id(resource, &call, &raw)?;
                Ok(CrmAnswer::Built(
                    envelope.added(&id, common.raw.then_some(raw)),
                ))
            }
            CrmOperation::Update(id, body) => {
                let common = CommonParams::parse(request.query)?;
                let mut body = body.clone();
                let unmapped = route_mapped_writes(connector.service_id(), &mut body, &mappings)?;
                if let Some(plan) =
                    connector.plan_write_run(resource, WriteOp::Update(id, &body))?
                {
                    observed.ignored = plan.ignored;
                    observed.ignored.extend(unmapped);
                    let mut session = self.session(request, connector, observed).await?;
                    let outcome = session.run_kind(plan.run, CallKind::OneRecord).await?;
                    return Ok(CrmAnswer::Built(
                        envelope.updated(&outcome.id, common.raw.then_some(outcome.raw)),
                    ));
                }
                let call = connector.plan_update(resource, id, body)?;
                observed.ignored.clone_from(&call.ignored);
                observed.ignored.extend(unmapped);
                let mut session = self.session(request, connector, observed).await?;
                let raw = session.send(&call, CallKind::OneRecord).await?;
                Ok(CrmAnswer::Built(
                    envelope.updated(id, common.raw.then_some(raw)),
                ))
            }
            CrmOperation::Delete(id) => {
                let common = CommonParams::parse(request.query)?;
                if let Some(plan) = connector.plan_write_run(resource, WriteOp::Delete(id))? {
                    let mut session = self.session(request, connector, observed).await?;
                    let outcome = session.run_kind(plan.run, CallKind::OneRecord).await?;
                    return Ok(CrmAnswer::Built(
                        envelope.deleted(&outcome.id, common.raw.then_some(outcome.raw)),
                    ));
                }
                let call = connector.plan_delete(resource, id)?;
                let mut session = self.session(request, connector, observed).await?;
                let raw = session.send(&call, CallKind::OneRecord).await?;
                Ok(CrmAnswer::Built(
                    envelope.deleted(id, common.raw.then_some(raw)),
                ))
            }
        }
    }

    /// The custom fields of a resource's provider object, from the cached describe
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
        let query: Vec<(String, String)> = Vec::new();
        let request = CrmRequest {
            app,
            consumer,
            service: None,
            resource,
            operation: CrmOperation::List,
            query: &query,
        };
        let connector = self.crm_connector(&request).await;
        let mut observed = Observed::default();
        let mut session = self.session(&request, connector, &mut observed).await?;
        session.custom_fields(resource).await
    }

    /// The connector that plans this request: the named service's, else the one of the
    /// consumer's connection (from the token cache or the store; no provider call). When
    /// neither says, the first registered one plans, and the session's connection lookup
    /// answers the same error it always would.
    async fn crm_connector(&self, request: &CrmRequest<'_>) -> &'static dyn Connector {
        let found;
        let service = match request.service {
            Some(service) => Some(service),
            None => {
                found = self
                    .connection_service(request.app, request.consumer, &UnifiedApi::crm())
                    .await;
                found.as_ref()
            }
        };
        service
            .and_then(|s| registry::connector(s.as_str()))
            .unwrap_or_else(registry::default_connector)
    }

    async fn session<'s>(
        &'s self,
        request: &CrmRequest<'_>,
        connector: &'static dyn Connector,
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
        if token.connector.service_id() != connector.service_id() {
            // The consumer's connections changed between planning and now.
            return Err(Error::Unified(UnifiedError::ConnectorExecution {
                status: 409,
                message: "the consumer's connection changed while the request was planned; retry"
                    .to_owned(),
                downstream_errors: Vec::new(),
            }));
        }
        Ok(Session {
            vault: self,
            connector,
            token,
            refreshed: false,
            observed,
        })
    }

    /// One planned provider call outside a unified request (the CRM poller), with the same
    /// token rules: one refresh and one retry when the provider says the token is invalid.
    /// Returns the answer and the API usage the responses reported.
    pub(crate) async fn provider_call(
        &self,
        token: Arc<ConnectionToken>,
        call: &Request,
    ) -> (Result<Value>, Option<ApiUsage>) {
        let mut observed = Observed::default();
        let mut session = Session {
            vault: self,
            connector: token.connector,
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

    /// Queues a CRM call for `GET /vault/logs` (unified API `crm`, the connection's service);
    /// the write happens off the request path, in batches.
    pub async fn log_crm_request(&self, r: RequestRecord, service: Option<&str>) {
        let connector = service
            .and_then(registry::connector)
            .unwrap_or_else(registry::default_connector);
        let log = self.request_log(
            r,
            connector.service_id().into(),
            connector.display().name.into(),
        );
        self.log_request(log).await;
    }
}

/// One unified call's conversation with the provider: the connector, the token, whether the
/// one refresh has been spent, the latest API usage and the time spent waiting downstream.
struct Session<'s> {
    vault: &'s Vault,
    connector: &'static dyn Connector,
    token: Arc<ConnectionToken>,
    refreshed: bool,
    observed: &'s mut Observed,
}

impl Session<'_> {
    /// Sends a planned call; 2xx gives the JSON body (`Null` for 204).
    async fn send(&mut self, call: &Request, kind: CallKind) -> Result<Value> {
        self.execute(call, kind).await
    }

    /// Drives a list step machine to its end.
    async fn run<T>(&mut self, run: Box<dyn Run<T> + '_>) -> Result<T> {
        self.run_kind(run, CallKind::List).await
    }

    /// Drives a step machine: its first request, then whatever each answer asks for next.
    async fn run_kind<T>(&mut self, run: Box<dyn Run<T> + '_>, kind: CallKind) -> Result<T> {
        self.run_keys(run, kind, None).await
    }

    /// [`Session::run_kind`], parsing each answer down to `keys` when given.
    async fn run_keys<T>(
        &mut self,
        mut run: Box<dyn Run<T> + '_>,
        kind: CallKind,
        keys: Option<&RecordKeys>,
    ) -> Result<T> {
        let mut next = run.start();
        loop {
            let answer = self.execute_keys(&next, kind, keys).await?;
            match run.feed(answer)? {
                Step::Send(request) => next = request,
                Step::Done => return Ok(run.finish()?),
            }
        }
    }

    /// The custom fields of the resource's object, from a cached describe.
    async fn custom_fields(&mut self, resource: Resource) -> Result<Vec<String>> {
        let Some(call) = self.connector.plan_custom_fields(resource) else {
            return Ok(Vec::new());
        };
        let key = (self.token.row.id.clone(), call.path.clone());
        if let Some(fields) = describe_cache_get(&key) {
            return Ok(fields);
        }
        let describe = self.execute(&call, CallKind::List).await?;
        let fields = self.connector.read_custom_fields(resource, &describe);
        describe_cache_put(key, fields.clone());
        Ok(fields)
    }

    async fn execute(&mut self, call: &Request, kind: CallKind) -> Result<Value> {
        self.execute_keys(call, kind, None).await
    }

    async fn execute_keys(
        &mut self,
        call: &Request,
        kind: CallKind,
        keys: Option<&RecordKeys>,
    ) -> Result<Value> {
        loop {
            let (status, bytes) = self.once(call).await?;
            if (200..300).contains(&status) {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Value::Null);
                }
                let parsed = match keys {
                    Some(keys) => keys.parse(&bytes),
                    None => serde_json::from_slice(&bytes),
                };
                return parsed.map_err(|_| {
                    Error::Unified(UnifiedError::ConnectorExecution {
                        status: 502,
                        message: format!(
                            "{} answered with a body that is not JSON",
                            self.connector.display().name
                        ),
                        downstream_errors: Vec::new(),
                    })
                });
            }
            match self.connector.map_error(status, &bytes, kind) {
                Failure::RefreshAndRetry if !self.refreshed => {
                    self.refreshed = true;
                    self.token = self.vault.token_after_invalid_session(&self.token).await?;
                }
                Failure::RefreshAndRetry => {
                    return Err(self.connector.credentials_still_invalid().into());
                }
                Failure::Error(e) => return Err(e.into()),
            }
        }
    }

    /// One HTTP call to the provider, timed from the send to the last byte of the answer
    /// (failed calls too: the wait was spent all the same).
    async fn once(&mut self, call: &Request) -> Result<(u16, Vec<u8>)> {
        let started = Instant::now();
        let mut transport = CallOutcome::Error;
        let result = self.once_untimed(call, &mut transport).await;
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
        call: &Request,
        transport: &mut CallOutcome,
    ) -> Result<(u16, Vec<u8>)> {
        let name = self.connector.display().name;
        if !is_plain_path(&call.path) {
            return Err(Error::Unified(UnifiedError::ConnectorExecution {
                status: 502,
                message: format!("{name}'s connector planned a path Patchbay does not send"),
                downstream_errors: Vec::new(),
            }));
        }
        // The instance URL was parsed once with the token: a path-absolute join keeps its
        // scheme, host and port without parsing and IDNA-mapping the host on every call. An
        // instance with a path of its own keeps it.
        let joined = if self.token.instance.path() == "/" {
            self.token.instance.join(&call.path)
        } else {
            url::Url::parse(&format!("{}{}", self.token.instance_url, call.path))
        };
        let not_sent = || {
            Error::Unified(UnifiedError::ConnectorExecution {
                status: 502,
                message: format!("{name}'s connector planned a path Patchbay does not send"),
                downstream_errors: Vec::new(),
            })
        };
        let mut url = joined.map_err(|_| not_sent())?;
        if !call.query.is_empty() {
            // Form encoding, as reqwest's `query` did: the providers read `+` as a space.
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        let uri = hyper::Uri::try_from(url.as_str()).map_err(|_| not_sent())?;
        let method = match call.method {
            Method::Get => hyper::Method::GET,
            Method::Post => hyper::Method::POST,
            Method::Patch => hyper::Method::PATCH,
            Method::Put => hyper::Method::PUT,
            Method::Delete => hyper::Method::DELETE,
        };
        let body = match &call.body {
            Some(body) => Whole::new(serde_json::to_vec(body).map_err(Error::internal)?.into()),
            None => Whole::empty(),
        };
        let mut request = hyper::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        // The header value prepared with the cached token, else formatted here.
        let auth = match &self.token.authorization {
            Some(auth) => auth.clone(),
            None => {
                let mut value = HeaderValue::try_from(format!(
                    "Bearer {}",
                    self.token.access_token.expose_secret()
                ))
                .map_err(|_| {
                    Error::Unified(UnifiedError::ConnectorExecution {
                        status: 502,
                        message: format!("the stored {name} token cannot be sent in a header"),
                        downstream_errors: Vec::new(),
                    })
                })?;
                value.set_sensitive(true);
                value
            }
        };
        headers.insert(header::AUTHORIZATION, auth);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if call.body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        // One deadline from the send to the answer's last byte, as reqwest's `timeout` was;
        // redirects are not followed (the client never does), so the token stays on the origin.
        let (client, deadline) = self.vault.crm_http();
        let exchange = async {
            let response = client.request(request).await.map_err(|e| {
                let what = if e.is_connect() {
                    format!("{name} could not be reached")
                } else {
                    format!("the connection to {name} failed")
                };
                Error::Downstream(what)
            })?;
            let (head, mut body) = response.into_parts();
            let lookup = |header: &str| {
                head.headers
                    .get(header)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let usage = self.connector.rate_limit(&lookup);
            let status = head.status.as_u16();
            let mut bytes = Vec::new();
            while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx))
                .await
                .transpose()
                .map_err(|_| Error::Downstream(format!("the connection to {name} failed")))?
            {
                let Ok(chunk) = frame.into_data() else {
                    continue;
                };
                if bytes.len() + chunk.len() > MAX_DOWNSTREAM_BODY {
                    return Ok((usage, Err(too_large(name))));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok((usage, Ok((status, bytes))))
        };
        match tokio::time::timeout(deadline, exchange).await {
            Err(_) => {
                *transport = CallOutcome::Timeout;
                Err(Error::Downstream(format!("{name} did not answer in time")))
            }
            Ok(Err(e)) => Err(e),
            Ok(Ok((usage, answer))) => {
                if let Some(usage) = usage {
                    self.observed.usage = Some(usage);
                }
                answer
            }
        }
    }
}

fn too_large(name: &str) -> Error {
    Error::Unified(UnifiedError::ConnectorExecution {
        status: 502,
        message: format!("{name}'s answer is larger than Patchbay accepts"),
        downstream_errors: Vec::new(),
    })
}

/// A planned path must be a plain absolute path (no scheme, host, `..` or `//`), so the token
/// can only go to the connection's own API origin whatever a connector or an answer says.
fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains("..")
        && !path.contains("//")
        && !path.contains(['?', '#', '@', '\\'])
        && !path.bytes().any(|b| b.is_ascii_control() || b == b' ')
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
    fn planned_paths_stay_on_the_api_origin() {
        assert!(is_plain_path("/crm/v3/objects/contacts"));
        assert!(is_plain_path("/services/data/v66.0/query/01g-2000"));
        for bad in [
            "https://evil.example/x",
            "//evil.example/x",
            "/a/../b",
            "/a//b",
            "/a?b=1",
            "/a@evil",
            "/a\r\nHost: evil",
            "a/b",
            "",
        ] {
            assert!(!is_plain_path(bad), "{bad:?}");
        }
    }
}
