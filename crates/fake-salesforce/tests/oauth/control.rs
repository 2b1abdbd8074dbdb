//! The control plane: apps, credentials, users, tokens, clock, limits, seeding and TLS.

use patchbay_fake_salesforce::EmulatorConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_owned()
}

async fn refresh_as(env: &Env, id: &str, secret: &str, token: &str) -> (u16, Value) {
    env.token(
        "",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await
}

#[tokio::test]
async fn staged_credentials_work_alongside_main_until_promoted() {
    let env = start().await;
    let t = env.tokens("api refresh_token").await;
    let rt = s(&t, "refresh_token");
    let (status, app) = env
        .control(
            Method::POST,
            &format!("/apps/{}/credentials/staged", env.client_id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{app}");
    let staged = &app["staged_credentials"];
    let (sid, ssecret) = (s(staged, "client_id"), s(staged, "client_secret"));
    assert_eq!(
        refresh_as(&env, &env.client_id, &env.client_secret, &rt)
            .await
            .0,
        200
    );
    assert_eq!(refresh_as(&env, &sid, &ssecret, &rt).await.0, 200);
    // Keys and secrets pair up: main key with the staged secret is wrong.
    let (st, b) = refresh_as(&env, &env.client_id, &ssecret, &rt).await;
    assert_error(st, &b, "invalid_client", "invalid client credentials");
    let (status, _) = env
        .control(
            Method::POST,
            &format!("/apps/{sid}/credentials/promote"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (st, b) = refresh_as(&env, &env.client_id, &env.client_secret, &rt).await;
    assert_error(st, &b, "invalid_client_id", "client identifier invalid");
    assert_eq!(refresh_as(&env, &sid, &ssecret, &rt).await.0, 200);

    // Secret-only rotation, then removing the old main set.
    let (_, app) = env
        .control(
            Method::POST,
            &format!("/apps/{sid}/credentials/staged"),
            json!({"keep_client_id": true, "client_secret": "NEWSECRET"}),
        )
        .await;
    assert_eq!(app["staged_credentials"]["client_id"], sid.as_str());
    assert_eq!(refresh_as(&env, &sid, "NEWSECRET", &rt).await.0, 200);
    assert_eq!(refresh_as(&env, &sid, &ssecret, &rt).await.0, 200);
    let (status, _) = env
        .control(
            Method::DELETE,
            &format!("/apps/{sid}/credentials/main"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    let (st, b) = refresh_as(&env, &sid, &ssecret, &rt).await;
    assert_error(st, &b, "invalid_client", "invalid client credentials");
    assert_eq!(refresh_as(&env, &sid, "NEWSECRET", &rt).await.0, 200);
    let (status, _) = env
        .control(
            Method::DELETE,
            &format!("/apps/{sid}/credentials/main"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 400, "the last credential set stays");
}

#[tokio::test]
async fn legacy_connected_app_profile_and_app_crud() {
    let env = start().await;
    let (status, app) = env
        .control(
            Method::POST,
            "/apps",
            json!({
                "name": "Legacy", "profile": "legacy_connected_app", "callback_urls": [CALLBACK],
                "client_id": "3MVG9legacy", "client_secret": "LEGACYSECRET"
            }),
        )
        .await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(app["settings"]["require_pkce"], false);
    assert_eq!(app["settings"]["require_secret_refresh"], true);
    let (status, _) = env
        .control(Method::POST, "/apps", json!({"client_id": "3MVG9legacy"}))
        .await;
    assert_eq!(status, 409);
    let (status, _) = env
        .control(Method::POST, "/apps", json!({"no_such_setting": 1}))
        .await;
    assert_eq!(status, 400);
    let (_, list) = env.control(Method::GET, "/apps", Value::Null).await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    let r = env
        .authorize(
            "",
            &[
                ("response_type", "code"),
                ("client_id", "3MVG9legacy"),
                ("redirect_uri", CALLBACK),
                ("scope", "api refresh_token"),
            ],
        )
        .await;
    let code = param(&query_of(r.headers()["location"].to_str().unwrap()), "code")
        .expect("no PKCE needed");
    let (st, t) = env
        .token(
            "",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "3MVG9legacy"),
                ("client_secret", "LEGACYSECRET"),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(st, 200, "{t}");
    let (st, b) = env
        .token(
            "",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &s(&t, "refresh_token")),
                ("client_id", "3MVG9legacy"),
            ],
        )
        .await;
    assert_error(st, &b, "invalid_client", "invalid client credentials");
}

#[tokio::test]
async fn users_can_be_created_changed_and_deactivated() {
    let env = start_with(EmulatorConfig::default()).await;
    let (status, user) = env.control(Method::POST, "/users", json!({"username": "sam.lee@acme.test", "password": "s3cret", "first_name": "Sam", "last_name": "Lee"})).await;
    assert_eq!(status, 201, "{user}");
    assert!(s(&user, "id").starts_with("005"));
    let (status, _) = env
        .control(
            Method::POST,
            "/users",
            json!({"username": "sam.lee@acme.test"}),
        )
        .await;
    assert_eq!(status, 400);
    let (_, users) = env.control(Method::GET, "/users", Value::Null).await;
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "sam.lee@acme.test")
    );
    let (status, user) = env
        .control(
            Method::PATCH,
            "/users/sam.lee@acme.test",
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["active"], false);
}

#[tokio::test]
async fn tokens_list_and_control_expiry() {
    let env = start().await;
    let t = env.tokens("api refresh_token").await;
    let (_, tokens) = env.control(Method::GET, "/tokens", Value::Null).await;
    let tokens = tokens.as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    for tok in tokens {
        assert_eq!(tok["client_id"], env.client_id);
        assert_eq!(tok["username"], "admin@emulator.test");
        assert_eq!(tok["state"], "active");
    }
    assert!(
        tokens
            .iter()
            .any(|x| x["kind"] == "access" && x["value"] == t["access_token"])
    );
    assert!(
        tokens
            .iter()
            .any(|x| x["kind"] == "refresh" && x["value"] == t["refresh_token"])
    );
    let (status, _) = env
        .control(
            Method::POST,
            "/tokens/expire",
            json!({"token": t["access_token"]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(env.userinfo_status(&s(&t, "access_token")).await, 403);
    let (status, _) = env
        .control(
            Method::POST,
            "/tokens/expire",
            json!({"token": t["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(env.refresh(&s(&t, "refresh_token")).await.0, 400);
    let (_, tokens) = env.control(Method::GET, "/tokens", Value::Null).await;
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["state"] == "expired"),
        "{tokens}"
    );
    let t2 = env.tokens("api refresh_token").await;
    let (status, _) = env
        .control(
            Method::POST,
            "/tokens/revoke",
            json!({"token": t2["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(env.userinfo_status(&s(&t2, "access_token")).await, 403);
    let (status, _) = env
        .control(Method::POST, "/tokens/revoke", json!({"token": "nope"}))
        .await;
    assert_eq!(status, 404);
    let (status, body) = env
        .control(Method::POST, "/clock", json!({"advance_seconds": "x"}))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn api_limit_and_clock_controls() {
    let env = start().await;
    let emu = env.handle.emulator();
    let (status, usage) = env
        .control(Method::POST, "/limits", json!({"daily_api_limit": 2}))
        .await;
    assert_eq!((status, usage["max"].as_u64()), (200, Some(2)));
    assert!(emu.count_api_call().is_ok());
    assert_eq!(emu.count_api_call().map(|u| u.used), Ok(2));
    assert!(emu.count_api_call().is_err());
    // The limit is daily: a new day on the emulator clock starts the count again.
    env.advance(86_400).await;
    assert_eq!(emu.count_api_call().map(|u| u.used), Ok(1));
    let before = emu.now_ms();
    let (_, clock) = env
        .control(Method::POST, "/clock", json!({"advance_seconds": 3600}))
        .await;
    assert!(clock["now_ms"].as_i64().unwrap() >= before + 3_600_000);
    let (status, _) = env.control(Method::GET, "/nope", Value::Null).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn tls_serves_https_with_a_written_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let handle = patchbay_fake_salesforce::spawn(EmulatorConfig {
        tls_cert_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(handle.base_url().starts_with("https://127.0.0.1:"));
    let cert = std::fs::read(dir.path().join("cert.pem")).unwrap();
    assert!(dir.path().join("key.pem").exists());
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&cert).unwrap()])
        .build()
        .unwrap();
    let r = client
        .get(format!(
            "{}/.well-known/openid-configuration",
            handle.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info = handle.startup_info();
    assert_eq!(info["base_url"], handle.base_url());
    handle.shutdown().await;
}

#[tokio::test]
async fn seed_file_creates_users_and_apps_at_start() {
    let seed = patchbay_fake_salesforce::config::SeedFile::from_json(
        r#"{
        "users": [{"username": "integration@acme.test", "password": "pw"}],
        "apps": [{"name": "Server", "client_id": "3MVG9server", "client_secret": "SERVERSECRET",
                  "client_credentials_enabled": true, "run_as_username": "integration@acme.test",
                  "scopes": "api id"}]
    }"#,
    )
    .unwrap();
    assert!(patchbay_fake_salesforce::config::SeedFile::from_json(r#"{"bogus": 1}"#).is_err());
    let env = start_with(EmulatorConfig {
        seed_file: seed,
        ..Default::default()
    })
    .await;
    let (s, b) = env
        .token(
            "",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "3MVG9server"),
                ("client_secret", "SERVERSECRET"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["scope"], "api id");
    let (_, tokens) = env.control(Method::GET, "/tokens", Value::Null).await;
    assert_eq!(tokens[0]["username"], "integration@acme.test");
}

#[tokio::test]
async fn seeded_org_users_log_in_with_the_default_password() {
    let env = start_with(EmulatorConfig {
        records: 50,
        ..Default::default()
    })
    .await;
    let (_, users) = env.control(Method::GET, "/users", Value::Null).await;
    let users = users.as_array().unwrap();
    assert!(users.len() > 1, "seeded org has several users");
    let other = users
        .iter()
        .map(|u| s(u, "username"))
        .find(|u| u != "admin@emulator.test")
        .unwrap();
    let emu = env.handle.emulator();
    assert!(emu.org().read().find_user_by_username(&other).is_some());
    let html = env
        .authorize(
            "",
            &[
                ("response_type", "code"),
                ("client_id", &env.client_id),
                ("redirect_uri", CALLBACK),
                ("code_challenge", CHALLENGE),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    let start = html.find("name=\"tx\" value=\"").expect(&html) + 17;
    let tx = html[start..].split('"').next().unwrap().to_owned();
    let page = env
        .http
        .post(env.url("/services/oauth2/authorize/login"))
        .form(&[
            ("tx", tx.as_str()),
            ("username", other.as_str()),
            ("password", "password123"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"allow\""), "{page}");
}

#[tokio::test]
async fn with_a_control_token_the_control_plane_answers_only_to_it() {
    let env = start_with(EmulatorConfig {
        auto_approve: true,
        control_token: Some("ctl-token-123".to_owned()),
        ..EmulatorConfig::default()
    })
    .await;
    let url = format!("{}/__emulator/info", env.base);
    let none = env.http.get(&url).send().await.expect("info");
    assert_eq!(none.status(), 404);
    let wrong = env
        .http
        .get(&url)
        .header("x-emulator-token", "ctl-token-12")
        .send()
        .await
        .expect("info");
    assert_eq!(wrong.status(), 404);
    let tokens = env
        .http
        .get(format!("{}/__emulator/tokens", env.base))
        .send()
        .await
        .expect("tokens");
    assert_eq!(tokens.status(), 404, "grants' tokens are not handed out");
    let right = env
        .http
        .get(&url)
        .header("x-emulator-token", "ctl-token-123")
        .send()
        .await
        .expect("info");
    assert_eq!(right.status(), 200);
    // The Salesforce surface is unaffected.
    let (status, _) = env
        .token(
            "",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "nope"),
                ("client_id", &env.client_id),
                ("client_secret", &env.client_secret),
            ],
        )
        .await;
    assert_eq!(status, 400);
}
