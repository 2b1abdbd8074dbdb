//! The service layer as the CLI uses it: integrations without secrets in any view, staged
//! credentials and promotion, API key listing, disabling an integration.

use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::Error;
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::wire::{ApiKeyView, ApplicationView, IntegrationView};
use reqwest::{Method, StatusCode};

use crate::helpers::spawn_app;

#[tokio::test]
async fn integrations_never_show_secrets_and_promote_staged_credentials() {
    let app = spawn_app().await;
    let (crm, sf) = (UnifiedApi::crm(), ServiceId::salesforce());
    let staged_secret = format!("STAGED{}", uuid::Uuid::new_v4().simple());
    let i = app
        .vault
        .set_integration(
            &app.app_id,
            &crm,
            &sf,
            IntegrationInput {
                staged_client_id: Some("3MVG9staged".to_owned()),
                staged_client_secret: Some(SecretString::new(staged_secret.clone())),
                ..IntegrationInput::default()
            },
        )
        .await
        .expect("stage");
    let view = IntegrationView::from(&i);
    assert_eq!(view.state, "configured");
    assert!(
        view.staged
            .as_ref()
            .is_some_and(|s| s.client_id == "3MVG9staged" && s.has_client_secret)
    );
    let shown = format!("{} {:?}", serde_json::to_string(&view).expect("json"), i);
    assert!(
        !shown.contains(&staged_secret) && !shown.contains(&app.client_secret),
        "{shown}"
    );

    let promoted = app
        .vault
        .promote_staged_credentials(&app.app_id, &crm, &sf)
        .await
        .expect("promote");
    assert_eq!(promoted.client_id.as_deref(), Some("3MVG9staged"));
    assert!(promoted.staged.is_none() && promoted.has_client_secret);
    assert!(matches!(
        app.vault
            .promote_staged_credentials(&app.app_id, &crm, &sf)
            .await,
        Err(Error::InvalidState(_))
    ));
    let audit = app
        .vault
        .list_audit(Some(&app.app_id), None, 200)
        .await
        .expect("audit");
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.action == "integration.credentials_promote")
    );
    assert!(!format!("{:?}", audit.items).contains(&staged_secret));
    // Validation: a bad login URL or scope is refused, nothing is written.
    for input in [
        IntegrationInput {
            login_url: Some("ftp://x".to_owned()),
            ..IntegrationInput::default()
        },
        IntegrationInput {
            scopes: Some("api \"bad".to_owned()),
            ..IntegrationInput::default()
        },
        IntegrationInput {
            client_secret: Some(SecretString::new("")),
            ..IntegrationInput::default()
        },
    ] {
        assert!(matches!(
            app.vault
                .set_integration(&app.app_id, &crm, &sf, input)
                .await,
            Err(Error::Validation(_))
        ));
    }
    let other = UnifiedApi::parse("hris").expect("id");
    assert!(
        app.vault
            .set_integration(&app.app_id, &other, &sf, IntegrationInput::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn applications_keys_and_disabling() {
    let app = spawn_app().await;
    let apps = app.vault.list_applications().await.expect("apps");
    let views: Vec<ApplicationView> = apps.iter().map(ApplicationView::from).collect();
    assert!(
        views
            .iter()
            .any(|a| a.application_id == app.app_id.as_str())
    );
    let keys = app.vault.list_api_keys(&app.app_id).await.expect("keys");
    let json = serde_json::to_string(&keys.iter().map(ApiKeyView::from).collect::<Vec<_>>())
        .expect("json");
    assert!(json.contains("vault") && !json.contains(&app.api_key));
    assert!(app.vault.create_application(" ", &[]).await.is_err());
    assert!(
        app.vault
            .create_application("x", &["http://evil.example.com".to_owned()])
            .await
            .is_err()
    );

    app.vault
        .disable_integration(&app.app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .expect("disable");
    let r = app
        .consumer_api(Method::GET, "/vault/connections", "c")
        .send()
        .await
        .expect("send");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["data"], serde_json::json!([]));
    let r = app
        .consumer_api(Method::GET, "/vault/connections/crm/salesforce", "c")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// README.md, "Setting up Salesforce" step 7 and "Configuring Patchbay": an External Client App
/// holds main and staged credentials; rotating them (or replacing them after a Connected App
/// migration) must not break existing connections.
#[tokio::test]
async fn credential_rotation_keeps_existing_connections_working() {
    let app = spawn_app().await;
    app.connect("before").await;
    let (crm, sf) = (UnifiedApi::crm(), ServiceId::salesforce());
    let new_id = format!("3MVG9rotated{}", uuid::Uuid::new_v4().simple());
    let new_secret = format!("ROTATED{}", uuid::Uuid::new_v4().simple());
    let control = format!(
        "{}/__emulator/apps/{}/credentials",
        app.emulator.base_url(),
        app.client_id
    );
    let r = app
        .client
        .post(format!("{control}/staged"))
        .json(&serde_json::json!({ "client_id": new_id, "client_secret": new_secret }))
        .send()
        .await
        .expect("stage at the emulator");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    app.vault
        .set_integration(
            &app.app_id,
            &crm,
            &sf,
            IntegrationInput {
                staged_client_id: Some(new_id.clone()),
                staged_client_secret: Some(SecretString::new(new_secret.clone())),
                ..IntegrationInput::default()
            },
        )
        .await
        .expect("stage in patchbay");
    app.vault
        .promote_staged_credentials(&app.app_id, &crm, &sf)
        .await
        .expect("promote in patchbay");
    let r = app
        .client
        .post(format!("{control}/promote"))
        .send()
        .await
        .expect("promote at the emulator");
    assert!(r.status().is_success());

    // The old connection refreshes with the new credentials; a new one connects with them.
    let validate = |consumer: &'static str| {
        app.consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            consumer,
        )
        .send()
    };
    let v =
        crate::helpers::json_with(validate("before").await.expect("send"), StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "callable");
    app.connect("after").await;
    assert_eq!(app.connection("after").await["state"], "callable");
    let v = crate::helpers::json_with(validate("after").await.expect("send"), StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "callable");
}
