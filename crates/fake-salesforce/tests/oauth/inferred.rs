//! The switches for behaviours docs/salesforce.md marks as inferred [I]: each test checks the
//! default, flips the app setting over the control plane, and checks the other behaviour.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_owned()
}

/// GET authorize for the default app with `scope`; the redirect's query pairs.
async fn authorize_scope(env: &Env, scope: &str) -> Vec<(String, String)> {
    let r = env
        .authorize(
            "",
            &[
                ("response_type", "code"),
                ("client_id", &env.client_id),
                ("redirect_uri", CALLBACK),
                ("scope", scope),
                ("state", "st"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().expect("location");
    query_of(location)
}

#[tokio::test]
async fn disallowed_scopes_are_refused_or_dropped_per_app() {
    let env = start().await;
    env.patch_default_app(json!({"scopes": "api refresh_token"}))
        .await;
    let q = authorize_scope(&env, "api refresh_token openid").await;
    assert_eq!(param(&q, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(param(&q, "state").as_deref(), Some("st"));

    env.patch_default_app(json!({"ignore_disallowed_scopes": true}))
        .await;
    let q = authorize_scope(&env, "api refresh_token openid").await;
    assert_eq!(param(&q, "error"), None, "{q:?}");
    let code = param(&q, "code").expect("code");
    let (status, body) = env.exchange("", &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "api refresh_token");
    assert!(body.get("id_token").is_none(), "{body}");
    assert!(body.get("refresh_token").is_some(), "{body}");

    // Nothing left to grant is still an error.
    let q = authorize_scope(&env, "openid chatter_api").await;
    assert_eq!(param(&q, "error").as_deref(), Some("invalid_scope"));
}

#[tokio::test]
async fn id_token_on_refresh_follows_the_app_setting() {
    let env = start().await;
    let first = env.tokens("api refresh_token openid").await;
    assert!(first.get("id_token").is_some(), "{first}");
    let rt = s(&first, "refresh_token");
    let (status, body) = env.refresh(&rt).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_some(), "default: {body}");

    env.patch_default_app(json!({"id_token_on_refresh": false}))
        .await;
    let (status, body) = env.refresh(&rt).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    // The code exchange still carries one.
    let again = env.tokens("api refresh_token openid").await;
    assert!(again.get("id_token").is_some(), "{again}");
}

#[tokio::test]
async fn authorization_code_lifetime_is_per_app() {
    let env = start().await;
    // Default: still good after 14 minutes, gone after 15.
    let code = env.code("", "api").await;
    env.advance(14 * 60).await;
    assert_eq!(env.exchange("", &code).await.0, 200);
    let code = env.code("", "api").await;
    env.advance(15 * 60).await;
    let (status, body) = env.exchange("", &code).await;
    assert_error(status, &body, "invalid_grant", "expired authorization code");

    env.patch_default_app(json!({"authorization_code_ttl_secs": 60}))
        .await;
    let code = env.code("", "api").await;
    env.advance(30).await;
    assert_eq!(env.exchange("", &code).await.0, 200);
    let code = env.code("", "api").await;
    env.advance(61).await;
    let (status, body) = env.exchange("", &code).await;
    assert_error(status, &body, "invalid_grant", "expired authorization code");
}

fn id_token_lifetime(body: &Value) -> i64 {
    let jwt = s(body, "id_token");
    let payload = jwt.split('.').nth(1).expect("jwt payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json");
    claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat")
}

#[tokio::test]
async fn id_token_lifetime_is_per_app() {
    let env = start().await;
    assert_eq!(id_token_lifetime(&env.tokens("openid api").await), 300);
    env.patch_default_app(json!({"id_token_ttl_secs": 3600}))
        .await;
    assert_eq!(id_token_lifetime(&env.tokens("openid api").await), 3600);
}

#[tokio::test]
async fn a_secret_sent_to_a_public_app_can_be_refused() {
    let env = start().await;
    env.patch_default_app(json!({"require_secret_web_server": false}))
        .await;
    let without_secret = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("client_id", env.client_id.clone()),
            ("redirect_uri", CALLBACK.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    async fn post(env: &Env, pairs: Vec<(&'static str, String)>) -> (u16, Value) {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.token("", &borrowed).await
    }

    // Default: a correct secret is accepted although optional, and so is none.
    let code = env.code("", "api").await;
    assert_eq!(env.exchange("", &code).await.0, 200);
    let code = env.code("", "api").await;
    assert_eq!(post(&env, without_secret(&code)).await.0, 200);

    env.patch_default_app(json!({"reject_secret_when_optional": true}))
        .await;
    let code = env.code("", "api").await;
    let (status, body) = env.exchange("", &code).await;
    assert_error(
        status,
        &body,
        "invalid_client",
        "invalid client credentials",
    );
    let code = env.code("", "api").await;
    let (status, body) = post(&env, without_secret(&code)).await;
    assert_eq!(status, 200, "{body}");

    // Only while the secret is optional: a required secret is still required and accepted.
    env.patch_default_app(json!({"require_secret_web_server": true}))
        .await;
    let code = env.code("", "api").await;
    assert_eq!(env.exchange("", &code).await.0, 200);
}

#[tokio::test]
async fn error_faults_answer_in_the_shape_of_the_surface() {
    let env = start().await;
    let tokens = env.tokens("api refresh_token").await;
    let access = s(&tokens, "access_token");
    let rest = |path: &'static str| env.http.get(env.url(path)).bearer_auth(&access).send();
    let (status, _) = env
        .control(
            Method::POST,
            "/faults",
            json!({"target": "rest", "kind": "error", "code": "UNABLE_TO_LOCK_ROW",
                   "message": "unable to obtain exclusive access to this record"}),
        )
        .await;
    assert_eq!(status, 201);
    let r = rest("/services/data/v66.0/limits").await.expect("rest");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body,
        json!([{"message": "unable to obtain exclusive access to this record",
                "errorCode": "UNABLE_TO_LOCK_ROW"}])
    );
    // Used up: the next call is handled.
    let r = rest("/services/data/v66.0/limits").await.expect("rest");
    assert_eq!(r.status(), 200);

    let (status, _) = env
        .control(
            Method::POST,
            "/faults",
            json!({"target": "token", "kind": "error", "status": 400, "code": "inactive_org",
                   "message": "organization is locked", "grant_type": "refresh_token"}),
        )
        .await;
    assert_eq!(status, 201);
    let r = env
        .http
        .post(env.url("/services/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", s(&tokens, "refresh_token").as_str()),
            ("client_id", env.client_id.as_str()),
            ("client_secret", env.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": "inactive_org", "error_description": "organization is locked"})
    );
    // The refresh was not handled: the token still works.
    assert_eq!(env.refresh(&s(&tokens, "refresh_token")).await.0, 200);

    let (_, log) = env.control(Method::GET, "/requests", Value::Null).await;
    let faulted: Vec<&Value> = (log.as_array().expect("log").iter())
        .filter(|e| e["fault"] == "error")
        .collect();
    assert_eq!(faulted.len(), 2, "{log}");

    // A rule without a code is refused by the control plane.
    let (status, body) = env
        .control(
            Method::POST,
            "/faults",
            json!({"target": "rest", "kind": "error"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}
