//! Security properties checked over plain HTTP: headers, cookies, CSRF, sign-in rate limit,
//! session scoping, escaping, and that secrets are never rendered back.

use patchbay_console::PasswordParams;
use patchbay_core::{ConsumerId, ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::{ConnectionInput, ConnectionKey};
use patchbay_server::service::sessions::SessionRequest;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, REFERRER_POLICY, SET_COOKIE};

use crate::support::{ADMIN_PASSWORD, ADMIN_USER, Knobs, REDIRECT_URI, TestApp, csrf_of, spawn};

/// Signs in; returns the client (holding the admin cookie) and the Set-Cookie header.
pub(crate) async fn sign_in(app: &TestApp) -> (reqwest::Client, String) {
    let client = app.client();
    let page = client
        .get(format!("{}/admin/login", app.local_url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_of(&page.text().await.unwrap());
    let res = client
        .post(format!("{}/admin/login", app.local_url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in redirects");
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("pb_admin="))
        .expect("admin cookie");
    (client, cookie)
}

#[tokio::test]
async fn every_console_page_has_a_strict_csp() {
    let app = spawn(Knobs::default()).await;
    let jwt_uri = app.session_uri("csp", SessionRequest::default()).await;
    let local_jwt = jwt_uri.replace(&app.base_url, &app.local_url);
    for url in [
        format!("{}/admin/login", app.local_url),
        local_jwt,
        format!("{}/session/not-a-jwt", app.local_url),
    ] {
        let res = app.client().get(&url).send().await.unwrap();
        let csp = res.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(
            res.headers()[REFERRER_POLICY],
            "no-referrer",
            "the JWT must not leak"
        );
        let html = res.text().await.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("style=\""),
            "no inline script or style"
        );
        assert!(!html.contains("http://") || !html.contains("cdn"), "no CDN");
    }
    // Assets are served from the binary.
    let css = app
        .client()
        .get(format!("{}/console/assets/console.css", app.local_url))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    // The API's fallback still answers unknown paths (the console sets none).
    let unknown = app
        .client()
        .get(format!("{}/no-such-route", app.local_url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_cookie_is_httponly_samesite_and_secure_on_https() {
    let app = spawn(Knobs::default()).await;
    let (_, cookie) = sign_in(&app).await;
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http keeps it usable locally: {cookie}"
    );

    let https = spawn(Knobs {
        https_public_url: true,
        ..Knobs::default()
    })
    .await;
    let (_, cookie) = sign_in(&https).await;
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_rejected() {
    let app = spawn(Knobs::default()).await;
    // Sign-in itself: no double-submit cookie, no entry.
    let res = app
        .client()
        .post(format!("{}/admin/login", app.local_url))
        .form(&[
            ("csrf", "guess"),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.headers()
            .get_all(SET_COOKIE)
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("pb_admin="))
    );

    let (client, _) = sign_in(&app).await;
    let url = format!(
        "{}/admin/apps/{}/integrations/salesforce",
        app.local_url, app.app_id
    );
    for csrf in [None, Some("wrong"), Some("")] {
        let mut form = vec![
            ("login", "production"),
            ("client_id", "3MVGattacker"),
            ("scope_api", "on"),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let res = client.post(&url).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    let integration = app
        .vault
        .get_integration(&app.app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .unwrap();
    assert_eq!(
        integration.client_id.as_deref(),
        Some(app.client_id.as_str()),
        "unchanged"
    );

    // The connect page's actions need the page's token too.
    let uri = app
        .session_uri("csrf-consumer", SessionRequest::default())
        .await;
    let local = uri.replace(&app.base_url, &app.local_url);
    let res = app
        .client()
        .post(format!("{local}/action/crm/salesforce"))
        .form(&[("action", "delete")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_rate_limited() {
    let app = spawn(Knobs {
        max_failed_logins: 3,
        ..Knobs::default()
    })
    .await;
    let client = app.client();
    let page = client
        .get(format!("{}/admin/login", app.local_url))
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let attempt = |password: &'static str| {
        let client = client.clone();
        let csrf = csrf.clone();
        let url = format!("{}/admin/login", app.local_url);
        async move {
            client
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", ADMIN_USER),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        let res = attempt("wrong password!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Wrong user name or password.")
        );
    }
    // Even the right password is refused while the limit holds, and the answer says why.
    let res = attempt(ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many failed sign-in attempts")
    );
    // An unknown user name gets the same answer as a wrong password.
    let other = spawn(Knobs::default()).await;
    let c2 = other.client();
    let page = c2
        .get(format!("{}/admin/login", other.local_url))
        .send()
        .await
        .unwrap();
    let csrf2 = csrf_of(&page.text().await.unwrap());
    let res = c2
        .post(format!("{}/admin/login", other.local_url))
        .form(&[
            ("csrf", csrf2.as_str()),
            ("username", "nobody"),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong user name or password.")
    );
}

#[tokio::test]
async fn a_session_only_ever_sees_its_own_consumer() {
    let app = spawn(Knobs::default()).await;
    let a = ConsumerId::parse("consumer-a").unwrap();
    let a_uri = app
        .session_uri(
            "consumer-a",
            serde_json::from_value(
                serde_json::json!({"consumer_metadata": {"account_name": "Alpha Corp"}}),
            )
            .unwrap(),
        )
        .await;
    let key_a = ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: a.clone(),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    };
    // A holds tokens, so A's card offers Delete.
    let import: patchbay_server::service::credentials::ImportRequest =
        serde_json::from_value(serde_json::json!({
            "credentials": {"access_token": "00Dalpha!token", "refresh_token": "5Aepalpha"},
            "settings": {"instance_url": app.emulator.base_url()},
        }))
        .unwrap();
    app.vault
        .import_connection(&key_a, import, &Actor::Admin)
        .await
        .unwrap();
    let key_b = ConnectionKey {
        consumer_id: ConsumerId::parse("consumer-b").unwrap(),
        ..key_a.clone()
    };
    let b_uri = app
        .session_uri("consumer-b", SessionRequest::default())
        .await;
    app.vault
        .add_connection(&key_b, ConnectionInput::default(), &Actor::Admin)
        .await
        .unwrap();
    let a_local = a_uri.replace(&app.base_url, &app.local_url);
    let b_local = b_uri.replace(&app.base_url, &app.local_url);

    let a_html = app
        .client()
        .get(&a_local)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(a_html.contains("Alpha Corp"));
    let b_res = app.client().get(&b_local).send().await.unwrap();
    assert_eq!(b_res.status(), StatusCode::OK);
    let b_html = b_res.text().await.unwrap();
    assert!(!b_html.contains("Alpha Corp"), "B never sees A's metadata");

    // A's CSRF token does not work with B's session.
    let csrf_a = csrf_of(&a_html);
    let csrf_b = csrf_of(&b_html);
    assert_ne!(csrf_a, csrf_b);
    let res = app
        .client()
        .post(format!("{b_local}/action/crm/salesforce"))
        .form(&[("csrf", csrf_a.as_str()), ("action", "delete")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // B deleting its connection removes B's only; nothing in the request can name A.
    let res = app
        .client()
        .post(format!("{b_local}/action/crm/salesforce"))
        .form(&[
            ("csrf", csrf_b.as_str()),
            ("action", "delete"),
            ("consumer_id", "consumer-a"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.vault
            .get_connection(&key_b)
            .await
            .unwrap()
            .state
            .as_str(),
        "available",
        "B's is gone"
    );
    assert_ne!(
        app.vault
            .get_connection(&key_a)
            .await
            .unwrap()
            .state
            .as_str(),
        "available",
        "A's survives"
    );
    let b_after = app
        .client()
        .get(&b_local)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!b_after.contains("id=\"delete-crm-salesforce\""));
    let a_after = app
        .client()
        .get(&a_local)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(a_after.contains("id=\"delete-crm-salesforce\""));

    // A token whose payload names A but was signed for B is rejected outright.
    let b_jwt = b_uri.rsplit('/').next().unwrap();
    let a_jwt = a_uri.rsplit('/').next().unwrap();
    let parts_a: Vec<&str> = a_jwt.split('.').collect();
    let parts_b: Vec<&str> = b_jwt.split('.').collect();
    let forged = format!("{}.{}.{}", parts_b[0], parts_a[1], parts_b[2]);
    let res = app
        .client()
        .get(format!("{}/session/{forged}", app.local_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("This link has expired"));
}

#[tokio::test]
async fn the_consumer_secret_is_never_rendered_back() {
    let app = spawn(Knobs::default()).await;
    let (client, _) = sign_in(&app).await;
    let url = format!(
        "{}/admin/apps/{}/integrations/salesforce",
        app.local_url, app.app_id
    );
    let html = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains(&app.client_secret));
    assert!(html.contains(&app.client_id), "the key is shown");
    assert!(html.contains("A secret is stored; it is never shown."));
    let csrf = csrf_of(&html);
    let new_secret = "NEWSECRET-should-never-come-back-0123456789";
    let staged_secret = "STAGEDSECRET-should-never-come-back-987";
    let emulator = app.emulator.base_url();
    let res = client
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("client_id", app.client_id.as_str()),
            ("client_secret", new_secret),
            ("staged_client_id", "3MVGstaged"),
            ("staged_client_secret", staged_secret),
            ("login", "custom"),
            ("custom_url", emulator.as_str()),
            ("scope_api", "on"),
            ("scope_refresh", "on"),
            ("pkce", "on"),
            ("enabled", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Settings saved."), "{html}");
    for secret in [new_secret, staged_secret, app.client_secret.as_str()] {
        assert!(!html.contains(secret));
    }
    assert!(
        html.contains("id=\"promote\""),
        "staged credentials can be promoted"
    );
    // Test Vault output names client ids and settings, never secrets.
    let res = client
        .post(format!("{url}/test"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"test-vault-results\""));
    for secret in [new_secret, staged_secret] {
        assert!(!html.contains(secret));
    }
}

#[tokio::test]
async fn provider_text_is_escaped_and_expired_links_get_a_clear_page() {
    let app = spawn(Knobs::default()).await;
    let uri = app.session_uri("escape", SessionRequest::default()).await;
    let local = uri.replace(&app.base_url, &app.local_url);
    let res = app
        .client()
        .get(format!(
            "{local}?error=server_error&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
        ))
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"));
    assert!(
        html.contains("&#60;script&#62;alert(1)") || html.contains("&lt;script&gt;alert(1)"),
        "{html}"
    );
    let denied = app
        .client()
        .get(format!(
            "{local}?error=access_denied&error_description=end-user+denied"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(denied.contains("Access was denied"));

    let res = app
        .client()
        .get(format!(
            "{}/session/eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
            app.local_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("This link has expired"));
    // Coming back without the connect cookie is the same clear page, not an error dump.
    let res = app
        .client()
        .get(format!(
            "{}/connect/return?error=access_denied",
            app.local_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(LOCATION).is_none());
}

#[tokio::test]
async fn admin_users_need_a_valid_name_and_a_long_password() {
    let app = spawn(Knobs::default()).await;
    let fast = PasswordParams::insecure_fast_for_tests();
    let dup = patchbay_console::create_admin_user(
        &app.vault,
        ADMIN_USER,
        &SecretString::new("another long password".to_owned()),
        fast,
        false,
    )
    .await;
    assert!(dup.is_err());
    let short = patchbay_console::create_admin_user(
        &app.vault,
        "bob",
        &SecretString::new("short".to_owned()),
        fast,
        false,
    )
    .await;
    assert!(short.is_err());
    let bad = patchbay_console::create_admin_user(
        &app.vault,
        "<bob>",
        &SecretString::new("long enough password".to_owned()),
        fast,
        false,
    )
    .await;
    assert!(bad.is_err());
    let stored = app
        .vault
        .store()
        .find_admin_user(ADMIN_USER)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(!stored.password_hash.contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn the_hosted_page_honours_settings_and_theme() {
    let app = spawn(Knobs::default()).await;
    let key = |c: &str| ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse(c).unwrap(),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    };
    app.vault
        .add_connection(&key("locked"), ConnectionInput::default(), &Actor::Admin)
        .await
        .unwrap();
    let session = |v: serde_json::Value| serde_json::from_value::<SessionRequest>(v).unwrap();
    let get = |uri: String| {
        let client = app.client();
        let url = uri.replace(&app.base_url, &app.local_url);
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };

    // allow_actions: [] hides every action, and the server refuses them too.
    let uri = app
        .session_uri(
            "locked",
            session(serde_json::json!({"settings": {"allow_actions": []}})),
        )
        .await;
    let html = get(uri.clone()).await;
    for id in [
        "delete-crm-salesforce",
        "disable-crm-salesforce",
        "disconnect-crm-salesforce",
    ] {
        assert!(!html.contains(&format!("id=\"{id}\"")), "{id} hidden");
    }
    assert!(
        html.contains("id=\"connect-crm-salesforce\""),
        "connecting is always offered"
    );
    // A card that is not connected offers Connect only, even when every action is allowed:
    // there is nothing to disable or delete yet (the per-state matrix is in hosted.rs).
    let all = get(app.session_uri("locked", SessionRequest::default()).await).await;
    assert!(
        all.contains("id=\"connect-crm-salesforce\"")
            && !all.contains("id=\"delete-crm-salesforce\"")
            && !all.contains("id=\"disable-crm-salesforce\"")
    );
    // Each card shows the provider's logo, served by Patchbay.
    assert!(
        all.contains("/assets/connectors/salesforce-logo.svg"),
        "{all}"
    );
    let csrf = csrf_of(&all);
    let res = app
        .client()
        .post(format!(
            "{}/action/crm/salesforce",
            uri.replace(&app.base_url, &app.local_url)
        ))
        .form(&[
            ("csrf", csrf_of_session(&app, &uri).await.as_str()),
            ("action", "delete"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "refused with a notice");
    assert!(res.text().await.unwrap().contains("not available here"));
    assert_eq!(
        app.vault
            .get_connection(&key("locked"))
            .await
            .unwrap()
            .state
            .as_str(),
        "added"
    );
    assert!(!csrf.is_empty());

    // unified_apis filters the list.
    let html = get(app
        .session_uri(
            "filtered",
            session(serde_json::json!({"settings": {"unified_apis": ["accounting"]}})),
        )
        .await)
    .await;
    assert!(
        html.contains("id=\"no-integrations\"")
            && !html.contains("id=\"integration-crm-salesforce\"")
    );

    // Theme: name, https logo only, isolation mode hides the sidebar, bad colours are dropped.
    let uri = app
        .session_uri(
            "themed",
            session(serde_json::json!({
                "theme": {"vault_name": "Initech <Vault>", "logo": "http://insecure.example/logo.png",
                          "primary_color": "#ff0000;}body{display:none", "favicon": "https://cdn.example/f.ico"},
                "settings": {"isolation_mode": true, "sandbox_mode": true, "hide_guides": true}
            })),
        )
        .await;
    let html = get(uri.clone()).await;
    assert!(
        html.contains("Initech &#60;Vault&#62;") || html.contains("Initech &lt;Vault&gt;"),
        "escaped name"
    );
    assert!(
        !html.contains("insecure.example"),
        "http logos are not loaded"
    );
    assert!(!html.contains("class=\"connect-side\""), "isolation mode");
    assert!(html.contains("class=\"sandbox\""), "sandbox banner");
    assert!(!html.contains("Connect opens your"), "hide_guides");
    assert!(html.contains("href=\"https://cdn.example/f.ico\""));
    let css = app
        .client()
        .get(format!(
            "{}/theme.css",
            uri.replace(&app.base_url, &app.local_url)
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !css.contains("display:none") && !css.contains("#ff0000"),
        "{css}"
    );
}

/// The connect page's CSRF token for a session link (from its `csrf-token` meta tag, present
/// even when the page has no forms).
async fn csrf_of_session(app: &TestApp, uri: &str) -> String {
    let html = app
        .client()
        .get(uri.replace(&app.base_url, &app.local_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf-token\" content=\"";
    let i = html.find(marker).expect("csrf meta") + marker.len();
    html[i..].split('"').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn coming_back_from_salesforce_returns_to_the_page_or_auto_redirects() {
    let app = spawn(Knobs::default()).await;
    let plain = app
        .session_uri(
            "back",
            serde_json::from_value(
                serde_json::json!({"redirect_uri": crate::support::REDIRECT_URI}),
            )
            .unwrap(),
        )
        .await;
    let auto = app
        .session_uri(
            "back",
            serde_json::from_value(serde_json::json!({
                "redirect_uri": crate::support::REDIRECT_URI,
                "settings": {"auto_redirect": true}
            }))
            .unwrap(),
        )
        .await;
    let jwt = |uri: &str| uri.rsplit('/').next().unwrap().to_owned();
    let back = |jwt: String, query: &'static str| {
        let client = app.client();
        let url = format!("{}/connect/return{query}", app.local_url);
        async move {
            client
                .get(url)
                .header("cookie", format!("pb_connect={jwt}"))
                .send()
                .await
                .unwrap()
        }
    };
    let res = back(jwt(&plain), "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[LOCATION],
        format!("/session/{}?result=connected", jwt(&plain))
    );
    let cleared = res.headers().get_all(SET_COOKIE).iter().any(|c| {
        c.to_str().unwrap().starts_with("pb_connect=;") || c.to_str().unwrap().contains("Max-Age=0")
    });
    assert!(cleared, "the connect cookie is cleared");
    let res = back(jwt(&auto), "").await;
    assert_eq!(
        res.headers()[LOCATION],
        crate::support::REDIRECT_URI,
        "auto_redirect"
    );
    let res = back(
        jwt(&auto),
        "?error=access_denied&error_description=end-user%20denied",
    )
    .await;
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("/session/{}?error=access_denied", jwt(&auto))),
        "{location}"
    );
    let res = back("garbage".to_owned(), "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_app_that_is_not_active_yet_gets_a_message_the_customer_can_act_on() {
    let app = spawn(Knobs {
        activation_delay_secs: 600,
        ..Knobs::default()
    })
    .await;
    let uri = app.session_uri("early", SessionRequest::default()).await;
    let local = uri.replace(&app.base_url, &app.local_url);
    let res = app
        .client()
        .get(format!("{local}/connect/crm/salesforce"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "stays on the page");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("This Salesforce app is not active yet, try again in a few minutes."),
        "{html}"
    );
    assert!(!html.contains(&app.client_secret));
}

#[tokio::test]
async fn logs_are_filtered_by_path_method_status_and_date() {
    let app = spawn(Knobs::default()).await;
    let key = app
        .vault
        .create_api_key(
            &app.app_id,
            "logs",
            patchbay_server::service::Scope::DEFAULT,
        )
        .await
        .unwrap();
    let api = |path: &str| {
        app.client()
            .get(format!("{}{path}", app.local_url))
            .bearer_auth(key.key.expose_secret())
            .header("x-apideck-app-id", app.app_id.as_str())
            .header("x-apideck-consumer-id", "logger")
    };
    app.vault
        .create_consumer(
            &app.app_id,
            &ConsumerId::parse("logger").unwrap(),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        api("/vault/connections").send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        api("/vault/connections/crm/nosuch")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
            / 100,
        4
    );
    let (client, _) = sign_in(&app).await;
    let logs = |query: String| {
        let client = client.clone();
        let url = format!(
            "{}/admin/apps/{}/logs?consumer=logger{query}",
            app.local_url, app.app_id
        );
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let all = logs(String::new()).await;
    assert!(
        all.contains("/vault/connections/crm/nosuch") && all.contains(">200<"),
        "{all}"
    );
    let ok_only = logs("&status=200&method=GET".to_owned()).await;
    assert!(ok_only.contains(">200<") && !ok_only.contains("/vault/connections/crm/nosuch"));
    let by_path = logs("&path=nosuch".to_owned()).await;
    assert!(by_path.contains("/vault/connections/crm/nosuch") && !by_path.contains(">200<"));
    let long_ago = logs("&to=2001-01-01".to_owned()).await;
    assert!(long_ago.contains("No requests match."));
    let bad = logs("&from=yesterday".to_owned()).await;
    assert!(bad.contains("is not a date"));
}

#[tokio::test]
async fn disable_enable_on_the_hosted_page_and_the_audited_export_in_the_console() {
    let app = spawn(Knobs::default()).await;
    let key = ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse("toggler").unwrap(),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    };
    // Disable and Enable act on a connection that holds tokens.
    let import: patchbay_server::service::credentials::ImportRequest =
        serde_json::from_value(serde_json::json!({
            "credentials": {"access_token": "00Dtoggle!token", "refresh_token": "5Aeptoggle"},
            "settings": {"instance_url": app.emulator.base_url()},
        }))
        .unwrap();
    app.vault
        .import_connection(&key, import, &Actor::Admin)
        .await
        .unwrap();
    let uri = app.session_uri("toggler", SessionRequest::default()).await;
    let local = uri.replace(&app.base_url, &app.local_url);
    let csrf = csrf_of_session(&app, &uri).await;
    for (action, enabled, button) in [
        ("disable", false, "id=\"enable-crm-salesforce\""),
        ("enable", true, "id=\"disable-crm-salesforce\""),
    ] {
        let res = app
            .client()
            .post(format!("{local}/action/crm/salesforce"))
            .form(&[("csrf", csrf.as_str()), ("action", action)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{action}");
        assert_eq!(
            app.vault.get_connection(&key).await.unwrap().enabled,
            enabled
        );
        let html = app
            .client()
            .get(&local)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(button), "{action}");
    }

    let (client, _) = sign_in(&app).await;
    let page = format!(
        "{}/admin/apps/{}/consumers/toggler",
        app.local_url, app.app_id
    );
    let html = client
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let admin_csrf = csrf_of(&html);
    let export = format!("{page}/connections/crm/salesforce/export");
    let res = client
        .post(&export)
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "export needs the CSRF token"
    );
    let res = client
        .post(&export)
        .form(&[("csrf", admin_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("written to the audit log")
    );
    let audit = app
        .vault
        .list_audit(Some(&app.app_id), None, 100)
        .await
        .unwrap();
    assert_eq!(
        audit
            .items
            .iter()
            .filter(|e| e.action == "connection.export" && e.actor == "admin")
            .count(),
        1,
        "exactly the one export was audited"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn(Knobs::default()).await;
    let (client, cookie) = sign_in(&app).await;
    let home = format!("{}/admin", app.local_url);
    let res = client.get(&home).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csrf = csrf_of(&res.text().await.unwrap());
    let res = client
        .post(format!("{}/admin/logout", app.local_url))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The old cookie value is dead on the server, not just removed from this browser.
    let value = cookie.split(';').next().unwrap().to_owned();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&home)
        .header("cookie", value)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/admin/login");
}

/// The top-level audit log lists every application's entries, each naming its application;
/// the drop-down narrows it to one application or to the installation-wide entries.
#[tokio::test]
async fn the_audit_log_lists_every_application_by_name() {
    let app = spawn(Knobs::default()).await;
    let other = app
        .vault
        .create_application("Globex Audit", &[REDIRECT_URI.to_owned()])
        .await
        .unwrap();
    app.vault
        .audit_system_event("keys.rotate", "keyring", serde_json::json!({}))
        .await
        .unwrap();
    let (client, _) = sign_in(&app).await;
    let page = |query: &str| {
        let client = client.clone();
        let url = format!("{}/admin/audit{query}", app.local_url);
        async move {
            let res = client.get(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.text().await.unwrap()
        }
    };
    let test_app_name = app.vault.get_application(&app.app_id).await.unwrap().name;
    let all = page("").await;
    assert!(!all.contains("No entries."), "{all}");
    let other_id = other.application.id.to_string();
    for needle in [
        app.app_id.as_str(),
        other_id.as_str(),
        "Globex Audit",
        test_app_name.as_str(),
        "application.create",
        "keys.rotate",
    ] {
        assert!(all.contains(needle), "{needle} missing from the audit log");
    }
    let only_other = page(&format!("?app={other_id}")).await;
    assert!(only_other.contains("Globex Audit") && only_other.contains("application.create"));
    assert!(!only_other.contains("keys.rotate"));
    assert!(
        !only_other.contains(&format!("<code>{}</code>", app.app_id)),
        "only the chosen application's rows"
    );
    let installation = page("?app=installation").await;
    assert!(installation.contains("keys.rotate"));
    assert!(!installation.contains("application.create"));
    let bad = client
        .get(format!("{}/admin/audit?app=nonsense", app.local_url))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

/// Logs show every consumer's requests by default ("All consumers"); choosing one narrows them.
#[tokio::test]
async fn logs_show_all_consumers_by_default() {
    let app = spawn(Knobs::default()).await;
    let key = app
        .vault
        .create_api_key(
            &app.app_id,
            "logs",
            patchbay_server::service::Scope::DEFAULT,
        )
        .await
        .unwrap();
    for consumer in ["alpha-logger", "beta-logger"] {
        let res = app
            .client()
            .get(format!("{}/vault/connections", app.local_url))
            .bearer_auth(key.key.expose_secret())
            .header("x-apideck-app-id", app.app_id.as_str())
            .header("x-apideck-consumer-id", consumer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let (client, _) = sign_in(&app).await;
    let logs = |query: &str| {
        let client = client.clone();
        let url = format!("{}/admin/apps/{}/logs{query}", app.local_url, app.app_id);
        async move {
            let res = client.get(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.text().await.unwrap()
        }
    };
    let rows = |html: &str, consumer: &str| {
        html.matches(&format!("<td class=\"mono log-consumer\">{consumer}</td>"))
            .count()
    };
    let all = logs("").await;
    assert!(
        all.contains("<option value=\"\" selected>All consumers</option>"),
        "All consumers is the default"
    );
    assert_eq!(rows(&all, "alpha-logger"), 1, "{all}");
    assert_eq!(rows(&all, "beta-logger"), 1, "{all}");
    let beta = logs("?consumer=beta-logger").await;
    assert_eq!(rows(&beta, "alpha-logger"), 0);
    assert_eq!(rows(&beta, "beta-logger"), 1);
    assert!(beta.contains("<option value=\"beta-logger\" selected>"));
    let filtered = logs("?consumer=&status=404").await;
    assert!(filtered.contains("No requests match."));
    let bad = logs(&format!("?consumer={}", "x".repeat(300))).await;
    assert!(bad.contains("That is not a consumer id."));
}

/// The application page's settings form renames the application and replaces its redirect
/// URIs, validated as at creation, behind the CSRF token, and audited.
#[tokio::test]
async fn the_application_page_updates_name_and_redirect_uris() {
    let app = spawn(Knobs::default()).await;
    let (client, _) = sign_in(&app).await;
    let page_url = format!("{}/admin/apps/{}", app.local_url, app.app_id);
    let html = client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"app-settings\""), "{html}");
    let csrf = csrf_of(&html);
    let before = app.vault.get_application(&app.app_id).await.unwrap();

    // Without the page's token nothing changes.
    let res = client
        .post(&page_url)
        .form(&[
            ("csrf", "wrong"),
            ("name", "Hijacked"),
            ("redirect_uris", "https://evil.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.vault.get_application(&app.app_id).await.unwrap(),
        before
    );

    // A URI `apps create` would refuse is refused here too, and the form keeps what was typed.
    let res = client
        .post(&page_url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Renamed"),
            ("redirect_uris", "http://app.example.com/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("redirect URI must use https"), "{html}");
    assert!(
        html.contains(">http://app.example.com/cb</textarea>"),
        "{html}"
    );
    assert_eq!(
        app.vault.get_application(&app.app_id).await.unwrap(),
        before
    );

    let res = client
        .post(&page_url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Renamed"),
            (
                "redirect_uris",
                "https://app.example.com/done\r\nhttp://localhost:3000/cb\r\n",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Saved."), "{html}");
    let after = app.vault.get_application(&app.app_id).await.unwrap();
    assert_eq!(after.name, "Renamed");
    assert_eq!(
        after.redirect_uris,
        ["https://app.example.com/done", "http://localhost:3000/cb"]
    );
    let audit = app
        .vault
        .list_audit(Some(&app.app_id), None, 100)
        .await
        .unwrap();
    let update = audit
        .items
        .iter()
        .rfind(|e| e.action == "application.update")
        .expect("the update is audited");
    assert_eq!(update.actor, "admin");
    let details: serde_json::Value = serde_json::from_str(&update.details_json).unwrap();
    assert_eq!(details["name"], "Renamed");
    assert_eq!(
        details["redirect_uris"],
        serde_json::json!(["https://app.example.com/done", "http://localhost:3000/cb"])
    );
}

#[tokio::test]
async fn the_integration_page_edits_the_crm_poll_interval() {
    let app = spawn(Knobs::default()).await;
    let (client, _) = sign_in(&app).await;
    let url = format!(
        "{}/admin/apps/{}/integrations/salesforce",
        app.local_url, app.app_id
    );
    let html = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains(r#"name="crm_poll_interval_s" value="300""#),
        "five minutes by default"
    );
    let emulator = app.emulator.base_url();
    let save = |interval: &'static str, csrf: String| {
        let client = client.clone();
        let url = url.clone();
        let emulator = emulator.clone();
        let client_id = app.client_id.clone();
        async move {
            client
                .post(&url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("client_id", client_id.as_str()),
                    ("login", "custom"),
                    ("custom_url", emulator.as_str()),
                    ("scope_api", "on"),
                    ("scope_refresh", "on"),
                    ("pkce", "on"),
                    ("enabled", "on"),
                    ("crm_poll_interval_s", interval),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = save("45", csrf_of(&html)).await;
    assert!(html.contains("Settings saved."), "{html}");
    assert!(html.contains(r#"name="crm_poll_interval_s" value="45""#));
    let stored = app
        .vault
        .get_integration(&app.app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .unwrap();
    assert_eq!(stored.settings.crm_poll_interval_s, 45);
    for (bad, says) in [
        ("0", "must be between 1 and 86400 seconds"),
        ("often", "must be a whole number of seconds"),
    ] {
        let page = client.get(&url).send().await.unwrap().text().await.unwrap();
        let html = save(bad, csrf_of(&page)).await;
        assert!(!html.contains("Settings saved."), "{bad}: {html}");
        assert!(html.contains(says), "{bad}: {html}");
    }
    let stored = app
        .vault
        .get_integration(&app.app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .unwrap();
    assert_eq!(
        stored.settings.crm_poll_interval_s, 45,
        "refused values change nothing"
    );
}
