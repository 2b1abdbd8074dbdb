//! Authentication extractors. The application id always comes from the verified credential:
//! an API key (`Authorization: Bearer pbk_…` + `x-apideck-app-id`) or, on consumer-scoped
//! endpoints, a session JWT. A session names one application and one consumer; a request
//! whose headers name any other is refused, so a session can never reach another consumer's or
//! application's data.

use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use patchbay_core::{ApplicationId, ConsumerId};

use crate::error::Error;
use crate::routes::AppState;
use crate::service::Scope;
use crate::service::audit::Actor;

pub const APP_ID_HEADER: &str = "x-apideck-app-id";
pub const CONSUMER_ID_HEADER: &str = "x-apideck-consumer-id";

/// Filled by the auth extractors (or the OAuth handlers) so the request-log middleware knows
/// whose log a request belongs to.
#[derive(Clone, Default)]
pub struct LogSlot(pub Arc<Mutex<Option<(ApplicationId, ConsumerId)>>>);

impl LogSlot {
    pub fn set(&self, app: &ApplicationId, consumer: &ConsumerId) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((app.clone(), consumer.clone()));
        }
    }

    pub fn take(&self) -> Option<(ApplicationId, ConsumerId)> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Result<Option<&'a str>, Error> {
    match parts.headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| Error::validation(format!("header {name} is not valid text"))),
    }
}

fn bearer(parts: &Parts) -> Result<&str, Error> {
    let value = header(parts, AUTHORIZATION.as_str())
        .map_err(|_| Error::Unauthorized)?
        .filter(|v| !v.is_empty())
        .ok_or(Error::MissingAuthHeader("Authorization"))?;
    let (scheme, token) = value.split_once(' ').ok_or(Error::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::Unauthorized);
    }
    Ok(token.trim())
}

fn consumer_header(parts: &Parts) -> Result<Option<ConsumerId>, Error> {
    match header(parts, CONSUMER_ID_HEADER)? {
        None | Some("") => Ok(None),
        Some(v) => ConsumerId::parse(v)
            .map(Some)
            .map_err(|e| Error::validation(format!("{CONSUMER_ID_HEADER}: {e}"))),
    }
}

/// The verified caller before consumer rules are applied.
struct Verified {
    app: ApplicationId,
    actor: Actor,
    /// Set when the credential is a session: the only consumer it may act for.
    session_consumer: Option<ConsumerId>,
    /// The session's `settings.allow_actions`, when it names them.
    allow_actions: Option<Vec<String>>,
    /// The session's `settings.unified_apis`, when non-empty.
    unified_apis: Option<Vec<String>>,
    /// False when the session's `settings.show_logs` is false.
    show_logs: bool,
    /// The session's `settings.hide_resource_settings`.
    hide_resource_settings: bool,
}

async fn verify(
    parts: &Parts,
    state: &AppState,
    allow_session: bool,
    scope: Scope,
) -> Result<Verified, Error> {
    let token = bearer(parts)?;
    let app_header = header(parts, APP_ID_HEADER)
        .map_err(|_| Error::Unauthorized)?
        .filter(|v| !v.is_empty())
        .ok_or(Error::MissingAuthHeader(APP_ID_HEADER))?;
    if token.starts_with("pbk_") {
        let principal = state.vault.authenticate_api_key(app_header, token).await?;
        if !principal.has_scope(scope) {
            return Err(Error::MissingScope(scope.as_str()));
        }
        return Ok(Verified {
            app: principal.application_id,
            actor: Actor::ApiKey(principal.key_id.into_string()),
            session_consumer: None,
            allow_actions: None,
            unified_apis: None,
            show_logs: true,
            hide_resource_settings: false,
        });
    }
    let claims = state.vault.verify_session(token)?;
    if claims.application_id.as_str() != app_header {
        return Err(Error::Unauthorized);
    }
    if !allow_session || scope != Scope::Vault {
        // A genuine session of this application on an API-key-only operation: saying so
        // reveals nothing the holder does not know, and tells the integrator what to fix.
        return Err(Error::ApiKeyRequired("This operation"));
    }
    let settings = claims.settings;
    Ok(Verified {
        app: claims.application_id,
        actor: Actor::Session {
            consumer_id: claims.consumer_id.to_string(),
        },
        session_consumer: Some(claims.consumer_id),
        allow_actions: settings.allow_actions,
        unified_apis: Some(settings.unified_apis).filter(|a| !a.is_empty()),
        show_logs: settings.show_logs,
        hide_resource_settings: settings.hide_resource_settings,
    })
}

/// Applies the consumer rules: a session may only name its own consumer (or none, meaning
/// its own); an API key takes the header as given.
fn resolve_consumer(v: &Verified, header: Option<ConsumerId>) -> Result<Option<ConsumerId>, Error> {
    match (&v.session_consumer, header) {
        (Some(own), Some(h)) if *own != h => Err(Error::Unauthorized),
        (Some(own), _) => Ok(Some(own.clone())),
        (None, h) => Ok(h),
    }
}

fn note_for_log(parts: &Parts, app: &ApplicationId, consumer: &ConsumerId) {
    if let Some(slot) = parts.extensions.get::<LogSlot>() {
        slot.set(app, consumer);
    }
}

/// An API key with the `vault` scope; no consumer (consumers endpoints).
pub struct AppCaller {
    pub app: ApplicationId,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for AppCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let v = verify(parts, state, false, Scope::Vault).await?;
        Ok(AppCaller {
            app: v.app,
            actor: v.actor,
        })
    }
}

/// An API key (with `x-apideck-consumer-id`) or a session: consumer-scoped endpoints.
pub struct ConsumerCaller {
    pub app: ApplicationId,
    pub consumer: ConsumerId,
    pub actor: Actor,
    allow_actions: Option<Vec<String>>,
    show_logs: bool,
    hide_resource_settings: bool,
}

impl ConsumerCaller {
    /// A session with `settings.hide_resource_settings: true` may not change resource
    /// settings (the modal hides them; the API agrees).
    pub fn ensure_resource_settings(&self) -> Result<(), Error> {
        if self.hide_resource_settings {
            Err(Error::ActionNotAllowed("resource_settings"))
        } else {
            Ok(())
        }
    }

    /// True when the credential is a session token rather than an API key.
    pub fn is_session(&self) -> bool {
        matches!(self.actor, Actor::Session { .. })
    }

    /// Operations that change credentials or the application's own data take an API key, as
    /// in Apideck: a session token lives in a browser and may only do what its session allows.
    pub fn ensure_api_key(&self, what: &'static str) -> Result<(), Error> {
        if self.is_session() {
            Err(Error::ApiKeyRequired(what))
        } else {
            Ok(())
        }
    }

    /// Whether the caller may do `action` (an API key may do everything).
    pub fn allows(&self, action: &str) -> bool {
        self.allow_actions
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|a| a == action))
    }

    /// What the connection views offered to this caller may contain.
    pub fn offer(&self) -> crate::service::connections::Offer {
        crate::service::connections::Offer {
            reauthorize: self.allows("reauthorize"),
            disconnect: self.allows("disconnect"),
        }
    }

    /// A session with `settings.show_logs: false` may not read the request log.
    pub fn ensure_logs_visible(&self) -> Result<(), Error> {
        if self.show_logs {
            Ok(())
        } else {
            Err(Error::ActionNotAllowed("show_logs"))
        }
    }

    /// Sessions may restrict what the hosted UI offers (`delete`, `disconnect`, `reauthorize`,
    /// `disable`); the API enforces the same list. API keys may do everything.
    pub fn ensure_action(&self, action: &'static str) -> Result<(), Error> {
        if self.allows(action) {
            Ok(())
        } else {
            Err(Error::ActionNotAllowed(action))
        }
    }
}

impl FromRequestParts<AppState> for ConsumerCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let v = verify(parts, state, true, Scope::Vault).await?;
        let consumer = resolve_consumer(&v, consumer_header(parts)?)?
            .ok_or(Error::MissingHeader(CONSUMER_ID_HEADER))?;
        note_for_log(parts, &v.app, &consumer);
        Ok(ConsumerCaller {
            app: v.app,
            consumer,
            actor: v.actor,
            allow_actions: v.allow_actions,
            show_logs: v.show_logs,
            hide_resource_settings: v.hide_resource_settings,
        })
    }
}

/// An API key only, with `x-apideck-consumer-id` (sessions are minted by the server side).
pub struct KeyConsumerCaller {
    pub app: ApplicationId,
    pub consumer: ConsumerId,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for KeyConsumerCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let v = verify(parts, state, false, Scope::Vault).await?;
        let consumer = consumer_header(parts)?.ok_or(Error::MissingHeader(CONSUMER_ID_HEADER))?;
        note_for_log(parts, &v.app, &consumer);
        Ok(KeyConsumerCaller {
            app: v.app,
            consumer,
            actor: v.actor,
        })
    }
}

/// Like [`ConsumerCaller`] but the consumer header is optional (`GET /vault/connections`).
pub struct MaybeConsumerCaller {
    pub app: ApplicationId,
    pub consumer: Option<ConsumerId>,
    /// A session's `settings.unified_apis`: only these APIs are listed.
    pub unified_apis: Option<Vec<String>>,
    /// What the listed connections may offer this caller.
    pub offer: crate::service::connections::Offer,
}

impl FromRequestParts<AppState> for MaybeConsumerCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let v = verify(parts, state, true, Scope::Vault).await?;
        let consumer = resolve_consumer(&v, consumer_header(parts)?)?;
        if let Some(c) = &consumer {
            note_for_log(parts, &v.app, c);
        }
        let allows = |action: &str| {
            v.allow_actions
                .as_ref()
                .is_none_or(|allowed| allowed.iter().any(|a| a == action))
        };
        let offer = crate::service::connections::Offer {
            reauthorize: allows("reauthorize"),
            disconnect: allows("disconnect"),
        };
        Ok(MaybeConsumerCaller {
            app: v.app,
            consumer,
            unified_apis: v.unified_apis,
            offer,
        })
    }
}

/// An API key with the `export` scope and a consumer: the audited credential export.
pub struct ExportCaller {
    pub app: ApplicationId,
    pub consumer: ConsumerId,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for ExportCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let v = verify(parts, state, false, Scope::Export).await?;
        let consumer = consumer_header(parts)?.ok_or(Error::MissingHeader(CONSUMER_ID_HEADER))?;
        note_for_log(parts, &v.app, &consumer);
        Ok(ExportCaller {
            app: v.app,
            consumer,
            actor: v.actor,
        })
    }
}

/// An API key with the `crm` scope and `x-apideck-consumer-id`: the unified CRM API. Sessions
/// are for the hosted Vault UI and cannot call it.
pub struct CrmCaller {
    pub app: ApplicationId,
    pub consumer: ConsumerId,
}

impl FromRequestParts<AppState> for CrmCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let v = verify(parts, state, false, Scope::Crm).await?;
        let consumer = consumer_header(parts)?.ok_or(Error::MissingHeader(CONSUMER_ID_HEADER))?;
        note_for_log(parts, &v.app, &consumer);
        Ok(CrmCaller {
            app: v.app,
            consumer,
        })
    }
}

/// An API key with the `proxy` scope and `x-apideck-consumer-id`: the Proxy API.
pub struct ProxyCaller {
    pub app: ApplicationId,
    pub consumer: ConsumerId,
}

impl FromRequestParts<AppState> for ProxyCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let v = verify(parts, state, false, Scope::Proxy).await?;
        let consumer = consumer_header(parts)?.ok_or(Error::MissingHeader(CONSUMER_ID_HEADER))?;
        Ok(ProxyCaller {
            app: v.app,
            consumer,
        })
    }
}
