//! The connector interface: everything the server needs to know about one CRM provider, behind
//! one trait, so that the server (and the console, and the refresh coordinator) can serve any
//! provider the [registry](crate::registry) holds without naming it.
//!
//! Why a trait and not only data: most of a connector *is* data (mapping tables, OAuth endpoint
//! paths, display names, domain lists, and the constants of [`OAuthProfile`] and
//! [`Diagnostics`]), and those are plain values the trait hands out. But paging, error bodies,
//! rate-limit headers and change queries differ in shape, not only in values (Salesforce follows
//! `nextRecordsUrl`; HubSpot sends `after` back or POSTs a search body), so those are small pieces
//! of code. The trait keeps both behind one object per provider, picked by `service_id`.
//!
//! Everything here stays pure: a connector plans requests and reads answers, the server sends
//! them. Multi-call operations are step machines ([`Run`]): the server sends
//! [`Run::start`]'s request, hands each 2xx answer to [`Run::feed`], sends whatever
//! [`Step::Send`] asks for next, and calls [`Run::finish`] at [`Step::Done`]. That fits a
//! `nextRecordsUrl` walk, `after` paging, a search past its 10,000-result ceiling, and
//! associations fetched by extra calls alike.
//!
//! Token rules the server applies for every connector: a non-2xx answer goes to
//! [`Connector::map_error`]; [`Failure::RefreshAndRetry`] means refresh once (single-flight)
//! and retry once, then answer [`Connector::credentials_still_invalid`]. The token only ever goes
//! to [`Connector::api_base`]'s origin.

use std::time::Duration;

use serde_json::Value;

use patchbay_unified::{CommonParams, CursorCodec, ListParams, Resource, UnifiedError};

/// HTTP method of a provider call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PATCH
    Patch,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

/// One provider call to make against the connection's [`Connector::api_base`].
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute path under the API base, starting with `/` (`/services/data/v66.0/query`,
    /// `/crm/v3/objects/contacts/search`). Built from validated ids and static names only.
    pub path: String,
    /// Query parameters, not yet percent-encoded.
    pub query: Vec<(String, String)>,
    /// JSON body for POST, PATCH and PUT.
    pub body: Option<Value>,
    /// Parts of a write's unified body that the provider's object cannot hold and that were
    /// left out (`websites[0]`, `addresses`…), for the response to name.
    pub ignored: Vec<String>,
}

impl Request {
    /// A GET of `path` with no query.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::Get,
            path: path.into(),
            query: Vec::new(),
            body: None,
            ignored: Vec::new(),
        }
    }
}

/// What a failed call was, which decides whether "not found" means the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A query or list page (also describe, change polls).
    List,
    /// Get, update or delete of one record.
    OneRecord,
    /// Create.
    Create,
}

/// How the server should treat a failed provider call.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The provider says the access token is invalid or expired: refresh it once
    /// (single-flight) and retry once; if it fails again, answer
    /// [`Connector::credentials_still_invalid`].
    RefreshAndRetry,
    /// A unified error to answer with.
    Error(UnifiedError),
}

/// API usage read from a provider's rate-limit headers, for `x-downstream-ratelimit-*` and the
/// CRM poller's budget pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    /// Calls used in the provider's window.
    pub used: u64,
    /// The limit of that window.
    pub max: u64,
    /// How soon a spent budget can have recovered, in milliseconds: the CRM poller rests a
    /// connection this long before reading its usage again. Salesforce counts a rolling day, so
    /// a quarter of an hour; HubSpot's window is ten seconds.
    pub recheck_after_ms: u64,
}

impl ApiUsage {
    /// `x-downstream-ratelimit-limit`.
    pub fn limit(&self) -> u64 {
        self.max
    }

    /// `x-downstream-ratelimit-remaining` (never negative: usage can exceed the limit briefly).
    pub fn remaining(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }
}

/// What a step machine wants next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this request and [`Run::feed`] its 2xx answer.
    Send(Request),
    /// No more calls: call [`Run::finish`].
    Done,
}

/// A multi-call operation the server drives (see the module docs). The server never looks
/// inside the answers; a `Run` that cannot read one returns a unified error (502).
pub trait Run<T>: Send {
    /// The first call.
    fn start(&mut self) -> Request;
    /// Hands back one 2xx answer (`Value::Null` for an empty body); says what to send next.
    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError>;
    /// The result, once [`Run::feed`] said [`Step::Done`].
    fn finish(self: Box<Self>) -> Result<T, UnifiedError>;
}

/// A list run's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOutcome {
    /// Unified records, at most the page size.
    pub data: Vec<Value>,
    /// For each record in `data` (same order), the provider record it was read from; custom
    /// mappings (`$.Field` paths) are evaluated against it. Empty when not meaningful
    /// (pipelines).
    pub sources: Vec<Value>,
    /// The sealed cursor of the next page, `None` at the end.
    pub next_cursor: Option<String>,
    /// The provider's answer(s), as `_raw` when the caller asks for it.
    pub raw: Value,
}

/// A single-record read's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOutcome {
    /// The unified record.
    pub data: Value,
    /// The provider record custom mappings are evaluated against, when it is not `raw`
    /// itself: a plain read leaves it `None` rather than copying the whole answer on every
    /// call, most of which have no mappings (read it with [`RecordOutcome::source`]).
    pub source: Option<Value>,
    /// The provider's answer(s), as `_raw`.
    pub raw: Value,
}

impl RecordOutcome {
    /// The provider record custom mappings are evaluated against.
    pub fn source(&self) -> &Value {
        self.source.as_ref().unwrap_or(&self.raw)
    }
}

/// A list run, borrowing the server's cursor codec to seal the next cursor.
pub type ListRun<'c> = Box<dyn Run<ListOutcome> + 'c>;
/// A single-record read.
pub type GetRun = Box<dyn Run<RecordOutcome>>;

/// A single-record read that is one call: send `request`, then `read` the answer into the
/// unified record. Every connector's plain get is this shape, so it lives here once.
pub fn one_call<F>(request: Request, read: F) -> GetRun
where
    F: FnOnce(&Value) -> Result<Value, UnifiedError> + Send + 'static,
{
    Box::new(OneCall {
        request,
        read,
        answer: Value::Null,
    })
}

struct OneCall<F> {
    request: Request,
    read: F,
    answer: Value,
}

impl<F> Run<RecordOutcome> for OneCall<F>
where
    F: FnOnce(&Value) -> Result<Value, UnifiedError> + Send,
{
    fn start(&mut self) -> Request {
        self.request.clone()
    }

    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError> {
        self.answer = answer;
        Ok(Step::Done)
    }

    fn finish(self: Box<Self>) -> Result<RecordOutcome, UnifiedError> {
        let data = (self.read)(&self.answer)?;
        Ok(RecordOutcome {
            data,
            source: None,
            raw: self.answer,
        })
    }
}

/// A unified write, as [`Connector::plan_write_run`] is asked for it.
#[derive(Debug, Clone, Copy)]
pub enum WriteOp<'a> {
    /// Create from a unified body.
    Create(&'a Value),
    /// Update the record with this unified id from a unified body.
    Update(&'a str, &'a Value),
    /// Delete the record with this unified id.
    Delete(&'a str),
}

/// A multi-call write's result.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutcome {
    /// The record's unified id (a create's new id; an update's or delete's own).
    pub id: String,
    /// The provider's answer(s), as `_raw`.
    pub raw: Value,
}

/// A write that takes more than one provider call, and what of its body it leaves out.
pub struct WritePlan {
    /// The calls, as a step machine.
    pub run: Box<dyn Run<WriteOutcome>>,
    /// Parts of the unified body the provider cannot hold (as [`Request::ignored`]).
    pub ignored: Vec<String>,
}

impl std::fmt::Debug for WritePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePlan")
            .field("ignored", &self.ignored)
            .finish_non_exhaustive()
    }
}

/// One row of a change poll (times in unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedRow {
    /// The provider's record id.
    pub id: String,
    /// When the record was created.
    pub created_ms: i64,
    /// When it last changed (the watermark field).
    pub modstamp_ms: i64,
    /// Whether the row reports a deletion.
    pub deleted: bool,
}

/// The object is not one whose changes are polled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a polled object")]
pub struct NotPolled(pub String);

/// How a connector's OAuth flow differs from plain RFC 6749 + RFC 7636, beyond the endpoint
/// paths of [`patchbay_oauth::ProviderConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthProfile {
    /// Whether the authorize request carries a PKCE S256 challenge by default (an integration
    /// may still turn it off when [`Pkce::Supported`]).
    pub pkce: Pkce,
    /// Whether a refresh-token grant must carry the client secret (HubSpot: always; Salesforce:
    /// only for confidential clients, which Patchbay's integrations are).
    pub refresh_needs_secret: bool,
    /// Whether the provider has a token introspection (or metadata) endpoint Patchbay may use
    /// for expiry and diagnostics.
    pub introspection: bool,
    /// Whether the provider can revoke a token (refresh token revocation on disconnect).
    pub revocation: bool,
    /// Whether the token response names a per-connection API origin (`instance_url`);
    /// otherwise every connection calls [`Connector::api_base`]'s fixed origin.
    pub per_connection_instance: bool,
    /// Access-token lifetime to assume when the token response says nothing.
    pub default_access_token_lifetime: Duration,
}

/// PKCE support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkce {
    /// The provider requires it.
    Required,
    /// Accepted; Patchbay sends it unless the integration turns it off.
    Supported,
    /// The provider ignores or refuses it: never sent.
    Unsupported,
}

/// How a provider's connection settings are chosen before authorizing (the spec's
/// `form_fields`), e.g. Salesforce's login host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginChoice {
    /// Label and origin of each selectable host, the integration's own first.
    pub options: Vec<(String, String)>,
    /// The form field's label, placeholder and description.
    pub label: &'static str,
    pub placeholder: &'static str,
    pub description: &'static str,
}

/// Which of the "Test Vault" checks apply to a provider, and how its secret is probed. The
/// check ids are those of `patchbay_oauth`'s findings table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diagnostics {
    /// Check ids, in display order.
    pub checks: &'static [&'static str],
    /// How the client secret is confirmed without a user.
    pub secret_probe: SecretProbe,
    /// Where in the provider's own UI the app's settings live, for fix texts
    /// (`the External Client App's OAuth settings`).
    pub app_settings_place: &'static str,
    /// Where the client id and secret are copied from, for fix texts.
    pub credentials_place: &'static str,
    /// What to change at the provider when a rotated refresh token could not be stored
    /// (empty when the provider does not rotate refresh tokens).
    pub rotation_fix: &'static str,
    /// What the provider's UI calls the client id and the secret (`consumer key`,
    /// `client ID`), lowercase, for check titles and texts.
    pub client_id_label: &'static str,
    pub client_secret_label: &'static str,
    /// The connector's own wording for findings whose default text (written for the first
    /// connector) names settings this provider does not have; empty keeps the defaults.
    pub finding_texts: &'static [patchbay_oauth::FindingText],
    /// How to read an authorize request the provider refuses on its own page (no redirect
    /// back): `(text the page contains, the OAuth error code it means)`. Codes are those
    /// `patchbay_oauth::diagnose_authorize_error` knows (`invalid_client_id`,
    /// `redirect_uri_mismatch`, `invalid_scope`).
    pub authorize_page_errors: &'static [(&'static str, &'static str)],
}

/// How a client secret is checked without a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretProbe {
    /// Introspect a random token with client authentication: a known client gets
    /// `active:false`, an unknown one `invalid_client` (Salesforce).
    Introspect,
    /// Refresh a random refresh token: a known client gets `invalid_grant`, an unknown one
    /// `invalid_client` or a 401 (HubSpot's token endpoint).
    RefreshGrant,
    /// No way to check it before a customer connects.
    None,
}

/// Display data: names and images for the catalogue, pages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Display {
    /// `Salesforce`.
    pub name: &'static str,
    /// One-line description for the catalogue.
    pub tag_line: &'static str,
    /// The provider's website.
    pub website: &'static str,
    /// File names under `/assets/connectors/`.
    pub icon: &'static str,
    pub logo: &'static str,
}

/// Looks up one response header (case-insensitive name) as text.
pub type HeaderLookup<'h> = &'h dyn Fn(&str) -> Option<String>;

/// One CRM provider. Implementations are stateless values registered in
/// [`crate::registry`]; every method is pure.
pub trait Connector: std::fmt::Debug + Send + Sync + 'static {
    // ----- identity and display -----

    /// The service id in URLs, envelopes, cursors and `x-apideck-service-id`.
    fn service_id(&self) -> &'static str;

    /// Names and images.
    fn display(&self) -> &'static Display;

    // ----- OAuth -----

    /// OAuth endpoint paths, token-response quirks and default scopes.
    fn oauth_provider(&self) -> patchbay_oauth::ProviderConfig;

    /// PKCE, refresh secret, introspection, revocation, instance origin.
    fn oauth_profile(&self) -> OAuthProfile;

    /// The login URL an integration uses when it names none.
    fn default_login_url(&self) -> &'static str;

    /// A new integration's settings: this connector's login URL, default scopes and assumed
    /// token lifetime, PKCE on only where the provider supports it. Every default an
    /// integration starts from comes from here; core and the store know none.
    fn default_settings(&self) -> patchbay_core::IntegrationSettings {
        let profile = self.oauth_profile();
        let lifetime = profile.default_access_token_lifetime.as_secs();
        let mut settings = patchbay_core::IntegrationSettings::new(
            patchbay_core::LoginOrigin::from_constant(self.default_login_url()),
            patchbay_core::Scopes::from_constant(self.oauth_provider().default_scopes),
            u32::try_from(lifetime).unwrap_or(u32::MAX),
        );
        settings.pkce = profile.pkce != Pkce::Unsupported;
        settings
    }

    /// The origin serving an OAuth endpoint when it is not the login host (HubSpot authorizes
    /// at `https://app.hubspot.com` and issues tokens at `https://api.hubapi.com`); `None`
    /// means the login host serves it, which is always the case for a custom login host (an
    /// emulator serves every endpoint itself). Salesforce: always `None`.
    fn oauth_endpoint_origin(
        &self,
        endpoint: patchbay_oauth::Endpoint,
        login_url: &str,
    ) -> Option<&'static str> {
        let _ = (endpoint, login_url);
        None
    }

    // ----- where the token may go -----

    /// The origin (`scheme://host[:port]`, no trailing slash) this connection's API calls and
    /// proxy calls go to: Salesforce's checked `instance_url`; HubSpot's fixed API origin (or
    /// the integration's own custom host, i.e. an emulator). `Err` names why the token may not
    /// be sent anywhere; it never contains a token.
    fn api_base(&self, login_url: &str, instance_url: Option<&str>) -> Result<String, String>;

    /// Domain suffixes (each starting with `.`) the provider operates. A proxy target under
    /// them must resolve to public addresses, so DNS cannot point a token at a private address.
    fn provider_domains(&self) -> &'static [&'static str];

    // ----- answers -----

    /// Whether a downstream answer says the access token is invalid or expired (the proxy's
    /// one refresh and retry). `body_prefix` is the start of the body only.
    fn token_invalid(&self, status: u16, body_prefix: &[u8]) -> bool;

    /// API usage from one answer's rate-limit headers, when present and readable.
    fn rate_limit(&self, header: HeaderLookup<'_>) -> Option<ApiUsage>;

    /// Maps a non-2xx answer (status and raw body) to what the server should do.
    fn map_error(&self, status: u16, body: &[u8], call: CallKind) -> Failure;

    /// The error when the token is refused again after one refresh.
    fn credentials_still_invalid(&self) -> UnifiedError;

    // ----- unified CRM -----

    /// Plans a list call. `extra_fields` are provider field names to read besides the table's
    /// (custom fields from [`Connector::plan_custom_fields`], custom-mapping targets); names
    /// that are not acceptable field names are refused.
    fn plan_list<'c>(
        &self,
        params: &ListParams,
        codec: &'c CursorCodec,
        extra_fields: &[String],
    ) -> Result<ListRun<'c>, UnifiedError>;

    /// Plans a single-record read.
    fn plan_get(
        &self,
        resource: Resource,
        id: &str,
        common: &CommonParams,
    ) -> Result<GetRun, UnifiedError>;

    /// The top-level keys of [`Connector::plan_get`]'s answer its read looks at, so that a
    /// read whose caller wants neither `_raw` nor custom mappings parses only those. `None`
    /// (the default): the server parses the whole answer.
    fn record_keys(
        &self,
        _resource: Resource,
        _id: &str,
    ) -> Option<crate::record_keys::RecordKeys> {
        None
    }

    /// Plans a create from a unified body.
    fn plan_create(&self, resource: Resource, body: Value) -> Result<Request, UnifiedError>;

    /// The new record's id from a create's 2xx answer to `sent` (the request [`Self::plan_create`]
    /// made: a resource spread over several provider objects learns which one from it).
    fn created_id(
        &self,
        resource: Resource,
        sent: &Request,
        answer: &Value,
    ) -> Result<String, UnifiedError>;

    /// Plans an update of one record from a unified body.
    fn plan_update(
        &self,
        resource: Resource,
        id: &str,
        body: Value,
    ) -> Result<Request, UnifiedError>;

    /// Plans a delete of one record.
    fn plan_delete(&self, resource: Resource, id: &str) -> Result<Request, UnifiedError>;

    /// Plans a write that needs more than one provider call (HubSpot's users: the unified id is
    /// the owner id, and the write goes to the user behind it). The server asks this first;
    /// `Ok(None)`, the default, means the write is the one request of
    /// [`Connector::plan_create`], [`Connector::plan_update`] or [`Connector::plan_delete`].
    fn plan_write_run(
        &self,
        resource: Resource,
        op: WriteOp<'_>,
    ) -> Result<Option<WritePlan>, UnifiedError> {
        let _ = (resource, op);
        Ok(None)
    }

    /// The call that lists a resource's custom fields (cached by the server per connection),
    /// `None` when the resource has none.
    fn plan_custom_fields(&self, resource: Resource) -> Option<Request>;

    /// Custom field names from [`Connector::plan_custom_fields`]'s answer.
    fn read_custom_fields(&self, resource: Resource, answer: &Value) -> Vec<String>;

    /// Whether `name` can be a custom-mapping target (`Level__c`, `$.Level__c`).
    fn is_mappable_field(&self, name: &str) -> bool;

    // ----- change polling (webhook events) -----

    /// The provider objects whose changes are a resource's changes; empty when none.
    fn change_objects(&self, resource: Resource) -> &'static [&'static str];

    /// The rows of `object` changed at or after `since_ms` (live and deleted), oldest first, in
    /// one call.
    fn plan_changes(&self, object: &str, since_ms: i64) -> Result<Request, NotPolled>;

    /// A first poll: the newest rows of `object`, to set the watermark from.
    fn plan_newest(&self, object: &str) -> Result<Request, NotPolled>;

    /// The rows of a change answer, and whether it was complete.
    fn read_changes(&self, answer: &Value) -> (Vec<ChangedRow>, bool);

    // ----- connection settings and diagnostics -----

    /// The connection-level login host choice (`form_fields`), `None` when the provider has
    /// none.
    fn login_choice(&self, integration_login_url: &str) -> Option<LoginChoice>;

    /// Checks a login host a consumer chose; returns its normalised origin or a message.
    fn check_login_choice(&self, raw: &str, integration_login_url: &str) -> Result<String, String>;

    /// Which diagnostics apply and how the secret is probed.
    fn diagnostics(&self) -> &'static Diagnostics;

    /// The admin console's integration page and the hosted page's wording (see [`Setup`]).
    fn setup(&self) -> &'static Setup;

    /// Checks an integration's login URL (the administrator's setting, not a consumer's
    /// choice); returns the normalised origin or a message. The default takes any http(s)
    /// origin; a provider with rules for its own hosts (Salesforce: https on the default port)
    /// adds them.
    fn check_login_url(&self, raw: &str) -> Result<String, String> {
        patchbay_core::LoginOrigin::parse(raw)
            .map(|o| o.as_str().to_owned())
            .map_err(|e| e.to_string())
    }

    /// Checks the `instance_url` a token response names, for an integration on `login_url`;
    /// returns the origin to store. Asked only when [`OAuthProfile::per_connection_instance`];
    /// the default refuses, since such a provider must say which instances it trusts.
    fn check_instance_url(&self, login_url: &str, raw: &str) -> Result<String, String> {
        let _ = (login_url, raw);
        Err("this provider names no per-connection instance".to_owned())
    }

    // ----- token calls outside RFC 7009 / 7662, and change rows per object -----

    /// How a refresh token is revoked (connection delete, revoke link), when the profile's
    /// `revocation` holds: `None` is RFC 7009's form POST at the revoke endpoint; `Some` puts
    /// the token in the endpoint's path (HubSpot's `DELETE /oauth/v1/refresh-tokens/{token}`).
    fn revocation_call(&self) -> Option<TokenInPath> {
        None
    }

    /// How an access token's metadata is read for diagnostics, when the profile's
    /// `introspection` holds: `None` is RFC 7662's form POST with client authentication;
    /// `Some` puts the token in the endpoint's path (HubSpot's `GET
    /// /oauth/v1/access-tokens/{token}`), read with [`Connector::read_token_metadata`].
    fn metadata_call(&self) -> Option<TokenInPath> {
        None
    }

    /// A [`Connector::metadata_call`] answer, `None` when it is not one.
    fn read_token_metadata(&self, answer: &Value) -> Option<TokenMetadata> {
        let _ = answer;
        None
    }

    /// [`Connector::read_changes`] for an answer to a poll of `object` (HubSpot types activity
    /// ids by the object polled: `call-42`).
    fn read_changes_of(&self, object: &str, answer: &Value) -> (Vec<ChangedRow>, bool) {
        let _ = object;
        self.read_changes(answer)
    }

    /// A page of `object`'s deleted records, for a provider whose change query cannot see
    /// deletions (HubSpot: search never returns archived records); `None` when
    /// [`Connector::plan_changes`] already reports them (Salesforce's `queryAll`). `after` is
    /// the cursor [`Connector::read_deletions`] gave for the page before; the pages come in the
    /// provider's order, not by time, so the poller walks all of them in a deletion pass
    /// (`patchbay_webhooks::deletions`).
    fn plan_deletions(
        &self,
        object: &str,
        after: Option<&str>,
    ) -> Option<Result<Request, NotPolled>> {
        let _ = (object, after);
        None
    }

    /// The rows of a [`Connector::plan_deletions`] answer for `object` (`deleted` set,
    /// `modstamp_ms` the deletion time) and the cursor of the next page, `None` on the last.
    fn read_deletions(&self, object: &str, answer: &Value) -> (Vec<ChangedRow>, Option<String>) {
        let _ = (object, answer);
        (Vec::new(), None)
    }
}

// ----- console setup data (issue 15: the console names no provider) -----

/// How the admin console sets up and explains one provider: the integration page's copy and
/// choices, and the words the hosted connect page and landing page use. Plain data, so the
/// console renders whichever connector an integration is without naming one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// What the company's OAuth app at the provider is called (`External Client App`), for
    /// sentences like "the callback URL of your Salesforce External Client App".
    pub app_noun: &'static str,
    /// The heading id of the provider's setup section in the README served at `/docs`.
    pub guide_anchor: &'static str,
    /// Step 1 of the integration page: where the callback URL is pasted, as a sentence.
    pub callback_steps: &'static str,
    /// What else to check at the provider while there; may be empty.
    pub callback_hint: &'static str,
    /// Where the client id and secret are copied from, as a sentence.
    pub credentials_hint: &'static str,
    /// What a staged (second) credential set is at this provider, as a sentence.
    pub staged_hint: &'static str,
    /// The integration's login-host choices, the first being the default: `(form value,
    /// label, login URL)`. Form values are lowercase words other than `own` and `custom`.
    pub login_presets: &'static [(&'static str, &'static str, &'static str)],
    /// A login host each customer types (Salesforce's My Domain), checked by
    /// [`Connector::check_login_choice`]; `None` when the provider has none.
    pub own_host: Option<OwnHost>,
    /// The scope checkboxes, in the provider's own wording.
    pub scopes: &'static [ScopeOption],
    /// Hint above the scope checkboxes.
    pub scopes_hint: &'static str,
    /// Hint under "Send client secret on refresh" (shown only when
    /// [`OAuthProfile::refresh_needs_secret`] is false, i.e. when it is a choice).
    pub refresh_secret_hint: &'static str,
    /// Hint under "Use PKCE" (shown only when [`OAuthProfile::pkce`] is [`Pkce::Supported`]).
    pub pkce_hint: &'static str,
    /// What one customer's connected account is called (`org`, `account`).
    pub account_noun: &'static str,
    /// How long a new or edited app may take to become active, as a sentence; empty when it is
    /// active at once. When set, a refusal that says "not active yet" is explained to the
    /// customer as a wait rather than a failure.
    pub activation_delay: &'static str,
}

/// A login host the customer types (Salesforce's My Domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnHost {
    /// The field's name on pages (`My Domain`).
    pub label: &'static str,
    /// An example value (`https://yourcompany.my.salesforce.com`).
    pub example: &'static str,
    /// The `form-action` source that covers every such host (`https://*.my.salesforce.com`):
    /// the hosted page's host form is answered with a redirect there.
    pub form_action: &'static str,
}

/// One scope checkbox: the provider's label and the scope values it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeOption {
    /// Form field name (`scope_api`), unique per connector.
    pub field: &'static str,
    /// The label in the provider's UI.
    pub label: &'static str,
    /// The scope values, sent space-separated.
    pub values: &'static [&'static str],
}

/// A token call whose token is the last path segment of an OAuth endpoint, with no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenInPath {
    /// Method.
    pub method: Method,
    /// The endpoint whose URL (origin and path, from the integration's OAuth client) the token
    /// is appended to as one percent-encoded segment.
    pub endpoint: patchbay_oauth::Endpoint,
    /// Statuses that mean the token is already gone (for a revocation: done).
    pub gone: &'static [u16],
}

/// What a provider says about an access token (no secret in it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenMetadata {
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The account the token belongs to (HubSpot's hub id).
    pub account: Option<String>,
    /// The account's domain, when named.
    pub account_domain: Option<String>,
    /// Seconds the token has left.
    pub expires_in_s: Option<i64>,
}
