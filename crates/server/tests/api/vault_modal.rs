//! What Apideck's embeddable modal needs from the Vault API (issue 11): adding with
//! `PATCH {"enabled": true}`, popups that end on a page that closes itself, images that
//! resolve, and the login host as a settings form field.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Db, Options, REDIRECT_URI, TestApp, assert_error_envelope, json_with, spawn_with, urlencode,
};

crate::server_backend_tests!(
    patch_enabled_adds_an_available_connection_for_a_new_consumer,
    popups_end_on_the_completion_page,
    icons_resolve_and_form_fields_choose_the_login_host,
);

const SF: &str = "/vault/connections/crm/salesforce";

async fn app_on(db: Db) -> Option<TestApp> {
    spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
}

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

async fn session(app: &TestApp, consumer: &str, body: Value) -> String {
    let r = app
        .consumer_api(Method::POST, "/vault/sessions", consumer)
        .json(&body)
        .send()
        .await
        .expect("send");
    json_with(r, StatusCode::OK).await["data"]["session_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

fn modal(
    app: &TestApp,
    token: &str,
    consumer: &str,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    app.client
        .request(method, format!("{}{path}", app.base_url))
        .bearer_auth(token)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", consumer)
        .header("x-apideck-auth-type", "JWT")
}

async fn patch_enabled_adds_an_available_connection_for_a_new_consumer(db: Db) {
    let Some(app) = app_on(db).await else { return };
    // The session creates the consumer; the connection is only `available`.
    let token = session(
        &app,
        "brand-new",
        json!({ "settings": { "allow_actions": [] } }),
    )
    .await;
    let v = json_with(
        modal(&app, &token, "brand-new", Method::GET, SF)
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["data"]["state"], "available");
    let r = modal(&app, &token, "brand-new", Method::PATCH, SF)
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "added", "{v}");
    assert_eq!(v["data"]["enabled"], true);
    assert!(v["data"]["authorize_url"].is_string(), "{v}");
    // A second click is harmless.
    let r = modal(&app, &token, "brand-new", Method::PATCH, SF)
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .expect("send");
    assert_eq!(json_with(r, StatusCode::OK).await["data"]["state"], "added");
    // `enabled: false` on a connection that does not exist is still a 404.
    let other = session(&app, "other", json!({})).await;
    let r = modal(&app, &other, "other", Method::PATCH, SF)
        .json(&json!({ "enabled": false }))
        .send()
        .await
        .expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::NOT_FOUND).await,
        404,
        "ConnectionNotFoundError",
    );
    // The API key sees the connection too.
    assert_eq!(app.connection("brand-new").await["state"], "added");
}

async fn popups_end_on_the_completion_page(db: Db) {
    let Some(app) = app_on(db).await else { return };
    let token = session(&app, "popup", json!({})).await;
    let done = format!("{}/vault/connect-complete/{}", app.base_url, app.app_id);
    assert_eq!(claims(&token)["redirect_uri"], done.as_str());
    // A session with its own redirect_uri keeps it.
    let own = session(&app, "popup", json!({ "redirect_uri": REDIRECT_URI })).await;
    assert_eq!(claims(&own)["redirect_uri"], REDIRECT_URI);

    // The modal: authorize_url + "&redirect_uri=" + jwt.redirect_uri.
    let v = json_with(
        modal(&app, &token, "popup", Method::PATCH, SF)
            .json(&json!({ "enabled": true }))
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    let authorize = v["data"]["authorize_url"].as_str().expect("authorize_url");
    let walk = app
        .walk(&format!("{authorize}&redirect_uri={}", urlencode(&done)))
        .await;
    let location = walk.location.clone().expect("location");
    assert!(location.starts_with(&done), "{location}");
    assert_eq!(app.connection("popup").await["state"], "callable");

    // The page posts to the application's origins only, and closes itself.
    let r = app.client.get(&location).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
    let html = r.text().await.expect("text");
    assert!(
        html.contains("\"origins\":[\"http://127.0.0.1:9\"]"),
        "{html}"
    );
    assert!(html.contains("window.close()"), "{html}");
    assert!(html.contains("You can close this window"), "{html}");
    assert!(!html.contains("postMessage(d.message,'*')"));

    // Disconnect the same way: revoke_url + "&redirect_uri=" + jwt.redirect_uri.
    let v = json_with(
        modal(&app, &token, "popup", Method::GET, SF)
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    let revoke = v["data"]["revoke_url"].as_str().expect("revoke_url");
    let (status, location, _, _) = app
        .get_raw(&format!("{revoke}&redirect_uri={}", urlencode(&done)))
        .await;
    assert!(status.is_redirection(), "{status}");
    assert!(location.unwrap_or_default().starts_with(&done));
    assert_ne!(app.connection("popup").await["state"], "callable");

    // Another application's completion page is not a redirect target for this one.
    let other = app
        .vault
        .create_application("Other", &[])
        .await
        .expect("app");
    let foreign = format!(
        "{}/vault/connect-complete/{}",
        app.base_url, other.application.id
    );
    let r = app
        .consumer_api(Method::POST, "/vault/sessions", "popup")
        .json(&json!({ "redirect_uri": foreign }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // An error outcome is shown as text, escaped.
    let r = app
        .client
        .get(format!(
            "{done}?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E"
        ))
        .send()
        .await
        .expect("send");
    let html = r.text().await.expect("text");
    assert!(
        html.contains("&#60;b&#62;no&#60;/b&#62;") && !html.contains("<b>"),
        "{html}"
    );
    assert!(html.contains("\"status\":\"error\""), "{html}");
}

async fn icons_resolve_and_form_fields_choose_the_login_host(db: Db) {
    let Some(app) = app_on(db).await else { return };
    let conn = app.connection("icons").await;
    for field in ["icon", "logo"] {
        let url = conn[field].as_str().expect(field);
        assert!(url.starts_with(&app.base_url), "{url}");
        let r = app.client.get(url).send().await.expect("send");
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert!(r.text().await.expect("svg").starts_with("<svg"));
    }
    let fields = conn["form_fields"].as_array().expect("form_fields");
    let login = fields
        .iter()
        .find(|f| f["id"] == "login_url")
        .expect("login_url field");
    let values: Vec<&str> = login["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(|o| o["value"].as_str())
        .collect();
    assert!(
        values.contains(&"https://login.salesforce.com"),
        "{values:?}"
    );
    assert!(
        values.contains(&"https://test.salesforce.com"),
        "{values:?}"
    );
    assert!(
        values.contains(&app.emulator.base_url().trim_end_matches('/')),
        "{values:?}"
    );

    // Connected on the emulator, then switched to sandbox: the grant is given up and the next
    // authorization goes to test.salesforce.com.
    app.connect("icons").await;
    let r = app
        .consumer_api(Method::PATCH, SF, "icons")
        .json(&json!({ "settings": { "login_url": "https://test.salesforce.com" } }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(
        v["data"]["settings"]["login_url"],
        "https://test.salesforce.com"
    );
    assert_eq!(v["data"]["state"], "added", "{v}");
    let authorize = v["data"]["authorize_url"].as_str().expect("authorize_url");
    let (status, location, _, _) = app
        .get_raw(&format!(
            "{authorize}&redirect_uri={}",
            urlencode(REDIRECT_URI)
        ))
        .await;
    assert!(status.is_redirection(), "{status}");
    let location = location.unwrap_or_default();
    assert!(
        location.starts_with("https://test.salesforce.com/services/oauth2/authorize"),
        "{location}"
    );
    // Junk and foreign hosts are refused.
    for bad in [
        "https://evil.example",
        "http://test.salesforce.com",
        "not a url",
    ] {
        let r = app
            .consumer_api(Method::PATCH, SF, "icons")
            .json(&json!({ "settings": { "login_url": bad } }))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
