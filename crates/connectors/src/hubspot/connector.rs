//! HubSpot behind the [`Connector`] interface: the module's plans wrapped as step machines, and
//! HubSpot's OAuth, origin, rate-limit and diagnostics facts as values.
//!
//! Where the interface is narrower than the module: an update is one request, so link changes
//! (a new `company_id`…) that need a v4 association call are reported in `ignored` rather than
//! sent ([`super::plan_update`] plans them for callers that run its `then`); notes and
//! activities created without a timestamp get the current time, read here because the
//! interface passes no clock.

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use patchbay_oauth::{Finding, FindingText};
use patchbay_unified::{CommonParams, CursorCodec, ListParams, Resource, UnifiedError};

use super::ids::{Engagement, is_valid_id};
use super::list::ListPlan;
use super::records::links;
use super::{SERVICE_ID, changes, error, oauth};
use crate::connector::{
    ApiUsage, CallKind, ChangedRow, Connector, Diagnostics, Display, Failure, GetRun, HeaderLookup,
    ListOutcome, ListRun, LoginChoice, Method, NotPolled, OAuthProfile, Pkce, RecordOutcome,
    Request, Run, ScopeOption, SecretProbe, Setup, Step, TokenInPath, TokenMetadata, WriteOp,
    WritePlan, one_call,
};

/// The HubSpot connector (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct HubSpot;

/// Names and images.
pub const DISPLAY: Display = Display {
    name: "HubSpot",
    tag_line: "HubSpot's CRM: contacts, companies, deals and their activities.",
    website: "https://www.hubspot.com",
    icon: "hubspot-icon.svg",
    logo: "hubspot-logo.svg",
};

/// Which "Test Vault" checks apply. HubSpot has no login-host choice, PKCE or refresh-token
/// rotation, so those checks are left out; `introspection` reads the fresh access token's
/// metadata (`GET /oauth/v1/access-tokens/{token}`: hub id, scopes, expiry).
pub const DIAGNOSTICS: Diagnostics = Diagnostics {
    checks: &[
        "credentials",
        "enabled",
        "login_host",
        "client_id",
        "staged_credentials",
        "client_secret",
        "callback_url",
        "introspection",
        "scopes",
    ],
    secret_probe: SecretProbe::RefreshGrant,
    app_settings_place: "the app's Auth settings in your HubSpot developer account",
    credentials_place: "your HubSpot developer account > Apps > your app > Auth > Client ID and Client secret",
    rotation_fix: "",
    client_id_label: "client ID",
    client_secret_label: "client secret",
    finding_texts: FINDING_TEXTS,
    authorize_page_errors: AUTHORIZE_PAGE_ERRORS,
};

/// The console's integration page and hosted-page wording (docs/hubspot.md §3: a public app's
/// Auth settings in a developer account; scopes as HubSpot names them).
pub const SETUP: Setup = Setup {
    app_noun: "app",
    guide_anchor: "connecting-hubspot",
    callback_steps: "In your HubSpot developer account: Apps › your app › Auth. Paste this as a Redirect URL:",
    callback_hint: "Select the same scopes there as below; HubSpot refuses an install that asks for a scope the app does not list.",
    credentials_hint: "From your app's Auth tab › Client ID and Client secret.",
    staged_hint: "Stage a new client ID and secret (after rotating the secret in HubSpot), then promote them; existing connections keep working.",
    login_presets: &[("hubspot", "HubSpot", APP_ORIGIN)],
    own_host: None,
    scopes: &[
        ScopeOption {
            field: "scope_oauth",
            label: "Basic OAuth (required)",
            values: &["oauth"],
        },
        ScopeOption {
            field: "scope_contacts",
            label: "Contacts, leads, activities and notes",
            values: &["crm.objects.contacts.read", "crm.objects.contacts.write"],
        },
        ScopeOption {
            field: "scope_companies",
            label: "Companies",
            values: &["crm.objects.companies.read", "crm.objects.companies.write"],
        },
        ScopeOption {
            field: "scope_deals",
            label: "Deals and pipelines",
            values: &["crm.objects.deals.read", "crm.objects.deals.write"],
        },
        ScopeOption {
            field: "scope_owners",
            label: "Owners (users)",
            values: &["crm.objects.owners.read"],
        },
        ScopeOption {
            field: "scope_email_content",
            label: "Content of email activities (HubSpot redacts it without this)",
            values: &[oauth::EMAIL_CONTENT_SCOPE],
        },
        // Off by default (docs/hubspot.md §15 "Users"): the app must list it too.
        ScopeOption {
            field: "scope_users_write",
            label: "Create, change and remove users (settings)",
            values: &[super::users::WRITE_SCOPE],
        },
    ],
    scopes_hint: "Select the same scopes in the app's Auth settings.",
    // HubSpot always needs the secret on refresh and takes no PKCE: neither is a choice.
    refresh_secret_hint: "",
    pkce_hint: "",
    account_noun: "account",
    activation_delay: "",
};

/// The install page's refusals (docs/hubspot.md §3: shown on HubSpot's page, never
/// redirected). Needles avoid apostrophes, which the page may write as HTML entities.
const AUTHORIZE_PAGE_ERRORS: &[(&str, &str)] = &[
    ("client ID is missing or unknown", "invalid_client_id"),
    ("registered redirect URL", "redirect_uri_mismatch"),
    ("provided scopes are insufficient", "invalid_scope"),
    ("mismatch between the scopes", "invalid_scope"),
];

/// HubSpot's wording where the default findings name Salesforce settings.
const FINDING_TEXTS: &[FindingText] = &[
    FindingText {
        finding: Finding::AppNotActive,
        message: None,
        fix: Some(
            "Copy the Client ID again ({app} > Client ID) and update the integration in Patchbay.",
        ),
    },
    FindingText {
        finding: Finding::WrongClientCredentials,
        message: None,
        fix: Some(
            "Copy the Client ID and Client secret again ({app}) and update the integration in Patchbay. If the client secret was rotated in HubSpot, enter the new one.",
        ),
    },
    FindingText {
        finding: Finding::RedirectUriMismatch,
        message: Some(
            "HubSpot refused the install URL: the redirect URL is not one of the app's redirect URLs ({error}{description}).",
        ),
        fix: Some(
            "{app}: add {callback_url} as a Redirect URL (exactly, including the path) and save.",
        ),
    },
    FindingText {
        finding: Finding::InvalidScope,
        message: Some(
            "HubSpot refused the requested scopes ({error}{description}): an install URL must request every scope the app requires, and only scopes the app is configured for.",
        ),
        fix: Some(
            "{app} > Scopes: make the app's required scopes match the integration's scopes in Patchbay (add each scope Patchbay requests; mark scopes Patchbay does not request as optional or remove them), or change the integration's scopes with `patchbay integrations set … --scopes`.",
        ),
    },
    FindingText {
        finding: Finding::ScopesMissing,
        message: None,
        fix: Some(
            "{app} > Scopes: add {missing}, then have the customer reinstall the app; or remove them from the integration's scopes in Patchbay.",
        ),
    },
    FindingText {
        finding: Finding::WrongLoginHost,
        message: None,
        fix: Some(
            "Leave the integration's Login URL at https://app.hubspot.com (only an emulator uses another).",
        ),
    },
    FindingText {
        finding: Finding::ProviderUnavailable,
        message: None,
        fix: Some(
            "Usually temporary: retry later. If it persists, check that the Login URL is https://app.hubspot.com.",
        ),
    },
];

const DOMAINS: &[&str] = &[".hubspot.com", ".hubapi.com"];
/// HubSpot's install page host, the default "login URL".
const APP_ORIGIN: &str = "https://app.hubspot.com";

/// HubSpot's OAuth endpoints as the OAuth client's data (docs/hubspot.md §2–§4): paths on the
/// login host, which for HubSpot itself is split between two hosts (see
/// [`Connector::oauth_endpoint_origin`]). Revocation is v1's `DELETE
/// /oauth/v1/refresh-tokens/{token}`, and metadata `GET /oauth/v1/access-tokens/{token}`:
/// the token is a path segment there, not a form field, so the server makes those calls as
/// [`Connector::revocation_call`] and [`Connector::metadata_call`] say (the paths below are
/// the segments before the token), never as RFC 7009 / 7662 form posts.
pub fn provider_config() -> patchbay_oauth::ProviderConfig {
    patchbay_oauth::ProviderConfig {
        id: SERVICE_ID,
        paths: patchbay_oauth::EndpointPaths {
            authorize: "oauth/authorize",
            token: "oauth/v1/token",
            revoke: "oauth/v1/refresh-tokens",
            introspect: "oauth/v1/access-tokens",
            userinfo: "oauth/v1/access-tokens",
        },
        quirks: patchbay_oauth::Quirks {
            signed_identity: false,
            issued_at_millis: false,
            requires_instance_url: false,
            revoke_needs_client_auth: false,
            default_access_token_lifetime: Duration::from_secs(oauth::ACCESS_TOKEN_SECONDS),
        },
        default_scopes: DEFAULT_SCOPES,
    }
}

const DEFAULT_SCOPES: &[&str] = &[
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.owners.read",
    oauth::EMAIL_CONTENT_SCOPE,
];

/// `scheme://host[:port]` of a URL without path, query or credentials; `None` otherwise.
fn origin_of(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "https" | "http") || rest.is_empty() {
        return None;
    }
    let ok = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then(|| format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

/// Whether the integration uses HubSpot itself (no login URL, or HubSpot's own hosts) rather
/// than a custom host such as an emulator.
fn is_hubspot_default(login_url: &str) -> bool {
    login_url.trim().is_empty()
        || origin_of(login_url).is_some_and(|o| o == APP_ORIGIN || o == oauth::API_ORIGIN)
}

impl Connector for HubSpot {
    fn service_id(&self) -> &'static str {
        SERVICE_ID
    }

    fn display(&self) -> &'static Display {
        &DISPLAY
    }

    fn oauth_provider(&self) -> patchbay_oauth::ProviderConfig {
        provider_config()
    }

    fn oauth_profile(&self) -> OAuthProfile {
        OAuthProfile {
            pkce: Pkce::Unsupported,
            refresh_needs_secret: oauth::SECRET_ALWAYS_REQUIRED,
            introspection: true,
            revocation: true,
            per_connection_instance: false,
            default_access_token_lifetime: Duration::from_secs(oauth::ACCESS_TOKEN_SECONDS),
        }
    }

    fn default_login_url(&self) -> &'static str {
        APP_ORIGIN
    }

    fn oauth_endpoint_origin(
        &self,
        endpoint: patchbay_oauth::Endpoint,
        login_url: &str,
    ) -> Option<&'static str> {
        match endpoint {
            patchbay_oauth::Endpoint::Authorize => None,
            _ if is_hubspot_default(login_url) => Some(oauth::API_ORIGIN),
            _ => None,
        }
    }

    fn api_base(&self, login_url: &str, _instance_url: Option<&str>) -> Result<String, String> {
        if is_hubspot_default(login_url) {
            return Ok(oauth::API_ORIGIN.to_owned());
        }
        // A custom login host (an emulator) serves the API itself.
        origin_of(login_url)
            .ok_or_else(|| "the integration's login URL is not an http(s) origin".to_owned())
    }

    fn provider_domains(&self) -> &'static [&'static str] {
        DOMAINS
    }

    fn token_invalid(&self, status: u16, _body_prefix: &[u8]) -> bool {
        // Both 401 categories (EXPIRED_AUTHENTICATION, INVALID_AUTHENTICATION) mean the token.
        status == 401
    }

    fn rate_limit(&self, header: HeaderLookup<'_>) -> Option<ApiUsage> {
        let max = header("x-hubspot-ratelimit-max")?;
        let remaining = header("x-hubspot-ratelimit-remaining")?;
        error::parse_rate_limit(|name| match name {
            "x-hubspot-ratelimit-max" => Some(max.as_str()),
            "x-hubspot-ratelimit-remaining" => Some(remaining.as_str()),
            _ => None,
        })
    }

    fn map_error(&self, status: u16, body: &[u8], call: CallKind) -> Failure {
        error::map_error(status, body, call)
    }

    fn credentials_still_invalid(&self) -> UnifiedError {
        error::session_still_invalid()
    }

    fn plan_list<'c>(
        &self,
        params: &ListParams,
        codec: &'c CursorCodec,
        extra_fields: &[String],
    ) -> Result<ListRun<'c>, UnifiedError> {
        let plan = super::list::plan_list_with(params, codec, extra_fields)?;
        Ok(Box::new(ListWalk {
            plan,
            params: params.clone(),
            codec,
            bodies: Vec::new(),
        }))
    }

    fn plan_get(
        &self,
        resource: Resource,
        id: &str,
        common: &CommonParams,
    ) -> Result<GetRun, UnifiedError> {
        let plan = super::plan_get(resource, id)?;
        let mut request = plan.request.clone();
        // `pass_through` goes downstream as query parameters, as on lists; the keys that say
        // what a read returns stay the connector's.
        for (key, value) in &common.pass_through {
            if super::list::RESERVED_KEYS.contains(&key.as_str()) {
                return Err(UnifiedError::invalid_field(
                    "pass_through",
                    format!("pass_through[{key}] is set by the connector"),
                ));
            }
            request.query.push((key.clone(), value.clone()));
        }
        // A record read names its properties, so the account's custom ones are asked for by
        // name, found first with the properties API (docs/hubspot.md §7a).
        let object = request
            .path
            .strip_prefix("/crm/v3/objects/")
            .and_then(|rest| rest.split('/').next())
            .filter(|o| super::ids::is_property_name(o))
            .map(str::to_owned)
            .filter(|_| {
                resource == Resource::Activities
                    || super::records::object_map(resource).is_some_and(|m| m.custom_fields)
            });
        if let Some(object) = object {
            return Ok(Box::new(CustomGet {
                properties: Request::get(format!("/crm/v3/properties/{object}")),
                request,
                plan,
                record_sent: false,
                answer: Value::Null,
            }));
        }
        Ok(Box::new(FlatSource(one_call(request, move |answer| {
            plan.read(answer)
        }))))
    }

    fn plan_create(&self, resource: Resource, body: Value) -> Result<Request, UnifiedError> {
        Ok(super::plan_create(resource, body, OffsetDateTime::now_utc())?.request)
    }

    fn created_id(
        &self,
        resource: Resource,
        sent: &Request,
        answer: &Value,
    ) -> Result<String, UnifiedError> {
        let id = answer
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| is_valid_id(id))
            .ok_or_else(|| {
                super::records::bad_downstream("HubSpot's create answer has no record id")
            })?;
        if resource != Resource::Activities {
            return Ok(id.to_owned());
        }
        // The answer does not name its object, and echoes only the properties that were set;
        // the path the create was sent to does: `/crm/v3/objects/{object}`.
        let object = sent.path.split('/').nth(4).unwrap_or("");
        Engagement::of_object(object)
            .map(|e| e.unified_id(id))
            .ok_or_else(|| {
                super::records::bad_downstream("an activity create went to no engagement object")
            })
    }

    fn plan_update(
        &self,
        resource: Resource,
        id: &str,
        body: Value,
    ) -> Result<Request, UnifiedError> {
        let plan = super::plan_update(resource, id, body)?;
        let mut request = plan.request;
        if !plan.then.is_empty() {
            // The interface sends one request: name the links it could not change.
            // `/crm/v3/objects/{object}/{id}`: the object, activities included.
            let object = request.path.split('/').nth(4).unwrap_or("");
            for link in links(object) {
                let to = format!("/associations/default/{}/", link.to);
                if plan.then.iter().any(|t| t.path.contains(&to)) {
                    request.ignored.push(link.unified.to_owned());
                }
            }
        }
        Ok(request)
    }

    fn plan_delete(&self, resource: Resource, id: &str) -> Result<Request, UnifiedError> {
        Ok(super::plan_delete(resource, id)?.request)
    }

    fn plan_write_run(
        &self,
        resource: Resource,
        op: WriteOp<'_>,
    ) -> Result<Option<WritePlan>, UnifiedError> {
        // A pipeline's stages change with a `PUT` of the whole pipeline, after a `GET` of it.
        if resource == Resource::Pipelines {
            return match op {
                WriteOp::Update(id, body) if super::pipelines::changes_stages(body) => {
                    super::pipelines::plan_stages_update(id, body.clone()).map(Some)
                }
                _ => Ok(None),
            };
        }
        // Users are owners to read and users to write: two id spaces, so two calls.
        if resource != Resource::Users {
            return Ok(None);
        }
        let plan = match op {
            WriteOp::Create(body) => super::users::plan_create(body.clone())?,
            WriteOp::Update(id, body) => super::users::plan_update(id, body.clone())?,
            WriteOp::Delete(id) => super::users::plan_delete(id)?,
        };
        Ok(Some(plan))
    }

    fn plan_custom_fields(&self, resource: Resource) -> Option<Request> {
        // Activities span four objects; their lists surface mapped properties only.
        let map = super::records::object_map(resource).filter(|m| m.custom_fields)?;
        Some(Request::get(format!("/crm/v3/properties/{}", map.object)))
    }

    fn read_custom_fields(&self, _resource: Resource, answer: &Value) -> Vec<String> {
        custom_properties(answer)
    }

    fn is_mappable_field(&self, name: &str) -> bool {
        super::ids::is_property_name(name.strip_prefix("$.").unwrap_or(name))
    }

    fn change_objects(&self, resource: Resource) -> &'static [&'static str] {
        changes::change_objects(resource)
    }

    fn plan_changes(&self, object: &str, since_ms: i64) -> Result<Request, NotPolled> {
        changes::plan_changes(object, since_ms)
    }

    fn plan_newest(&self, object: &str) -> Result<Request, NotPolled> {
        changes::plan_newest(object)
    }

    fn read_changes(&self, answer: &Value) -> (Vec<ChangedRow>, bool) {
        // Without the object, the rows' ids cannot be typed: read as contacts would be.
        changes::read_changes("contacts", answer)
    }

    fn read_changes_of(&self, object: &str, answer: &Value) -> (Vec<ChangedRow>, bool) {
        changes::read_changes(object, answer)
    }

    fn plan_deletions(
        &self,
        object: &str,
        after: Option<&str>,
    ) -> Option<Result<Request, NotPolled>> {
        Some(changes::plan_deletions(object, after))
    }

    fn read_deletions(&self, object: &str, answer: &Value) -> (Vec<ChangedRow>, Option<String>) {
        changes::read_deletions(object, answer)
    }

    fn revocation_call(&self) -> Option<TokenInPath> {
        Some(TokenInPath {
            method: Method::Delete,
            endpoint: patchbay_oauth::Endpoint::Revoke,
            gone: &[404],
        })
    }

    fn metadata_call(&self) -> Option<TokenInPath> {
        Some(TokenInPath {
            method: Method::Get,
            endpoint: patchbay_oauth::Endpoint::Introspect,
            gone: &[404],
        })
    }

    fn read_token_metadata(&self, answer: &Value) -> Option<TokenMetadata> {
        oauth::read_token_metadata(answer)
    }

    fn login_choice(&self, _integration_login_url: &str) -> Option<LoginChoice> {
        None
    }

    fn check_login_choice(
        &self,
        _raw: &str,
        _integration_login_url: &str,
    ) -> Result<String, String> {
        Err("HubSpot connections have no login host to choose".to_owned())
    }

    fn diagnostics(&self) -> &'static Diagnostics {
        &DIAGNOSTICS
    }

    fn setup(&self) -> &'static Setup {
        &SETUP
    }
}

struct ListWalk<'c> {
    plan: ListPlan,
    params: ListParams,
    codec: &'c CursorCodec,
    bodies: Vec<Value>,
}

impl Run<ListOutcome> for ListWalk<'_> {
    fn start(&mut self) -> Request {
        self.plan.request.clone()
    }

    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError> {
        self.bodies.push(answer);
        let next = self.plan.next_request(&self.bodies);
        Ok(next.map_or(Step::Done, Step::Send))
    }

    fn finish(self: Box<Self>) -> Result<ListOutcome, UnifiedError> {
        let page = self.plan.finish(&self.params, self.codec, &self.bodies)?;
        let raw = match self.bodies.len() {
            1 => self.bodies.into_iter().next().unwrap_or(Value::Null),
            _ => Value::Array(self.bodies),
        };
        Ok(ListOutcome {
            data: page.data,
            sources: page.sources.iter().map(mapping_source).collect(),
            next_cursor: page.next_cursor,
            raw,
        })
    }
}

/// Custom mappings name HubSpot properties (`$.city`), so they are read from the record with
/// its properties at the top level, as the mapping tables read it. Owners and pipelines have
/// no `properties` and stay as they came.
fn mapping_source(record: &Value) -> Value {
    match record.get("properties") {
        Some(_) => super::records::flatten(record).map_or_else(|| record.clone(), Value::Object),
        None => record.clone(),
    }
}

/// The account's own properties in a properties API answer (docs/hubspot.md §7a): not
/// `hubspotDefined`, not archived, and a name [`super::ids::is_custom_field`] accepts.
fn custom_properties(answer: &Value) -> Vec<String> {
    answer
        .get("results")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.get("hubspotDefined").and_then(Value::as_bool) != Some(true))
        .filter(|p| p.get("archived").and_then(Value::as_bool) != Some(true))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .filter(|name| super::ids::is_custom_field(name))
        .map(str::to_owned)
        .collect()
}

/// A record read with the account's custom properties: the properties API, then the record
/// with those names added to `properties=`.
struct CustomGet {
    properties: Request,
    request: Request,
    plan: super::RecordPlan,
    /// Whether the record read went out (the next answer is the record).
    record_sent: bool,
    answer: Value,
}

impl Run<RecordOutcome> for CustomGet {
    fn start(&mut self) -> Request {
        self.properties.clone()
    }

    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError> {
        if self.record_sent {
            self.answer = answer;
            return Ok(Step::Done);
        }
        let custom = custom_properties(&answer);
        if let Some((_, list)) = self
            .request
            .query
            .iter_mut()
            .find(|(k, _)| k == "properties")
        {
            for name in &custom {
                list.push(',');
                list.push_str(name);
            }
        }
        self.record_sent = true;
        Ok(Step::Send(self.request.clone()))
    }

    fn finish(self: Box<Self>) -> Result<RecordOutcome, UnifiedError> {
        let answer = self.answer;
        let data = self.plan.read(&answer)?;
        Ok(RecordOutcome {
            data,
            source: Some(mapping_source(&answer)),
            raw: answer,
        })
    }
}

/// A single-record read whose `source` is [`mapping_source`]'s.
struct FlatSource(GetRun);

impl Run<RecordOutcome> for FlatSource {
    fn start(&mut self) -> Request {
        self.0.start()
    }

    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError> {
        self.0.feed(answer)
    }

    fn finish(self: Box<Self>) -> Result<RecordOutcome, UnifiedError> {
        let mut outcome = self.0.finish()?;
        outcome.source = Some(mapping_source(outcome.source()));
        Ok(outcome)
    }
}

#[cfg(test)]
#[path = "connector_tests.rs"]
mod tests;
