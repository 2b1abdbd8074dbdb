//! Reading OAuth parameters the way Salesforce does: from the query string and a form body,
//! with client credentials in the body or in HTTP Basic.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Request parameters; a body value wins over a query value of the same name.
#[derive(Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Query parameters, then the body when it is a form. Other bodies (JSON, garbage) add
    /// nothing, so the request fails on its missing parameters like it does on Salesforce.
    pub fn from_request(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut map = HashMap::new();
        if let Some(q) = query {
            map.extend(parse_pairs(q.as_bytes()));
        }
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if is_form {
            map.extend(parse_pairs(body));
        }
        Params(map)
    }

    pub fn from_query(query: Option<&str>) -> Self {
        Params(query.map(|q| parse_pairs(q.as_bytes())).unwrap_or_default())
    }

    /// The value, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

fn parse_pairs(input: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(input).into_owned().collect()
}

/// Client id and secret from HTTP Basic or the body (Basic wins, as in RFC 6749 §2.3.1).
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl ClientCredentials {
    pub fn from_request(headers: &HeaderMap, params: &Params) -> Self {
        if let Some((id, secret)) = basic_auth(headers) {
            return Self {
                client_id: Some(id).filter(|s| !s.is_empty()),
                client_secret: Some(secret).filter(|s| !s.is_empty()),
            };
        }
        Self {
            client_id: params.owned("client_id"),
            client_secret: params.owned("client_secret"),
        }
    }
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// A bearer token from `Authorization: Bearer` or the `oauth_token` parameter.
pub fn bearer_token(headers: &HeaderMap, params: &Params) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
                .then(|| token.trim().to_owned())
        })
        .filter(|t| !t.is_empty());
    from_header.or_else(|| params.owned("oauth_token"))
}

/// Space-separated scopes (Salesforce also accepts `+` and commas in the wild).
pub fn split_scopes(scope: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in scope.split([' ', '+', ',']).filter(|s| !s.is_empty()) {
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_owned());
        }
    }
    scopes
}

/// A cookie's value from the `Cookie` header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
