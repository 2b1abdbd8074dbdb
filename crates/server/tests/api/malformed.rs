//! Malformed input on a sample of routes from every API family (Vault, CRM, webhooks, proxy):
//! broken and hostile JSON, invalid UTF-8 in bodies, paths and queries, and headers beyond the
//! listener's limit. Each gets a clean 4xx in the error envelope (an oversized head may instead
//! get hyper's bare 431/400 or a closed connection), never a 5xx or a hang.

use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, assert_error_envelope, spawn_app};

async fn assert_clean_4xx(r: reqwest::Response, what: &str) {
    let status = r.status();
    let body = r.bytes().await.expect("body");
    assert!(
        status.is_client_error(),
        "{what}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    let v: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("{what}: not JSON: {}", String::from_utf8_lossy(&body)));
    assert_error_envelope(&v, status.as_u16(), v["type_name"].as_str().unwrap_or("?"));
}

/// Syntactically broken or undecodable JSON only: a well-formed body with an unknown field is
/// a different question (some PATCH bodies ignore fields they do not know).
/// Routes that take a JSON body, one or more per family.
fn json_routes() -> Vec<(Method, &'static str)> {
    vec![
        (Method::POST, "/vault/consumers"),
        (Method::PATCH, "/vault/consumers/alice"),
        (Method::POST, "/vault/sessions"),
        (Method::PATCH, "/vault/connections/crm/salesforce"),
        (Method::POST, "/vault/connections/crm/salesforce/import"),
        (Method::POST, "/crm/contacts"),
        (Method::PATCH, "/crm/contacts/003000000000001AAA"),
        (Method::POST, "/crm/companies"),
        (Method::POST, "/webhook/webhooks"),
    ]
}

fn bad_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep = "[".repeat(100_000);
    vec![
        ("unterminated object", b"{".to_vec()),
        ("missing value", b"{\"consumer_id\":}".to_vec()),
        ("trailing garbage", b"{} x".to_vec()),
        ("a bare string", b"\"text\"".to_vec()),
        ("null", b"null".to_vec()),
        ("an array", b"[1,2,3]".to_vec()),
        ("a lone surrogate in a key", b"{\"\\ud800\": 1}".to_vec()),
        (
            "invalid UTF-8",
            b"{\"consumer_id\": \"\xff\xfe\xc0\xaf\"}".to_vec(),
        ),
        ("a UTF-16 body", b"\xff\xfe{\x00}\x00".to_vec()),
        ("a UTF-8 BOM", b"\xef\xbb\xbf{}".to_vec()),
        ("NUL bytes", b"{\"consumer_id\": \"a\0b\"}\0".to_vec()),
        ("100,000 nested arrays", deep.into_bytes()),
    ]
}

async fn connected() -> TestApp {
    let app = spawn_app().await;
    app.connect("alice").await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_bodies_get_a_clean_4xx_on_every_family() {
    let app = connected().await;
    for (method, path) in json_routes() {
        for (what, body) in bad_bodies() {
            let r = app
                .consumer_api(method.clone(), path, "alice")
                .header("x-apideck-service-id", "salesforce")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            assert_clean_4xx(r, &format!("{method} {path} with {what}")).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_paths_and_queries_gets_a_clean_4xx() {
    let app = connected().await;
    let paths = [
        "/vault/consumers/%FF%FE",
        "/vault/consumers/%C0%AF",
        "/vault/consumers/%00",
        "/vault/connections/crm/%FF",
        "/vault/connections/%FF/salesforce",
        "/vault/logs?limit=%FF",
        "/vault/logs?cursor=%FF%00",
        "/vault/consumers?cursor=%ED%A0%80",
        "/crm/contacts/%FF%FE",
        "/crm/contacts?limit=%FF",
        "/crm/contacts?cursor=%FF",
        "/crm/contacts?filter[name]=%FF%FE",
        "/crm/contacts?filter%FF=1",
        "/crm/contacts?sort[by]=%C0%AF",
        "/crm/contacts?pass_through=%FF",
        "/crm/%FF",
        "/webhook/webhooks/%FF",
        "/webhook/logs?cursor=%FF",
    ];
    for path in paths {
        let r = app
            .consumer_api(Method::GET, path, "alice")
            .header("x-apideck-service-id", "salesforce")
            .send()
            .await
            .expect("send");
        assert_clean_4xx(r, path).await;
    }
    // Invalid UTF-8 in the proxy's own headers.
    let r = app
        .consumer_api(Method::GET, "/proxy", "alice")
        .header("x-apideck-service-id", "salesforce")
        .header(
            "x-apideck-downstream-url",
            reqwest::header::HeaderValue::from_bytes(b"/services/\xff\xfe").expect("obs-text"),
        )
        .send()
        .await
        .expect("send");
    assert_clean_4xx(r, "proxy with a non-UTF-8 downstream URL").await;
    let r = app
        .api(Method::GET, "/vault/connections")
        .header(
            "x-apideck-consumer-id",
            reqwest::header::HeaderValue::from_bytes(b"al\xffice").expect("obs-text"),
        )
        .send()
        .await
        .expect("send");
    assert_clean_4xx(r, "a non-UTF-8 consumer id").await;
}

/// Raw bytes in the request line itself, which no client library would send.
#[tokio::test]
async fn raw_invalid_utf8_in_the_request_line_is_refused_cleanly() {
    let app = spawn_app().await;
    for target in [
        &b"/vault/consumers/\xff\xfe"[..],
        b"/crm/contacts?filter[name]=\xc0\xaf",
        b"/vault/callback?state=\xff&code=\xfe",
    ] {
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(target);
        request.extend_from_slice(
            format!(
                " HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\nx-apideck-app-id: {}\r\nx-apideck-consumer-id: alice\r\nconnection: close\r\n\r\n",
                app.api_key, app.app_id
            )
            .as_bytes(),
        );
        let response = raw(&app.base_url, &request).await;
        let status: u16 = response
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(
            status == 0 || (400..500).contains(&status),
            "{}: {response}",
            String::from_utf8_lossy(target)
        );
    }
}

async fn raw(base_url: &str, request: &[u8]) -> String {
    let addr = base_url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Heads beyond the listener's limit (one huge header, or very many) are refused or the
/// connection closed, on every family, and the server keeps serving.
#[tokio::test]
async fn oversized_headers_are_refused_or_closed() {
    let app = spawn_app().await;
    let auth = format!(
        "authorization: Bearer {}\r\nx-apideck-app-id: {}\r\nx-apideck-consumer-id: alice\r\n",
        app.api_key, app.app_id
    );
    let one_huge = format!("x-big: {}\r\n", "a".repeat(1024 * 1024));
    let very_many: String = (0..2000).map(|i| format!("x-h{i}: v\r\n")).collect();
    for path in [
        "/vault/consumers",
        "/crm/contacts",
        "/proxy",
        "/webhook/webhooks",
    ] {
        for (what, extra) in [
            ("one 1 MB header", &one_huge),
            ("2,000 headers", &very_many),
        ] {
            let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n{auth}{extra}\r\n");
            let response = raw(&app.base_url, request.as_bytes()).await;
            let status: u16 = response
                .get(9..12)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            assert!(
                status == 0 || status == 431 || status == 400,
                "{path} with {what}: {}",
                response.lines().next().unwrap_or_default()
            );
        }
    }
    let r = app
        .api(Method::GET, "/vault/consumers")
        .send()
        .await
        .expect("still serving");
    assert!(r.status().is_success());
}
