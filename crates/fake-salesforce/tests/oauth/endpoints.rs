use serde_json::{Value, json};

use crate::support::*;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_owned()
}

async fn revoke(env: &Env, token: &str) -> reqwest::Response {
    env.http
        .post(env.url("/services/oauth2/revoke"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn revoking_access_and_refresh_tokens() {
    let env = start().await;
    let a = env.tokens("api refresh_token").await;
    let (_, b) = env.refresh(&s(&a, "refresh_token")).await;
    // An access token alone.
    let r = revoke(&env, &s(&a, "access_token")).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().is_empty());
    assert_eq!(env.userinfo_status(&s(&a, "access_token")).await, 403);
    assert_eq!(env.userinfo_status(&s(&b, "access_token")).await, 200);
    // Again: invalid_token.
    let r = revoke(&env, &s(&a, "access_token")).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    // The refresh token takes every access token it minted.
    let r = env
        .http
        .get(env.url("/login/services/oauth2/revoke"))
        .query(&[("token", s(&a, "refresh_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(env.userinfo_status(&s(&b, "access_token")).await, 403);
    assert_eq!(env.refresh(&s(&a, "refresh_token")).await.0, 400);
    let r = env
        .http
        .post(env.url("/services/oauth2/revoke"))
        .form(&[("token", "x"), ("token_type_hint", "id_token")])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_token_type");
    let r = env
        .http
        .get(env.url("/services/oauth2/revoke?token=nope&callback=cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        "cb({\"error\":\"invalid_token\"});"
    );
}

async fn introspect(env: &Env, id: &str, secret: &str, token: &str) -> (u16, Value) {
    let r = env
        .http
        .post(env.url("/services/oauth2/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn introspection_sees_own_tokens_only_unless_allowed() {
    let env = start().await;
    let t = env.tokens("api refresh_token").await;
    let (status, body) = introspect(
        &env,
        &env.client_id,
        &env.client_secret,
        &s(&t, "access_token"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(body["client_id"], env.client_id);
    assert_eq!(body["username"], "admin@emulator.test");
    assert_eq!(body["sub"], t["id"]);
    let iat = body["iat"].as_i64().unwrap();
    assert_eq!(iat, s(&t, "issued_at").parse::<i64>().unwrap() / 1000);
    assert_eq!(body["exp"].as_i64().unwrap(), iat + 7200);
    let (_, body) = introspect(
        &env,
        &env.client_id,
        &env.client_secret,
        &s(&t, "refresh_token"),
    )
    .await;
    assert_eq!(body["token_type"], "refresh_token");
    assert!(
        body.get("exp").is_none(),
        "infinite policy has no exp: {body}"
    );

    let (status, other) = env
        .control(reqwest::Method::POST, "/apps", json!({"name": "Other"}))
        .await;
    assert_eq!(status, 201);
    let (oid, osecret) = (s(&other, "client_id"), s(&other, "client_secret"));
    let (_, body) = introspect(&env, &oid, &osecret, &s(&t, "access_token")).await;
    assert_eq!(body, json!({"active": false}));
    env.control(
        reqwest::Method::PATCH,
        &format!("/apps/{oid}"),
        json!({"introspect_all_tokens": true}),
    )
    .await;
    let (_, body) = introspect(&env, &oid, &osecret, &s(&t, "access_token")).await;
    assert_eq!(body["active"], true);

    let (status, body) = introspect(&env, &env.client_id, "wrong", &s(&t, "access_token")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    revoke(&env, &s(&t, "access_token")).await;
    let (_, body) = introspect(
        &env,
        &env.client_id,
        &env.client_secret,
        &s(&t, "access_token"),
    )
    .await;
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn userinfo_and_identity_url() {
    let env = start().await;
    let t = env.tokens("api openid").await;
    let token = s(&t, "access_token");
    let info: Value = env
        .http
        .get(env.url("/services/oauth2/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], t["id"]);
    assert_eq!(info["preferred_username"], "admin@emulator.test");
    for k in [
        "user_id",
        "organization_id",
        "email",
        "given_name",
        "family_name",
        "zoneinfo",
        "urls",
        "locale",
    ] {
        assert!(info.get(k).is_some(), "{k} missing");
    }
    let id_url = s(&t, "id");
    let id: Value = env
        .http
        .get(format!("{id_url}?version=latest"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(id["id"], t["id"]);
    assert_eq!(id["username"], "admin@emulator.test");
    assert_eq!(
        id["urls"]["rest"],
        format!("{}/services/data/v66.0/", env.base)
    );
    for k in [
        "asserted_user",
        "user_id",
        "organization_id",
        "nick_name",
        "display_name",
        "email",
        "first_name",
        "last_name",
        "timezone",
        "photos",
        "status",
        "active",
        "user_type",
        "language",
        "locale",
        "utcOffset",
        "last_modified_date",
        "is_app_installed",
    ] {
        assert!(id.get(k).is_some(), "{k} missing");
    }
    // oauth_token parameter, and the literal {version} without a version.
    let id: Value = env
        .http
        .get(&id_url)
        .query(&[("oauth_token", &token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        id["urls"]["rest"],
        format!("{}/services/data/v{{version}}/", env.base)
    );
    let r = env
        .http
        .get(&id_url)
        .bearer_auth("00Dbad!token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.text().await.unwrap(), "Bad_OAuth_Token");
    let r = env
        .http
        .get(env.url("/services/oauth2/userinfo"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn openid_configuration_per_host() {
    let env = start().await;
    for prefix in ["", "/login", "/test"] {
        let c: Value = env
            .get(&format!("{prefix}/.well-known/openid-configuration"))
            .await
            .json()
            .await
            .unwrap();
        let issuer = format!("{}{prefix}", env.base);
        assert_eq!(c["issuer"], issuer);
        assert_eq!(
            c["token_endpoint"],
            format!("{issuer}/services/oauth2/token")
        );
        assert_eq!(c["jwks_uri"], format!("{issuer}/id/keys"));
        assert_eq!(
            c["introspection_endpoint"],
            format!("{issuer}/services/oauth2/introspect")
        );
        assert_eq!(c["id_token_signing_alg_values_supported"], json!(["RS256"]));
    }
    let jwks: Value = env.get("/id/keys").await.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
}

/// Patchbay's tests must see that a deleted connection was revoked at Salesforce: revokes
/// (POST and GET, every host) reach the request log with the token hashed, never in clear.
#[tokio::test]
async fn revokes_are_logged_with_the_token_hashed() {
    let env = start().await;
    let a = env.tokens("api refresh_token").await;
    let access = s(&a, "access_token");
    let refresh = s(&a, "refresh_token");
    env.handle.emulator().clear_requests();
    assert_eq!(revoke(&env, &access).await.status(), 200);
    let r = env
        .http
        .get(env.url("/login/services/oauth2/revoke"))
        .query(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = env.handle.emulator().requests();
    let revokes: Vec<_> = log.iter().filter(|e| e.kind == "revoke").collect();
    assert_eq!(revokes.len(), 2, "{log:?}");
    assert_eq!(revokes[0].method, "POST");
    assert_eq!(revokes[0].path, "/services/oauth2/revoke");
    assert_eq!(revokes[0].status, Some(200));
    assert_eq!(revokes[1].path, "/login/services/oauth2/revoke");
    let hash = patchbay_fake_salesforce::oauth::crypto::sha256_hex;
    assert_eq!(
        revokes[0].token_sha256.as_deref(),
        Some(hash(&access).as_str())
    );
    assert_eq!(
        revokes[1].token_sha256.as_deref(),
        Some(hash(&refresh).as_str())
    );
    let dumped = serde_json::to_string(&log).unwrap();
    assert!(!dumped.contains(&access) && !dumped.contains(&refresh));
}
