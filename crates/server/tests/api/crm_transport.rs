//! The CRM path's own HTTP client (hyper's, issue 14): what reaches the provider's instance
//! (method, planned path and query, JSON body, token, `Accept`) and that a redirect is handed
//! back as an answer, never followed, so the token cannot leave the instance.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use patchbay_server::service::proxy::ProxyOptions;
use reqwest::{Method, StatusCode};

use crate::helpers::assert_error_envelope;
use crate::proxy_support::{ECHO_TOKEN, Echo, EchoApp, spawn_app_on, spawn_echo};

/// What the instance saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    accept: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// An instance that records every request and answers with `answer(method)`.
async fn instance(answer: fn(&str) -> axum::response::Response) -> (Echo, Log) {
    let log: Log = Arc::default();
    let hits = Arc::new(AtomicUsize::new(0));
    let (log2, hits2) = (Arc::clone(&log), Arc::clone(&hits));
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (log, hits) = (Arc::clone(&log2), Arc::clone(&hits2));
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            let (parts, body) = req.into_parts();
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let body = axum::body::to_bytes(body, 1 << 20).await.expect("body");
            let seen = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().map(str::to_owned),
                authorization: header("authorization"),
                accept: header("accept"),
                content_type: header("content-type"),
                body: body.to_vec(),
            };
            log.lock().expect("log").push(seen);
            answer(parts.method.as_str())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (Echo { base, hits }, log)
}

fn crm(app: &EchoApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, format!("{}/crm/{path}", app.base_url))
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "c")
        .header("x-apideck-service-id", "salesforce")
}

fn json(status: u16, body: serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = axum::http::StatusCode::from_u16(status).expect("status");
    (status, axum::Json(body)).into_response()
}

#[tokio::test]
async fn writes_and_queries_reach_the_instance_as_planned_with_the_token() {
    let (echo, log) = instance(|method| match method {
        "POST" => json(
            201,
            serde_json::json!({ "id": "003000000000001AAA", "success": true, "errors": [] }),
        ),
        _ => json(
            200,
            serde_json::json!({ "totalSize": 0, "done": true, "records": [], "fields": [] }),
        ),
    })
    .await;
    let app = spawn_app_on(echo, ProxyOptions::default()).await;

    let r = crm(&app, Method::POST, "contacts")
        .json(&serde_json::json!({ "first_name": "Ada", "last_name": "Lovelace & Co" }))
        .send()
        .await
        .expect("send");
    let status = r.status();
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["id"], "003000000000001AAA");
    let post = log
        .lock()
        .expect("log")
        .iter()
        .find(|s| s.method == "POST")
        .cloned()
        .expect("the create reached the instance");
    assert!(post.path.ends_with("/sobjects/Contact"), "{post:?}");
    assert_eq!(
        post.authorization.as_deref(),
        Some(format!("Bearer {ECHO_TOKEN}").as_str())
    );
    assert_eq!(post.accept.as_deref(), Some("application/json"));
    assert_eq!(post.content_type.as_deref(), Some("application/json"));
    let sent: serde_json::Value = serde_json::from_slice(&post.body).expect("JSON body");
    assert_eq!(sent["LastName"], "Lovelace & Co", "{sent}");
    assert_eq!(sent["FirstName"], "Ada", "{sent}");

    let r = crm(&app, Method::GET, "contacts?filter[first_name]=A%26B")
        .send()
        .await
        .expect("send");
    let status = r.status();
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::OK, "{v}");
    let seen = log.lock().expect("log").clone();
    let list = seen
        .iter()
        .rev()
        .find(|s| s.method == "GET" && s.query.is_some())
        .expect("the list query reached the instance");
    assert!(
        list.body.is_empty() && list.content_type.is_none(),
        "{list:?}"
    );
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(list.query.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let soql = &pairs.iter().find(|(k, _)| k == "q").expect("q").1;
    assert!(soql.starts_with("SELECT "), "{soql}");
    assert!(
        soql.contains("A&B"),
        "the filter value survives encoding: {soql}"
    );
    assert!(
        seen.iter()
            .all(|s| s.accept.as_deref() == Some("application/json"))
    );
}

#[tokio::test]
async fn a_redirect_is_answered_never_followed_off_the_instance() {
    let elsewhere = spawn_echo().await;
    let target = format!("{}/echo/stolen", elsewhere.base);
    // The redirect's target is fixed per process: the handler is a plain fn.
    static TO: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TO.set(target).expect("set once");
    let (echo, log) = instance(|_| {
        use axum::response::IntoResponse;
        (
            axum::http::StatusCode::FOUND,
            [("location", TO.get().cloned().unwrap_or_default())],
        )
            .into_response()
    })
    .await;
    let app = spawn_app_on(echo, ProxyOptions::default()).await;
    for (method, path) in [
        (Method::GET, "companies/001000000000001AAA"),
        (Method::DELETE, "companies/001000000000001AAA"),
    ] {
        let r = crm(&app, method.clone(), path).send().await.expect("send");
        let status = r.status();
        let v: serde_json::Value = r.json().await.expect("envelope");
        assert!(
            status.is_client_error() || status.is_server_error(),
            "{method} {status} {v}"
        );
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
        assert_error_envelope(&v, status.as_u16(), v["type_name"].as_str().unwrap_or("?"));
    }
    assert!(
        !log.lock().expect("log").is_empty(),
        "the instance was asked"
    );
    assert_eq!(
        elsewhere.hits.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}
