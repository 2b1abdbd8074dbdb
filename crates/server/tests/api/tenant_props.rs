//! Cross-tenant property test (issue 13): three applications, each with its own consumers and
//! imported connections, some consumer ids shared between applications. For random
//! (caller, target) pairs, every Vault, CRM and proxy route called with the caller's key or
//! session for the target's consumer or application is refused (404 for the caller's own
//! application, 401 for another application's id or another consumer's session), and no body
//! carries any marker or token of a tenant other than the caller's own. Bounded case count.

use std::collections::HashSet;

use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::service::Scope;
use patchbay_server::service::integrations::IntegrationInput;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Db, Options, REDIRECT_URI, TestApp, json_with, spawn_with};
use crate::server_backend_tests;

const NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// Which consumers each application has (ids overlap across applications on purpose).
const CONSUMERS: [&[usize]; 3] = [&[0, 1], &[1, 2], &[2, 3]];

struct Tenant {
    id: String,
    key: String,
    export_key: String,
    /// `(consumer index, session JWT)` for each of its consumers.
    sessions: Vec<(usize, String)>,
    /// Its webhook subscription, whose delivery URL carries [`hook_marker`].
    webhook_id: String,
}

fn hook_marker(app: usize) -> String {
    format!("hook-{app}-x")
}

fn marker(app: usize, consumer: usize) -> String {
    format!("mark-{app}-{consumer}-x")
}

fn token(app: usize, consumer: usize) -> String {
    format!("tok-{app}-{consumer}-secret")
}

async fn tenants(t: &TestApp) -> Vec<Tenant> {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let mut out = Vec::new();
    for (a, consumers) in CONSUMERS.iter().enumerate() {
        let (id, key) = if a == 0 {
            (t.app_id.to_string(), t.api_key.clone())
        } else {
            let created = t
                .vault
                .create_application(&format!("Tenant {a}"), &[REDIRECT_URI.to_owned()])
                .await
                .expect("app");
            t.vault
                .set_integration(
                    &created.application.id,
                    &UnifiedApi::crm(),
                    &ServiceId::salesforce(),
                    IntegrationInput {
                        client_id: Some(format!("3MVG9tenant{a}")),
                        client_secret: Some(SecretString::new("tenant-secret")),
                        login_url: Some(t.emulator.base_url()),
                        ..IntegrationInput::default()
                    },
                )
                .await
                .expect("integration");
            (
                created.application.id.to_string(),
                created.api_key.key.expose_secret().to_owned(),
            )
        };
        let export_key = t
            .vault
            .create_api_key(
                &patchbay_core::ApplicationId::parse(&id).expect("id"),
                "export",
                &[Scope::Export],
            )
            .await
            .expect("export key")
            .key
            .expose_secret()
            .to_owned();
        let mut sessions = Vec::new();
        for &c in *consumers {
            let call = |m: Method, path: &str| {
                t.client
                    .request(m, format!("{}{path}", t.base_url))
                    .bearer_auth(&key)
                    .header("x-apideck-app-id", id.as_str())
                    .header("x-apideck-consumer-id", NAMES[c])
            };
            let r = call(Method::POST, "/vault/consumers")
                .json(&json!({ "consumer_id": NAMES[c], "metadata": { "account_name": marker(a, c) } }))
                .send()
                .await
                .expect("consumer");
            assert!(
                r.status().is_success(),
                "{}",
                r.text().await.unwrap_or_default()
            );
            let r = call(Method::POST, "/vault/connections/crm/salesforce/import")
                .json(&json!({
                    "credentials": { "access_token": token(a, c), "issued_at": now, "expires_in": 7200 },
                    "settings": { "instance_url": t.emulator.base_url() },
                }))
                .send()
                .await
                .expect("import");
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "{}",
                r.text().await.unwrap_or_default()
            );
            let r = call(Method::POST, "/vault/sessions")
                .json(&json!({ "redirect_uri": REDIRECT_URI }))
                .send()
                .await
                .expect("session");
            let v = json_with(r, StatusCode::OK).await;
            sessions.push((
                c,
                v["data"]["session_token"].as_str().expect("jwt").to_owned(),
            ));
        }
        // Saved disabled (nothing listens on port 9); what matters is that it exists.
        let r = t
            .client
            .post(format!("{}/webhook/webhooks", t.base_url))
            .bearer_auth(&key)
            .header("x-apideck-app-id", id.as_str())
            .json(&json!({
                "unified_api": "vault",
                "status": "enabled",
                "delivery_url": format!("http://127.0.0.1:9/{}", hook_marker(a)),
                "events": ["vault.connection.created"],
            }))
            .send()
            .await
            .expect("webhook");
        let v = json_with(r, StatusCode::CREATED).await;
        let webhook_id = v["data"]["id"].as_str().expect("id").to_owned();
        out.push(Tenant {
            id,
            key,
            export_key,
            sessions,
            webhook_id,
        });
    }
    out
}

/// Every route a consumer's data can be reached by; `true` when it needs the export key.
fn routes() -> Vec<(Method, String, bool)> {
    vec![
        (Method::GET, "/vault/consumers/{c}".to_owned(), false),
        (Method::GET, "/vault/connections".to_owned(), false),
        (
            Method::GET,
            "/vault/connections/crm/salesforce".to_owned(),
            false,
        ),
        (Method::GET, "/vault/consumers/{c}/stats?start_datetime=2026-01-01T00:00:00Z&end_datetime=2026-12-31T00:00:00Z".to_owned(), false),
        (
            Method::POST,
            "/vault/connections/crm/salesforce/validate".to_owned(),
            false,
        ),
        (
            Method::POST,
            "/vault/connections/crm/salesforce/export".to_owned(),
            true,
        ),
        (Method::GET, "/vault/logs".to_owned(), false),
        (Method::GET, "/crm/contacts".to_owned(), false),
        (
            Method::GET,
            "/crm/companies/001000000000001AAA".to_owned(),
            false,
        ),
        (Method::GET, "/proxy".to_owned(), false),
        (Method::GET, "/webhook/webhooks/{w}".to_owned(), false),
        (Method::PATCH, "/webhook/webhooks/{w}".to_owned(), false),
        (Method::GET, "/webhook/logs".to_owned(), false),
    ]
}

/// No marker or token of any (application, consumer) except `own` appears in `body`.
fn assert_no_foreign_data(body: &str, own: Option<(usize, usize)>, what: &str) {
    for (a, consumers) in CONSUMERS.iter().enumerate() {
        if own.is_none_or(|(own_app, _)| own_app != a) {
            assert!(
                !body.contains(&hook_marker(a)),
                "{what}: shows {}",
                hook_marker(a)
            );
        }
        for &c in *consumers {
            if own == Some((a, c)) {
                continue;
            }
            assert!(
                !body.contains(&marker(a, c)),
                "{what}: shows {}",
                marker(a, c)
            );
            assert!(
                !body.contains(&token(a, c)),
                "{what}: shows a token of {a}/{c}"
            );
        }
    }
}

async fn cross_tenant_access_is_refused(db: Db) {
    let Some(t) = spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let tenants = tenants(&t).await;
    // Cases: (caller app, target app, consumer index in the target, route index, use session).
    let strategy = (
        0usize..3,
        0usize..3,
        0usize..2,
        0..routes().len(),
        any::<bool>(),
    );
    let mut runner = TestRunner::deterministic();
    let mut seen = HashSet::new();
    for _ in 0..150 {
        let (ci, ti, k, ri, use_session) = strategy.new_tree(&mut runner).expect("case").current();
        if ci == ti || !seen.insert((ci, ti, k, ri, use_session)) {
            continue;
        }
        let caller = &tenants[ci];
        let target_consumer = CONSUMERS[ti][k];
        let (method, path, export) = routes()[ri].clone();
        let path = path
            .replace("{c}", NAMES[target_consumer])
            .replace("{w}", &tenants[ti].webhook_id);
        let caller_has_it = CONSUMERS[ci].contains(&target_consumer);
        let bearer = |own_key: &str| {
            if use_session {
                caller.sessions[0].1.clone()
            } else {
                own_key.to_owned()
            }
        };
        let send = |app_id: &str, consumer: &str, bearer: String| {
            t.client
                .request(method.clone(), format!("{}{path}", t.base_url))
                .bearer_auth(bearer)
                .header("x-apideck-app-id", app_id)
                .header("x-apideck-consumer-id", consumer)
                .header("x-apideck-service-id", "salesforce")
                .header("x-apideck-downstream-url", "/services/data/v66.0/sobjects")
                .json(&json!({}))
                .send()
        };
        let key = if export {
            &caller.export_key
        } else {
            &caller.key
        };
        let what = format!(
            "app {ci} ({}) -> app {ti}'s {} via {method} {path}",
            if use_session { "session" } else { "key" },
            NAMES[target_consumer]
        );

        // The target's application id with the caller's credential: never authenticated.
        let r = send(&tenants[ti].id, NAMES[target_consumer], bearer(key))
            .await
            .expect("send");
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        // A session on an API-key-only operation hears that first (403), for any application
        // id alike; a key for another application is simply not authenticated.
        let refused = |status: StatusCode| {
            status == StatusCode::UNAUTHORIZED || (use_session && status == StatusCode::FORBIDDEN)
        };
        assert!(refused(status), "{what} (target app id): {status} {body}");
        assert_no_foreign_data(&body, None, &what);

        // The caller's own application, asking for the target's consumer.
        let r = send(&caller.id, NAMES[target_consumer], bearer(key))
            .await
            .expect("send");
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}: {body}");
        let own = if use_session {
            Some((ci, caller.sessions[0].0))
        } else {
            caller_has_it.then_some((ci, target_consumer))
        };
        assert_no_foreign_data(&body, own, &what);
        if use_session && caller.sessions[0].0 != target_consumer {
            // A session answers only for its own consumer.
            assert!(refused(status), "{what}: {status} {body}");
        } else if !use_session && path.starts_with("/webhook/webhooks/") {
            // Another application's subscription id, with the caller's own application id.
            assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
        } else if !caller_has_it && !use_session && path.starts_with("/vault/consumers/") {
            assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
        } else if !caller_has_it
            && !use_session
            && !path.starts_with("/vault/connections")
            && !path.ends_with("/logs")
        {
            // Consumer-scoped calls on a consumer the caller does not have.
            assert!(
                status == StatusCode::NOT_FOUND
                    || status == StatusCode::UNAUTHORIZED
                    || status == StatusCode::FORBIDDEN,
                "{what}: {status} {body}"
            );
        }
        if !status.is_success() {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            assert_eq!(v["status_code"], status.as_u16(), "{what}: {body}");
        }
    }
    assert!(seen.len() > 50, "only {} distinct cases", seen.len());
    // The callers' own data is still reachable: the refusals above are not blanket refusals.
    for (a, tenant) in tenants.iter().enumerate() {
        let c = tenant.sessions[0].0;
        let r = t
            .client
            .get(format!("{}/vault/consumers/{}", t.base_url, NAMES[c]))
            .bearer_auth(&tenant.key)
            .header("x-apideck-app-id", tenant.id.as_str())
            .send()
            .await
            .expect("send");
        let body = json_with(r, StatusCode::OK).await.to_string();
        assert!(body.contains(&marker(a, c)), "{body}");
    }
}

server_backend_tests!(cross_tenant_access_is_refused);
