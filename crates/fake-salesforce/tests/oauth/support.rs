//! Shared test helpers: each test spawns its own emulator on 127.0.0.1:0.

use patchbay_fake_salesforce::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::Value;

pub const CALLBACK: &str = "http://localhost:8080/oauth/callback";
/// Challenge computed independently (Python hashlib) from the verifier.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K9uQC4Ty0LuyW3LWbwOuCx5gpc";
pub const CHALLENGE: &str = "_RMkv6hpJw4zP3T_G4ioEbKLVC6cKD9oUC6rS6uAb90";

pub struct Env {
    pub handle: EmulatorHandle,
    pub base: String,
    pub http: reqwest::Client,
    pub client_id: String,
    pub client_secret: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

pub async fn start_with(config: EmulatorConfig) -> Env {
    let client_id = config.client_id.clone();
    let client_secret = config.client_secret.clone();
    let handle = spawn(config).await.expect("spawn");
    Env {
        base: handle.base_url(),
        handle,
        http: client(),
        client_id,
        client_secret,
    }
}

/// The default emulator with `--auto-approve`.
pub async fn start() -> Env {
    start_with(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await
}

pub fn query_of(location: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(location).expect("location url");
    url.query_pairs().into_owned().collect()
}

pub fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("get")
    }

    /// GET authorize (host prefix + query) and return the response.
    pub async fn authorize(&self, prefix: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(self.url(&format!("{prefix}/services/oauth2/authorize")))
            .query(query)
            .send()
            .await
            .expect("authorize")
    }

    /// An auto-approved code for the default app with PKCE and `scope`.
    pub async fn code(&self, prefix: &str, scope: &str) -> String {
        let r = self
            .authorize(
                prefix,
                &[
                    ("response_type", "code"),
                    ("client_id", &self.client_id),
                    ("redirect_uri", CALLBACK),
                    ("scope", scope),
                    ("state", "st"),
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        assert_eq!(r.status(), 302, "authorize should redirect");
        let location = r.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        param(&query_of(&location), "code").expect("code in redirect")
    }

    pub async fn token(&self, prefix: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(&format!("{prefix}/services/oauth2/token")))
            .form(form)
            .send()
            .await
            .expect("token");
        let status = r.status().as_u16();
        let body = r.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn exchange(&self, prefix: &str, code: &str) -> (u16, Value) {
        self.token(
            prefix,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }

    /// A fresh token response for the default app (code flow on My Domain).
    pub async fn tokens(&self, scope: &str) -> Value {
        let code = self.code("", scope).await;
        let (status, body) = self.exchange("", &code).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.token(
            "",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
            ],
        )
        .await
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(method, self.url(&format!("/__emulator{path}")))
            .json(&body)
            .send()
            .await
            .expect("control");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch_default_app(&self, patch: Value) {
        let (status, body) = self
            .control(
                reqwest::Method::PATCH,
                &format!("/apps/{}", self.client_id),
                patch,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn advance(&self, seconds: i64) {
        let (status, _) = self
            .control(
                reqwest::Method::POST,
                "/clock",
                serde_json::json!({"advance_seconds": seconds}),
            )
            .await;
        assert_eq!(status, 200);
    }

    /// Status of `GET /services/oauth2/userinfo` with this access token.
    pub async fn userinfo_status(&self, access_token: &str) -> u16 {
        self.http
            .get(self.url("/services/oauth2/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("userinfo")
            .status()
            .as_u16()
    }
}

pub fn assert_error(status: u16, body: &Value, error: &str, description: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_description"], description, "{body}");
}
