use patchbay_fake_salesforce::EmulatorConfig;
use serde_json::json;

use crate::support::*;

fn base_query(client_id: &str) -> Vec<(&str, &str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

fn with<'a>(
    mut q: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    q.retain(|(k, _)| *k != key);
    if let Some(v) = value {
        q.push((key, v));
    }
    q
}

#[tokio::test]
async fn unknown_client_and_bad_redirect_show_an_error_page_on_every_host() {
    let env = start_with(EmulatorConfig::default()).await;
    for prefix in ["", "/login", "/test"] {
        let r = env
            .authorize(
                prefix,
                &with(base_query(&env.client_id), "client_id", Some("nope")),
            )
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        let html = r.text().await.unwrap();
        assert!(html.contains("invalid_client_id") && html.contains("client identifier invalid"));

        let r = env
            .authorize(
                prefix,
                &with(
                    base_query(&env.client_id),
                    "redirect_uri",
                    Some("http://evil.test/cb"),
                ),
            )
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        let html = r.text().await.unwrap();
        assert!(
            html.contains("redirect_uri_mismatch")
                && html.contains("redirect_uri must match configuration")
        );
    }
}

async fn redirected_error(env: &Env, query: &[(&str, &str)]) -> (String, String, Option<String>) {
    let r = env.authorize("", query).await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(CALLBACK), "{location}");
    let q = query_of(&location);
    (
        param(&q, "error").unwrap(),
        param(&q, "error_description").unwrap(),
        param(&q, "state"),
    )
}

#[tokio::test]
async fn invalid_requests_redirect_with_salesforce_errors_and_state() {
    let env = start_with(EmulatorConfig::default()).await;
    let q = with(base_query(&env.client_id), "code_challenge", None);
    assert_eq!(
        redirected_error(&env, &q).await,
        (
            "invalid_request".into(),
            "missing required code challenge".into(),
            Some("xyz".into())
        )
    );
    let q = with(base_query(&env.client_id), "scope", Some("api chatter_api"));
    assert_eq!(redirected_error(&env, &q).await.0, "invalid_scope");
    let q = with(base_query(&env.client_id), "response_type", Some("banana"));
    assert_eq!(
        redirected_error(&env, &q).await.0,
        "unsupported_response_type"
    );
    let q = with(
        base_query(&env.client_id),
        "code_challenge_method",
        Some("plain"),
    );
    assert_eq!(redirected_error(&env, &q).await.0, "invalid_request");
}

#[tokio::test]
async fn pkce_is_optional_when_the_app_does_not_require_it() {
    let env = start().await;
    env.patch_default_app(json!({"require_pkce": false})).await;
    let r = env
        .authorize(
            "",
            &with(base_query(&env.client_id), "code_challenge", None),
        )
        .await;
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert!(param(&q, "code").is_some());
}

#[tokio::test]
async fn activation_delay_hides_the_client_until_it_passes() {
    let env = start_with(EmulatorConfig {
        activation_delay_secs: 300,
        auto_approve: true,
        ..Default::default()
    })
    .await;
    let r = env.authorize("", &base_query(&env.client_id)).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("invalid_client_id"));
    let (status, body) = env
        .token(
            "",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", &env.client_id),
                ("client_secret", &env.client_secret),
            ],
        )
        .await;
    assert_error(
        status,
        &body,
        "invalid_client_id",
        "client identifier invalid",
    );
    env.advance(301).await;
    assert_eq!(
        env.authorize("", &base_query(&env.client_id))
            .await
            .status(),
        302
    );
}

fn hidden_tx(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn login_and_consent_pages_drive_the_flow() {
    let env = start_with(EmulatorConfig::default()).await;
    let r = env.authorize("/login", &base_query(&env.client_id)).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    for id in [
        "id=\"username\"",
        "id=\"password\"",
        "id=\"Login\"",
        "<label for=\"username\"",
    ] {
        assert!(html.contains(id), "{id} missing");
    }
    let tx = hidden_tx(&html);
    let login_url = env.url("/login/services/oauth2/authorize/login");
    let wrong = env
        .http
        .post(&login_url)
        .form(&[
            ("tx", tx.as_str()),
            ("username", "admin@emulator.test"),
            ("password", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 200);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("Please check your username and password"));

    let ok = env
        .http
        .post(&login_url)
        .form(&[
            ("tx", tx.as_str()),
            ("username", "admin@emulator.test"),
            ("password", "password123"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        ok.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly")
    );
    let html = ok.text().await.unwrap();
    assert!(html.contains("id=\"allow\"") && html.contains("id=\"deny\""));
    let consent_url = env.url("/login/services/oauth2/authorize/consent");
    let deny = env
        .http
        .post(&consent_url)
        .form(&[("tx", tx.as_str()), ("decision", "deny")])
        .send()
        .await
        .unwrap();
    assert_eq!(deny.status(), 302);
    let q = query_of(deny.headers()["location"].to_str().unwrap());
    assert_eq!(param(&q, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&q, "state").as_deref(), Some("xyz"));

    // Logged in now: the next authorize skips the login page but still asks for consent.
    let html = env
        .authorize("/login", &base_query(&env.client_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"allow\""));
    let tx = hidden_tx(&html);
    let allow = env
        .http
        .post(&consent_url)
        .form(&[("tx", tx.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(allow.status(), 302);
    let location = allow.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("code=aPrx") && location.contains("%3D%3D"),
        "{location}"
    );
    let q = query_of(&location);
    assert_eq!(param(&q, "state").as_deref(), Some("xyz"));
    let (status, body) = env.exchange("/login", &param(&q, "code").unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["id"]
            .as_str()
            .unwrap()
            .starts_with(&env.url("/login/id/"))
    );

    // Approved before: straight to a code. prompt=login forces the login page again.
    let r = env.authorize("/login", &base_query(&env.client_id)).await;
    assert_eq!(r.status(), 302);
    let r = env
        .authorize(
            "/login",
            &with(base_query(&env.client_id), "prompt", Some("login")),
        )
        .await;
    assert!(r.text().await.unwrap().contains("id=\"password\""));
    // Sessions are per host: My Domain has not seen this login.
    let r = env.authorize("", &base_query(&env.client_id)).await;
    assert!(r.text().await.unwrap().contains("id=\"password\""));
}

#[tokio::test]
async fn echoed_values_are_escaped() {
    let env = start_with(EmulatorConfig::default()).await;
    let q = with(
        base_query(&env.client_id),
        "login_hint",
        Some("\"><script>alert(1)</script>"),
    );
    let html = env.authorize("", &q).await.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn auto_approve_uses_the_login_hint_user() {
    let env = start().await;
    let (status, _) = env
        .control(
            reqwest::Method::POST,
            "/users",
            json!({"username": "jane.doe@acme.test", "password": "pw"}),
        )
        .await;
    assert_eq!(status, 201);
    let q = with(
        base_query(&env.client_id),
        "login_hint",
        Some("jane.doe@acme.test"),
    );
    let r = env.authorize("", &q).await;
    let code = param(&query_of(r.headers()["location"].to_str().unwrap()), "code").unwrap();
    let (_, body) = env.exchange("", &code).await;
    let info: serde_json::Value = env
        .http
        .get(body["id"].as_str().unwrap())
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["username"], "jane.doe@acme.test");
}

#[tokio::test]
async fn user_agent_flow_returns_tokens_in_the_fragment() {
    let env = start().await;
    let q = with(base_query(&env.client_id), "response_type", Some("token"));
    let r = env.authorize("", &q).await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let fragment = location.split_once('#').unwrap().1.to_owned();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect();
    assert!(param(&pairs, "access_token").unwrap().contains('!'));
    assert_eq!(param(&pairs, "state").as_deref(), Some("xyz"));
    assert!(param(&pairs, "refresh_token").is_none());
}

#[tokio::test]
async fn immediate_without_login_fails_and_prompt_consent_asks_again() {
    let env = start_with(EmulatorConfig::default()).await;
    let q = with(base_query(&env.client_id), "immediate", Some("true"));
    let r = env.authorize("", &q).await;
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(
        param(&q, "error").as_deref(),
        Some("immediate_unsuccessful")
    );

    // Log in and approve once.
    let html = env
        .authorize("", &base_query(&env.client_id))
        .await
        .text()
        .await
        .unwrap();
    let tx = hidden_tx(&html);
    env.http
        .post(env.url("/services/oauth2/authorize/login"))
        .form(&[
            ("tx", tx.as_str()),
            ("username", "ADMIN@emulator.test"),
            ("password", "password123"),
        ])
        .send()
        .await
        .unwrap();
    let r = env
        .http
        .post(env.url("/services/oauth2/authorize/consent"))
        .form(&[("tx", tx.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    let code = param(&query_of(r.headers()["location"].to_str().unwrap()), "code").unwrap();
    assert_eq!(env.exchange("", &code).await.0, 200);
    // A spent transaction cannot be replayed.
    let r = env
        .http
        .post(env.url("/services/oauth2/authorize/consent"))
        .form(&[("tx", tx.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let q = with(base_query(&env.client_id), "immediate", Some("true"));
    let r = env.authorize("", &q).await;
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert!(
        param(&q, "code").is_some(),
        "logged in and approved: immediate works"
    );
    let q = with(base_query(&env.client_id), "immediate", Some("true"));
    let q = with(q, "prompt", Some("consent"));
    let r = env.authorize("", &q).await;
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(
        param(&q, "error").as_deref(),
        Some("immediate_unsuccessful")
    );
    let q = with(base_query(&env.client_id), "prompt", Some("consent"));
    assert!(
        env.authorize("", &q)
            .await
            .text()
            .await
            .unwrap()
            .contains("id=\"allow\"")
    );
}

#[tokio::test]
async fn inactive_users_cannot_log_in_or_refresh() {
    let env = start().await;
    env.control(
        reqwest::Method::POST,
        "/users",
        json!({"username": "ina@acme.test", "password": "pw"}),
    )
    .await;
    let q = with(
        base_query(&env.client_id),
        "login_hint",
        Some("ina@acme.test"),
    );
    let r = env
        .authorize("", &with(q, "scope", Some("api refresh_token")))
        .await;
    let code = param(&query_of(r.headers()["location"].to_str().unwrap()), "code").unwrap();
    let (_, t) = env.exchange("", &code).await;
    let (status, _) = env
        .control(
            reqwest::Method::PATCH,
            "/users/ina@acme.test",
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, 200);
    let (s, b) = env.refresh(t["refresh_token"].as_str().unwrap()).await;
    assert_error(s, &b, "invalid_grant", "authentication failure");
}
