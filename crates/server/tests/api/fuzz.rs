//! Property tests of the server's pure guards (issue 13's fuzz targets): the proxy's URL/path
//! joiner, its header filter and the webhook delivery-URL check, plus the OAuth callback's
//! query parsing over HTTP. Bounded by case count, so each runs in seconds.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use patchbay_server::service::proxy::{forward_headers, resolve_target};
use patchbay_server::service::webhooks::target::check_delivery_url;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use url::Url;

use crate::helpers::{assert_error_envelope, spawn_app};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

const INSTANCES: &[&str] = &[
    "https://acme.my.salesforce.com",
    "https://acme--dev.sandbox.my.salesforce.com:8443",
    "http://127.0.0.1:4711",
];

/// Pieces that have fooled URL joiners: authority tricks, dot segments in every encoding,
/// separators, look-alike dots and whitespace.
const URL_PIECES: &[&str] = &[
    "/",
    "//",
    "\\",
    "..",
    ".",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2f",
    "%5c",
    "%00",
    "%0d%0a",
    "@",
    ":",
    "?",
    "#",
    "&",
    "=",
    "evil.com",
    "127.0.0.1",
    "[::1]",
    "169.254.169.254",
    "0x7f000001",
    "2130706433",
    "。",
    "．",
    "\t",
    " ",
    "\r\n",
    "https:",
    "http:",
    "file:",
    "javascript:",
    "acme.my.salesforce.com",
    "services",
    "data",
    "v66.0",
    "%40",
    "%3a",
    "user:pw",
    ":443",
    ":80",
    "\u{0}",
    "ﬀ",
    "%",
    "%%",
    "%zz",
];

fn downstream() -> impl Strategy<Value = String> {
    let start = prop_oneof![
        Just(String::new()),
        Just("/".to_owned()),
        Just("//".to_owned()),
        prop::sample::select(INSTANCES).prop_map(str::to_owned),
        Just("https://evil.com".to_owned()),
        Just("https://acme.my.salesforce.com@evil.com".to_owned()),
        Just("https://acme.my.salesforce.com.evil.com".to_owned()),
        Just("https://evil.com#@acme.my.salesforce.com".to_owned()),
        Just("http://acme.my.salesforce.com".to_owned()),
    ];
    let piece = prop_oneof![
        3 => prop::sample::select(URL_PIECES).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9_-]{1,8}",
        1 => any::<char>().prop_map(String::from),
    ];
    (start, proptest::collection::vec(piece, 0..10)).prop_map(|(s, p)| s + &p.concat())
}

proptest! {
    #![proptest_config(config(2_000))]

    /// Whatever the caller sends, an accepted target is on the instance's origin, carries no
    /// credentials and no fragment.
    #[test]
    fn the_joined_url_never_leaves_the_instance_origin(
        instance in prop::sample::select(INSTANCES),
        raw in downstream(),
    ) {
        let base = Url::parse(instance).unwrap();
        if let Ok(url) = resolve_target(&raw, instance) {
            prop_assert_eq!(url.origin(), base.origin(), "{:?} left {}", raw, instance);
            prop_assert!(url.username().is_empty() && url.password().is_none(), "{:?}", raw);
            prop_assert!(url.fragment().is_none(), "{:?}", raw);
            prop_assert!(!url.path().split('/').any(|s| s == ".." || s == "."), "{:?}", raw);
        }
    }

    /// Plain paths are not refused wholesale: the guard is not "reject everything".
    #[test]
    fn plain_paths_are_joined_onto_the_instance(
        instance in prop::sample::select(INSTANCES),
        path in "(/[a-zA-Z0-9_-]{1,10}){1,5}(\\?[a-z]{1,5}=[a-zA-Z0-9]{0,8})?",
    ) {
        let url = resolve_target(&path, instance).map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
        let base = Url::parse(instance).unwrap();
        prop_assert_eq!(url.origin(), base.origin());
        prop_assert_eq!(&url[url::Position::BeforePath..], path.as_str());
    }
}

/// Names the proxy must never pass on, whatever the caller sends.
const NEVER_FORWARDED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "authorization",
    "cookie",
    "host",
    "content-length",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-apideck-app-id",
    "x-apideck-consumer-id",
    "x-apideck-downstream-url",
];

const ORDINARY: &[&str] = &[
    "accept",
    "content-type",
    "sforce-query-options",
    "x-custom",
    "if-none-match",
    "x-sfdc-trace",
];

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(NEVER_FORWARDED).prop_map(str::to_owned),
        prop::sample::select(ORDINARY).prop_map(str::to_owned),
        "[a-z][a-z0-9-]{0,12}",
        "x-apideck-[a-z-]{1,10}",
        "x-forwarded-[a-z]{1,6}",
    ]
}

proptest! {
    #![proptest_config(config(1_000))]

    /// Hop-by-hop headers, those `Connection` names, the caller's credentials and Patchbay's
    /// own headers never pass; every other header passes with all its values, unchanged.
    #[test]
    fn the_header_filter_drops_exactly_the_forbidden_headers(
        headers in proptest::collection::vec((header_name(), "[ -~]{0,20}"), 0..16),
        connection_names in proptest::collection::vec(header_name(), 0..4),
    ) {
        let mut incoming = HeaderMap::new();
        for (name, value) in &headers {
            incoming.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        if !connection_names.is_empty() {
            incoming.append("connection", HeaderValue::from_str(&connection_names.join(", ")).unwrap());
        }
        let out = forward_headers(&incoming);
        // Every name a `Connection` value lists is hop-by-hop: the generated list's and any a
        // generated `connection` header happens to carry (its value is random text too).
        let named: Vec<String> = incoming
            .get_all("connection")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|n| n.trim().to_ascii_lowercase())
            .collect();
        let forbidden = |name: &str| {
            NEVER_FORWARDED.contains(&name)
                || name.starts_with("x-apideck-")
                || name.starts_with("x-forwarded-")
                || connection_names.iter().any(|c| c == name)
                || named.iter().any(|c| c == name)
        };
        for name in out.keys() {
            prop_assert!(!forbidden(name.as_str()), "{name} was forwarded");
        }
        for name in incoming.keys() {
            if !forbidden(name.as_str()) {
                let sent: Vec<_> = incoming.get_all(name).iter().collect();
                let passed: Vec<_> = out.get_all(name).iter().collect();
                prop_assert_eq!(sent, passed, "{} changed", name);
            }
        }
    }

    /// CR, LF and NUL can never be in a header value the proxy holds: the type refuses them,
    /// so no caller-supplied byte string can split a header downstream.
    #[test]
    fn no_header_value_can_carry_a_line_break(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let mut incoming = HeaderMap::new();
            incoming.insert("x-custom", value);
            for v in forward_headers(&incoming).values() {
                prop_assert!(!v.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
            }
        } else {
            prop_assert!(bytes.iter().any(|b| matches!(b, b'\r' | b'\n' | 0 | 0x7f) || *b < 0x20 && *b != b'\t'));
        }
    }
}

/// A private, loopback, link-local, CGNAT or reserved IPv4 address.
fn private_v4() -> impl Strategy<Value = Ipv4Addr> {
    let tail = || (any::<u8>(), any::<u8>(), any::<u8>());
    prop_oneof![
        tail().prop_map(|(b, c, d)| Ipv4Addr::new(127, b, c, d)),
        tail().prop_map(|(b, c, d)| Ipv4Addr::new(10, b, c, d)),
        (16u8..32, any::<u8>(), any::<u8>()).prop_map(|(b, c, d)| Ipv4Addr::new(172, b, c, d)),
        (any::<u8>(), any::<u8>()).prop_map(|(c, d)| Ipv4Addr::new(192, 168, c, d)),
        (any::<u8>(), any::<u8>()).prop_map(|(c, d)| Ipv4Addr::new(169, 254, c, d)),
        (64u8..128, any::<u8>(), any::<u8>()).prop_map(|(b, c, d)| Ipv4Addr::new(100, b, c, d)),
        tail().prop_map(|(b, c, d)| Ipv4Addr::new(0, b, c, d)),
    ]
}

/// The same address in the notations URL parsers accept: dotted, decimal, hex, octal, short
/// forms, trailing dot, and IPv4-mapped IPv6.
fn notations(ip: Ipv4Addr) -> Vec<String> {
    let [a, b, c, d] = ip.octets();
    let n = u32::from(ip);
    let v6 = ip.to_ipv6_mapped();
    vec![
        ip.to_string(),
        format!("{ip}."),
        n.to_string(),
        format!("0x{n:x}"),
        format!("0{n:o}"),
        format!("0x{a:x}.0x{b:x}.0x{c:x}.0x{d:x}"),
        format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),
        format!(
            "{a}.{}",
            (u32::from(b) << 16) | (u32::from(c) << 8) | u32::from(d)
        ),
        format!("{a}.{b}.{}", (u32::from(c) << 8) | u32::from(d)),
        format!("[::ffff:{ip}]"),
        format!("[{v6}]"),
    ]
}

fn private_v6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        Just(Ipv6Addr::LOCALHOST),
        Just(Ipv6Addr::UNSPECIFIED),
        any::<[u16; 7]>().prop_map(|s| Ipv6Addr::new(
            0xfd00 | (s[0] & 0xff),
            s[1],
            s[2],
            s[3],
            s[4],
            s[5],
            s[6],
            1
        )),
        any::<[u16; 7]>().prop_map(|s| Ipv6Addr::new(0xfe80, 0, 0, 0, s[3], s[4], s[5], s[6])),
    ]
}

proptest! {
    #![proptest_config(config(500))]

    /// A private address in any notation, with any port, is refused as a
    /// webhook receiver when no host is allowed, and never resolves as a proxy target of a
    /// public instance.
    #[test]
    fn private_addresses_in_any_notation_are_refused(
        ip in private_v4(),
        which in any::<prop::sample::Index>(),
        port in prop::option::of(1u16..),
        path in "(/[a-z]{0,6}){0,3}",
    ) {
        let hosts = notations(ip);
        let host = which.get(&hosts);
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let url = format!("http://{host}{port}{path}");
        prop_assert!(check_delivery_url(&url, &[]).is_err(), "{url} accepted as a receiver");
        prop_assert!(check_delivery_url(&url.replacen("http", "https", 1), &[]).is_err());
        prop_assert!(resolve_target(&url, "https://acme.my.salesforce.com").is_err(), "{url}");
    }

    #[test]
    fn private_v6_addresses_are_refused(ip in private_v6(), path in "(/[a-z]{0,6}){0,3}") {
        let url = format!("https://[{ip}]{path}");
        prop_assert!(check_delivery_url(&url, &[]).is_err(), "{url} accepted as a receiver");
    }
}

/// Query strings for `/vault/callback`: known names with hostile values, repeats, raw and
/// percent-encoded bytes (invalid UTF-8 included).
fn callback_query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("code".to_owned()),
        Just("state".to_owned()),
        Just("error".to_owned()),
        Just("error_description".to_owned()),
        "[a-z_]{0,8}",
    ];
    let value = prop_oneof![
        "[ -~]{0,30}",
        proptest::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| b.iter().map(|x| format!("%{x:02X}")).collect::<String>()),
        Just("%".to_owned()),
        Just("%zz".to_owned()),
        Just("a".repeat(4096)),
        Just("<script>alert(1)</script>".to_owned()),
    ];
    proptest::collection::vec((name, value, any::<bool>()), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v, with_eq)| if with_eq { format!("{n}={v}") } else { n })
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// Arbitrary callback queries get a clean 4xx, as the envelope or (for browsers) an escaped
/// HTML page, never a 5xx or a redirect.
#[tokio::test]
async fn arbitrary_callback_queries_get_a_clean_error() {
    let app = spawn_app().await;
    // Async, so cases are drawn from a deterministic runner instead of the `proptest!` macro.
    let mut runner = TestRunner::deterministic();
    let strategy = callback_query();
    for i in 0..150 {
        let query = strategy.new_tree(&mut runner).expect("value").current();
        // Bytes a client cannot put in a request line are escaped, as a browser would.
        let query: String = query
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() {
                    c.to_string()
                } else {
                    crate::helpers::urlencode(&c.to_string())
                }
            })
            .collect();
        let url = format!("{}/vault/callback?{query}", app.base_url);
        let html = i % 2 == 0;
        let mut request = app.client.get(&url);
        if html {
            request = request.header("accept", "text/html");
        }
        let r = request.send().await.expect("send");
        let status = r.status();
        assert!(status.is_client_error(), "{query}: {status}");
        assert!(r.headers().get("location").is_none(), "{query}");
        let body = r.text().await.expect("body");
        if html {
            assert!(body.starts_with("<!doctype html>"), "{query}: {body}");
            assert!(!body.contains("<script>"), "{query}: unescaped");
        } else {
            let v: serde_json::Value = serde_json::from_str(&body).expect("envelope");
            let type_name = v["type_name"].as_str().unwrap_or_default().to_owned();
            assert_error_envelope(&v, status.as_u16(), &type_name);
        }
    }
}

/// Bearer credentials: key-shaped, JWT-shaped (including `alg: none` and huge segments) and
/// arbitrary text.
fn bearer() -> impl Strategy<Value = String> {
    let b64 = "[A-Za-z0-9_-]{0,60}";
    prop_oneof![
        "pbk_[0-9a-f]{16}_[A-Za-z0-9_-]{49}",
        "pbk_[ -~]{0,80}",
        (b64, b64, b64).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        b64.prop_map(|p| format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{p}.")),
        Just(format!("{}.{}.x", "A".repeat(6000), "B".repeat(6000))),
        "[ -~]{0,100}",
    ]
}

/// Arbitrary bearer credentials on every API family get 401 in the envelope, never a 5xx.
#[tokio::test]
async fn arbitrary_bearer_credentials_are_unauthorized() {
    let app = spawn_app().await;
    let mut runner = TestRunner::deterministic();
    let strategy = bearer();
    let paths = [
        "/vault/consumers",
        "/vault/connections",
        "/crm/contacts",
        "/proxy",
        "/webhook/webhooks",
        "/vault/logs",
    ];
    for i in 0..120 {
        let token = strategy.new_tree(&mut runner).expect("value").current();
        let path = paths[i % paths.len()];
        let r = app
            .client
            .get(format!("{}{path}", app.base_url))
            .header("authorization", format!("Bearer {token}"))
            .header("x-apideck-app-id", app.app_id.as_str())
            .header("x-apideck-consumer-id", "alice")
            .header("x-apideck-service-id", "salesforce")
            .header("x-apideck-downstream-url", "/services/data")
            .send()
            .await
            .expect("send");
        let status = r.status();
        let v: serde_json::Value = r.json().await.expect("envelope");
        assert_eq!(
            status,
            reqwest::StatusCode::UNAUTHORIZED,
            "{path} {token:?}: {v}"
        );
        assert_error_envelope(&v, 401, "UnauthorizedError");
        assert!(
            !v.to_string().contains(&token) || token.len() < 8,
            "{token:?} echoed: {v}"
        );
    }
}
