//! The install flow, the token endpoint, metadata, revocation and expiry
//! (`docs/hubspot.md §2–§4, §6`).

use patchbay_fake_hubspot::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{REDIRECT, assert_error, auto, start, url_query};

#[tokio::test]
async fn install_refresh_metadata_and_introspection() {
    let emu = start(auto(20)).await;
    let code = emu.code().await;
    let (status, body) = emu
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &emu.config.client_id),
            ("client_secret", &emu.config.client_secret),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    let access = body["access_token"].as_str().expect("access").to_owned();
    let refresh = body["refresh_token"].as_str().expect("refresh").to_owned();

    let (status, refreshed) = emu
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &emu.config.client_id),
            ("client_secret", &emu.config.client_secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(
        refreshed["refresh_token"], refresh,
        "refresh tokens do not rotate"
    );
    assert_ne!(refreshed["access_token"], access.as_str());

    let (status, meta) = emu
        .get("", &format!("/oauth/v1/access-tokens/{access}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["token_type"], "access");
    assert_eq!(meta["user"], "admin@emulator.test");
    let expires_in = meta["expires_in"].as_i64().expect("expires_in");
    assert!((1700..=1800).contains(&expires_in), "{expires_in}");
    let info = emu.control(Method::GET, "/info", None).await;
    assert_eq!(meta["hub_id"], info["hub_id"]);
    assert!(
        meta["scopes"]
            .as_array()
            .expect("scopes")
            .contains(&json!("crm.objects.contacts.read"))
    );

    let (status, meta) = emu
        .get("", &format!("/oauth/v1/refresh-tokens/{refresh}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["token_type"], "refresh");
    assert_eq!(meta["client_id"], emu.config.client_id.as_str());

    for path in [
        "/oauth/v3/token/introspect",
        "/oauth/2026-03/token/introspect",
    ] {
        let body: Value = emu
            .http
            .post(emu.url(path))
            .form(&[
                ("client_id", emu.config.client_id.as_str()),
                ("client_secret", emu.config.client_secret.as_str()),
                ("token", access.as_str()),
            ])
            .send()
            .await
            .expect("introspect")
            .json()
            .await
            .expect("json");
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["token_use"], "access_token");
    }
    let (status, _) = emu.get("", "/oauth/v1/access-tokens/not-a-token").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_v3_token_endpoints_behave_like_v1() {
    let emu = start(auto(0)).await;
    let code = emu.code().await;
    for path in ["/oauth/v3/token", "/oauth/2026-03/token"] {
        let body: Value = emu
            .http
            .post(emu.url(path))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", emu.config.client_id.as_str()),
                ("client_secret", emu.config.client_secret.as_str()),
                ("redirect_uri", REDIRECT),
                ("code", code.as_str()),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        // The code works once: the second endpoint sees it used.
        if path == "/oauth/v3/token" {
            assert_eq!(body["token_type"], "bearer", "{body}");
        } else {
            assert_eq!(body["status"], "BAD_AUTH_CODE", "{body}");
        }
    }
}

/// A token request's form, and the `status` and `error` it must get.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test]
async fn token_errors_carry_hubspots_status_and_rfc_fields_and_no_secret() {
    let emu = start(auto(0)).await;
    let code = emu.code().await;
    let id = emu.config.client_id.clone();
    let secret = emu.config.client_secret.clone();
    let cases: Vec<Case<'_>> = vec![
        (
            vec![("grant_type", "password")],
            "BAD_GRANT_TYPE",
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", "nope"),
                ("client_secret", &secret),
                ("refresh_token", "x"),
            ],
            "BAD_CLIENT_ID",
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &id),
                ("client_secret", "wrong"),
                ("refresh_token", "x"),
            ],
            "BAD_CLIENT_SECRET",
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("refresh_token", "x"),
            ],
            "BAD_REFRESH_TOKEN",
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("redirect_uri", REDIRECT),
                ("code", "nope"),
            ],
            "BAD_AUTH_CODE",
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("redirect_uri", "http://evil.test/cb"),
                ("code", &code),
            ],
            "BAD_REDIRECT_URI",
            "invalid_grant",
        ),
    ];
    for (form, status_text, error) in cases {
        let (status, body) = emu.token(&form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["status"], status_text, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert!(body["message"].is_string() && body["error_description"].is_string());
        assert!(!body.to_string().contains(&secret), "secret leaked: {body}");
    }
}

#[tokio::test]
async fn expired_unknown_and_missing_tokens_get_401_with_the_documented_bodies() {
    let emu = start(auto(10)).await;
    let tokens = emu.install().await;
    let (status, _) = emu.get(&tokens.access, "/crm/v3/objects/contacts").await;
    assert_eq!(status, StatusCode::OK);
    emu.control(
        Method::POST,
        "/clock",
        Some(json!({"advance_seconds": 1800 + 300})),
    )
    .await;
    let (status, body) = emu.get(&tokens.access, "/crm/v3/objects/contacts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "EXPIRED_AUTHENTICATION");
    assert_eq!(
        body["message"],
        "The OAuth token used to make this call expired 5 minute(s) ago."
    );
    assert!(body["context"]["expire time"][0].is_string(), "{body}");
    let (status, body) = emu.get("no-such-token", "/crm/v3/objects/contacts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "INVALID_AUTHENTICATION");
    let response = emu
        .http
        .get(emu.url("/crm/v3/owners"))
        .send()
        .await
        .expect("call");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A refresh after expiry works and the new token is accepted.
    let (status, body) = emu
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &emu.config.client_id),
            ("client_secret", &emu.config.client_secret),
            ("refresh_token", &tokens.refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = emu
        .get(
            body["access_token"].as_str().expect("access"),
            "/crm/v3/objects/contacts",
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The control plane expires one token at once.
    let fresh = emu.install().await;
    emu.control(
        Method::POST,
        "/tokens/expire",
        Some(json!({"token": fresh.access})),
    )
    .await;
    let (status, body) = emu.get(&fresh.access, "/crm/v3/objects/deals").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "EXPIRED_AUTHENTICATION");
}

#[tokio::test]
async fn deleting_a_refresh_token_stops_refreshes_but_not_its_access_tokens() {
    let emu = start(auto(5)).await;
    let tokens = emu.install().await;
    let response = emu
        .http
        .delete(emu.url(&format!("/oauth/v1/refresh-tokens/{}", tokens.refresh)))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) = emu
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &emu.config.client_id),
            ("client_secret", &emu.config.client_secret),
            ("refresh_token", &tokens.refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "BAD_REFRESH_TOKEN");
    let (status, _) = emu.get(&tokens.access, "/crm/v3/objects/contacts").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "access tokens outlive the refresh token"
    );

    // The 2026-03 revoke endpoint, then the control plane's revocation of an access token.
    let second = emu.install().await;
    let response = emu
        .http
        .post(emu.url("/oauth/2026-03/token/revoke"))
        .form(&[
            ("client_id", emu.config.client_id.as_str()),
            ("client_secret", emu.config.client_secret.as_str()),
            ("token", second.refresh.as_str()),
        ])
        .send()
        .await
        .expect("revoke");
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = emu
        .get("", &format!("/oauth/v1/refresh-tokens/{}", second.refresh))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    emu.control(
        Method::POST,
        "/tokens/revoke",
        Some(json!({"token": second.access})),
    )
    .await;
    let (status, body) = emu.get(&second.access, "/crm/v3/objects/contacts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "INVALID_AUTHENTICATION");
    let listed = emu.control(Method::GET, "/tokens", None).await;
    let states: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["state"].as_str())
        .collect();
    assert!(
        states.contains(&"deleted") && states.contains(&"revoked") && states.contains(&"active"),
        "{states:?}"
    );
}

#[tokio::test]
async fn the_install_page_signs_in_asks_consent_and_refuses_mismatches_without_redirecting() {
    let emu = start(EmulatorConfig::default()).await;
    let page = emu
        .http
        .get(emu.authorize_url(&[]))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("crm.objects.contacts.read")
    );

    let scope = emu.config.scopes.join(" ");
    let base_form = |email: &str, password: &str, decision: &str| -> Vec<(String, String)> {
        [
            ("client_id", emu.config.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", scope.as_str()),
            ("state", "st-9"),
            ("email", email),
            ("password", password),
            ("decision", decision),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };
    let post = |form: Vec<(String, String)>| {
        emu.http
            .post(emu.url("/oauth/authorize"))
            .form(&form)
            .send()
    };
    let wrong = post(base_form("admin@emulator.test", "nope", "approve"))
        .await
        .expect("post");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let approved = post(base_form("admin@emulator.test", "password123", "approve"))
        .await
        .expect("post");
    assert_eq!(approved.status(), StatusCode::FOUND);
    let location = approved.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    let query = url_query(&location);
    assert_eq!(query["state"], "st-9");
    assert!(!query["code"].is_empty());
    let denied = post(base_form("", "", "deny")).await.expect("post");
    let query = url_query(denied.headers()["location"].to_str().expect("location"));
    assert_eq!(query["error"], "access_denied");

    let mismatches = [
        emu.authorize_url(&[])
            .replace("localhost%3A8080", "evil.test"),
        emu.authorize_url(&[])
            .replace(&emu.config.client_id, "unknown-app"),
        emu.authorize_url(&[("optional_scope", "crm.objects.invoices.read")]),
        emu.url(&format!(
            "/oauth/authorize?client_id={}&redirect_uri={REDIRECT}&scope=oauth",
            emu.config.client_id
        )),
    ];
    for url in mismatches {
        let response = emu.http.get(&url).send().await.expect("page");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(
            response.headers().get("location").is_none(),
            "no redirect for {url}"
        );
        assert!(
            response
                .text()
                .await
                .expect("html")
                .contains("Authorization failed")
        );
    }
}

#[tokio::test]
async fn optional_scopes_are_granted_and_missing_ones_give_403() {
    let config = patchbay_fake_hubspot::EmulatorConfig {
        scopes: vec!["oauth".to_owned(), "crm.objects.contacts.read".to_owned()],
        optional_scopes: vec!["crm.objects.deals.read".to_owned()],
        ..auto(30)
    };
    let emu = start(config).await;
    let location = emu
        .http
        .get(emu.authorize_url(&[("optional_scope", "crm.objects.deals.read")]))
        .send()
        .await
        .expect("authorize")
        .headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let code = url_query(&location)["code"].clone();
    let (_, body) = emu
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &emu.config.client_id),
            ("client_secret", &emu.config.client_secret),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .await;
    let access = body["access_token"].as_str().expect("access").to_owned();
    let (status, _) = emu.get(&access, "/crm/v3/objects/deals").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = emu.get(&access, "/crm/v3/owners").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "MISSING_SCOPES");
    assert_eq!(
        body["errors"][0]["context"]["requiredScopes"][0],
        "crm.objects.owners.read"
    );
    let (status, body) = emu
        .send(
            Method::POST,
            &access,
            "/crm/v3/objects/contacts",
            &json!({"properties": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "MISSING_SCOPES");
}
