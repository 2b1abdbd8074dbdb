//! The hosted connect page (`/session/{jwt}`): what each card offers per state and
//! `allow_actions`, the login-host choice before Connect (and where it sends the browser), the
//! session's theme, `show_logs` and `show_suggestions`. Each test runs on SQLite and PostgreSQL.

use patchbay_core::{ConsumerId, ServiceId, UnifiedApi};
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::{ConnectionInput, ConnectionKey};
use patchbay_server::service::credentials::ImportRequest;
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::service::sessions::SessionRequest;
use patchbay_store::testing::TestDatabase;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION};
use serde_json::{Value, json};

use crate::support::{Knobs, TestApp, console_backend_tests, csrf_of, spawn_with};

console_backend_tests!(
    cards_offer_only_what_their_state_and_allow_actions_permit,
    the_login_host_choice_decides_where_connect_goes,
    the_theme_is_applied_escaped_and_checked,
    logs_and_suggestions_follow_the_session_settings,
);

fn key(app: &TestApp, consumer: &str) -> ConnectionKey {
    ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse(consumer).unwrap(),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    }
}

/// A connection holding tokens (imported, as `POST …/import` stores them).
async fn connected(app: &TestApp, consumer: &str) -> ConnectionKey {
    let k = key(app, consumer);
    let req: ImportRequest = serde_json::from_value(json!({
        "credentials": {"access_token": "00Dimported!token", "refresh_token": "5Aepimported"},
        "settings": {"instance_url": app.emulator.base_url()},
    }))
    .unwrap();
    app.vault
        .import_connection(&k, req, &Actor::Admin)
        .await
        .unwrap();
    k
}

fn session(v: Value) -> SessionRequest {
    serde_json::from_value(v).unwrap()
}

async fn page(app: &TestApp, consumer: &str, req: Value) -> (String, String) {
    let uri = app
        .session_uri(consumer, session(req))
        .await
        .replace(&app.base_url, &app.local_url);
    let html = app
        .client()
        .get(&uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (uri, html)
}

fn has(html: &str, id: &str) -> bool {
    html.contains(&format!("id=\"{id}-crm-salesforce\""))
}

/// Which of the card's controls a page shows, in a fixed order.
fn offered(html: &str) -> Vec<&'static str> {
    [
        "connect",
        "host-form",
        "settings",
        "disconnect",
        "disable",
        "enable",
        "delete",
    ]
    .into_iter()
    .filter(|id| has(html, id))
    .collect()
}

async fn cards_offer_only_what_their_state_and_allow_actions_permit(db: TestDatabase) {
    let app = spawn_with(db, Knobs::default()).await;
    app.vault
        .add_connection(
            &key(&app, "added"),
            ConnectionInput::default(),
            &Actor::Admin,
        )
        .await
        .unwrap();
    connected(&app, "live").await;
    let off = connected(&app, "off").await;
    app.vault
        .update_connection(
            &off,
            ConnectionInput {
                enabled: Some(false),
                ..ConnectionInput::default()
            },
        )
        .await
        .unwrap();

    let all = json!({});
    let none = json!({"settings": {"allow_actions": []}});
    let disable_only = json!({"settings": {"allow_actions": ["disable"]}});
    let delete_disconnect = json!({"settings": {"allow_actions": ["delete", "disconnect"]}});
    let hidden = json!({"settings": {"hide_resource_settings": true}});
    let cases: Vec<(&str, &Value, Vec<&str>)> = vec![
        // Not connected: Connect (with the login-host choice), never Disable or Delete.
        ("fresh", &all, vec!["connect", "host-form"]),
        ("added", &all, vec!["connect", "host-form"]),
        ("added", &none, vec!["connect", "host-form"]),
        ("fresh", &hidden, vec!["connect"]),
        // Connected: everything the session allows; Settings needs `reauthorize`.
        (
            "live",
            &all,
            vec![
                "connect",
                "host-form",
                "settings",
                "disconnect",
                "disable",
                "delete",
            ],
        ),
        ("live", &none, vec![]),
        ("live", &disable_only, vec!["disable"]),
        ("live", &delete_disconnect, vec!["disconnect", "delete"]),
        (
            "live",
            &hidden,
            vec!["connect", "disconnect", "disable", "delete"],
        ),
        // Disabled: Enable (and Delete), each only when allowed.
        ("off", &all, vec!["enable", "delete"]),
        ("off", &disable_only, vec!["enable"]),
        ("off", &none, vec![]),
    ];
    for (consumer, req, want) in cases {
        let (_, html) = page(&app, consumer, req.clone()).await;
        assert_eq!(offered(&html), want, "{consumer} with {req}");
    }
    let (_, live) = page(&app, "live", all.clone()).await;
    assert!(live.contains(">Re-authorize<") && live.contains(">Connected<"));
    let (_, off_html) = page(&app, "off", all.clone()).await;
    assert!(off_html.contains(">Disabled<"));

    // The server refuses what the page does not offer: Delete on a card that is not connected
    // is not offered, but allow_actions decides what the POST may do.
    let (uri, html) = page(&app, "live", disable_only.clone()).await;
    let res = app
        .client()
        .post(format!("{uri}/action/crm/salesforce"))
        .form(&[("csrf", csrf_of(&html).as_str()), ("action", "delete")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("not available here"));
    assert_ne!(
        app.vault
            .get_connection(&key(&app, "live"))
            .await
            .unwrap()
            .state
            .as_str(),
        "available",
        "still there"
    );

    // A session limited to other unified APIs can neither see nor act on this one.
    let (uri, html) = page(
        &app,
        "live",
        json!({"settings": {"unified_apis": ["accounting"]}}),
    )
    .await;
    assert!(!html.contains("id=\"integration-crm-salesforce\""));
    let csrf = csrf_of_page(&html);
    let res = app
        .client()
        .post(format!("{uri}/action/crm/salesforce"))
        .form(&[("csrf", csrf.as_str()), ("action", "disable")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "refused with a notice");
    assert!(
        app.vault
            .get_connection(&key(&app, "live"))
            .await
            .unwrap()
            .enabled
    );
    let res = choose(&app, &uri, &csrf, "https://test.salesforce.com", "").await;
    assert_eq!(res.status(), StatusCode::OK, "no redirect to Salesforce");
}

async fn choose(
    app: &TestApp,
    uri: &str,
    csrf: &str,
    host: &str,
    my_domain: &str,
) -> reqwest::Response {
    app.client()
        .post(format!("{uri}/connect/crm/salesforce"))
        .form(&[
            ("csrf", csrf),
            ("login_host", host),
            ("my_domain", my_domain),
        ])
        .send()
        .await
        .unwrap()
}

/// The page's CSRF token from its `csrf-token` meta tag (present even when no card has a form).
fn csrf_of_page(html: &str) -> String {
    let marker = "name=\"csrf-token\" content=\"";
    let i = html.find(marker).expect("csrf meta") + marker.len();
    html[i..].split('"').next().unwrap_or_default().to_owned()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn stored_login_url(app: &TestApp, consumer: &str) -> Option<String> {
    app.vault
        .get_connection(&key(app, consumer))
        .await
        .unwrap()
        .settings
        .login_url
}

async fn the_login_host_choice_decides_where_connect_goes(db: TestDatabase) {
    let app = spawn_with(db, Knobs::default()).await;
    let emulator = app.emulator.base_url();
    let (uri, html) = page(&app, "chooser", json!({})).await;
    let csrf = csrf_of(&html);
    // The integration's own host (the emulator) is offered first and checked; production,
    // sandbox and My Domain follow.
    for value in [
        emulator.as_str(),
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        "mydomain",
    ] {
        assert!(
            html.contains(&format!("name=\"login_host\" value=\"{value}\"")),
            "{value} offered"
        );
    }
    assert!(html.contains(&format!(
        "value=\"{emulator}\" id=\"host-crm-salesforce-1\" checked"
    )));

    // The page's CSP lets its form be answered with a redirect to exactly these hosts.
    let res = app.client().get(&uri).send().await.unwrap();
    let csp = res.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let form_action = csp
        .split(';')
        .find(|d| d.trim().starts_with("form-action"))
        .unwrap()
        .to_owned();
    for source in [
        "'self'",
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        "https://*.my.salesforce.com",
        emulator.as_str(),
    ] {
        assert!(form_action.contains(source), "{source} in {form_action}");
    }
    assert_eq!(
        form_action.split_whitespace().count(),
        6,
        "form-action and exactly those five sources: {form_action}"
    );
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "the rest of the policy is unchanged: {csp}"
    );

    // A form without the CSRF token changes nothing.
    let res = choose(&app, &uri, "forged", "https://test.salesforce.com", "").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored_login_url(&app, "chooser").await, None);

    for (host, my_domain, want) in [
        (
            "https://test.salesforce.com",
            "",
            "https://test.salesforce.com/services/oauth2/authorize?",
        ),
        (
            "https://login.salesforce.com",
            "",
            "https://login.salesforce.com/services/oauth2/authorize?",
        ),
        (
            emulator.as_str(),
            "",
            &format!("{emulator}/services/oauth2/authorize?"),
        ),
        (
            "mydomain",
            "acme.my.salesforce.com",
            "https://acme.my.salesforce.com/services/oauth2/authorize?",
        ),
    ] {
        let res = choose(&app, &uri, &csrf, host, my_domain).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{host}");
        let to = location(&res);
        assert!(to.starts_with(want), "{host}: {to}");
        assert!(to.contains(&format!("client_id={}", app.client_id)), "{to}");
        let stored = stored_login_url(&app, "chooser").await.unwrap();
        assert!(want.starts_with(&stored), "{stored} stored for {host}");
    }

    // The page shows the stored choice next time.
    let (_, html) = page(&app, "chooser", json!({})).await;
    assert!(
        html.contains("value=\"https://acme.my.salesforce.com\""),
        "My Domain kept"
    );

    // A bad My Domain comes back on the card, escaped, and changes nothing.
    for bad in [
        "https://evil.example",
        "http://acme.my.salesforce.com",
        "\"><script>alert(1)</script>",
        "",
    ] {
        let res = choose(&app, &uri, &csrf, "mydomain", bad).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let html = res.text().await.unwrap();
        assert!(html.contains("id=\"host-error-crm-salesforce\""), "{bad}");
        assert!(
            html.contains("yourcompany.my.salesforce.com"),
            "says what is expected"
        );
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(!html.contains("<script>alert"), "escaped");
        assert_eq!(
            stored_login_url(&app, "chooser").await.as_deref(),
            Some("https://acme.my.salesforce.com"),
            "unchanged after {bad}"
        );
    }
    // A host that was never offered is refused the same way.
    let res = choose(&app, &uri, &csrf, "https://evil.example", "").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // On a connected card the choice is Settings: a new host means authorizing again, so it
    // needs `reauthorize`.
    connected(&app, "settled").await;
    let (uri, html) = page(&app, "settled", json!({})).await;
    assert!(
        html.contains("id=\"settings-crm-salesforce\"")
            && html.contains("id=\"save-crm-salesforce\"")
    );
    let res = choose(
        &app,
        &uri,
        &csrf_of(&html),
        "https://test.salesforce.com",
        "",
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("https://test.salesforce.com/services/oauth2/authorize?"));
    assert_eq!(
        stored_login_url(&app, "settled").await.as_deref(),
        Some("https://test.salesforce.com")
    );
    // (Storing a new host gave up the old grant; a connection that still holds one is refused
    // a new host when the session may not re-authorize.)
    connected(&app, "pinned").await;
    let (uri, html) = page(
        &app,
        "pinned",
        json!({"settings": {"allow_actions": ["disable"]}}),
    )
    .await;
    assert!(!html.contains("id=\"settings-crm-salesforce\""));
    let res = choose(
        &app,
        &uri,
        &csrf_of_page(&html),
        "https://login.salesforce.com",
        "",
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "refused on the card"
    );
    assert_eq!(stored_login_url(&app, "pinned").await, None, "unchanged");
    assert_ne!(
        app.vault
            .get_connection(&key(&app, "pinned"))
            .await
            .unwrap()
            .state
            .as_str(),
        "added",
        "the grant is kept"
    );

    // With hide_resource_settings the choice is neither shown nor accepted.
    let (uri, html) = page(
        &app,
        "hidden",
        json!({"settings": {"hide_resource_settings": true}}),
    )
    .await;
    assert!(!html.contains("name=\"login_host\""));
    let res = app
        .client()
        .get(format!(
            "{uri}/connect/crm/salesforce?login_url=https://test.salesforce.com"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "refused with a notice");
    assert_eq!(stored_login_url(&app, "hidden").await, None);
}

async fn the_theme_is_applied_escaped_and_checked(db: TestDatabase) {
    let app = spawn_with(db, Knobs::default()).await;
    let (uri, html) = page(
        &app,
        "themed",
        json!({
            "consumer_metadata": {"account_name": "Acme <Ops>", "email": "ops@acme.example"},
            "theme": {
                "vault_name": "Initech <b>Vault</b>",
                "logo": "https://cdn.initech.example/logo.svg",
                "primary_color": "#0F766E",
                "sidepanel_background_color": "#111827",
                "sidepanel_text_color": "#f9fafb",
                "privacy_url": "http://initech.example/privacy?a=1&b=\"2\"",
                "terms_url": "javascript:alert(1)",
            }
        }),
    )
    .await;
    assert!(
        html.contains("Initech &#60;b&#62;Vault&#60;/b&#62;")
            || html.contains("Initech &lt;b&gt;Vault&lt;/b&gt;")
    );
    assert!(!html.contains("<b>Vault"));
    assert!(html.contains("src=\"https://cdn.initech.example/logo.svg\""));
    assert!(html.contains("id=\"privacy-link\""));
    assert!(
        html.contains("http://initech.example/privacy?a=1&#38;b=%222%22")
            || html.contains("http://initech.example/privacy?a=1&amp;b=%222%22"),
        "{html}"
    );
    assert!(!html.contains("id=\"terms-link\"") && !html.contains("javascript:"));
    assert!(html.contains("Acme &#60;Ops&#62;") || html.contains("Acme &lt;Ops&gt;"));
    assert!(html.contains("ops@acme.example"));
    assert!(
        !html.contains("style=\""),
        "no inline style: the CSP forbids it"
    );
    let css = app
        .client()
        .get(format!("{uri}/theme.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        css.contains("--primary:#0f766e;--on-primary:#ffffff"),
        "{css}"
    );
    assert!(css.contains("--side-bg:#111827"), "{css}");
    assert!(css.contains("--side-text:#f9fafb"), "{css}");
    assert!(
        !css.contains("--primary-ink"),
        "a dark primary is readable on white"
    );
    // A pale primary keeps its buttons but not its text on white (WCAG AA).
    let (uri, _) = page(&app, "pale", json!({"theme": {"primary_color": "#ffeb3b"}})).await;
    let css = app
        .client()
        .get(format!("{uri}/theme.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        css.contains("--primary:#ffeb3b;--on-primary:#000000")
            && css.contains("--primary-ink:#1d2330"),
        "{css}"
    );

    // Colours outside the strict hex form never reach the stylesheet; bad URLs are dropped.
    let (uri, html) = page(
        &app,
        "hostile",
        json!({"theme": {
            "primary_color": "#fff;}body{display:none",
            "sidepanel_background_color": "red",
            "sidepanel_text_color": "expression(alert(1))",
            "logo": "data:image/svg+xml,<svg/>",
            "privacy_url": "ftp://initech.example/p",
            "terms_url": "//initech.example/t",
        }}),
    )
    .await;
    let css = app
        .client()
        .get(format!("{uri}/theme.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(css, "", "nothing from a hostile theme");
    assert!(
        !html.contains("data:image")
            && !html.contains("ftp://")
            && !html.contains("privacy-link")
            && !html.contains("terms-link")
    );
    // An expired or forged link gets no theme either.
    let res = app
        .client()
        .get(format!("{}/session/not-a-jwt/theme.css", app.local_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "");
}

async fn logs_and_suggestions_follow_the_session_settings(db: TestDatabase) {
    let app = spawn_with(db, Knobs::default()).await;
    let (uri, html) = page(&app, "watcher", json!({})).await;
    assert!(
        html.contains("id=\"activity\"") && html.contains("id=\"no-activity\""),
        "show_logs defaults to true"
    );
    assert!(
        !html.contains("id=\"suggestions\""),
        "show_suggestions defaults to false"
    );
    // A Vault call made with this session shows up in the activity list.
    let jwt = uri.rsplit('/').next().unwrap();
    let res = app
        .client()
        .get(format!("{}/vault/connections", app.local_url))
        .bearer_auth(jwt)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "watcher")
        .header("x-apideck-auth-type", "JWT")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, html) = page(&app, "watcher", json!({})).await;
    assert!(html.contains("GET /vault/connections"), "{html}");
    let (_, html) = page(
        &app,
        "watcher",
        json!({"settings": {"isolation_mode": true, "show_suggestions": true}}),
    )
    .await;
    assert!(
        !html.contains("id=\"activity\"") && !html.contains("id=\"suggestions\""),
        "isolation mode shows only the connection settings"
    );
    let (_, html) = page(&app, "watcher", json!({"settings": {"show_logs": false}})).await;
    assert!(!html.contains("id=\"activity\"") && !html.contains("/vault/connections"));

    // An integration without credentials is no card; with show_suggestions it is listed as
    // one the customer could ask for.
    let other = app
        .vault
        .create_application("Half set up", &[crate::support::REDIRECT_URI.to_owned()])
        .await
        .unwrap()
        .application
        .id;
    app.vault
        .set_integration(
            &other,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
            IntegrationInput {
                client_id: Some("3MVG9no-secret-yet".to_owned()),
                ..IntegrationInput::default()
            },
        )
        .await
        .unwrap();
    let other_page = |settings: Value| {
        let app = &app;
        let other = other.clone();
        async move {
            let uri = app
                .vault
                .create_session(
                    &other,
                    &ConsumerId::parse("asker").unwrap(),
                    session(json!({ "settings": settings })),
                )
                .await
                .unwrap()
                .session_uri
                .replace(&app.base_url, &app.local_url);
            app.client()
                .get(uri)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = other_page(json!({"show_suggestions": true})).await;
    assert!(
        html.contains("id=\"suggestions\"") && html.contains("Not available yet"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"integration-crm-salesforce\""),
        "no card"
    );
    let html = other_page(json!({})).await;
    assert!(!html.contains("id=\"suggestions\"") && html.contains("id=\"no-integrations\""));
    // Where everything is set up, the suggestions say so.
    let (_, html) = page(
        &app,
        "watcher",
        json!({"settings": {"show_suggestions": true}}),
    )
    .await;
    assert!(html.contains("id=\"suggestions\"") && html.contains("Every integration"));
}
