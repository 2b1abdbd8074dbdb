//! "Test Vault" diagnostics: every troubleshooting case of the setup guide, reproduced on the
//! emulator, fails exactly the check it should with the fix that names the Salesforce setting;
//! a healthy integration passes every check; the report never holds a secret.

use patchbay_core::{ConsumerId, ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::ConnectionKey;
use patchbay_server::service::diagnostics::{CheckStatus, DiagnosticCheck, DiagnosticsReport};
use patchbay_server::service::integrations::IntegrationInput;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, Options, TestApp, json_with, spawn_with};

async fn app_with(f: impl FnOnce(&mut Options)) -> TestApp {
    let mut o = Options::default();
    f(&mut o);
    spawn_with(o).await.expect("sqlite app")
}

async fn diagnose(app: &TestApp) -> DiagnosticsReport {
    app.vault
        .diagnose_integration(&app.app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .expect("diagnostics run")
}

fn check<'a>(r: &'a DiagnosticsReport, id: &str) -> &'a DiagnosticCheck {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}: {r:#?}"))
}

fn fix_of(r: &DiagnosticsReport, id: &str) -> String {
    let c = check(r, id);
    assert_eq!(c.status, CheckStatus::Failed, "{id}: {r:#?}");
    c.fix.clone().unwrap_or_else(|| panic!("{id} has no fix"))
}

fn assert_all_passed(r: &DiagnosticsReport) {
    assert!(r.ok, "{r:#?}");
    for c in &r.checks {
        assert_eq!(c.status, CheckStatus::Passed, "{}: {r:#?}", c.id);
        assert!(c.fix.is_none() && !c.detail.is_empty(), "{c:?}");
    }
}

async fn set(app: &TestApp, f: impl FnOnce(&mut IntegrationInput)) {
    let mut input = IntegrationInput::default();
    f(&mut input);
    app.vault
        .set_integration(
            &app.app_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
            input,
        )
        .await
        .expect("set integration");
}

async fn emulator(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let r = app
        .client
        .request(
            method,
            format!("{}/__emulator{path}", app.emulator.base_url()),
        )
        .json(&body)
        .send()
        .await
        .expect("control plane");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("json")
}

fn key(app: &TestApp, consumer: &str) -> ConnectionKey {
    ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse(consumer).expect("consumer id"),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    }
}

async fn stored_refresh_token(app: &TestApp, consumer: &str) -> String {
    app.vault
        .export_credentials(&key(app, consumer), &Actor::Admin)
        .await
        .expect("export")
        .refresh_token
        .expect("refresh token")
}

#[tokio::test]
async fn healthy_integration_passes_every_check_and_shows_no_secret() {
    let app = app_with(|_| {}).await;
    // Before anyone connected: what needs a grant is skipped, nothing fails.
    let before = diagnose(&app).await;
    assert!(before.ok, "{before:#?}");
    assert!(before.connection_id.is_none());
    for id in ["refresh_without_secret", "introspection", "rotation"] {
        let c = check(&before, id);
        assert_eq!(c.status, CheckStatus::Skipped, "{c:?}");
        assert!(c.detail.contains("connect one customer"), "{c:?}");
    }
    for id in [
        "credentials",
        "enabled",
        "login_host",
        "client_id",
        "client_secret",
        "callback_url",
        "pkce",
    ] {
        assert_eq!(
            check(&before, id).status,
            CheckStatus::Passed,
            "{before:#?}"
        );
    }

    app.connect("c").await;
    assert_eq!(app.connection("c").await["state"], "callable");
    let r = diagnose(&app).await;
    assert_all_passed(&r);
    assert!(r.connection_id.is_some());
    let ids: Vec<&str> = r.checks.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            "credentials",
            "enabled",
            "login_host",
            "client_id",
            "client_secret",
            "callback_url",
            "pkce",
            "refresh_without_secret",
            "introspection",
            "scopes",
            "rotation"
        ]
    );
    let refresh_token = stored_refresh_token(&app, "c").await;
    let text = serde_json::to_string(&r).expect("json");
    assert!(!text.contains(&app.client_secret), "{text}");
    assert!(!text.contains(&refresh_token), "{text}");
    assert!(!text.contains(&app.api_key), "{text}");
    // The diagnostic refresh left a working connection.
    assert!(app.refresh_token_alive(&refresh_token).await);
}

#[tokio::test]
async fn secret_required_for_refresh_names_the_setting_and_sending_it_fixes_it() {
    let app = app_with(|o| o.emulator.require_secret_for_refresh = true).await;
    // Detected without any connection: the emulator checks client auth before the token.
    let before = diagnose(&app).await;
    assert!(!before.ok);
    let fix = fix_of(&before, "refresh_without_secret");
    assert!(
        fix.contains("uncheck 'Require Secret for Refresh Token Flow'")
            && fix.contains("Send client secret on refresh"),
        "{fix}"
    );
    // Authorization works; then refresh fails, with a connection too.
    app.connect("c").await;
    assert_eq!(app.connection("c").await["state"], "callable");
    let r = diagnose(&app).await;
    assert!(fix_of(&r, "refresh_without_secret").contains("Require Secret for Refresh Token Flow"));
    assert_eq!(check(&r, "introspection").status, CheckStatus::Skipped);
    // Scopes are still judged from what was granted at connect time.
    assert_eq!(check(&r, "scopes").status, CheckStatus::Passed, "{r:#?}");

    // The other fix: tell Patchbay to send the secret.
    set(&app, |i| i.send_secret_on_refresh = Some(true)).await;
    let r = diagnose(&app).await;
    assert_all_passed(&r);
    assert!(
        check(&r, "refresh_without_secret")
            .detail
            .contains("sends the client secret"),
        "{r:#?}"
    );
}

#[tokio::test]
async fn missing_code_challenge_names_the_pkce_setting() {
    let app = app_with(|o| o.pkce = false).await;
    let r = diagnose(&app).await;
    assert!(!r.ok);
    let fix = fix_of(&r, "pkce");
    assert!(
        fix.contains("Require Proof Key for Code Exchange (PKCE)") && fix.contains("--pkce true"),
        "{fix}"
    );
    assert!(
        check(&r, "pkce").detail.contains("code challenge"),
        "{r:#?}"
    );
    // Everything before the authorize step still passed.
    for id in ["login_host", "client_id", "client_secret", "callback_url"] {
        assert_eq!(check(&r, id).status, CheckStatus::Passed, "{r:#?}");
    }
    set(&app, |i| i.pkce = Some(true)).await;
    assert_eq!(
        check(&diagnose(&app).await, "pkce").status,
        CheckStatus::Passed
    );
}

#[tokio::test]
async fn app_not_yet_active_says_wait_then_clears() {
    let app = app_with(|o| o.emulator.activation_delay_secs = 600).await;
    let r = diagnose(&app).await;
    assert!(!r.ok);
    let fix = fix_of(&r, "client_id");
    assert!(fix.contains("wait up to 10 minutes"), "{fix}");
    assert_eq!(check(&r, "login_host").status, CheckStatus::Passed);
    for id in ["client_secret", "pkce", "refresh_without_secret", "scopes"] {
        assert_eq!(check(&r, id).status, CheckStatus::Skipped, "{r:#?}");
    }
    emulator(
        &app,
        Method::POST,
        "/clock",
        json!({ "advance_seconds": 601 }),
    )
    .await;
    let r = diagnose(&app).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(check(&r, "client_id").status, CheckStatus::Passed);
}

#[tokio::test]
async fn scopes_the_app_does_not_allow_are_refused_at_authorization() {
    let app = app_with(|o| o.scopes = Some("api refresh_token not_a_scope".to_owned())).await;
    let r = diagnose(&app).await;
    assert!(!r.ok);
    let fix = fix_of(&r, "scopes");
    assert!(fix.contains("Selected OAuth Scopes"), "{fix}");
}

#[tokio::test]
async fn granted_scopes_missing_requested_ones_are_named() {
    let app = app_with(|o| o.scopes = Some("api refresh_token".to_owned())).await;
    app.connect("c").await;
    assert_eq!(app.connection("c").await["state"], "callable");
    assert!(diagnose(&app).await.ok);
    // The integration now requests more than this customer granted.
    set(&app, |i| {
        i.scopes = Some("api refresh_token openid full".to_owned())
    })
    .await;
    let r = diagnose(&app).await;
    assert!(!r.ok);
    let c = check(&r, "scopes");
    assert!(
        c.detail.contains("full") && c.detail.contains("openid") && !c.detail.contains("api,"),
        "{c:?}"
    );
    let fix = fix_of(&r, "scopes");
    assert!(
        fix.contains("Selected OAuth Scopes: add full, openid"),
        "{fix}"
    );
}

#[tokio::test]
async fn scopes_salesforce_silently_dropped_are_named_from_the_grant() {
    let app = app_with(|_| {}).await;
    // The app allows fewer scopes than Patchbay requests and drops the others at login.
    emulator(
        &app,
        Method::PATCH,
        &format!("/apps/{}", app.client_id),
        json!({ "scopes": "api refresh_token", "ignore_disallowed_scopes": true }),
    )
    .await;
    app.connect("c").await;
    assert_eq!(app.connection("c").await["state"], "callable");
    let r = diagnose(&app).await;
    assert!(!r.ok);
    let fix = fix_of(&r, "scopes");
    assert!(fix.contains("Selected OAuth Scopes: add openid,"), "{fix}");
    assert!(check(&r, "scopes").detail.contains("missing openid"));
}

#[tokio::test]
async fn credentials_replaced_after_migration_ask_for_the_new_ones_and_connections_survive() {
    let app = app_with(|_| {}).await;
    app.connect("c").await;
    // Salesforce side: the app gets a new key and secret, the old ones stop working.
    let staged = emulator(
        &app,
        Method::POST,
        &format!("/apps/{}/credentials/staged", app.client_id),
        json!({}),
    )
    .await;
    let new_id = staged["staged_credentials"]["client_id"]
        .as_str()
        .expect("new id")
        .to_owned();
    let new_secret = staged["staged_credentials"]["client_secret"]
        .as_str()
        .expect("new secret")
        .to_owned();
    emulator(
        &app,
        Method::POST,
        &format!("/apps/{new_id}/credentials/promote"),
        json!({}),
    )
    .await;

    let r = diagnose(&app).await;
    assert!(!r.ok);
    let fix = fix_of(&r, "client_id");
    assert!(
        fix.contains("migrated to an External Client App the key and secret are new")
            && fix.contains("--client-id NEW")
            && fix.contains("Existing connections keep working"),
        "{fix}"
    );
    assert!(
        !serde_json::to_string(&r)
            .expect("json")
            .contains(&new_secret)
    );

    set(&app, |i| {
        i.client_id = Some(new_id.clone());
        i.client_secret = Some(SecretString::new(new_secret.clone()));
    })
    .await;
    let r = diagnose(&app).await;
    assert_all_passed(&r);
    // The connection made with the old credentials keeps working.
    let v = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "c",
        )
        .send()
        .await
        .expect("validate");
    let v = json_with(v, StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "callable", "{v}");
}

#[tokio::test]
async fn staged_credentials_that_salesforce_promoted_are_to_be_promoted_in_patchbay() {
    let app = app_with(|_| {}).await;
    app.connect("c").await;
    let new_id = format!("3MVG9new{}", uuid::Uuid::new_v4().simple());
    let new_secret = format!("NEWSECRET{}", uuid::Uuid::new_v4().simple());
    set(&app, |i| {
        i.staged_client_id = Some(new_id.clone());
        i.staged_client_secret = Some(SecretString::new(new_secret.clone()));
    })
    .await;
    // Staged in Patchbay before Salesforce knows it: flagged, main still fine.
    let r = diagnose(&app).await;
    assert_eq!(check(&r, "staged_credentials").status, CheckStatus::Failed);
    assert_eq!(check(&r, "client_id").status, CheckStatus::Passed);
    emulator(
        &app,
        Method::POST,
        &format!("/apps/{}/credentials/staged", app.client_id),
        json!({ "client_id": new_id, "client_secret": new_secret }),
    )
    .await;
    assert!(diagnose(&app).await.ok);
    emulator(
        &app,
        Method::POST,
        &format!("/apps/{new_id}/credentials/promote"),
        json!({}),
    )
    .await;
    let r = diagnose(&app).await;
    assert_eq!(check(&r, "staged_credentials").status, CheckStatus::Passed);
    let fix = fix_of(&r, "client_id");
    assert!(fix.contains("patchbay integrations promote"), "{fix}");

    app.vault
        .promote_staged_credentials(&app.app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .expect("promote");
    assert_all_passed(&diagnose(&app).await);
}

async fn rotation_case(db: Db) {
    let mut options = Options {
        db,
        ..Options::default()
    };
    options.emulator.rotate_refresh_tokens = true;
    let app = spawn_with(options)
        .await
        .expect("the backend is available (PostgreSQL at 127.0.0.1:5432)");
    app.connect("c").await;
    let old = stored_refresh_token(&app, "c").await;
    let r = diagnose(&app).await;
    assert_all_passed(&r);
    let rotation = check(&r, "rotation");
    assert!(
        rotation.detail.contains("rotation is on") && rotation.detail.contains("stored"),
        "{rotation:?}"
    );
    let new = stored_refresh_token(&app, "c").await;
    assert_ne!(old, new, "the rotated token must be stored");
    // A second run uses the stored (rotated) token: it still works.
    assert_all_passed(&diagnose(&app).await);
    assert!(!app.refresh_token_alive(&old).await);
}

#[tokio::test]
async fn rotation_is_detected_and_the_rotated_token_is_stored() {
    rotation_case(Db::Sqlite).await;
}

#[tokio::test]
async fn rotation_is_detected_and_the_rotated_token_is_stored_on_postgres() {
    rotation_case(Db::Postgres).await;
}

#[tokio::test]
async fn admin_route_answers_the_report_with_the_api_key() {
    let app = app_with(|o| o.emulator.require_secret_for_refresh = true).await;
    let path = "/admin/v1/integrations/crm/salesforce/diagnostics";
    let r = app.api(Method::POST, path).send().await.expect("send");
    let body = json_with(r, StatusCode::OK).await;
    let data = &body["data"];
    assert_eq!(data["ok"], false, "{body}");
    let checks = data["checks"].as_array().expect("checks");
    let failed: Vec<&Value> = checks.iter().filter(|c| c["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{body}");
    assert_eq!(failed[0]["id"], "refresh_without_secret");
    assert!(
        failed[0]["fix"]
            .as_str()
            .is_some_and(|f| f.contains("Require Secret"))
    );
    for c in checks {
        assert!(c["title"].is_string() && c["detail"].is_string(), "{c}");
        assert!(
            ["passed", "failed", "warning", "skipped"]
                .contains(&c["status"].as_str().unwrap_or("")),
            "{c}"
        );
    }
    assert!(!body.to_string().contains(&app.client_secret));

    // Authentication as for the Vault API; no integration is a 404; junk is never a 500.
    let r = app
        .client
        .post(format!("{}{path}", app.base_url))
        .header("x-apideck-app-id", app.app_id.as_str())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .api(
            Method::POST,
            "/admin/v1/integrations/crm/hubspot/diagnostics",
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .api(Method::POST, "/admin/v1/integrations/crm/nocrm/diagnostics")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let other = app
        .vault
        .create_application("Other", &[])
        .await
        .expect("other app");
    let r = app
        .client
        .post(format!("{}{path}", app.base_url))
        .bearer_auth(other.api_key.key.expose_secret())
        .header("x-apideck-app-id", other.application.id.as_str())
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::NOT_FOUND).await;
    assert_eq!(v["type_name"], "IntegrationNotFoundError", "{v}");
}
