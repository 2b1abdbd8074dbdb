//! CORS for the embeddable Vault modal (issue 11): the redirect URIs' origins and the
//! application's extra origins may read session calls; nobody else, never `*`, and never an
//! API-key call or the admin API.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Db, Options, TestApp, json_with, spawn_with};

crate::server_backend_tests!(
    the_redirect_uri_origin_reads_session_calls_and_nobody_else,
    extra_origins_are_per_application_and_validated,
);

/// The test application's redirect URI is `http://127.0.0.1:9/after-connect`.
const OWN_ORIGIN: &str = "http://127.0.0.1:9";
const FOREIGN: &str = "https://evil.example";
const ALLOW_ORIGIN: &str = "access-control-allow-origin";

async fn app_on(db: Db) -> Option<TestApp> {
    spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, format!("{}{path}", app.base_url))
        .header("origin", origin)
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-apideck-app-id,x-apideck-consumer-id,x-apideck-auth-type",
        )
        .send()
        .await
        .expect("send")
}

fn allow(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get(ALLOW_ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn the_redirect_uri_origin_reads_session_calls_and_nobody_else(db: Db) {
    let Some(app) = app_on(db).await else { return };
    let token = app.session("cors").await;
    let path = "/vault/connections/crm/salesforce";

    // Preflight: the registered origin gets the allow headers, a foreign one none.
    let r = preflight(&app, path, OWN_ORIGIN).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(allow(&r).as_deref(), Some(OWN_ORIGIN));
    let methods = r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        methods.contains("PATCH") && methods.contains("DELETE"),
        "{methods}"
    );
    let headers = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    for h in [
        "authorization",
        "x-apideck-auth-type",
        "x-apideck-consumer-id",
    ] {
        assert!(headers.contains(h), "{headers}");
    }
    let r = preflight(&app, path, FOREIGN).await;
    assert_eq!(allow(&r), None);
    assert!(r.headers().get("access-control-allow-methods").is_none());

    let call = |origin: &'static str, bearer: String, path: &'static str| {
        app.client
            .get(format!("{}{path}", app.base_url))
            .bearer_auth(bearer)
            .header("x-apideck-app-id", app.app_id.as_str())
            .header("x-apideck-consumer-id", "cors")
            .header("x-apideck-auth-type", "JWT")
            .header("origin", origin)
            .send()
    };
    // A session call from the registered origin is readable there, and only there.
    let r = call(
        OWN_ORIGIN,
        token.clone(),
        "/vault/connections/crm/salesforce",
    )
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(allow(&r).as_deref(), Some(OWN_ORIGIN));
    let r = call(OWN_ORIGIN, token.clone(), "/vault/connections")
        .await
        .expect("send");
    assert_eq!(allow(&r).as_deref(), Some(OWN_ORIGIN));
    let r = call(FOREIGN, token.clone(), "/vault/connections")
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(allow(&r), None, "a foreign origin is never allowed");
    // API-key calls never get an allow header, even from the registered origin.
    for path in ["/vault/connections", "/vault/connections/crm/salesforce"] {
        let r = call(OWN_ORIGIN, app.api_key.clone(), path)
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(allow(&r), None, "{path}");
    }
    // API-key-only endpoints and the admin API: none, not even for a session or a preflight.
    for path in [
        "/vault/sessions",
        "/vault/consumers",
        "/admin/v1/cors-origins",
    ] {
        let r = preflight(&app, path, OWN_ORIGIN).await;
        assert_eq!(allow(&r), None, "preflight {path}");
        let r = call(OWN_ORIGIN, app.api_key.clone(), path)
            .await
            .expect("send");
        assert_eq!(allow(&r), None, "{path}");
        let r = call(OWN_ORIGIN, token.clone(), path).await.expect("send");
        assert_eq!(allow(&r), None, "{path}");
    }
    // Never a wildcard anywhere.
    let r = call(OWN_ORIGIN, token.clone(), "/vault/connections")
        .await
        .expect("send");
    assert_ne!(allow(&r).as_deref(), Some("*"));
}

async fn extra_origins_are_per_application_and_validated(db: Db) {
    let Some(app) = app_on(db).await else { return };
    let extra = "https://settings.acme.example";
    let token = app.session("cors2").await;
    let call = |origin: &'static str| {
        app.client
            .get(format!("{}/vault/connections", app.base_url))
            .bearer_auth(&token)
            .header("x-apideck-app-id", app.app_id.as_str())
            .header("origin", origin)
            .send()
    };
    assert_eq!(allow(&call(extra).await.expect("send")), None);
    assert_eq!(
        allow(&preflight(&app, "/vault/connections", extra).await),
        None
    );

    // The admin API sets them; a wildcard or a path is refused.
    for bad in [
        "*",
        "https://*.acme.example",
        "https://acme.example/settings",
        "http://acme.example",
    ] {
        let r = app
            .api(Method::PUT, "/admin/v1/cors-origins")
            .json(&json!({ "cors_origins": [bad] }))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let r = app
        .api(Method::PUT, "/admin/v1/cors-origins")
        .json(&json!({ "cors_origins": [format!("{extra}/")] }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["cors_origins"], json!([extra]));
    assert_eq!(v["data"]["allowed_origins"], json!([OWN_ORIGIN, extra]));
    let r = app
        .api(Method::GET, "/admin/v1/cors-origins")
        .send()
        .await
        .expect("send");
    assert_eq!(
        json_with(r, StatusCode::OK).await["data"]["cors_origins"],
        json!([extra])
    );

    assert_eq!(
        allow(&call(extra).await.expect("send")).as_deref(),
        Some(extra)
    );
    assert_eq!(
        allow(&preflight(&app, "/vault/connections", extra).await).as_deref(),
        Some(extra)
    );

    // Another application's session does not inherit them.
    let other = app
        .vault
        .create_application("Other", &["https://other.example/cb".to_owned()])
        .await
        .expect("create");
    let other_token = app
        .vault
        .create_session(
            &other.application.id,
            &"someone".parse().expect("consumer"),
            Default::default(),
        )
        .await
        .expect("session")
        .session_token;
    let r = app
        .client
        .get(format!("{}/vault/connections", app.base_url))
        .bearer_auth(&other_token)
        .header("x-apideck-app-id", other.application.id.as_str())
        .header("origin", extra)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(allow(&r), None);
}
