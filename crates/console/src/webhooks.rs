//! The webhooks page of an application: its subscriptions (create, edit, delete, "Send test
//! event"), each new subscription's signing secret shown once, and the delivery log (what
//! `GET /webhook/logs` serves). Everything goes through the service layer's Webhook API
//! operations, so the console and the API apply the same rules (SSRF checks on delivery URLs,
//! the validation event, event names).
//!
//! Apideck signs deliveries with the application's API key, and Patchbay keeps keys only as
//! hashes, so creating a subscription here asks for one of the application's API keys; its
//! sealed copy signs the subscription's deliveries. An edit without a key keeps the stored one.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use patchbay_core::ApplicationId;
use patchbay_crypto::SecretString;
use patchbay_server::service::WebhookLogFilter;
use patchbay_server::service::webhooks::subscriptions::{WebhookInput, WebhookView};
use serde_json::Value;

use crate::admin::application;
use crate::web::{Admin, ConsoleState, Form, error_text, render};

/// Newest deliveries shown on the page.
const LOG_ROWS: u32 = 50;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/admin/apps/{app}/webhooks", get(page).post(create))
        .route("/admin/apps/{app}/webhooks/{id}", post(update))
        .route("/admin/apps/{app}/webhooks/{id}/delete", post(delete))
        .route("/admin/apps/{app}/webhooks/{id}/test", post(send_test))
}

/// One subscription as listed, with its edit form's values.
pub struct SubscriptionItem {
    pub id: String,
    pub description: String,
    pub delivery_url: String,
    pub events: String,
    pub status: String,
    pub enabled: bool,
    pub disabled_reason: String,
    pub created: String,
}

/// One event × subscription of the delivery log.
pub struct LogItem {
    pub time: String,
    pub event_type: String,
    pub consumer: String,
    pub endpoint: String,
    /// delivered, retrying, failed or pending.
    pub outcome: &'static str,
    pub attempts: i64,
    pub status_code: i64,
}

/// A new subscription's signing secret, shown on the page that created it and never again.
pub struct CreatedSecret {
    pub id: String,
    pub secret: String,
}

/// What "Send test event" got back.
pub struct TestResult {
    pub id: String,
    pub success: bool,
    pub text: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    signed_in: bool,
    csrf: String,
    app_id: String,
    app_name: String,
    tab: &'static str,
    subscriptions: Vec<SubscriptionItem>,
    logs: Vec<LogItem>,
    known_events: Vec<String>,
    /// Right after a create: the only time the secret is shown.
    created_secret: Option<CreatedSecret>,
    test_result: Option<TestResult>,
    /// The create form's values (kept when it failed).
    form_url: String,
    form_events: String,
    form_description: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Default)]
struct Extras {
    created_secret: Option<CreatedSecret>,
    test_result: Option<TestResult>,
    form: Option<(String, String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

impl Extras {
    fn error(text: String) -> Extras {
        Extras {
            error: Some(text),
            ..Extras::default()
        }
    }

    fn notice(text: String) -> Extras {
        Extras {
            notice: Some(text),
            ..Extras::default()
        }
    }
}

fn item(w: &WebhookView) -> SubscriptionItem {
    SubscriptionItem {
        id: w.id.clone(),
        description: w.description.clone().unwrap_or_default(),
        delivery_url: w.delivery_url.clone(),
        events: w.events.join(" "),
        status: w.status.clone(),
        enabled: w.status == "enabled",
        disabled_reason: w.disabled_reason.clone(),
        created: w
            .created_at
            .get(..19)
            .unwrap_or(&w.created_at)
            .replace('T', " "),
    }
}

/// A log entry as `GET /webhook/logs` serves it, reduced to the columns shown.
fn log_item(v: &Value) -> LogItem {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let int = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
    let success = v.get("success").and_then(Value::as_bool).unwrap_or(false);
    let retrying = v
        .get("retry_scheduled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let attempts = int("execution_attempt");
    let outcome = match (success, retrying, attempts) {
        (true, _, _) => "delivered",
        (false, true, _) => "retrying",
        (false, false, 0) => "pending",
        (false, false, _) => "failed",
    };
    let timestamp = text("timestamp");
    LogItem {
        time: timestamp.get(..19).unwrap_or(&timestamp).replace('T', " "),
        event_type: text("event_type"),
        consumer: text("consumer_id"),
        endpoint: text("endpoint"),
        outcome,
        attempts,
        status_code: int("status_code"),
    }
}

/// Event names from a text field: separated by spaces, commas or new lines.
fn event_names(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn input_from_form(form: &Form, creating: bool) -> WebhookInput {
    let status = if form.checked("enabled") {
        "enabled"
    } else {
        "disabled"
    };
    WebhookInput {
        description: Some(form.text("description")),
        unified_api: creating.then(|| {
            form.text("unified_api")
                .unwrap_or_else(|| "vault".to_owned())
        }),
        status: Some(status.to_owned()),
        delivery_url: Some(form.get("delivery_url").trim().to_owned()),
        events: Some(event_names(form.get("events"))),
    }
}

async fn page(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
) -> Response {
    render_page(&state, &admin, &app, Extras::default()).await
}

async fn render_page(state: &ConsoleState, admin: &Admin, app: &str, extras: Extras) -> Response {
    let app = match application(&state.vault, app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut error = extras.error;
    let subscriptions = match state.vault.list_webhooks(&app.id).await {
        Ok(list) => list.iter().map(item).collect(),
        Err(e) => {
            error.get_or_insert_with(|| error_text(&e));
            Vec::new()
        }
    };
    let logs = match state
        .vault
        .webhook_logs(&app.id, &WebhookLogFilter::default(), None, LOG_ROWS)
        .await
    {
        Ok(page) => page.items.iter().map(log_item).collect(),
        Err(e) => {
            error.get_or_insert_with(|| error_text(&e));
            Vec::new()
        }
    };
    let (form_url, form_events, form_description) = extras
        .form
        .unwrap_or_else(|| (String::new(), "*".to_owned(), String::new()));
    render(&WebhooksPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        tab: "webhooks",
        subscriptions,
        logs,
        known_events: patchbay_webhooks::EventType::all()
            .into_iter()
            .map(patchbay_webhooks::EventType::name)
            .collect(),
        created_secret: extras.created_secret,
        test_result: extras.test_result,
        form_url,
        form_events,
        form_description,
        notice: extras.notice,
        error,
    })
}

/// Checks that `key` is a live API key of `app`: the sealed copy signs every delivery, so a
/// typo here would make every signature wrong.
async fn signing_key(
    state: &ConsoleState,
    app: &ApplicationId,
    key: &str,
) -> Result<SecretString, String> {
    let key = key.trim();
    if key.is_empty() {
        return Err("Paste one of this application's API keys: Apideck's x-apideck-signature is keyed with it.".to_owned());
    }
    match state.vault.authenticate_api_key(app.as_str(), key).await {
        Ok(_) => Ok(SecretString::new(key.to_owned())),
        Err(_) => Err("That is not a live API key of this application.".to_owned()),
    }
}

async fn create(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
    body: Bytes,
) -> Response {
    let (form, app_id) = match admin.app_form(&app, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let kept = Some((
        form.get("delivery_url").trim().to_owned(),
        form.get("events").trim().to_owned(),
        form.get("description").trim().to_owned(),
    ));
    let key = match signing_key(&state, &app_id, form.get("api_key")).await {
        Ok(k) => k,
        Err(e) => {
            let extras = Extras {
                form: kept,
                ..Extras::error(e)
            };
            return render_page(&state, &admin, &app, extras).await;
        }
    };
    let extras = match state
        .vault
        .create_webhook(&app_id, &key, input_from_form(&form, true))
        .await
    {
        Ok(created) => {
            let w = &created.webhook;
            let notice = if w.status == "enabled" {
                format!(
                    "Subscription {} created; the receiver accepted the validation event.",
                    w.id
                )
            } else if w.disabled_reason == "delivery_url_validation_failed" {
                format!(
                    "Subscription {} saved but disabled: the receiver did not answer the validation event with 2xx. Fix it, then enable the subscription again.",
                    w.id
                )
            } else {
                format!("Subscription {} saved, disabled.", w.id)
            };
            Extras {
                created_secret: Some(CreatedSecret {
                    id: w.id.clone(),
                    secret: created.signing_secret.expose_secret().to_owned(),
                }),
                notice: Some(notice),
                ..Extras::default()
            }
        }
        Err(e) => Extras {
            form: kept,
            ..Extras::error(error_text(&e))
        },
    };
    render_page(&state, &admin, &app, extras).await
}

async fn update(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (form, app_id) = match admin.app_form(&app, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let key = if form.get("api_key").trim().is_empty() {
        None
    } else {
        match signing_key(&state, &app_id, form.get("api_key")).await {
            Ok(k) => Some(k),
            Err(e) => return render_page(&state, &admin, &app, Extras::error(e)).await,
        }
    };
    let extras = match state
        .vault
        .update_webhook(&app_id, &id, key.as_ref(), input_from_form(&form, false))
        .await
    {
        Ok(w) if w.disabled_reason == "delivery_url_validation_failed" => Extras::error(format!(
            "Subscription {} saved but disabled: the new delivery URL did not answer the validation event with 2xx.",
            w.id
        )),
        Ok(w) => Extras::notice(format!("Subscription {} saved ({}).", w.id, w.status)),
        Err(e) => Extras::error(error_text(&e)),
    };
    render_page(&state, &admin, &app, extras).await
}

async fn delete(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let app_id = match admin.app_form(&app, &body) {
        Ok((_, app_id)) => app_id,
        Err(r) => return r,
    };
    let extras = match state.vault.delete_webhook(&app_id, &id).await {
        Ok(w) => Extras::notice(format!(
            "Subscription {} deleted; its undelivered events were dropped.",
            w.id
        )),
        Err(e) => Extras::error(error_text(&e)),
    };
    render_page(&state, &admin, &app, extras).await
}

async fn send_test(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let app_id = match admin.app_form(&app, &body) {
        Ok((_, app_id)) => app_id,
        Err(r) => return r,
    };
    let extras = match state.vault.send_test_event(&app_id, &id).await {
        Ok(outcome) => {
            let text = match (outcome.success, outcome.status_code) {
                (true, code) => format!(
                    "The receiver answered {code}: the test event was delivered, signed both ways."
                ),
                (false, 0) => {
                    "No answer: the receiver could not be reached or did not answer in time."
                        .to_owned()
                }
                (false, code) => format!("The receiver answered {code}, not 2xx."),
            };
            Extras {
                test_result: Some(TestResult {
                    id,
                    success: outcome.success,
                    text,
                }),
                ..Extras::default()
            }
        }
        Err(e) => Extras::error(error_text(&e)),
    };
    render_page(&state, &admin, &app, extras).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_split_on_spaces_commas_and_lines() {
        assert_eq!(
            event_names(" vault.connection.created, crm.contact.updated\n*  "),
            vec!["vault.connection.created", "crm.contact.updated", "*"]
        );
        assert!(event_names(" , ").is_empty());
    }

    #[test]
    fn log_outcomes() {
        let v = |success: bool, retry: bool, attempts: i64| {
            serde_json::json!({"success": success, "retry_scheduled": retry,
                "execution_attempt": attempts, "status_code": 500,
                "timestamp": "2026-12-06T17:00:00.000Z", "event_type": "vault.connection.created"})
        };
        assert_eq!(log_item(&v(true, false, 1)).outcome, "delivered");
        assert_eq!(log_item(&v(false, true, 2)).outcome, "retrying");
        assert_eq!(log_item(&v(false, false, 0)).outcome, "pending");
        let failed = log_item(&v(false, false, 9));
        assert_eq!(failed.outcome, "failed");
        assert_eq!(failed.time, "2026-12-06 17:00:00");
        assert_eq!(failed.status_code, 500);
    }
}
