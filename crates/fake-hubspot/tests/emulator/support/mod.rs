//! A test's emulator, an HTTP client that does not follow redirects, and the install flow.

use patchbay_fake_hubspot::{EmulatorConfig, EmulatorHandle, spawn};
use reqwest::{Client, StatusCode, redirect::Policy};
use serde_json::Value;

pub const REDIRECT: &str = "http://localhost:8080/oauth/callback";

pub struct Emu {
    /// Held so the server runs as long as the test.
    pub _handle: EmulatorHandle,
    pub base: String,
    pub http: Client,
    pub config: EmulatorConfig,
}

pub async fn start(config: EmulatorConfig) -> Emu {
    let handle = spawn(config.clone()).await.expect("emulator starts");
    let base = handle.base_url();
    let http = Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    Emu {
        _handle: handle,
        base,
        http,
        config,
    }
}

pub fn auto(records: usize) -> EmulatorConfig {
    EmulatorConfig {
        auto_approve: true,
        records,
        ..Default::default()
    }
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl Emu {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The authorize URL with the app's scopes.
    pub fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let scope = self.config.scopes.join(" ");
        let mut params: Vec<(&str, &str)> = vec![
            ("client_id", &self.config.client_id),
            ("redirect_uri", REDIRECT),
            ("scope", &scope),
            ("state", "st-1"),
        ];
        params.extend_from_slice(extra);
        let query = serde_urlencoded::to_string(&params).expect("query");
        self.url(&format!("/oauth/authorize?{query}"))
    }

    /// Follows an auto-approved install and returns the code from the redirect.
    pub async fn code(&self) -> String {
        let response = self
            .http
            .get(self.authorize_url(&[]))
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        let url = url_query(&location);
        assert_eq!(url.get("state").map(String::as_str), Some("st-1"));
        url["code"].clone()
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/oauth/v1/token"))
            .form(form)
            .send()
            .await
            .expect("token call");
        let status = response.status();
        (status, response.json().await.expect("json body"))
    }

    pub async fn install(&self) -> Tokens {
        let code = self.code().await;
        let (status, body) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("client_id", &self.config.client_id),
                ("client_secret", &self.config.client_secret),
                ("redirect_uri", REDIRECT),
                ("code", &code),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Tokens {
            access: body["access_token"].as_str().expect("access").to_owned(),
            refresh: body["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("send");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, self.url(&format!("/__emulator{path}")));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control call");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }
}

pub fn url_query(location: &str) -> std::collections::HashMap<String, String> {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(query).expect("query parses")
}

/// HubSpot's standard error body, with the category given.
pub fn assert_error(body: &Value, category: &str) {
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["category"], category, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36),
        "{body}"
    );
}
