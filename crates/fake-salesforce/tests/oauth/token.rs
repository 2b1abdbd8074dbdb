use aws_lc_rs::{hmac, signature};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::support::*;

const ALL: &str = "api refresh_token openid id email";

#[tokio::test]
async fn code_exchange_returns_exactly_salesforce_fields_in_order() {
    let env = start().await;
    let code = env.code("", ALL).await;
    let r = env
        .http
        .post(env.url("/services/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", env.client_id.as_str()),
            ("client_secret", env.client_secret.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let raw = r.text().await.unwrap();
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&raw)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    // serde_json's Map is sorted unless preserve_order is on, so check order on the raw text.
    let positions: Vec<usize> = [
        "\"access_token\"",
        "\"refresh_token\"",
        "\"signature\"",
        "\"scope\"",
        "\"id_token\"",
        "\"instance_url\"",
        "\"id\"",
        "\"token_type\"",
        "\"issued_at\"",
    ]
    .iter()
    .map(|k| {
        raw.find(k)
            .unwrap_or_else(|| panic!("{k} missing in {raw}"))
    })
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{raw}");
    assert_eq!(keys.len(), 9, "{raw}");
    let body: Value = serde_json::from_str(&raw).unwrap();
    let org_id = env.handle.emulator().org_id();
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}!", &org_id[..15]))
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["instance_url"], env.base);
    assert_eq!(body["scope"], ALL);
    let issued_at = body["issued_at"].as_str().unwrap();
    assert!(issued_at.len() == 13 && issued_at.parse::<u64>().is_ok());
    let id = body["id"].as_str().unwrap();
    assert!(
        id.starts_with(&format!("{}/id/{org_id}/005", env.base)),
        "{id}"
    );
    // signature = base64(HMAC-SHA256(secret, id + issued_at))
    let key = hmac::Key::new(hmac::HMAC_SHA256, env.client_secret.as_bytes());
    let expected = STANDARD.encode(hmac::sign(&key, format!("{id}{issued_at}").as_bytes()));
    assert_eq!(body["signature"], expected);
}

#[tokio::test]
async fn id_token_verifies_against_the_jwks() {
    let env = start().await;
    let r = env
        .authorize(
            "/test",
            &[
                ("response_type", "code"),
                ("client_id", &env.client_id),
                ("redirect_uri", CALLBACK),
                ("scope", "openid api"),
                ("nonce", "n-0S6"),
                ("code_challenge", CHALLENGE),
            ],
        )
        .await;
    let code = param(&query_of(r.headers()["location"].to_str().unwrap()), "code").unwrap();
    let (status, body) = env.exchange("/test", &code).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh scope, no refresh token"
    );
    let jwt = body["id_token"].as_str().unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], format!("{}/test", env.base));
    assert_eq!(claims["aud"], env.client_id);
    assert_eq!(claims["sub"], body["id"]);
    assert_eq!(claims["nonce"], "n-0S6");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    let config: Value = env
        .get("/test/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(config["issuer"], format!("{}/test", env.base));
    let jwks: Value = env
        .http
        .get(config["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kid"], header["kid"]);
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let public = signature::RsaPublicKeyComponents { n: &n, e: &e };
    let signed = format!("{}.{}", parts[0], parts[1]);
    public
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .expect("id_token signature verifies");
}

#[tokio::test]
async fn client_auth_by_basic_and_secret_rules() {
    let env = start().await;
    let code = env.code("", "api").await;
    let r = env
        .http
        .post(env.url("/services/oauth2/token"))
        .basic_auth(&env.client_id, Some(&env.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let code = env.code("", "api").await;
    let form = |secret: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("code", ""),
            ("client_id", ""),
            ("client_secret", secret),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ]
    };
    let mut wrong = form("wrong");
    wrong[1].1 = &code;
    wrong[2].1 = &env.client_id;
    let (s, b) = env.token("", &wrong).await;
    assert_error(s, &b, "invalid_client", "invalid client credentials");
    let missing: Vec<_> = wrong
        .iter()
        .copied()
        .filter(|(k, _)| *k != "client_secret")
        .collect();
    let (s, b) = env.token("", &missing).await;
    assert_error(s, &b, "invalid_client", "invalid client credentials");
    let mut unknown = wrong.clone();
    unknown[2].1 = "3MVG9unknown";
    let (s, b) = env.token("", &unknown).await;
    assert_error(s, &b, "invalid_client_id", "client identifier invalid");

    env.patch_default_app(json!({"require_secret_web_server": false}))
        .await;
    let (s, b) = env.token("", &missing).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn codes_are_single_use_expire_and_check_verifier_and_redirect() {
    let env = start().await;
    let code = env.code("", "api").await;
    assert_eq!(env.exchange("", &code).await.0, 200);
    let (s, b) = env.exchange("", &code).await;
    assert_error(s, &b, "invalid_grant", "expired authorization code");

    let code = env.code("", "api").await;
    env.advance(15 * 60 + 1).await;
    let (s, b) = env.exchange("", &code).await;
    assert_error(s, &b, "invalid_grant", "expired authorization code");

    for verifier in [
        Some("not-the-verifier-not-the-verifier-not-the-verifier"),
        None,
    ] {
        let code = env.code("", "api").await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", env.client_id.as_str()),
            ("client_secret", env.client_secret.as_str()),
            ("redirect_uri", CALLBACK),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        let (s, b) = env.token("", &form).await;
        assert_error(s, &b, "invalid_grant", "invalid code verifier");
    }

    let code = env.code("", "api").await;
    let (s, b) = env
        .token(
            "",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &env.client_id),
                ("client_secret", &env.client_secret),
                ("redirect_uri", "http://localhost:8080/other"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));

    let (s, b) = env
        .token(
            "",
            &[
                ("grant_type", "authorization_code"),
                ("code", "aPrxbogus=="),
                ("client_id", &env.client_id),
                ("client_secret", &env.client_secret),
            ],
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn bad_input_gets_salesforce_shaped_errors() {
    let env = start().await;
    let (s, b) = env
        .token(
            "",
            &[
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b"),
            ],
        )
        .await;
    assert_error(s, &b, "unsupported_grant_type", "grant type not supported");
    let (s, b) = env.token("", &[("client_id", "x")]).await;
    assert_error(s, &b, "unsupported_grant_type", "grant type not supported");
    for (content_type, body) in [
        ("application/json", "{\"grant_type\":\"refresh_token\"}"),
        ("application/x-www-form-urlencoded", "%%%&&==garbage\u{0}"),
        ("text/plain", ""),
    ] {
        let r = env
            .http
            .post(env.url("/login/services/oauth2/token"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let b: Value = r.json().await.unwrap();
        assert!(b["error"].is_string() && b["error_description"].is_string());
    }
    let r = env.get("/services/oauth2/token").await;
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_request");
}

#[tokio::test]
async fn client_credentials_only_on_my_domain_with_run_as_user() {
    let env = start().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", env.client_id.as_str()),
        ("client_secret", env.client_secret.as_str()),
    ];
    for prefix in ["/login", "/test"] {
        let (s, b) = env.token(prefix, &form).await;
        assert_error(
            s,
            &b,
            "invalid_grant",
            "request not supported on this domain",
        );
    }
    let (s, b) = env.token("", &form).await;
    assert_error(
        s,
        &b,
        "invalid_grant",
        "client credentials flow not enabled",
    );
    env.patch_default_app(json!({"client_credentials_enabled": true}))
        .await;
    let (s, b) = env.token("", &form).await;
    assert_error(s, &b, "invalid_grant", "no client credentials user enabled");
    env.patch_default_app(json!({"run_as_username": "admin@emulator.test"}))
        .await;
    let (s, b) = env
        .token(
            "",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &env.client_id),
            ],
        )
        .await;
    assert_error(s, &b, "invalid_client", "invalid client credentials");
    let (s, b) = env.token("", &form).await;
    assert_eq!(s, 200, "{b}");
    let keys: Vec<&String> = b.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 7, "{b}");
    assert!(b.get("refresh_token").is_none() && b.get("id_token").is_none());
    let scope = b["scope"].as_str().unwrap();
    for banned in ["full", "web", "refresh_token", "offline_access"] {
        assert!(!scope.split(' ').any(|s| s == banned), "{scope}");
    }
    assert_eq!(
        env.userinfo_status(b["access_token"].as_str().unwrap())
            .await,
        200
    );
}

#[tokio::test]
async fn urlencoded_format_on_request() {
    let env = start().await;
    let code = env.code("", "api").await;
    let r = env
        .http
        .post(env.url("/services/oauth2/token"))
        .header("accept", "application/x-www-form-urlencoded")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", env.client_id.as_str()),
            ("client_secret", env.client_secret.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.starts_with("access_token=") && text.contains("&issued_at="),
        "{text}"
    );
}

#[tokio::test]
async fn xml_format_by_parameter() {
    let env = start().await;
    let code = env.code("", "api").await;
    let r = env
        .http
        .post(env.url("/services/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", env.client_id.as_str()),
            ("client_secret", env.client_secret.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
            ("format", "xml"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/xml");
    let text = r.text().await.unwrap();
    assert!(
        text.contains("<OAuth><access_token>") && text.contains("<token_type>Bearer</token_type>")
    );
}
