//! Issue 13's corpora, over HTTP: SSRF attempts against the proxy's downstream URL and the
//! webhook delivery URL (addresses in every notation, userinfo and backslash tricks, encoded
//! dot segments, names resolving to loopback, redirects inward), and header injection and
//! request smuggling against the listener. Every case is refused and nothing reaches a host
//! other than the connection's own instance.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Options, assert_error_envelope, json_with, spawn_with};
use crate::proxy_support::{spawn_echo, spawn_echo_app};

/// Names other than `localhost` that this machine resolves to a loopback address (from
/// /etc/hosts, e.g. the host's own name): real DNS names that point inward.
async fn loopback_names() -> Vec<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut names = Vec::new();
    for name in hosts
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split_whitespace().skip(1))
    {
        if name.contains("localhost") || names.iter().any(|n| n == name) {
            continue;
        }
        let Ok(addrs) = tokio::net::lookup_host((name, 80)).await else {
            continue;
        };
        let addrs: Vec<_> = addrs.collect();
        if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) {
            names.push(name.to_owned());
        }
    }
    names
}

#[tokio::test]
async fn the_proxy_refuses_every_address_notation_and_authority_trick() {
    let app = spawn_echo_app(Default::default()).await;
    let other = spawn_echo().await;
    let port = app.echo.base.rsplit(':').next().expect("port").to_owned();
    let o = other.base.rsplit(':').next().expect("port").to_owned();
    let corpus = [
        // 127.0.0.1 on another port, in every notation a URL parser accepts.
        format!("http://2130706433:{o}/echo"),
        format!("http://0x7f000001:{o}/echo"),
        format!("http://0x7f.0.0.1:{o}/echo"),
        format!("http://0177.0.0.1:{o}/echo"),
        format!("http://017700000001:{o}/echo"),
        format!("http://127.1:{o}/echo"),
        format!("http://127.0.1:{o}/echo"),
        format!("http://127.0.0.1.:{o}/echo"),
        format!("http://[::ffff:127.0.0.1]:{o}/echo"),
        format!("http://[::ffff:7f00:1]:{o}/echo"),
        format!("http://[0:0:0:0:0:ffff:127.0.0.1]:{o}/echo"),
        format!("http://[::127.0.0.1]:{o}/echo"),
        format!("http://[2002:7f00:1::1]:{o}/echo"),
        format!("http://[64:ff9b::127.0.0.1]:{o}/echo"),
        format!("http://[::1]:{o}/echo"),
        format!("http://[::]:{o}/echo"),
        format!("http://0.0.0.0:{o}/echo"),
        format!("http://0:{o}/echo"),
        format!("http://localhost:{o}/echo"),
        format!("http://localhost.:{o}/echo"),
        format!("http://LOCALHOST:{o}/echo"),
        format!("http://foo.localhost:{o}/echo"),
        // Private ranges and cloud metadata.
        "http://10.0.0.1/echo".to_owned(),
        "http://172.16.0.1/echo".to_owned(),
        "http://192.168.1.1/echo".to_owned(),
        "http://100.64.0.1/echo".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00::1]/echo".to_owned(),
        "http://[fe80::1]/echo".to_owned(),
        "http://metadata.google.internal/computeMetadata/v1/".to_owned(),
        // Userinfo and parser-confusion tricks around the instance's own authority.
        format!("http://127.0.0.1:{port}@127.0.0.1:{o}/echo"),
        format!("http://127.0.0.1:{port}%40127.0.0.1:{o}/echo"),
        format!("http://127.0.0.1:{o}\\@127.0.0.1:{port}/echo"),
        format!("http://127.0.0.1:{port}\\@127.0.0.1:{o}/echo"),
        format!("http://127.0.0.1:{o}#@127.0.0.1:{port}/echo"),
        format!("http://127.0.0.1:{o}?@127.0.0.1:{port}/echo"),
        format!("http:/127.0.0.1:{o}/echo"),
        format!("http:\\\\127.0.0.1:{o}/echo"),
        format!("\\\\127.0.0.1:{o}/echo"),
        format!("/\\127.0.0.1:{o}/echo"),
        format!("//127.0.0.1:{o}/echo"),
        format!("///127.0.0.1:{o}/echo"),
        // Dot segments, encoded and not.
        "/echo/%2e%2e/%2e%2e/admin".to_owned(),
        "/echo/%2E%2E%2Fadmin".to_owned(),
        "/echo/.%2e/admin".to_owned(),
        "/echo/%252e%252e/admin".to_owned(),
        "/echo/..;/admin".to_owned(),
        "/echo/./admin".to_owned(),
        "/echo/%5c..%5cadmin".to_owned(),
        "/echo%00/admin".to_owned(),
        // Other schemes.
        "gopher://127.0.0.1:6379/_INFO".to_owned(),
        "dict://127.0.0.1:11211/stat".to_owned(),
        "ftp://127.0.0.1/".to_owned(),
        "data:text/plain,hi".to_owned(),
    ];
    let corpus: Vec<String> = corpus
        .into_iter()
        .chain(
            loopback_names()
                .await
                .into_iter()
                .map(|n| format!("http://{n}:{o}/echo")),
        )
        .collect();
    let mut refused = 0;
    for raw in &corpus {
        let r = app.proxy(Method::GET, raw).send().await.expect("send");
        let status = r.status();
        if status == StatusCode::BAD_REQUEST {
            let v = json_with(r, StatusCode::BAD_REQUEST).await;
            assert_error_envelope(&v, 400, "RequestValidationError");
            refused += 1;
        } else {
            // A few shapes are legitimate paths on the instance itself (`..;` is a plain
            // segment, `%252e` a literal `%2e`); they may reach the instance, never elsewhere.
            assert!(
                [
                    "/echo/..;/admin",
                    "/echo/%252e%252e/admin",
                    &format!("http://127.0.0.1:{o}#@127.0.0.1:{port}/echo")
                ]
                .contains(&raw.as_str())
                    && status != StatusCode::INTERNAL_SERVER_ERROR,
                "{raw}: {status}"
            );
        }
    }
    assert!(refused >= corpus.len() - 3, "{refused} of {}", corpus.len());
    assert_eq!(
        other.hits.load(Ordering::SeqCst),
        0,
        "nothing reached another origin"
    );
}

#[tokio::test]
async fn redirects_to_private_hosts_are_handed_back_not_followed() {
    let app = spawn_echo_app(Default::default()).await;
    let other = spawn_echo().await;
    let o = other.base.rsplit(':').next().expect("port").to_owned();
    for to in [
        format!("http://127.0.0.1:{o}/echo"),
        format!("http://2130706433:{o}/echo"),
        format!("http://[::ffff:127.0.0.1]:{o}/echo"),
        format!("http://localhost:{o}/echo"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
    ] {
        let r = app
            .proxy(
                Method::GET,
                &format!("/redirect?to={}", crate::helpers::urlencode(&to)),
            )
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::FOUND, "{to}: handed back");
    }
    assert_eq!(other.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn webhook_delivery_urls_are_refused_in_every_notation() {
    let mut options = Options::default();
    options.webhooks.allowed_hosts = Vec::new();
    let app = spawn_with(options).await.expect("sqlite");
    let corpus = [
        "http://127.0.0.1:9/in",
        "http://2130706433/in",
        "http://0x7f000001/in",
        "http://0177.0.0.1/in",
        "http://127.1/in",
        "http://127.0.0.1./in",
        "http://[::1]/in",
        "http://[::ffff:127.0.0.1]/in",
        "http://[::ffff:7f00:1]/in",
        "http://[::ffff:a9fe:a9fe]/latest",
        // IPv4-compatible, 6to4, NAT64 and site-local forms of inward addresses.
        "http://[::127.0.0.1]/in",
        "http://[::a9fe:a9fe]/latest",
        "http://[2002:7f00:1::1]/in",
        "http://[2002:a9fe:a9fe::]/latest",
        "http://[64:ff9b::127.0.0.1]/in",
        "http://[64:ff9b::a9fe:a9fe]/latest",
        "http://[fec0::1]/in",
        "http://0.0.0.0/in",
        "http://[::]/in",
        "http://10.1.2.3/in",
        "http://172.31.255.255/in",
        "http://192.168.0.10/in",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[fd12:3456::1]/in",
        "http://[fe80::1]/in",
        "http://localhost/in",
        "http://LocalHost:8080/in",
        "http://api.localhost/in",
        "http://localhost./in",
        "https://user:pw@hooks.example.com/in",
        "https://hooks.example.com@127.0.0.1/in",
        "https://hooks.example.com%40127.0.0.1/in",
        "http://127.0.0.1\\@hooks.example.com/in",
        "gopher://hooks.example.com/in",
        "file:///etc/passwd",
        "//hooks.example.com/in",
        "hooks.example.com/in",
        "",
    ];
    let names: Vec<String> = loopback_names()
        .await
        .into_iter()
        .map(|n| format!("http://{n}/in"))
        .collect();
    for url in corpus
        .iter()
        .copied()
        .chain(names.iter().map(String::as_str))
    {
        let r = app
            .api(Method::POST, "/webhook/webhooks")
            .json(&json!({
                "unified_api": "vault",
                "status": "enabled",
                "delivery_url": url,
                "events": ["vault.connection.created"],
            }))
            .send()
            .await
            .expect("send");
        let status = r.status();
        let v = json_with(r, status).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {status} {v}"
        );
        assert_error_envelope(&v, status.as_u16(), v["type_name"].as_str().unwrap_or("?"));
    }
    let r = app
        .api(Method::GET, "/webhook/webhooks")
        .send()
        .await
        .expect("send");
    let list = json_with(r, StatusCode::OK).await;
    assert_eq!(list["data"], json!([]), "nothing was saved");

    // The same corpus as a change of an existing subscription's URL.
    let public = "https://hooks.example.com/in";
    let r = app
        .api(Method::POST, "/webhook/webhooks")
        .json(&json!({
            "unified_api": "vault",
            "status": "enabled",
            "delivery_url": public,
            "events": ["vault.connection.created"],
        }))
        .send()
        .await
        .expect("send");
    let id = json_with(r, StatusCode::CREATED).await["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for url in corpus
        .iter()
        .copied()
        .chain(names.iter().map(String::as_str))
    {
        let r = app
            .api(Method::PATCH, &format!("/webhook/webhooks/{id}"))
            .json(&json!({ "delivery_url": url }))
            .send()
            .await
            .expect("send");
        let status = r.status();
        let v = json_with(r, status).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "PATCH {url}: {status} {v}"
        );
    }
    let r = app
        .api(Method::GET, &format!("/webhook/webhooks/{id}"))
        .send()
        .await
        .expect("send");
    assert_eq!(
        json_with(r, StatusCode::OK).await["data"]["delivery_url"],
        public
    );
}

/// Sends raw bytes to the server and reads until it closes or goes quiet.
async fn raw(base_url: &str, request: &[u8]) -> String {
    let addr = base_url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
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

fn statuses(response: &str) -> Vec<u16> {
    response
        .match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| response.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

#[tokio::test]
async fn header_injection_and_smuggling_are_refused() {
    let app = spawn_echo_app(Default::default()).await;
    let auth = format!(
        "authorization: Bearer {}\r\nx-apideck-app-id: {}\r\n",
        app.api_key, app.app_id
    );
    let before = app.echo.hits.load(Ordering::SeqCst);
    let smuggled = "GET /vault/consumers HTTP/1.1\r\nhost: x\r\n".to_owned() + &auth + "\r\n";
    let cases: Vec<(&str, String)> = vec![
        (
            "bare CR in a header value",
            format!(
                "GET /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}x-a: a\rinjected: b\r\n\r\n"
            ),
        ),
        (
            "NUL in a header value",
            format!("GET /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}x-a: a\0b\r\n\r\n"),
        ),
        (
            "space in a header name",
            format!("GET /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}x a: b\r\n\r\n"),
        ),
        (
            "space before the colon",
            format!("GET /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}x-a : b\r\n\r\n"),
        ),
        (
            "separator in a header name",
            format!("GET /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}x(a): b\r\n\r\n"),
        ),
        (
            "non-ASCII header name",
            format!("GET /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}x-é: b\r\n\r\n"),
        ),
        (
            "obsolete line folding",
            format!(
                "GET /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}x-a: a\r\n injected: b\r\n\r\n"
            ),
        ),
        (
            "Content-Length and Transfer-Encoding",
            format!(
                "POST /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "two different Content-Lengths",
            format!(
                "POST /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\ncontent-length: 2\r\ncontent-length: 60\r\n\r\n{{}}{smuggled}"
            ),
        ),
        (
            "a list Content-Length",
            format!(
                "POST /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\ncontent-length: 2, 60\r\n\r\n{{}}{smuggled}"
            ),
        ),
        (
            "a negative Content-Length",
            format!(
                "POST /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}content-length: -1\r\n\r\n{smuggled}"
            ),
        ),
        (
            "a Transfer-Encoding other than chunked last",
            format!(
                "POST /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}transfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "an obfuscated Transfer-Encoding",
            format!(
                "POST /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}transfer-encoding: xchunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "a chunk size that overflows",
            format!(
                "POST /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffffff\r\n{{}}\r\n0\r\n\r\n"
            ),
        ),
        (
            "a bare LF chunk with a smuggled tail",
            format!(
                "POST /vault/consumers HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n2;\n{{}}\r\n0\r\n\r\n"
            ),
        ),
        (
            "CRLF smuggled into the proxy's downstream URL",
            format!(
                "GET /proxy HTTP/1.1\r\nhost: x\r\n{auth}x-apideck-consumer-id: c\r\nx-apideck-service-id: salesforce\r\nx-apideck-downstream-url: /echo%0d%0aX-Injected:%20yes\r\n\r\n"
            ),
        ),
    ];
    for (what, request) in &cases {
        let response = raw(&app.base_url, request.as_bytes()).await;
        let got = statuses(&response);
        eprintln!(
            "{what}: {got:?}, envelope: {}",
            response.contains("application/json")
        );
        // The listener refuses the message itself (hyper's 400, or a closed connection), or the
        // API refuses it with its envelope; nothing succeeds and nothing smuggled is answered.
        assert!(
            got.len() <= 1,
            "{what}: more than one answer, something was smuggled: {got:?}\n{response}"
        );
        if let Some(status) = got.first() {
            assert!(
                (400..500).contains(status),
                "{what}: answered {status}\n{response}"
            );
            if response.contains("application/json") {
                let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
                let v: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_default();
                assert_eq!(v["status_code"], *status, "{what}: {response}");
            }
        }
    }
    assert_eq!(
        app.echo.hits.load(Ordering::SeqCst),
        before,
        "no injected request reached the instance"
    );
}

/// A receiver that redirects every request to `to`.
async fn redirector(to: String) -> String {
    let app = axum::Router::new().fallback(move || {
        let to = to.clone();
        async move { (StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

/// A receiver (allowed, on loopback) that answers with a redirect inward: deliveries never
/// follow it, so the private host behind it sees nothing and validation fails.
#[tokio::test]
async fn webhook_deliveries_never_follow_redirects_inward() {
    let app = spawn_with(Options::default()).await.expect("sqlite");
    let inner = spawn_echo().await;
    let o = inner.base.rsplit(':').next().expect("port").to_owned();
    for to in [
        format!("{}/echo", inner.base),
        format!("http://localhost:{o}/echo"),
        format!("http://[::ffff:127.0.0.1]:{o}/echo"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let base = redirector(to.clone()).await;
        let r = app
            .api(Method::POST, "/webhook/webhooks")
            .json(&json!({
                "unified_api": "vault",
                "status": "enabled",
                "delivery_url": format!("{base}/in"),
                "events": ["vault.connection.created"],
            }))
            .send()
            .await
            .expect("send");
        let v = json_with(r, StatusCode::CREATED).await;
        assert_eq!(v["data"]["status"], "disabled", "{to}: {v}");
        assert_eq!(
            v["data"]["disabled_reason"], "delivery_url_validation_failed",
            "{to}: {v}"
        );
    }
    assert_eq!(
        inner.hits.load(Ordering::SeqCst),
        0,
        "no redirect was followed"
    );
}
