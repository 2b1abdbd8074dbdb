use serde_json::{Value, json};

use crate::support::*;

fn rt(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}
fn at(body: &Value) -> String {
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_token_and_omits_it() {
    let env = start().await;
    let first = env.tokens("api refresh_token").await;
    for _ in 0..2 {
        let (s, b) = env.refresh(&rt(&first)).await;
        assert_eq!(s, 200, "{b}");
        assert!(b.get("refresh_token").is_none(), "{b}");
        assert_eq!(b["scope"], "api refresh_token");
        assert_eq!(env.userinfo_status(&at(&b)).await, 200);
    }
    // offline_access also yields a refresh token.
    assert!(
        env.tokens("api offline_access")
            .await
            .get("refresh_token")
            .is_some()
    );
}

#[tokio::test]
async fn refresh_secret_follows_the_app_setting() {
    let env = start().await;
    let t = env.tokens("api refresh_token").await;
    let no_secret = [
        ("grant_type", "refresh_token"),
        ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ("client_id", env.client_id.as_str()),
    ];
    let (s, b) = env.token("", &no_secret).await;
    assert_error(s, &b, "invalid_client", "invalid client credentials");
    let mut wrong = no_secret.to_vec();
    wrong.push(("client_secret", "nope"));
    let (s, b) = env.token("", &wrong).await;
    assert_error(s, &b, "invalid_client", "invalid client credentials");
    env.patch_default_app(json!({"require_secret_refresh": false}))
        .await;
    assert_eq!(env.token("", &no_secret).await.0, 200);
    let (s, b) = env
        .token(
            "",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "5Aep861nope"),
                ("client_id", &env.client_id),
                ("client_secret", &env.client_secret),
            ],
        )
        .await;
    assert_error(s, &b, "invalid_grant", "expired access/refresh token");
}

#[tokio::test]
async fn rotation_issues_new_tokens_and_reuse_revokes_the_grant() {
    let env = start().await;
    env.patch_default_app(json!({"rotate_refresh_tokens": true}))
        .await;
    let first = env.tokens("api refresh_token").await;
    let (s, second) = env.refresh(&rt(&first)).await;
    assert_eq!(s, 200);
    assert_ne!(rt(&second), rt(&first));
    let (s, third) = env.refresh(&rt(&second)).await;
    assert_eq!(s, 200);
    assert_eq!(env.userinfo_status(&at(&third)).await, 200);
    // Presenting a rotated-out token kills the whole chain.
    let (s, b) = env.refresh(&rt(&first)).await;
    assert_error(s, &b, "invalid_grant", "expired access/refresh token");
    let (s, _) = env.refresh(&rt(&third)).await;
    assert_eq!(s, 400);
    assert_eq!(env.userinfo_status(&at(&third)).await, 403);
    let (_, tokens) = env
        .control(reqwest::Method::GET, "/tokens", Value::Null)
        .await;
    let state_of = |v: &str| {
        tokens
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["value"] == v)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state_of(&rt(&first)), "rotated");
    assert_eq!(state_of(&rt(&second)), "rotated");
    assert_eq!(state_of(&rt(&third)), "revoked");
    assert_eq!(state_of(&at(&third)), "revoked");
}

#[tokio::test]
async fn refresh_token_policies() {
    let env = start().await;
    env.patch_default_app(json!({"refresh_token_policy": {"type": "immediately_expire"}}))
        .await;
    assert!(
        env.tokens("api refresh_token")
            .await
            .get("refresh_token")
            .is_none()
    );

    env.patch_default_app(
        json!({"refresh_token_policy": {"type": "expire_after", "seconds": 3600}}),
    )
    .await;
    let t = env.tokens("api refresh_token").await;
    env.advance(1800).await;
    assert_eq!(env.refresh(&rt(&t)).await.0, 200);
    env.advance(1801).await;
    let (s, b) = env.refresh(&rt(&t)).await;
    assert_error(s, &b, "invalid_grant", "expired access/refresh token");

    env.patch_default_app(
        json!({"refresh_token_policy": {"type": "expire_if_unused", "seconds": 600}}),
    )
    .await;
    let t = env.tokens("api refresh_token").await;
    for _ in 0..3 {
        env.advance(500).await;
        assert_eq!(env.refresh(&rt(&t)).await.0, 200);
    }
    env.advance(601).await;
    assert_eq!(env.refresh(&rt(&t)).await.0, 400);

    env.patch_default_app(json!({"refresh_token_policy": {"type": "infinite"}}))
        .await;
    let t = env.tokens("api refresh_token").await;
    env.advance(400 * 86_400).await;
    assert_eq!(env.refresh(&rt(&t)).await.0, 200);
}

#[tokio::test]
async fn sixth_grant_evicts_the_oldest() {
    let env = start().await;
    let mut grants = Vec::new();
    for _ in 0..6 {
        grants.push(env.tokens("api refresh_token").await);
    }
    let (s, b) = env.refresh(&rt(&grants[0])).await;
    assert_error(s, &b, "invalid_grant", "expired access/refresh token");
    assert_eq!(env.userinfo_status(&at(&grants[0])).await, 403);
    for g in &grants[1..] {
        assert_eq!(env.refresh(&rt(g)).await.0, 200);
        assert_eq!(env.userinfo_status(&at(g)).await, 200);
    }
    let (_, list) = env
        .control(reqwest::Method::GET, "/grants", Value::Null)
        .await;
    let revoked: Vec<bool> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["revoked"] == true)
        .collect();
    assert_eq!(revoked, [true, false, false, false, false, false]);
}

#[tokio::test]
async fn access_tokens_expire_after_inactivity_and_use_slides_them() {
    let env = start().await;
    env.patch_default_app(json!({"access_token_ttl_secs": 600}))
        .await;
    let t = env.tokens("api").await;
    for _ in 0..3 {
        env.advance(500).await;
        assert_eq!(env.userinfo_status(&at(&t)).await, 200);
    }
    env.advance(601).await;
    let r = env
        .http
        .get(env.url("/services/oauth2/userinfo"))
        .bearer_auth(at(&t))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.text().await.unwrap(), "Bad_OAuth_Token");
    let principal = env.handle.emulator().authenticate_rest(Some(&at(&t)));
    assert!(principal.is_err());
}

#[tokio::test]
async fn rest_authentication_contract() {
    use patchbay_fake_salesforce::RestAuthError;
    let env = start().await;
    let emu = env.handle.emulator();
    let t = env.tokens("api").await;
    let p = emu.authenticate_rest(Some(&at(&t))).unwrap();
    assert_eq!(p.org_id, emu.org_id());
    assert_eq!(p.client_id, env.client_id);
    assert!(p.user_id.starts_with("005"));
    assert_eq!(emu.authenticate_rest(None), Err(RestAuthError::Missing));
    assert_eq!(
        emu.authenticate_rest(Some("00Dx!bogus")),
        Err(RestAuthError::Invalid)
    );
    let no_api = env.tokens("id").await;
    assert_eq!(
        emu.authenticate_rest(Some(&at(&no_api))),
        Err(RestAuthError::NoApiScope)
    );
}
