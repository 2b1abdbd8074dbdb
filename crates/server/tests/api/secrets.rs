//! After a full flow, no token, secret, code, state or API key value appears in the SQLite
//! file (and its WAL) or in any captured log line.

use base64::Engine as _;
use reqwest::{Method, StatusCode};

use crate::helpers::{captured_logs, json_with, spawn_app};
use patchbay_server::service::Scope;

#[tokio::test]
async fn no_secret_in_database_file_or_logs() {
    let app = spawn_app().await;
    let session = app.session("leaky").await;
    let walk = app.connect("leaky").await;
    let callback = walk
        .hops
        .iter()
        .find(|h| h.contains("/vault/callback"))
        .expect("callback")
        .clone();
    let q: std::collections::HashMap<String, String> = url::Url::parse(&callback)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "leaky",
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let export_key = app.key_with(&[Scope::Export]).await;
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&export_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "leaky")
        .send()
        .await
        .expect("send");
    let exported = json_with(r, StatusCode::OK).await["data"].clone();
    let access = exported["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let refresh = exported["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let secrets = [
        ("access token", access.clone()),
        ("refresh token", refresh.clone()),
        ("client secret", app.client_secret.clone()),
        ("api key", app.api_key.clone()),
        ("export api key", export_key.clone()),
        ("authorization code", q["code"].clone()),
        ("oauth state", q["state"].clone()),
        ("session token", session.clone()),
    ];
    // Finish with a delete, so revocation paths are covered too.
    let r = app
        .consumer_api(Method::DELETE, "/vault/connections/crm/salesforce", "leaky")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let db_file = app.db.sqlite_file().expect("sqlite file").to_path_buf();
    let mut haystack: Vec<u8> = std::fs::read(&db_file).expect("db file");
    let wal = db_file.with_extension("db-wal");
    if let Ok(bytes) = std::fs::read(&wal) {
        haystack.extend_from_slice(&bytes);
    }
    let logs = captured_logs();
    assert!(logs.contains("patchbay"), "logs were captured");
    for (name, value) in &secrets {
        assert!(value.len() >= 8, "{name} too short to search for");
        let forms = [
            value.clone(),
            base64::engine::general_purpose::STANDARD.encode(value),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value),
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>(),
        ];
        for form in &forms {
            assert!(
                !contains(&haystack, form.as_bytes()),
                "{name} found in the database file"
            );
            assert!(!logs.contains(form.as_str()), "{name} found in the logs");
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
