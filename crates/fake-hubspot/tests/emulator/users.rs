//! The settings API's user provisioning (`docs/hubspot.md §11`): users are provisioned,
//! read by id or email, changed and removed; each has an owner, archived on removal; scopes
//! are checked; and the state file keeps them.

use patchbay_fake_hubspot::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Emu, assert_error, auto, start};

const USER_SCOPES: &[&str] = &["settings.users.read", "settings.users.write"];

fn with_user_scopes(mut config: EmulatorConfig) -> EmulatorConfig {
    config
        .scopes
        .extend(USER_SCOPES.iter().map(|s| (*s).to_owned()));
    config
}

async fn provision(emu: &Emu, token: &str, body: Value) -> (StatusCode, Value) {
    emu.send(Method::POST, token, "/settings/v3/users", &body)
        .await
}

#[tokio::test]
async fn a_user_is_provisioned_read_changed_and_removed_with_its_owner() {
    let emu = start(with_user_scopes(auto(0))).await;
    let t = emu.install().await.access;
    let (status, user) = provision(
        &emu,
        &t,
        json!({"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace",
               "roleId": "5001", "primaryTeamId": "700", "sendWelcomeEmail": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["sendWelcomeEmail"], true);
    assert_eq!(user["roleIds"], json!(["5001"]));
    let user_id = user["id"].as_str().expect("id").to_owned();

    // Read by id and by email; listed.
    let (status, by_id) = emu.get(&t, &format!("/settings/v3/users/{user_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id["firstName"], "Ada");
    assert_eq!(
        by_id["sendWelcomeEmail"], false,
        "only the create answer says so"
    );
    let (_, by_email) = emu
        .get(&t, "/settings/v3/users/ADA@example.com?idProperty=EMAIL")
        .await;
    assert_eq!(by_email["id"], user_id.as_str());
    let (_, list) = emu.get(&t, "/settings/v3/users/?limit=100").await;
    let listed: Vec<&Value> = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .collect();
    assert_eq!(listed.len(), 6, "five seeded users and the new one");
    assert!(listed.iter().any(|u| u["id"] == user_id.as_str()));
    let (_, page) = emu.get(&t, "/settings/v3/users?limit=4").await;
    assert_eq!(page["paging"]["next"]["after"], "4");

    // Its owner is there at once, by owner id or user id.
    let (status, owner) = emu
        .get(&t, &format!("/crm/v3/owners/{user_id}?idProperty=userId"))
        .await;
    assert_eq!(status, StatusCode::OK, "{owner}");
    assert_eq!(owner["userId"].to_string(), user_id);
    assert_eq!(owner["email"], "ada@example.com");
    let owner_id = owner["id"].as_str().expect("owner id").to_owned();
    assert_ne!(owner_id, user_id, "two id spaces");
    let (_, same) = emu.get(&t, &format!("/crm/v3/owners/{owner_id}")).await;
    assert_eq!(same, owner);
    // A record can be given to the new owner.
    let (status, contact) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "c@example.com", "hubspot_owner_id": owner_id}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");

    // PUT changes what it names; the owner follows.
    let (status, changed) = emu
        .send(
            Method::PUT,
            &t,
            &format!("/settings/v3/users/{user_id}"),
            &json!({"lastName": "King"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["firstName"], &changed["lastName"]),
        (&json!("Ada"), &json!("King"))
    );
    let (_, owner) = emu.get(&t, &format!("/crm/v3/owners/{owner_id}")).await;
    assert_eq!(owner["lastName"], "King");
    let (status, body) = emu
        .send(
            Method::PUT,
            &t,
            &format!("/settings/v3/users/{user_id}"),
            &json!({"email": "other@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");

    // DELETE removes the user and archives the owner.
    let (status, _) = emu
        .send(
            Method::DELETE,
            &t,
            &format!("/settings/v3/users/{user_id}"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = emu.get(&t, &format!("/settings/v3/users/{user_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "OBJECT_NOT_FOUND");
    let (status, _) = emu.get(&t, &format!("/crm/v3/owners/{owner_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a live lookup misses it");
    let (_, archived) = emu
        .get(&t, &format!("/crm/v3/owners/{owner_id}?archived=true"))
        .await;
    assert_eq!(archived["archived"], true);
    assert_eq!(archived["userId"], Value::Null);
    assert_eq!(archived["userIdIncludingInactive"].to_string(), user_id);
    let (_, archived_list) = emu.get(&t, "/crm/v3/owners?archived=true").await;
    assert_eq!(
        archived_list["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|o| o["id"].clone())
            .collect::<Vec<_>>(),
        [json!(owner_id)]
    );
    let (_, live) = emu.get(&t, "/crm/v3/owners").await;
    assert!(
        live["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|o| o["id"] != owner_id.as_str())
    );
    let (_, users) = emu.get(&t, "/settings/v3/users").await;
    assert_eq!(users["results"].as_array().expect("results").len(), 5);
}

#[tokio::test]
async fn bad_users_are_refused_in_hubspot_words() {
    let emu = start(with_user_scopes(auto(0))).await;
    let t = emu.install().await.access;
    for (body, status, category) in [
        (json!({"firstName": "No email"}), 400, "VALIDATION_ERROR"),
        (
            json!({"email": "x@example.com", "roleId": "1"}),
            400,
            "VALIDATION_ERROR",
        ),
        (json!({"email": "admin@emulator.test"}), 409, "CONFLICT"),
        (json!(["not", "an", "object"]), 400, "VALIDATION_ERROR"),
    ] {
        let (got, answer) = provision(&emu, &t, body).await;
        assert_eq!(got.as_u16(), status, "{answer}");
        assert_error(&answer, category);
    }
    // A paid-seat role needs billing-write, which this app lacks.
    let (status, body) = provision(
        &emu,
        &t,
        json!({"email": "seat@example.com", "roleId": "5003"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["errors"][0]["context"]["requiredScopes"],
        json!(["billing-write"])
    );
    let (status, body) = emu.get(&t, "/settings/v3/users/1?idProperty=NAME").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");
    let (status, body) = emu.get(&t, "/crm/v3/owners/1?idProperty=email").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");
    let (status, roles) = emu.get(&t, "/settings/v3/users/roles").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(roles["results"][2]["requiresBillingWrite"], true);
    // Teams need their own scope.
    let (status, body) = emu.get(&t, "/settings/v3/users/teams").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "MISSING_SCOPES");
}

#[tokio::test]
async fn without_the_user_scopes_reads_and_writes_are_refused() {
    let emu = start(auto(0)).await;
    let t = emu.install().await.access;
    let (status, body) = emu.get(&t, "/settings/v3/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "MISSING_SCOPES");
    assert_eq!(
        body["errors"][0]["context"]["requiredScopes"],
        json!(["settings.users.read", "crm.objects.users.read"])
    );
    let (status, body) = provision(&emu, &t, json!({"email": "x@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["errors"][0]["context"]["requiredScopes"],
        json!(["settings.users.write", "crm.objects.users.write"])
    );
    let (_, owners) = emu.get(&t, "/crm/v3/owners").await;
    assert_eq!(owners["results"].as_array().expect("results").len(), 5);
}

#[tokio::test]
async fn the_state_file_keeps_provisioned_and_removed_users() {
    let dir = std::env::temp_dir().join(format!("fake-hubspot-users-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("state.json");
    let config = with_user_scopes(EmulatorConfig {
        state_file: Some(file.clone()),
        ..auto(0)
    });
    let emu = start(config.clone()).await;
    let tokens = emu.install().await;
    let (_, kept) = provision(&emu, &tokens.access, json!({"email": "kept@example.com"})).await;
    let (_, gone) = provision(&emu, &tokens.access, json!({"email": "gone@example.com"})).await;
    let gone_id = gone["id"].as_str().expect("id").to_owned();
    let (status, _) = emu
        .send(
            Method::DELETE,
            &tokens.access,
            &format!("/settings/v3/users/{gone_id}"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let Emu { _handle, .. } = emu;
    _handle.shutdown().await;

    let emu = start(config).await;
    let (status, again) = emu
        .get(
            &tokens.access,
            &format!("/settings/v3/users/{}", kept["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["email"], "kept@example.com");
    let (_, archived) = emu
        .get(&tokens.access, "/crm/v3/owners?archived=true")
        .await;
    assert_eq!(archived["results"][0]["email"], "gone@example.com");
    // New ids carry on past the saved ones.
    let (_, next) = provision(&emu, &tokens.access, json!({"email": "next@example.com"})).await;
    let next_id: u64 = next["id"].as_str().expect("id").parse().expect("number");
    assert!(next_id > gone_id.parse::<u64>().expect("number"));
    let _ = std::fs::remove_dir_all(&dir);
}
