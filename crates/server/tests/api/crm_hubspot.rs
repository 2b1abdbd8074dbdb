//! HubSpot's own quirks, against the HubSpot emulator: the hosted connect flow (authorize →
//! install page → callback → code exchange at the token origin, secret in the form), the
//! unified CRM and the proxy addressed with `x-apideck-service-id: hubspot` beside a
//! Salesforce connection of the same consumer, one refresh for an expired 30-minute token, and
//! search paging past the 10,000-result ceiling, deal pipeline writes (stage changes in crm_hubspot_pipelines.rs)
//! (read-only in Salesforce), and user writes through the settings API. Everything the two CRMs share is tested once
//! for both in crm.rs, crm_paging.rs, crm_params.rs, crm_writes.rs and custom_mappings.rs.

use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_fake_hubspot::{EmulatorConfig, EmulatorHandle};
use patchbay_server::service::integrations::IntegrationInput;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use std::collections::HashSet;

use crate::crm_support::{Provider, assert_schema, crm_app, crm_app_with_scopes};
use crate::helpers::{Db, assert_error_envelope, json_with};
use crate::proxy_support::{ClockedApp, clocked};

const CONSUMER: &str = "both";
const HUBSPOT: &str = "hubspot";

struct HubSpotApp {
    app: ClockedApp,
    hs: EmulatorHandle,
}

/// A Patchbay app with a Salesforce and a HubSpot integration, one consumer connected to both.
async fn spawn_both(db: Db) -> Option<HubSpotApp> {
    let app = clocked(db, |_| {}).await?;
    let secret = format!("hs-secret-{}", uuid::Uuid::new_v4().simple());
    let client_id = uuid::Uuid::new_v4().to_string();
    let hs = patchbay_fake_hubspot::spawn(EmulatorConfig {
        client_id: client_id.clone(),
        client_secret: secret.clone(),
        redirect_uris: vec![format!("{}/vault/callback", app.base_url)],
        auto_approve: true,
        records: 40,
        rate_limit_per_10s: 0,
        search_rate_limit_per_sec: 0,
        ..EmulatorConfig::default()
    })
    .await
    .expect("spawn the HubSpot emulator");
    app.vault
        .set_integration(
            &app.app_id,
            &UnifiedApi::crm(),
            &ServiceId::parse(HUBSPOT).expect("service id"),
            IntegrationInput {
                client_id: Some(client_id),
                client_secret: Some(SecretString::new(secret)),
                login_url: Some(hs.base_url()),
                ..IntegrationInput::default()
            },
        )
        .await
        .expect("set the HubSpot integration");
    let sf = app.connect(CONSUMER).await;
    assert!(sf.location_param("error").is_none(), "{sf:?}");
    let both = HubSpotApp { app, hs };
    both.connect_hubspot().await;
    Some(both)
}

impl HubSpotApp {
    /// Walks Patchbay's authorize URL → the emulator's install page (auto-approved) →
    /// Patchbay's callback → the application's redirect URI.
    async fn connect_hubspot(&self) {
        let authorize = self.app.connect_service(CONSUMER, "hubspot").await;
        // HubSpot's profile says no PKCE: the challenge is left out whatever the integration says.
        assert!(!authorize.contains("code_challenge"), "{authorize}");
    }

    fn crm(&self, method: Method, path: &str, service: &str) -> reqwest::RequestBuilder {
        self.app
            .consumer_api(method, path, CONSUMER)
            .header("x-apideck-service-id", service)
    }

    async fn hs_log(&self) -> Vec<Value> {
        let r = self
            .app
            .client
            .get(format!("{}/__emulator/requests", self.hs.base_url()))
            .send()
            .await
            .expect("send");
        match r.json::<Value>().await.expect("json") {
            Value::Array(a) => a,
            Value::Object(o) => o
                .get("requests")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    async fn grants(&self, grant: &str) -> usize {
        self.hs_log()
            .await
            .iter()
            .filter(|e| e["kind"] == "token" && e["grant_type"] == grant)
            .count()
    }
}

async fn hubspot_connects_and_serves_the_unified_crm_beside_salesforce(db: Db) {
    let Some(t) = spawn_both(db).await else {
        return;
    };
    // The code was exchanged once, at the emulator's token endpoint (the secret is required
    // there: without it the exchange fails and the connection would not be callable).
    assert_eq!(t.grants("authorization_code").await, 1);
    let r = t
        .app
        .consumer_api(Method::GET, "/vault/connections/crm/hubspot", CONSUMER)
        .send()
        .await
        .expect("send");
    let conn = json_with(r, StatusCode::OK).await;
    assert_eq!(conn["data"]["state"], "callable", "{conn}");

    // List, create, get, update, delete: each goes to the connector named by the header.
    let list = json_with(
        t.crm(Method::GET, "/crm/contacts?limit=5", HUBSPOT)
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["service"], HUBSPOT, "{list}");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(5), "{list}");
    let created = json_with(
        t.crm(Method::POST, "/crm/contacts", HUBSPOT)
            .json(&json!({"first_name": "Ada", "last_name": "Lovelace",
                "emails": [{"email": "ada@example.com", "type": "primary"}]}))
            .send()
            .await
            .expect("send"),
        StatusCode::CREATED,
    )
    .await;
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let got = json_with(
        t.crm(Method::GET, &format!("/crm/contacts/{id}"), HUBSPOT)
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["data"]["last_name"], "Lovelace", "{got}");
    json_with(
        t.crm(Method::PATCH, &format!("/crm/contacts/{id}"), HUBSPOT)
            .json(&json!({"last_name": "King"}))
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    let got = json_with(
        t.crm(Method::GET, &format!("/crm/contacts/{id}"), HUBSPOT)
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["data"]["last_name"], "King", "{got}");
    json_with(
        t.crm(Method::DELETE, &format!("/crm/contacts/{id}"), HUBSPOT)
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    let api_calls = t
        .hs_log()
        .await
        .iter()
        .filter(|e| e["kind"] == "api")
        .count();
    assert!(api_calls >= 5, "the HubSpot calls reached the emulator");

    // The same consumer's Salesforce connection still answers for Salesforce.
    let sf = json_with(
        t.crm(Method::GET, "/crm/contacts?limit=2", "salesforce")
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(sf["service"], "salesforce", "{sf}");

    // The proxy reaches HubSpot's API origin (here the emulator) with the HubSpot token...
    let before = t.hs_log().await.len();
    let r = t
        .crm(Method::GET, "/proxy", HUBSPOT)
        .header(
            "x-apideck-downstream-url",
            "/crm/v3/objects/contacts?limit=1",
        )
        .send()
        .await
        .expect("send");
    let body = json_with(r, StatusCode::OK).await;
    assert!(body["results"].is_array(), "{body}");
    assert!(t.hs_log().await.len() > before);
    // ...and nowhere else: another origin is refused before any token leaves.
    let elsewhere = format!("{}/services/data/v66.0/limits", t.app.emulator.base_url());
    let r = t
        .crm(Method::GET, "/proxy", HUBSPOT)
        .header("x-apideck-downstream-url", &elsewhere)
        .send()
        .await
        .expect("send");
    assert!(r.status().is_client_error(), "{}", r.status());
}

async fn an_expired_hubspot_token_is_refreshed_once_with_the_secret(db: Db) {
    let Some(t) = spawn_both(db).await else {
        return;
    };
    assert_eq!(t.grants("refresh_token").await, 0);
    // HubSpot's tokens live 30 minutes; move both clocks past that.
    t.app.clock.advance(31 * 60 * 1000);
    t.hs.emulator().advance_clock(31 * 60);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let req = t.crm(Method::GET, "/crm/companies?limit=2", HUBSPOT);
        set.spawn(async move {
            let r = req.send().await.expect("send");
            (r.status(), r.text().await.unwrap_or_default())
        });
    }
    while let Some(done) = set.join_next().await {
        let (status, body) = done.expect("join");
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // One refresh for eight callers; the emulator refuses a refresh without the secret, so
    // success also shows it was sent.
    assert_eq!(t.grants("refresh_token").await, 1);
}

/// A consumer with two CRM connections must say which one a call is for.
async fn without_the_header_two_connections_are_ambiguous(db: Db) {
    let Some(t) = spawn_both(db).await else {
        return;
    };
    // Without the header, two connections are ambiguous: a validation error naming both.
    let r = t
        .app
        .consumer_api(Method::GET, "/crm/contacts?limit=1", CONSUMER)
        .send()
        .await
        .expect("send");
    let body = json_with(r, StatusCode::BAD_REQUEST).await;
    assert_error_envelope(&body, 400, "RequestValidationError");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(HUBSPOT) && detail.contains("salesforce"),
        "{body}"
    );
    // With it, each answers for itself.
    for service in [HUBSPOT, "salesforce"] {
        let r = t
            .crm(Method::GET, "/crm/companies?limit=1", service)
            .send()
            .await
            .expect("send");
        assert_eq!(json_with(r, StatusCode::OK).await["service"], service);
    }
}

/// HubSpot's search stops at 10,000 results however it is paged; the connector's keyset
/// searches start from the top every page, so a sorted list past 10,000 contacts still returns
/// each exactly once.
async fn hubspot_search_pages_past_the_ten_thousand_result_ceiling(db: Db) {
    let Some(crm) = crm_app(Provider::HubSpot, db, 0).await else {
        return;
    };
    let seeded = crm.seed_contacts(10_150, &["Ng", "ng", "Moss", "Ávila"]);
    let expected: HashSet<String> = seeded.into_iter().collect();
    assert_eq!(expected.len(), 10_150);
    crm.clear_downstream_log();
    let mut url = format!(
        "{}/crm/contacts?limit=200&sort[by]=last_name&sort[direction]=asc",
        crm.app.base_url
    );
    let mut seen = HashSet::new();
    let mut pages = 0;
    loop {
        let page = crm.get_url(&url).await.expect(200);
        pages += 1;
        for r in page.data().as_array().expect("data") {
            let id = r["id"].as_str().expect("id").to_owned();
            assert!(seen.insert(id), "{r} twice");
        }
        match page.body["links"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
        assert!(pages < 1_000, "paging does not end");
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, 10_150usize.div_ceil(200));
    // Every page was one search, and HubSpot never refused one for the ceiling.
    let log = crm.downstream_log();
    let searches: Vec<_> = log.iter().filter(|e| e.path.ends_with("/search")).collect();
    assert_eq!(searches.len(), pages, "{log:?}");
    assert!(searches.iter().all(|e| e.status == Some(200)), "{log:?}");
}

async fn the_hubspot_images_are_served(db: Db) {
    let Some(t) = spawn_both(db).await else {
        return;
    };
    let conn = json_with(
        t.app
            .consumer_api(Method::GET, "/vault/connections/crm/hubspot", CONSUMER)
            .send()
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    for field in ["icon", "logo"] {
        let url = conn["data"][field].as_str().expect("image url");
        let r = t.app.client.get(url).send().await.expect("send");
        assert_eq!(r.status(), StatusCode::OK, "{field}: {url}");
        assert!(r.text().await.unwrap_or_default().contains("HubSpot"));
    }
}

/// Issue 15: HubSpot's Pipelines API writes deal pipelines, so the unified pipeline writes
/// reach it (create → get → list → patch → delete); Salesforce's opportunity stages stay
/// read-only.
async fn hubspot_pipelines_are_created_patched_and_deleted(db: Db) {
    let Some(t) = spawn_both(db).await else {
        return;
    };
    let send = |method: Method, path: &str, body: Option<Value>| {
        let mut r = t.crm(method, path, HUBSPOT);
        if let Some(body) = body {
            r = r.json(&body);
        }
        r.send()
    };
    let created = json_with(
        send(
            Method::POST,
            "/crm/pipelines",
            Some(json!({"name": "Partners", "display_order": 3, "stages": [
                {"name": "Open", "win_probability": 25, "display_order": 0},
                {"name": "Signed", "win_probability": 100, "display_order": 1},
            ]})),
        )
        .await
        .expect("send"),
        StatusCode::CREATED,
    )
    .await;
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    assert!(
        id.parse::<u64>().is_ok(),
        "HubSpot makes numeric ids: {created}"
    );
    let path = format!("/crm/pipelines/{id}");
    let got = json_with(
        send(Method::GET, &path, None).await.expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["data"]["name"], "Partners", "{got}");
    assert_eq!(got["data"]["display_order"], 3, "{got}");
    let stages = got["data"]["stages"].as_array().expect("stages");
    let probabilities: Vec<(&Value, &Value)> = stages
        .iter()
        .map(|s| (&s["name"], &s["win_probability"]))
        .collect();
    assert_eq!(
        probabilities,
        [
            (&json!("Open"), &json!(25)),
            (&json!("Signed"), &json!(100))
        ],
        "{got}"
    );
    let list = json_with(
        send(Method::GET, "/crm/pipelines", None)
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    let listed: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(listed.contains(&id.as_str()), "{list}");
    assert!(listed.contains(&"default"), "{list}");

    json_with(
        send(Method::PATCH, &path, Some(json!({"name": "Channel"})))
            .await
            .expect("send"),
        StatusCode::OK,
    )
    .await;
    let got = json_with(
        send(Method::GET, &path, None).await.expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["data"]["name"], "Channel", "{got}");
    assert_eq!(got["data"]["stages"].as_array().map(Vec::len), Some(2));

    // What HubSpot requires and the body lacks is a validation error before any call.
    let r = send(
        Method::POST,
        "/crm/pipelines",
        Some(json!({"name": "No stages"})),
    )
    .await
    .expect("send");
    let body = json_with(r, StatusCode::BAD_REQUEST).await;
    assert_error_envelope(&body, 400, "RequestValidationError");

    json_with(
        send(Method::DELETE, &path, None).await.expect("send"),
        StatusCode::OK,
    )
    .await;
    for method in [Method::GET, Method::DELETE] {
        let r = send(method, &path, None).await.expect("send");
        let body = json_with(r, StatusCode::NOT_FOUND).await;
        assert_error_envelope(&body, 404, "EntityNotFoundError");
    }
    let r = send(Method::PATCH, &path, Some(json!({"name": "Gone"})))
        .await
        .expect("send");
    let body = json_with(r, StatusCode::NOT_FOUND).await;
    assert_error_envelope(&body, 404, "EntityNotFoundError");

    // Salesforce's pipelines are its opportunity stages: still read-only.
    let r = t
        .crm(Method::POST, "/crm/pipelines", "salesforce")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("send");
    let body = json_with(r, StatusCode::NOT_IMPLEMENTED).await;
    assert_error_envelope(&body, 501, "ConnectorOperationUnsupportedError");
}

crate::server_backend_tests!(
    hubspot_pipelines_are_created_patched_and_deleted,
    hubspot_connects_and_serves_the_unified_crm_beside_salesforce,
    an_expired_hubspot_token_is_refreshed_once_with_the_secret,
    without_the_header_two_connections_are_ambiguous,
    hubspot_search_pages_past_the_ten_thousand_result_ceiling,
    the_hubspot_images_are_served,
);

/// Users over HubSpot's user provisioning API, with the optional `settings.users.write` scope
/// (docs/hubspot.md §15 "Users"): a create answers with the new user's owner id, which reads
/// back and lists like any other user; an update changes the names and refuses a new email,
/// naming the field; a delete removes the user and archives its owner.
async fn hubspot_users_are_created_updated_and_deleted(db: Db) {
    let Some(crm) = crm_app_with_scopes(Provider::HubSpot, db, 0, &["settings.users.write"]).await
    else {
        return;
    };
    let c = crm
        .post(
            "/crm/users",
            json!({"first_name": "Ada", "last_name": "Lovelace", "title": "Countess",
                   "emails": [{"email": "ada@example.com", "type": "primary"}]}),
        )
        .await
        .expect(201);
    assert_schema("CreateUserResponse", &c.body);
    assert_eq!(c.header("x-patchbay-ignored-fields"), Some("title"));
    let id = c.data()["id"].as_str().expect("id").to_owned();
    // The id is the owner's, the one records' owner_id holds, not the user id.
    let owner = crm.proxy_get(&format!("/crm/v3/owners/{id}")).await;
    assert_eq!(owner["email"], "ada@example.com", "{owner}");
    assert_ne!(owner["userId"].to_string(), id);

    let got = crm.get(&format!("/crm/users/{id}")).await.expect(200);
    assert_schema("GetUserResponse", &got.body);
    assert_eq!(got.data()["first_name"], "Ada");
    assert_eq!(got.data()["last_name"], "Lovelace");
    assert_eq!(got.data()["emails"][0]["email"], "ada@example.com");
    let list = crm.get("/crm/users?limit=50").await.expect(200);
    let listed: Vec<&str> = list
        .data()
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|u| u["id"].as_str())
        .collect();
    assert!(listed.contains(&id.as_str()), "{}", list.body);
    // The new owner takes records like any other.
    let contact = crm
        .post("/crm/contacts", json!({"first_name": "C", "owner_id": id}))
        .await
        .expect(201);
    let contact_id = contact.data()["id"].as_str().expect("id").to_owned();
    let read = crm
        .get(&format!("/crm/contacts/{contact_id}"))
        .await
        .expect(200);
    assert_eq!(read.data()["owner_id"], id.as_str());

    let u = crm
        .patch(
            &format!("/crm/users/{id}"),
            json!({"last_name": "King", "emails": [{"email": "ADA@example.com"}]}),
        )
        .await
        .expect(200);
    assert_schema("UpdateUserResponse", &u.body);
    assert_eq!(u.data()["id"], id.as_str());
    let got = crm.get(&format!("/crm/users/{id}")).await.expect(200);
    assert_eq!(got.data()["last_name"], "King");
    assert_eq!(got.data()["first_name"], "Ada");
    // HubSpot cannot change a user's email, nor deactivate one: errors naming the field.
    for (body, field) in [
        (
            json!({"emails": [{"email": "other@example.com"}]}),
            "emails",
        ),
        (json!({"status": "inactive"}), "status"),
    ] {
        let r = crm
            .patch(&format!("/crm/users/{id}"), body)
            .await
            .expect(400);
        assert_error_envelope(&r.body, 400, "RequestValidationError");
        assert_eq!(r.body["detail"]["field"], field, "{}", r.body);
    }
    let got = crm.get(&format!("/crm/users/{id}")).await.expect(200);
    assert_eq!(got.data()["emails"][0]["email"], "ada@example.com");
    // A second user with the same email is HubSpot's conflict, passed on.
    let r = crm
        .post(
            "/crm/users",
            json!({"emails": [{"email": "ada@example.com"}]}),
        )
        .await
        .expect(409);
    assert_error_envelope(&r.body, 409, "ConnectorExecutionError");

    let d = crm.delete(&format!("/crm/users/{id}")).await.expect(200);
    assert_schema("DeleteUserResponse", &d.body);
    assert_eq!(d.data()["id"], id.as_str());
    for r in [
        crm.get(&format!("/crm/users/{id}")).await,
        crm.delete(&format!("/crm/users/{id}")).await,
        crm.patch(&format!("/crm/users/{id}"), json!({"first_name": "X"}))
            .await,
    ] {
        assert_eq!(r.status.as_u16(), 404, "{}", r.body);
        assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    }
    let list = crm.get("/crm/users?limit=50").await.expect(200);
    assert!(
        list.data()
            .as_array()
            .expect("data")
            .iter()
            .all(|u| u["id"] != id.as_str()),
        "{}",
        list.body
    );
    // HubSpot keeps the owner, archived.
    let archived = crm.proxy_get("/crm/v3/owners?archived=true").await;
    assert_eq!(archived["results"][0]["id"], id.as_str(), "{archived}");
    assert_eq!(archived["results"][0]["archived"], true);
}

crate::server_backend_tests!(hubspot_users_are_created_updated_and_deleted);
