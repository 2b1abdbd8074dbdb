//! The harness: an emulator on port 0, an access token from the real OAuth flow (auto-approve
//! authorization code with PKCE), and a small REST client that keeps status, headers and JSON.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use patchbay_fake_salesforce::{EmulatorConfig, EmulatorHandle};
use reqwest::Method;
use serde_json::Value;

pub const V: &str = "/services/data/v66.0";

pub struct TestOrg {
    pub handle: EmulatorHandle,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
    config: EmulatorConfig,
}

/// A REST answer, read completely.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn limit_info(&self) -> Option<&str> {
        self.header("sforce-limit-info")
    }

    /// Asserts a Salesforce error array with `code` at `status`, and returns its first element.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/json;charset=UTF-8")
        );
        let body = self.json();
        let first = body
            .as_array()
            .and_then(|a| a.first())
            .cloned()
            .unwrap_or_else(|| panic!("not an error array: {body}"));
        assert_eq!(first["errorCode"], code, "body: {body}");
        assert!(first["message"].is_string(), "body: {body}");
        first
    }
}

impl TestOrg {
    pub async fn start() -> TestOrg {
        Self::with(|_| {}).await
    }

    /// An emulator with `adjust` applied to the default config, and a token for the default user.
    pub async fn with(adjust: impl FnOnce(&mut EmulatorConfig)) -> TestOrg {
        let mut config = EmulatorConfig {
            auto_approve: true,
            ..EmulatorConfig::default()
        };
        adjust(&mut config);
        let handle = patchbay_fake_salesforce::spawn(config.clone())
            .await
            .expect("emulator starts");
        let base = handle.base_url();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let token = access_token(&http, &base, &config, "api refresh_token").await;
        TestOrg {
            handle,
            base,
            token,
            http,
            config,
        }
    }

    /// Another token for the default user, with exactly `scope`.
    pub async fn token_with_scope(&self, scope: &str) -> String {
        access_token(&self.http, &self.base, &self.config, scope).await
    }

    /// A request to `path` (absolute, e.g. `/services/data/v66.0/limits`) with the token.
    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, Some(&self.token.clone()), &[])
            .await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&str>) -> Answer {
        self.call(method, path, body, Some(&self.token.clone()), &[])
            .await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let resp = req.send().await.expect("request completes");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        Answer {
            status,
            headers,
            text,
        }
    }

    /// Creates a record and returns its id.
    pub async fn create(&self, object: &str, body: Value) -> String {
        let a = self
            .send(
                Method::POST,
                &format!("{V}/sobjects/{object}"),
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(a.status, 201, "create {object}: {}", a.text);
        a.json()["id"].as_str().expect("id").to_owned()
    }

    /// `GET /query?q=` with the query URL-encoded the way clients do (`+` for spaces).
    pub async fn query(&self, resource: &str, soql: &str) -> Answer {
        let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        self.get(&format!("{V}/{resource}?q={q}")).await
    }

    /// Creates `n` contacts straight in the org (fast set-up for paging tests).
    pub fn seed_contacts(&self, n: usize, last_name: &str) {
        let emu = self.handle.emulator();
        let now = emu.now_ms();
        let mut org = emu.org().write();
        let user = org.default_user_id();
        for i in 0..n {
            let body = serde_json::json!({"LastName": format!("{last_name}{i:05}")});
            org.create("Contact", &body, user, now)
                .expect("seed contact");
        }
    }
}

/// The authorization code flow with PKCE against an auto-approving emulator.
async fn access_token(
    http: &reqwest::Client,
    base: &str,
    config: &EmulatorConfig,
    scope: &str,
) -> String {
    let verifier = "rest-tests-verifier-0123456789-0123456789-0123456789";
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    let redirect = config
        .callback_urls
        .first()
        .expect("a callback url")
        .clone();
    let authorize = http
        .get(format!("{base}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("scope", scope),
            ("state", "rest-tests"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("login_hint", config.username.as_str()),
        ])
        .send()
        .await
        .expect("authorize");
    let location = authorize
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("authorize did not redirect: {}", authorize.status()))
        .to_owned();
    let location = url::Url::parse(&location).expect("redirect URL");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {location}"));
    let token: Value = http
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token: {token}"))
        .to_owned()
}
