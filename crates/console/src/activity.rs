//! What happened: an application's request log (`/admin/apps/{app}/logs`, all consumers by
//! default or one of them) and the audit log (`/admin/audit`, every application by default,
//! one application, or the installation-wide entries).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use patchbay_core::{ApplicationId, ConsumerId};
use patchbay_server::service::{AuditScope, ConsumerFilter, LogFilter};
use serde::Deserialize;

use crate::admin::application;
use crate::views::when;
use crate::web::{Admin, ConsoleState, error_text, message, render};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/admin/apps/{app}/logs", get(logs_page))
        .route("/admin/audit", get(audit_page))
}

// ---------------------------------------------------------------------------------------------
// Request logs

/// How many consumers the filter's drop-down offers; a consumer beyond them can still be typed
/// into the URL and stays selected.
const CONSUMER_CHOICES: u32 = 200;

#[derive(Deserialize, Default)]
struct LogQuery {
    /// Empty or absent: every consumer.
    consumer: Option<String>,
    path: Option<String>,
    method: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

struct LogItem {
    timestamp: String,
    consumer: String,
    method: String,
    path: String,
    status: i64,
    ok: bool,
    service: String,
    /// The whole request as Patchbay served it.
    total: String,
    /// Time spent at the provider, `—` when it was not called.
    downstream: String,
    error: String,
}

#[derive(Template)]
#[template(path = "logs.html")]
struct LogsPage {
    signed_in: bool,
    csrf: String,
    app_id: String,
    app_name: String,
    tab: &'static str,
    consumers: Vec<String>,
    /// The selected consumer; empty means all of them.
    consumer: String,
    path: String,
    method: String,
    methods: Vec<(&'static str, bool)>,
    status: String,
    from: String,
    to: String,
    logs: Vec<LogItem>,
    next: Option<String>,
    error: Option<String>,
}

/// `YYYY-MM-DD` as unix ms at the start (or, with `end`, the last ms) of that UTC day.
fn day_ms(s: &str, end: bool) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s, &fmt).map_err(|_| format!("{s} is not a date (YYYY-MM-DD)"))?;
    let start = date.midnight().assume_utc().unix_timestamp() * 1000;
    Ok(Some(if end { start + 86_400_000 - 1 } else { start }))
}

/// The store filter for the page's fields, or the sentence to show instead.
fn log_filter(page: &LogsPage) -> Result<LogFilter, String> {
    let status_codes = match page.status.trim() {
        "" => Vec::new(),
        s => vec![
            s.parse::<i64>()
                .map_err(|_| "Status must be a number like 200 or 401".to_owned())?,
        ],
    };
    Ok(LogFilter {
        path: (!page.path.trim().is_empty()).then(|| page.path.trim().to_owned()),
        http_methods: match page.method.trim() {
            "" => Vec::new(),
            m => vec![m.to_ascii_uppercase()],
        },
        status_codes,
        start_ms: day_ms(&page.from, false)?,
        end_ms: day_ms(&page.to, true)?,
        ..LogFilter::default()
    })
}

/// The selected consumer: `None` for all of them (the default).
fn selected_consumer(raw: &str) -> Result<Option<ConsumerId>, String> {
    match raw.trim() {
        "" => Ok(None),
        c => ConsumerId::parse(c)
            .map(Some)
            .map_err(|_| "That is not a consumer id.".to_owned()),
    }
}

async fn logs_page(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
    Query(q): Query<LogQuery>,
) -> Response {
    let app = match application(&state.vault, &app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let consumer = q.consumer.clone().unwrap_or_default().trim().to_owned();
    let mut consumers: Vec<String> = state
        .vault
        .list_consumers(&app.id, &ConsumerFilter::default(), None, CONSUMER_CHOICES)
        .await
        .map(|p| {
            p.items
                .into_iter()
                .map(|c| c.consumer_id.into_string())
                .collect()
        })
        .unwrap_or_default();
    if !consumer.is_empty() && !consumers.contains(&consumer) {
        consumers.push(consumer.clone());
    }
    let mut page = LogsPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        tab: "logs",
        consumers,
        consumer,
        path: q.path.clone().unwrap_or_default(),
        method: q.method.clone().unwrap_or_default(),
        methods: ["GET", "POST", "PATCH", "PUT", "DELETE"]
            .into_iter()
            .map(|m| {
                (
                    m,
                    q.method
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(m)),
                )
            })
            .collect(),
        status: q.status.clone().unwrap_or_default(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        logs: Vec::new(),
        next: None,
        error: None,
    };
    let (consumer_id, filter) =
        match selected_consumer(&page.consumer).and_then(|c| log_filter(&page).map(|f| (c, f))) {
            Ok(v) => v,
            Err(e) => {
                page.error = Some(e);
                return render(&page);
            }
        };
    match state
        .vault
        .list_application_logs(
            &app.id,
            consumer_id.as_ref(),
            &filter,
            q.cursor.as_deref().filter(|c| !c.is_empty()),
            50,
        )
        .await
    {
        Ok(p) => {
            page.logs = p
                .items
                .into_iter()
                .map(|l| LogItem {
                    timestamp: crate::views::date_time(l.timestamp),
                    consumer: l.consumer_id.into_string(),
                    method: l.http_method,
                    path: l.path,
                    status: l.status_code,
                    ok: l.success,
                    total: format!("{:.1} ms", l.duration + l.latency),
                    // A Vault call's `duration` is the Vault's own time (it is the service).
                    downstream: if l.unified_api == "vault" || l.duration <= 0.0 {
                        "—".to_owned()
                    } else {
                        format!("{:.1} ms", l.duration)
                    },
                    service: l.service.id,
                    error: l.error_message.unwrap_or_default(),
                })
                .collect();
            page.next = p.next_cursor;
        }
        Err(e) => page.error = Some(error_text(&e)),
    }
    render(&page)
}

// ---------------------------------------------------------------------------------------------
// Audit log

/// The audit page's `app` filter value for installation-wide entries (an application id never
/// looks like this).
const INSTALLATION: &str = "installation";

struct AuditItem {
    when: String,
    /// The application's name, `—` for installation-wide entries, or the id of an application
    /// that no longer exists.
    app_name: String,
    app_id: String,
    actor: String,
    action: String,
    target: String,
    details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    signed_in: bool,
    csrf: String,
    /// The filter as submitted: empty (every application), `installation`, or an id.
    app: String,
    /// `(value, label, selected)` for the filter's drop-down.
    choices: Vec<(String, String, bool)>,
    entries: Vec<AuditItem>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    app: Option<String>,
    cursor: Option<String>,
}

async fn audit_page(
    State(state): State<ConsoleState>,
    admin: Admin,
    Query(q): Query<AuditQuery>,
) -> Response {
    let app = q.app.clone().unwrap_or_default().trim().to_owned();
    let app_id = match app.as_str() {
        "" | INSTALLATION => None,
        id => match ApplicationId::parse(id) {
            Ok(id) => Some(id),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    "Bad filter",
                    "That is not an application id.",
                );
            }
        },
    };
    let scope = match (&app_id, app.as_str()) {
        (Some(id), _) => AuditScope::Application(id),
        (None, INSTALLATION) => AuditScope::Installation,
        (None, _) => AuditScope::Everything,
    };
    let page = match state
        .vault
        .list_audit_in(scope, q.cursor.as_deref().filter(|c| !c.is_empty()), 100)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Cannot read the audit log",
                &error_text(&e),
            );
        }
    };
    let names: HashMap<String, String> = state
        .vault
        .list_applications()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.id.to_string(), a.name))
        .collect();
    let mut choices = vec![
        (String::new(), "All applications".to_owned(), app.is_empty()),
        (
            INSTALLATION.to_owned(),
            "Installation-wide (keys)".to_owned(),
            app == INSTALLATION,
        ),
    ];
    let mut apps: Vec<(&String, &String)> = names.iter().collect();
    apps.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    choices.extend(
        apps.into_iter()
            .map(|(id, name)| (id.clone(), format!("{name} ({id})"), *id == app)),
    );
    if app_id.is_some() && !names.contains_key(&app) {
        choices.push((app.clone(), format!("{app} (deleted)"), true));
    }
    render(&AuditPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app,
        choices,
        entries: page
            .items
            .iter()
            .map(|e| {
                let app_id = e
                    .application_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                AuditItem {
                    when: when(Some(e.created_at)),
                    app_name: match (app_id.is_empty(), names.get(&app_id)) {
                        (true, _) => "—".to_owned(),
                        (false, Some(name)) => name.clone(),
                        (false, None) => "(deleted application)".to_owned(),
                    },
                    app_id,
                    actor: e.actor.clone(),
                    action: e.action.clone(),
                    target: e.target.clone(),
                    details: e.details_json.clone(),
                }
            })
            .collect(),
        next: page.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_consumer_means_all_of_them() {
        assert_eq!(selected_consumer(""), Ok(None));
        assert_eq!(selected_consumer("  "), Ok(None));
        assert_eq!(
            selected_consumer("acme-1"),
            Ok(Some(ConsumerId::parse("acme-1").unwrap()))
        );
        assert!(selected_consumer(&"x".repeat(300)).is_err());
    }

    #[test]
    fn days_are_whole_utc_days() {
        assert_eq!(day_ms("", false), Ok(None));
        assert_eq!(day_ms("1970-01-02", false), Ok(Some(86_400_000)));
        assert_eq!(day_ms("1970-01-01", true), Ok(Some(86_400_000 - 1)));
        assert!(day_ms("yesterday", false).is_err());
    }
}
