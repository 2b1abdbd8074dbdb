use aws_lc_rs::digest;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_refreshes_under_rotation_let_exactly_one_win() {
    let env = start().await;
    env.patch_default_app(json!({"rotate_refresh_tokens": true}))
        .await;
    let t = env.tokens("api refresh_token").await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    env.control(Method::DELETE, "/requests", Value::Null).await;

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let http = client();
        let url = env.url("/services/oauth2/token");
        let form = vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), rt.clone()),
            ("client_id".to_owned(), env.client_id.clone()),
            ("client_secret".to_owned(), env.client_secret.clone()),
        ];
        tasks.push(tokio::spawn(async move {
            let r = http.post(url).form(&form).send().await.expect("send");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == 200 {
            ok += 1;
            assert!(body["refresh_token"].is_string());
        } else {
            assert_error(
                status,
                &body,
                "invalid_grant",
                "expired access/refresh token",
            );
        }
    }
    assert_eq!(ok, 1, "exactly one refresh may win");
    let (_, log) = env.control(Method::GET, "/requests", Value::Null).await;
    let sha = hex::encode(digest::digest(&digest::SHA256, rt.as_bytes()));
    let presented = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["refresh_token_sha256"] == sha.as_str())
        .count();
    assert_eq!(presented, 50);
    // The reuses revoked the chain, so nothing stays active.
    let (_, tokens) = env.control(Method::GET, "/tokens", Value::Null).await;
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["state"] != "active")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn independent_grants_refresh_in_parallel() {
    let env = start().await;
    env.patch_default_app(json!({"rotate_refresh_tokens": true}))
        .await;
    let mut users = Vec::new();
    for i in 0..10 {
        let username = format!("user{i}@acme.test");
        let (status, _) = env
            .control(Method::POST, "/users", json!({"username": username}))
            .await;
        assert_eq!(status, 201);
        users.push(username);
    }
    let mut tokens = Vec::new();
    for u in &users {
        let r = env
            .authorize(
                "",
                &[
                    ("response_type", "code"),
                    ("client_id", &env.client_id),
                    ("redirect_uri", CALLBACK),
                    ("scope", "api refresh_token"),
                    ("login_hint", u),
                    ("code_challenge", CHALLENGE),
                ],
            )
            .await;
        let code = param(&query_of(r.headers()["location"].to_str().unwrap()), "code").unwrap();
        let (_, t) = env.exchange("", &code).await;
        tokens.push(t["refresh_token"].as_str().unwrap().to_owned());
    }
    let mut tasks = Vec::new();
    for rt in tokens {
        let http = client();
        let url = env.url("/services/oauth2/token");
        let (id, secret) = (env.client_id.clone(), env.client_secret.clone());
        tasks.push(tokio::spawn(async move {
            let mut current = rt;
            for _ in 0..5 {
                let r = http
                    .post(&url)
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", current.as_str()),
                        ("client_id", id.as_str()),
                        ("client_secret", secret.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let b: Value = r.json().await.unwrap();
                current = b["refresh_token"].as_str().unwrap().to_owned();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
