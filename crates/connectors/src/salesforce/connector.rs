//! Salesforce behind the [`Connector`] interface: the functions of this module's siblings, plus
//! the rules the server used to hold itself (REST version and paths, the `nextRecordsUrl` walk
//! and its safety check, describe parsing, `Sforce-Limit-Info`, `INVALID_SESSION_ID`, the login
//! host choice, the proxy's domain list).

use std::time::Duration;

use serde_json::Value;

use patchbay_unified::{CommonParams, CursorCodec, ListParams, Resource, UnifiedError};

use super::list::ListPlan;
use super::login_host::{LoginHost, LoginHostKind};
use super::request::SalesforceRequest;
use super::{REST_BASE, SERVICE_ID, changes, error, ids, records};
use crate::connector::{
    ApiUsage, CallKind, ChangedRow, Connector, Diagnostics, Display, Failure, GetRun, HeaderLookup,
    ListOutcome, ListRun, LoginChoice, NotPolled, OAuthProfile, OwnHost, Pkce, Request, Run,
    ScopeOption, SecretProbe, Setup, Step, one_call,
};
use crate::record_keys::RecordKeys;

/// The Salesforce connector (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct Salesforce;

/// Catalogue entry.
pub const DISPLAY: Display = Display {
    name: "Salesforce",
    tag_line: "CRM software solutions and enterprise cloud computing from Salesforce.",
    website: "https://www.salesforce.com",
    icon: "salesforce-icon.svg",
    logo: "salesforce-logo.svg",
};

/// Every "Test Vault" check applies to Salesforce.
pub const DIAGNOSTICS: Diagnostics = Diagnostics {
    checks: &[
        "credentials",
        "enabled",
        "login_host",
        "client_id",
        "staged_credentials",
        "client_secret",
        "callback_url",
        "pkce",
        "refresh_without_secret",
        "introspection",
        "scopes",
        "rotation",
    ],
    secret_probe: SecretProbe::Introspect,
    app_settings_place: "the External Client App's OAuth settings",
    credentials_place: "your External Client App > Settings > OAuth Settings > Consumer Key and Secret",
    rotation_fix: "Consider unchecking 'Enable Refresh Token Rotation' in the External Client App's OAuth Policies.",
    client_id_label: "consumer key",
    client_secret_label: "consumer secret",
    // The findings table's defaults are Salesforce's wording.
    finding_texts: &[],
    // Salesforce names the error on its page (`error=invalid_client_id` and the like).
    authorize_page_errors: &[
        ("invalid_client_id", "invalid_client_id"),
        ("redirect_uri_mismatch", "redirect_uri_mismatch"),
    ],
};

/// The console's integration page and hosted-page wording (docs/salesforce.md §2: External
/// Client App settings; labels as Salesforce's UI shows them).
pub const SETUP: Setup = Setup {
    app_noun: "External Client App",
    guide_anchor: "setting-up-salesforce-external-client-app",
    callback_steps: "In Salesforce: Setup › App Manager › New External Client App › Enable OAuth. Paste this as the Callback URL:",
    callback_hint: "Also check \"Enable Authorization Code and Credentials Flow\" and \"Introspect All Tokens\".",
    credentials_hint: "From your app's Settings › OAuth Settings › Consumer Key and Secret.",
    staged_hint: "An External Client App can hold a main and a staged credential set. Stage the new set, then promote it; existing connections keep working.",
    login_presets: &[
        ("production", "Production", "https://login.salesforce.com"),
        ("sandbox", "Sandbox", "https://test.salesforce.com"),
    ],
    own_host: Some(OwnHost {
        label: "My Domain",
        example: "https://yourcompany.my.salesforce.com",
        form_action: "https://*.my.salesforce.com",
    }),
    // `refresh_token` and `offline_access` are one scope in Salesforce's UI.
    scopes: &[
        ScopeOption {
            field: "scope_api",
            label: "Manage user data via APIs",
            values: &["api"],
        },
        ScopeOption {
            field: "scope_refresh",
            label: "Perform requests at any time",
            values: &["refresh_token", "offline_access"],
        },
        ScopeOption {
            field: "scope_openid",
            label: "Access unique user identifiers",
            values: &["openid"],
        },
        ScopeOption {
            field: "scope_full",
            label: "Full access",
            values: &["full"],
        },
    ],
    scopes_hint: "Select the same scopes in the app's OAuth settings. Labels differ between External Client Apps and Connected Apps; the values do not.",
    refresh_secret_hint: "Off by default. Patchbay refreshes tokens without the client secret, so in Salesforce leave \"Require Secret for Refresh Token Flow\" unchecked (Setup › App Manager › your app › Edit › Security). Turn this on only if your app must keep that setting checked.",
    pkce_hint: "On by default, matching Salesforce's \"Require Proof Key for Code Exchange (PKCE)\" (checked by default).",
    account_noun: "org",
    activation_delay: "New or edited apps can take up to 10 minutes to become active.",
};

/// Domains under which Salesforce serves login hosts and orgs.
const DOMAINS: &[&str] = &[".salesforce.com", ".force.com"];

/// Longest `nextRecordsUrl` followed.
const MAX_NEXT_PATH: usize = 512;

impl Connector for Salesforce {
    fn service_id(&self) -> &'static str {
        SERVICE_ID
    }

    fn display(&self) -> &'static Display {
        &DISPLAY
    }

    fn oauth_provider(&self) -> patchbay_oauth::ProviderConfig {
        patchbay_oauth::ProviderConfig::salesforce()
    }

    fn oauth_profile(&self) -> OAuthProfile {
        OAuthProfile {
            pkce: Pkce::Supported,
            refresh_needs_secret: false,
            introspection: true,
            revocation: true,
            per_connection_instance: true,
            // docs/salesforce.md §3.7: the default session timeout.
            default_access_token_lifetime: Duration::from_secs(2 * 60 * 60),
        }
    }

    fn default_login_url(&self) -> &'static str {
        "https://login.salesforce.com"
    }

    fn api_base(&self, login_url: &str, instance_url: Option<&str>) -> Result<String, String> {
        let login = LoginHost::parse(login_url).map_err(|e| e.to_string())?;
        let raw = instance_url.ok_or_else(|| {
            "the connection has no instance_url; the consumer must connect it again".to_owned()
        })?;
        login.check_instance_url(raw).map_err(|e| e.to_string())
    }

    fn provider_domains(&self) -> &'static [&'static str] {
        DOMAINS
    }

    fn token_invalid(&self, status: u16, body_prefix: &[u8]) -> bool {
        const CODE: &[u8] = b"INVALID_SESSION_ID";
        status == 401 && body_prefix.windows(CODE.len()).any(|w| w == CODE)
    }

    fn rate_limit(&self, header: HeaderLookup<'_>) -> Option<ApiUsage> {
        header("sforce-limit-info").and_then(|v| error::parse_limit_info(&v))
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
        let plan = super::plan_list(params, codec, extra_fields)?;
        Ok(Box::new(ListWalk {
            plan,
            params: params.clone(),
            codec,
            records: Vec::new(),
            first: None,
        }))
    }

    fn plan_get(
        &self,
        resource: Resource,
        id: &str,
        common: &CommonParams,
    ) -> Result<GetRun, UnifiedError> {
        let request = records::plan_get(resource, id, common)?.into_request();
        Ok(one_call(request, move |answer| {
            if resource == Resource::Pipelines {
                Ok(records::read_pipeline(records_of(answer)))
            } else {
                records::read_record(resource, answer)
            }
        }))
    }

    fn record_keys(&self, resource: Resource, _id: &str) -> Option<RecordKeys> {
        records::record_keys(resource)
    }

    fn plan_create(&self, resource: Resource, body: Value) -> Result<Request, UnifiedError> {
        Ok(records::plan_create(resource, body)?.into_request())
    }

    fn created_id(
        &self,
        _resource: Resource,
        _sent: &Request,
        answer: &Value,
    ) -> Result<String, UnifiedError> {
        records::created_id(answer)
    }

    fn plan_update(
        &self,
        resource: Resource,
        id: &str,
        body: Value,
    ) -> Result<Request, UnifiedError> {
        Ok(records::plan_update(resource, id, body)?.into_request())
    }

    fn plan_delete(&self, resource: Resource, id: &str) -> Result<Request, UnifiedError> {
        Ok(records::plan_delete(resource, id)?.into_request())
    }

    fn plan_custom_fields(&self, resource: Resource) -> Option<Request> {
        if resource == Resource::Pipelines {
            return None;
        }
        let object = records::default_map(resource).object;
        Some(Request::get(format!(
            "{REST_BASE}/sobjects/{object}/describe"
        )))
    }

    fn read_custom_fields(&self, _resource: Resource, answer: &Value) -> Vec<String> {
        answer
            .get("fields")
            .and_then(Value::as_array)
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| f.get("name").and_then(Value::as_str))
                    .filter(|name| ids::is_custom_field(name))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn is_mappable_field(&self, name: &str) -> bool {
        crate::write::is_field_name(name)
    }

    fn change_objects(&self, resource: Resource) -> &'static [&'static str] {
        changes::change_objects(resource)
    }

    fn plan_changes(&self, object: &str, since_ms: i64) -> Result<Request, NotPolled> {
        Ok(changes::plan_changes(object, since_ms)?.into_request())
    }

    fn plan_newest(&self, object: &str) -> Result<Request, NotPolled> {
        Ok(changes::plan_newest(object)?.into_request())
    }

    fn read_changes(&self, answer: &Value) -> (Vec<ChangedRow>, bool) {
        changes::read_changes(answer)
    }

    fn login_choice(&self, integration_login_url: &str) -> Option<LoginChoice> {
        Some(LoginChoice {
            options: login_host_options(integration_login_url),
            label: "Salesforce login",
            placeholder: "https://yourcompany.my.salesforce.com",
            description: "Where your users sign in: production, a sandbox, or your My Domain (https://yourcompany.my.salesforce.com). Changing it after connecting means authorizing again.",
        })
    }

    fn check_login_choice(&self, raw: &str, integration_login_url: &str) -> Result<String, String> {
        let host = LoginHost::parse(raw.trim()).map_err(|e| format!("settings.login_url: {e}"))?;
        let own = LoginHost::parse(integration_login_url).ok();
        if host.kind() == LoginHostKind::Custom && own.as_ref() != Some(&host) {
            return Err(
                "settings.login_url must be a Salesforce login host (production, sandbox or My Domain)"
                    .to_owned(),
            );
        }
        Ok(host.as_str().to_owned())
    }

    fn diagnostics(&self) -> &'static Diagnostics {
        &DIAGNOSTICS
    }

    fn setup(&self) -> &'static Setup {
        &SETUP
    }

    fn check_login_url(&self, raw: &str) -> Result<String, String> {
        LoginHost::parse(raw)
            .map(|h| h.as_str().to_owned())
            .map_err(|e| e.to_string())
    }

    fn check_instance_url(&self, login_url: &str, raw: &str) -> Result<String, String> {
        let login = LoginHost::parse(login_url).map_err(|e| e.to_string())?;
        login.check_instance_url(raw).map_err(|e| e.to_string())
    }
}

/// The login-host choices, the integration's own host first (it is what a connection without
/// a choice of its own uses), then production and sandbox.
pub fn login_host_options(integration_login_url: &str) -> Vec<(String, String)> {
    let production = (
        "Production (login.salesforce.com)".to_owned(),
        LoginHost::production().as_str().to_owned(),
    );
    let sandbox = (
        "Sandbox (test.salesforce.com)".to_owned(),
        LoginHost::sandbox().as_str().to_owned(),
    );
    let own = LoginHost::parse(integration_login_url)
        .map(|h| h.as_str().to_owned())
        .unwrap_or_else(|_| production.1.clone());
    let mut out = Vec::new();
    if own != production.1 && own != sandbox.1 {
        out.push((format!("Default ({own})"), own.clone()));
    }
    for choice in [production, sandbox] {
        if choice.1 == own {
            out.insert(0, choice);
        } else {
            out.push(choice);
        }
    }
    out
}

/// The records array of a query answer (empty when absent).
fn records_of(answer: &Value) -> &[Value] {
    answer
        .get("records")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A list: the query, then `nextRecordsUrl` while the plan wants more rows. The raw answer is
/// the first page with every followed batch's records appended.
struct ListWalk<'c> {
    plan: ListPlan,
    params: ListParams,
    codec: &'c CursorCodec,
    records: Vec<Value>,
    first: Option<Value>,
}

impl Run<ListOutcome> for ListWalk<'_> {
    fn start(&mut self) -> Request {
        self.plan.request.clone().into_request()
    }

    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError> {
        self.records.extend_from_slice(records_of(&answer));
        let next = next_records_url(&answer)?;
        if self.first.is_none() {
            self.first = Some(answer);
        }
        match next {
            Some(path) if self.plan.wants_more(self.records.len()) => {
                Ok(Step::Send(Request::get(path)))
            }
            _ => Ok(Step::Done),
        }
    }

    fn finish(self: Box<Self>) -> Result<ListOutcome, UnifiedError> {
        let page = self.plan.finish(&self.params, self.codec, &self.records)?;
        let sources = if self.plan.resource() == Resource::Pipelines {
            Vec::new()
        } else {
            self.records[..page.data.len().min(self.records.len())].to_vec()
        };
        let mut raw = self.first.unwrap_or(Value::Null);
        if let Some(obj) = raw.as_object_mut() {
            obj.insert("records".to_owned(), Value::Array(self.records));
        }
        Ok(ListOutcome {
            data: page.data,
            sources,
            next_cursor: page.next_cursor,
            raw,
        })
    }
}

/// `nextRecordsUrl`, accepted only as a plain path under `/services/data/` so the token can
/// never be sent anywhere but the connection's own instance.
fn next_records_url(answer: &Value) -> Result<Option<String>, UnifiedError> {
    if answer.get("done").and_then(Value::as_bool) != Some(false) {
        return Ok(None);
    }
    let Some(next) = answer.get("nextRecordsUrl").and_then(Value::as_str) else {
        return Ok(None);
    };
    if is_safe_next_path(next) {
        Ok(Some(next.to_owned()))
    } else {
        Err(UnifiedError::ConnectorExecution {
            status: 502,
            message: "Salesforce returned a nextRecordsUrl outside its REST API".to_owned(),
            downstream_errors: Vec::new(),
        })
    }
}

fn is_safe_next_path(next: &str) -> bool {
    next.starts_with("/services/data/")
        && next.len() <= MAX_NEXT_PATH
        && !next.contains("..")
        && !next.contains("//")
        && next
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
}

/// Kept for callers that still hold a [`SalesforceRequest`].
impl From<SalesforceRequest> for Request {
    fn from(r: SalesforceRequest) -> Self {
        r.into_request()
    }
}

#[cfg(test)]
#[path = "connector_tests.rs"]
mod tests;
