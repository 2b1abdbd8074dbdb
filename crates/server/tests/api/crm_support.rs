//! Support for the CRM tests: a connected consumer on a seeded emulator, request helpers with
//! the CRM headers, in-process seeding, and a checker for crm.yml's schemas.
//!
//! No YAML crate is in the lockfile, so [`yaml`] reads the block-style subset the spec uses
//! (mappings, sequences, plain and quoted scalars, block scalars) into JSON; [`assert_schema`]
//! then checks `type`, `nullable`, `enum`, `required`, `properties`, `items`,
//! `additionalProperties: false`, `$ref`, `allOf` and `anyOf`/`oneOf`.

use std::sync::OnceLock;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::helpers::{Db, Options, TestApp, spawn_with};

pub const CONSUMER: &str = "crm-consumer";

/// A test app whose consumer has connected an emulator org seeded with CRM records.
pub struct CrmApp {
    pub app: TestApp,
}

/// An app on `db` whose consumer has connected an emulator org seeded with about `records` CRM
/// records. `None` when PostgreSQL is unreachable outside CI (the skip is printed to stderr);
/// under `CI=true` an unreachable PostgreSQL panics instead, so the suite cannot pass on SQLite
/// alone there.
pub async fn crm_app_on(db: Db, records: usize) -> Option<CrmApp> {
    let mut options = Options {
        db,
        ..Options::default()
    };
    options.emulator.records = records;
    let app = spawn_with(options).await?;
    let walk = app.connect(CONSUMER).await;
    assert!(
        walk.location_param("error").is_none(),
        "connect failed: {walk:?}"
    );
    Some(CrmApp { app })
}

/// One CRM answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        self
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl CrmApp {
    /// A CRM request with `Authorization`, `x-apideck-app-id` and `x-apideck-consumer-id`.
    pub fn request(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        self.app.consumer_api(method, path_and_query, CONSUMER)
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Answer {
        let r = builder.send().await.expect("send");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path_and_query: &str) -> Answer {
        self.send(self.request(Method::GET, path_and_query)).await
    }

    /// GET of an absolute URL (a `links.next`), with the CRM headers.
    pub async fn get_url(&self, url: &str) -> Answer {
        let builder = self
            .app
            .client
            .get(url)
            .bearer_auth(&self.app.api_key)
            .header("x-apideck-app-id", self.app.app_id.as_str())
            .header("x-apideck-consumer-id", CONSUMER);
        self.send(builder).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(self.request(Method::PATCH, path).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Every token the emulator issued, as its control plane lists them.
    pub async fn all_tokens(&self) -> Vec<Value> {
        let r = self
            .app
            .client
            .get(format!(
                "{}/__emulator/tokens",
                self.app.emulator.base_url()
            ))
            .send()
            .await
            .expect("send");
        let v: Value = r.json().await.expect("json");
        match v {
            Value::Array(a) => a,
            Value::Object(o) => o
                .get("tokens")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The access tokens the emulator considers active.
    pub async fn active_access_tokens(&self) -> Vec<String> {
        self.all_tokens()
            .await
            .iter()
            .filter(|t| t["kind"].as_str().is_some_and(|k| k.starts_with("access")))
            .filter(|t| t["state"] == "active")
            .filter_map(|t| t["value"].as_str().map(str::to_owned))
            .collect()
    }

    /// Creates `n` contacts directly in the emulator's org (fast: no HTTP), returning their ids.
    pub fn seed_contacts(&self, n: usize, last_names: &[&str]) -> Vec<String> {
        let emu = self.app.emulator.emulator();
        // Salesforce keeps audit datetimes to the second (`.000`), and SOQL datetime literals
        // cannot say milliseconds, so seeded rows get whole seconds like real ones.
        let now = emu.now_ms() / 1000 * 1000;
        let mut org = emu.org().write();
        let user = org.default_user_id();
        (0..n)
            .map(|i| {
                let last = last_names[i % last_names.len()];
                // Every third contact has no first name, so sorts meet nulls.
                let first = (i % 3 != 0).then(|| format!("Seed{:05}", (i * 7919) % n));
                let body = json!({
                    "FirstName": first, "LastName": last,
                    "Email": format!("seed{i}@paging.example"),
                });
                // Spread over a few minutes, with many ties, for datetime sorts.
                let at = now - i64::try_from((i * 7) % 300).unwrap_or(0) * 1000;
                org.create("Contact", &body, user, at)
                    .map(|id| id.to_18())
                    .unwrap_or_else(|e| panic!("seed contact: {e:?}"))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The spec

fn crm_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/apideck/crm.yml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        yaml::parse(&text)
    })
}

pub fn schema(name: &str) -> &'static Value {
    let s = &crm_spec()["components"]["schemas"][name];
    assert!(s.is_object(), "schema {name} not in crm.yml");
    s
}

/// Every violation of the spec's schema `name` by `value`.
pub fn schema_errors(name: &str, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema(name), value, name, &mut errors);
    errors
}

pub fn assert_schema(name: &str, value: &Value) {
    let errors = schema_errors(name, value);
    assert!(
        errors.is_empty(),
        "{name} does not match crm.yml:\n{}\n{value:#}",
        errors.join("\n")
    );
}

fn resolve(s: &Value) -> &Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            schema(name)
        }
        None => s,
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

fn check(s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = resolve(s);
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(part, v, at, errors);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(any) = s.get(key).and_then(Value::as_array) {
            let ok = any.iter().any(|part| {
                let mut e = Vec::new();
                check(part, v, at, &mut e);
                e.is_empty()
            });
            if !ok {
                errors.push(format!("{at}: matches none of {key}"));
            }
        }
    }
    if v.is_null() {
        if s.get("nullable").and_then(Value::as_bool) != Some(true) && s.get("type").is_some() {
            errors.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    if let Some(ty) = s.get("type").and_then(Value::as_str)
        && !type_ok(ty, v)
    {
        errors.push(format!("{at}: expected {ty}, got {v}"));
        return;
    }
    if let (Some(values), Some(text)) = (s.get("enum").and_then(Value::as_array), v.as_str())
        && !values.iter().any(|e| e.as_str() == Some(text))
    {
        errors.push(format!("{at}: {text:?} is not one of {values:?}"));
    }
    if let Some(items) = s.get("items")
        && let Some(list) = v.as_array()
    {
        for (i, item) in list.iter().enumerate() {
            check(items, item, &format!("{at}/{i}"), errors);
        }
    }
    let Some(obj) = v.as_object() else { return };
    let empty = Map::new();
    let props = s
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for r in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !obj.contains_key(r) {
            errors.push(format!("{at}: required property {r} missing"));
        }
    }
    if s.get("additionalProperties").and_then(Value::as_bool) == Some(false) {
        for k in obj.keys().filter(|k| !props.contains_key(*k)) {
            errors.push(format!("{at}: property {k} is not in the schema"));
        }
    }
    for (k, ps) in props {
        if let Some(pv) = obj.get(k) {
            check(ps, pv, &format!("{at}/{k}"), errors);
        }
    }
}

/// The block-style YAML subset of the Apideck specs, into JSON. Scalars stay strings except
/// `true`/`false`; that is all the schema checker needs.
pub mod yaml {
    use serde_json::{Map, Value};

    struct Line {
        indent: usize,
        text: String,
    }

    pub fn parse(text: &str) -> Value {
        let mut lines: Vec<Line> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| Line {
                indent: l.len() - l.trim_start().len(),
                text: l.trim().to_owned(),
            })
            .collect();
        let mut i = 0;
        block(&mut lines, &mut i, 0)
    }

    fn block(lines: &mut [Line], i: &mut usize, indent: usize) -> Value {
        if *i < lines.len() && lines[*i].indent == indent && is_item(&lines[*i].text) {
            sequence(lines, i, indent)
        } else {
            mapping(lines, i, indent)
        }
    }

    fn is_item(text: &str) -> bool {
        text == "-" || text.starts_with("- ")
    }

    fn sequence(lines: &mut [Line], i: &mut usize, indent: usize) -> Value {
        let mut out = Vec::new();
        while *i < lines.len() && lines[*i].indent == indent && is_item(&lines[*i].text) {
            let rest = lines[*i].text.get(2..).unwrap_or("").trim().to_owned();
            if rest.is_empty() {
                *i += 1;
                let child = lines.get(*i).map_or(indent + 2, |l| l.indent);
                out.push(block(lines, i, child));
            } else if key_value(&rest).is_some() {
                // `- key: v` opens a mapping whose keys sit two columns in.
                lines[*i].indent = indent + 2;
                lines[*i].text = rest;
                out.push(mapping(lines, i, indent + 2));
            } else {
                out.push(scalar(&rest));
                *i += 1;
                skip_deeper(lines, i, indent);
            }
        }
        Value::Array(out)
    }

    fn mapping(lines: &mut [Line], i: &mut usize, indent: usize) -> Value {
        let mut out = Map::new();
        while *i < lines.len() && lines[*i].indent == indent && !is_item(&lines[*i].text) {
            let Some((key, value)) = key_value(&lines[*i].text) else {
                *i += 1;
                continue;
            };
            *i += 1;
            let v = if value.is_empty() {
                match lines.get(*i) {
                    Some(next) if next.indent > indent => {
                        let child = next.indent;
                        block(lines, i, child)
                    }
                    Some(next) if next.indent == indent && is_item(&next.text) => {
                        sequence(lines, i, indent)
                    }
                    _ => Value::Null,
                }
            } else if value.starts_with('|') || value.starts_with('>') {
                skip_deeper(lines, i, indent);
                Value::String(String::new())
            } else {
                skip_deeper(lines, i, indent);
                scalar(&value)
            };
            out.insert(key, v);
        }
        Value::Object(out)
    }

    /// Continuation lines of a scalar (and block scalars) are more indented than their key.
    fn skip_deeper(lines: &[Line], i: &mut usize, indent: usize) {
        while *i < lines.len() && lines[*i].indent > indent {
            *i += 1;
        }
    }

    fn key_value(text: &str) -> Option<(String, String)> {
        let (key, rest) = if let Some(stripped) = text.strip_prefix('\'') {
            let end = stripped.find("':")?;
            (stripped[..end].to_owned(), &stripped[end + 2..])
        } else if let Some(stripped) = text.strip_prefix('"') {
            let end = stripped.find("\":")?;
            (stripped[..end].to_owned(), &stripped[end + 2..])
        } else {
            let pos = text
                .find(": ")
                .or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
            (text[..pos].to_owned(), &text[pos + 1..])
        };
        Some((key, rest.trim().to_owned()))
    }

    fn scalar(text: &str) -> Value {
        match text {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            "[]" => return Value::Array(Vec::new()),
            "{}" => return Value::Object(Map::new()),
            _ => {}
        }
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            return Value::Array(inner.split(',').map(|s| scalar(s.trim())).collect());
        }
        if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            return Value::String(inner.replace("''", "'"));
        }
        if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            return Value::String(inner.replace("\\\"", "\""));
        }
        Value::String(text.to_owned())
    }
}

#[test]
fn the_yaml_reader_understands_the_crm_spec() {
    let contact = schema("Contact");
    assert_eq!(contact["type"], "object");
    assert_eq!(
        contact["properties"]["emails"]["items"]["$ref"],
        "#/components/schemas/Email"
    );
    assert_eq!(contact["properties"]["gender"]["enum"][1], "female");
    assert_eq!(contact["properties"]["name"]["nullable"], true);
    let list = schema("GetContactsResponse");
    assert_eq!(list["required"].as_array().map(Vec::len), Some(6));
    assert!(schema("Meta")["properties"]["cursors"]["properties"]["next"].is_object());
    // the checker catches violations
    assert!(!schema_errors("Contact", &json!({"gender": "robot"})).is_empty());
    assert!(!schema_errors("GetContactsResponse", &json!({"status_code": 200})).is_empty());
    assert!(!schema_errors("Contact", &json!({"emails": [{"type": "work"}]})).is_empty());
    assert!(schema_errors("Contact", &json!({"emails": [{"email": "a@b.c"}]})).is_empty());
}
