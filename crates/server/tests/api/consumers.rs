//! Consumers: create, list (filters, cursor paging), get, update, delete.

use reqwest::{Method, StatusCode};

use crate::helpers::{assert_error_envelope, json_with, spawn_app};

#[tokio::test]
async fn consumer_crud_filters_and_paging() {
    let app = spawn_app().await;
    for (id, email) in [
        ("team-a1", "ann@a.example"),
        ("team-a2", "bob@a.example"),
        ("team-b1", "cy@b.example"),
    ] {
        let r = app
            .api(Method::POST, "/vault/consumers")
            .json(&serde_json::json!({ "consumer_id": id, "metadata": { "email": email, "account_name": "Acme" } }))
            .send()
            .await
            .expect("send");
        let v = json_with(r, StatusCode::OK).await;
        assert_eq!(v["status"], "OK");
        assert_eq!(v["data"]["consumer_id"], id);
        assert_eq!(v["data"]["application_id"], app.app_id.as_str());
    }
    let r = app
        .api(Method::POST, "/vault/consumers")
        .json(&serde_json::json!({ "consumer_id": "team-a1" }))
        .send()
        .await
        .expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::CONFLICT).await,
        409,
        "ConflictError",
    );

    let r = app
        .api(Method::GET, "/vault/consumers?filter[consumer_id]=team-a")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    let r = app
        .api(Method::GET, "/vault/consumers?filter[search]=CY@B")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"][0]["consumer_id"], "team-b1");

    // Paging: two pages of 2 + 1 and the links to walk them.
    let r = app
        .api(Method::GET, "/vault/consumers?limit=2")
        .send()
        .await
        .expect("send");
    let p1 = json_with(r, StatusCode::OK).await;
    assert_eq!(p1["meta"]["items_on_page"], 2);
    let next = p1["meta"]["cursors"]["next"]
        .as_str()
        .expect("next cursor")
        .to_owned();
    assert!(
        p1["links"]["next"]
            .as_str()
            .is_some_and(|l| l.contains(&next))
    );
    let r = app
        .api(
            Method::GET,
            &format!("/vault/consumers?limit=2&cursor={next}"),
        )
        .send()
        .await
        .expect("send");
    let p2 = json_with(r, StatusCode::OK).await;
    assert_eq!(p2["meta"]["items_on_page"], 1);
    assert!(p2["meta"]["cursors"]["next"].is_null());

    // links.next keeps the filter: following it stays inside team-a.
    let r = app
        .api(
            Method::GET,
            "/vault/consumers?filter[consumer_id]=team-a&limit=1",
        )
        .send()
        .await
        .expect("send");
    let first = json_with(r, StatusCode::OK).await;
    let next = first["links"]["next"]
        .as_str()
        .expect("next link")
        .to_owned();
    assert!(
        next.contains("filter%5Bconsumer_id%5D=team-a")
            || next.contains("filter[consumer_id]=team-a"),
        "{next}"
    );
    let r = app
        .client
        .get(&next)
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .send()
        .await
        .expect("send");
    let second = json_with(r, StatusCode::OK).await;
    assert_eq!(second["data"][0]["consumer_id"], "team-a2");
    assert!(second["links"]["next"].is_null());

    let r = app
        .api(Method::PATCH, "/vault/consumers/team-a1")
        .json(&serde_json::json!({ "metadata": { "user_name": "Ann" } }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["metadata"]["user_name"], "Ann");

    let r = app
        .api(Method::DELETE, "/vault/consumers/team-a1")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["consumer_id"], "team-a1");
    let r = app
        .api(Method::GET, "/vault/consumers/team-a1")
        .send()
        .await
        .expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::NOT_FOUND).await,
        404,
        "EntityNotFoundError",
    );
}

#[tokio::test]
async fn deleting_a_consumer_revokes_and_removes_its_connections() {
    let app = spawn_app().await;
    app.connect("leaving").await;
    let export_key = app
        .key_with(&[patchbay_server::service::Scope::Export])
        .await;
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&export_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "leaving")
        .send()
        .await
        .expect("send");
    let refresh = json_with(r, StatusCode::OK).await["data"]["refresh_token"]
        .as_str()
        .expect("rt")
        .to_owned();
    assert!(app.refresh_token_alive(&refresh).await);
    let r = app
        .api(Method::GET, "/vault/consumers/leaving")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["services"], serde_json::json!(["salesforce"]));
    assert_eq!(v["data"]["connections"][0]["state"], "callable");
    let r = app
        .api(Method::DELETE, "/vault/consumers/leaving")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        !app.refresh_token_alive(&refresh).await,
        "the consumer's grant was not revoked"
    );
    assert_eq!(app.connection("leaving").await["state"], "available");
}
