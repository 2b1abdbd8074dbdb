//! Responses checked against the Apideck spec's schemas (`spec/apideck/vault.yml`, vendored).
//!
//! No YAML crate is in the lockfile, so a small reader extracts, for a named schema, its
//! `required` list, `additionalProperties: false`, `enum`, and each property's `type`, `$ref`
//! and `nullable`, from the spec's fixed two-space indentation. Values are then checked for
//! presence and type, recursing through `$ref`s.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{REDIRECT_URI, json_with, spawn_app};

fn spec() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/apideck/vault.yml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[derive(Debug, Default)]
struct Schema {
    ty: Option<String>,
    required: Vec<String>,
    closed: bool,
    enum_values: Vec<String>,
    props: Vec<Prop>,
}

#[derive(Debug, Default)]
struct Prop {
    name: String,
    ty: Option<String>,
    reference: Option<String>,
    nullable: bool,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn schema(spec: &str, name: &str) -> Schema {
    let lines: Vec<&str> = spec.lines().collect();
    let schemas = lines
        .iter()
        .position(|l| *l == "  schemas:")
        .expect("components.schemas");
    let header = format!("    {name}:");
    let start = lines[schemas..]
        .iter()
        .position(|l| *l == header)
        .map(|i| i + schemas)
        .unwrap_or_else(|| panic!("schema {name}"));
    let mut s = Schema::default();
    let mut section = "";
    for line in &lines[start + 1..] {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let n = indent(line);
        if n <= 4 {
            break;
        }
        match n {
            6 => {
                section = "";
                if let Some(v) = t.strip_prefix("type: ") {
                    s.ty = Some(v.to_owned());
                } else if t == "additionalProperties: false" {
                    s.closed = true;
                } else if t == "required:" || t == "enum:" || t == "properties:" {
                    section = t.trim_end_matches(':');
                }
            }
            8 => match section {
                "required" => s.required.extend(t.strip_prefix("- ").map(str::to_owned)),
                "enum" => s.enum_values.extend(
                    t.strip_prefix("- ")
                        .map(|v| v.trim_matches('\'').to_owned()),
                ),
                "properties" if t.ends_with(':') => s.props.push(Prop {
                    name: t.trim_end_matches(':').to_owned(),
                    ..Prop::default()
                }),
                _ => {}
            },
            10 if section == "properties" => {
                if let Some(p) = s.props.last_mut() {
                    if let Some(v) = t.strip_prefix("type: ") {
                        p.ty = Some(v.to_owned());
                    } else if let Some(v) = t.strip_prefix("$ref: ") {
                        p.reference = Some(
                            v.trim_matches('\'')
                                .rsplit('/')
                                .next()
                                .unwrap_or_default()
                                .to_owned(),
                        );
                    } else if t == "nullable: true" {
                        p.nullable = true;
                    }
                }
            }
            _ => {}
        }
    }
    s
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

/// Every violation of `name` by `value`, with a JSON-pointer-like path.
fn check(spec: &str, name: &str, value: &Value, at: &str) -> Vec<String> {
    let s = schema(spec, name);
    let mut errors = Vec::new();
    if !s.enum_values.is_empty() {
        if !value
            .as_str()
            .is_some_and(|v| s.enum_values.iter().any(|e| e == v))
        {
            errors.push(format!("{at}: {value} is not one of {:?}", s.enum_values));
        }
        return errors;
    }
    if let Some(ty) = s.ty.as_deref().filter(|ty| !type_ok(ty, value)) {
        errors.push(format!("{at}: expected {ty}, got {value}"));
        return errors;
    }
    let Some(obj) = value.as_object() else {
        return errors;
    };
    for r in &s.required {
        if !obj.contains_key(r) {
            errors.push(format!("{at}: required property {r} missing"));
        }
    }
    if s.closed {
        for k in obj.keys() {
            if !s.props.iter().any(|p| &p.name == k) {
                errors.push(format!("{at}: property {k} is not in the schema"));
            }
        }
    }
    for p in &s.props {
        let Some(v) = obj.get(&p.name) else { continue };
        let here = format!("{at}/{}", p.name);
        if v.is_null() {
            if !p.nullable {
                errors.push(format!("{here}: null but not nullable"));
            }
            continue;
        }
        if let Some(ty) = p.ty.as_deref().filter(|ty| !type_ok(ty, v)) {
            errors.push(format!("{here}: expected {ty}, got {v}"));
        }
        if let Some(r) = &p.reference {
            errors.extend(check(spec, r, v, &here));
        }
    }
    errors
}

fn assert_valid(spec: &str, name: &str, value: &Value) {
    let errors = check(spec, name, value, name);
    assert!(
        errors.is_empty(),
        "{name} does not match the spec:\n{}\n{value:#}",
        errors.join("\n")
    );
}

#[test]
fn the_reader_understands_the_spec() {
    let spec = spec();
    let c = schema(&spec, "Connection");
    assert!(
        c.props
            .iter()
            .any(|p| p.name == "state" && p.reference.as_deref() == Some("ConnectionState"))
    );
    assert!(
        c.props
            .iter()
            .any(|p| p.name == "authorize_url" && p.nullable)
    );
    let log = schema(&spec, "Log");
    assert!(log.closed && log.required.contains(&"operation".to_owned()));
    assert_eq!(schema(&spec, "ConnectionState").enum_values.len(), 5);
    assert!(!check(&spec, "Consumer", &serde_json::json!({}), "x").is_empty());
}

#[tokio::test]
async fn vault_responses_match_the_spec() {
    let spec = spec();
    let app = spawn_app().await;

    let r = app
        .consumer_api(Method::POST, "/vault/sessions", "shape")
        .json(&serde_json::json!({ "redirect_uri": REDIRECT_URI, "settings": { "session_length": "30m" }, "consumer_metadata": { "email": "s@x.example" } }))
        .send()
        .await
        .expect("send");
    assert_valid(
        &spec,
        "CreateSessionResponse",
        &json_with(r, StatusCode::OK).await,
    );

    let available = app.connection("shape").await;
    assert_valid(&spec, "Connection", &available);
    app.connect("shape").await;
    let r = app
        .consumer_api(Method::GET, "/vault/connections/crm/salesforce", "shape")
        .send()
        .await
        .expect("send");
    let one = json_with(r, StatusCode::OK).await;
    assert_valid(&spec, "GetConnectionResponse", &one);
    assert_valid(&spec, "Connection", &one["data"]);

    let r = app
        .consumer_api(Method::GET, "/vault/connections", "shape")
        .send()
        .await
        .expect("send");
    let all = json_with(r, StatusCode::OK).await;
    assert_valid(&spec, "GetConnectionsResponse", &all);
    for c in all["data"].as_array().expect("array") {
        assert_valid(&spec, "Connection", c);
    }

    let r = app
        .consumer_api(Method::PATCH, "/vault/connections/crm/salesforce", "shape")
        .json(&serde_json::json!({ "enabled": true, "metadata": { "plan": "gold" } }))
        .send()
        .await
        .expect("send");
    let updated = json_with(r, StatusCode::OK).await;
    assert_valid(&spec, "UpdateConnectionResponse", &updated);
    assert_valid(&spec, "Connection", &updated["data"]);

    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "shape",
        )
        .send()
        .await
        .expect("send");
    assert_valid(
        &spec,
        "ValidateConnectionStateResponse",
        &json_with(r, StatusCode::OK).await,
    );

    let r = app
        .api(Method::GET, "/vault/consumers/shape")
        .send()
        .await
        .expect("send");
    let consumer = json_with(r, StatusCode::OK).await;
    assert_valid(&spec, "GetConsumerResponse", &consumer);
    assert_valid(&spec, "Consumer", &consumer["data"]);
    assert_valid(&spec, "ConsumerMetadata", &consumer["data"]["metadata"]);
    for c in consumer["data"]["connections"]
        .as_array()
        .expect("connections")
    {
        assert_valid(&spec, "ConsumerConnection", c);
    }
    let r = app
        .api(Method::GET, "/vault/consumers")
        .send()
        .await
        .expect("send");
    let consumers = json_with(r, StatusCode::OK).await;
    assert_valid(&spec, "GetConsumersResponse", &consumers);
    assert_valid(&spec, "Meta", &consumers["meta"]);
    assert_valid(&spec, "Links", &consumers["links"]);

    let r = app
        .consumer_api(Method::GET, "/vault/logs", "shape")
        .send()
        .await
        .expect("send");
    let logs = json_with(r, StatusCode::OK).await;
    assert_valid(&spec, "GetLogsResponse", &logs);
    assert_valid(&spec, "Meta", &logs["meta"]);
    let items = logs["data"].as_array().expect("logs");
    assert!(!items.is_empty());
    for l in items {
        assert_valid(&spec, "Log", l);
    }
    let r = app
        .consumer_api(Method::GET, "/vault/logs?filter[http_method]=PATCH&filter[path]=/crm/salesforce&filter[path_match_mode]=ENDS_WITH", "shape")
        .send()
        .await
        .expect("send");
    let filtered = json_with(r, StatusCode::OK).await;
    let items = filtered["data"].as_array().expect("logs");
    assert_eq!(items.len(), 1, "{filtered}");
    assert_eq!(items[0]["operation"]["id"], "connectionsUpdate");

    // Error envelopes: every error response of the spec shares these fields.
    let r = app
        .api(Method::GET, "/vault/consumers/nobody")
        .send()
        .await
        .expect("send");
    assert_valid(
        &spec,
        "NotFoundResponse",
        &json_with(r, StatusCode::NOT_FOUND).await,
    );
    let r = app
        .client
        .get(format!("{}/vault/consumers", app.base_url))
        .send()
        .await
        .expect("send");
    assert_valid(
        &spec,
        "UnauthorizedResponse",
        &json_with(r, StatusCode::UNAUTHORIZED).await,
    );
}
