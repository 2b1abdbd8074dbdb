use patchbay_core::{IntegrationState, ServiceId, UnifiedApi};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{IntegrationWrite, StoreError};

use crate::fixtures::{T0, app, sealed};

patchbay_store::backend_tests!(
    integration_upsert_and_get,
    staged_credentials_promote,
    integration_requires_application
);

async fn integration_upsert_and_get(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let mut w = IntegrationWrite::new(
        app_id.clone(),
        UnifiedApi::crm(),
        ServiceId::salesforce(),
        &crate::fixtures::settings(),
        T0,
    );
    let first = store.upsert_integration(&w).await.unwrap();
    assert_eq!(first.version, 1);
    let domain = first.to_domain().unwrap();
    assert_eq!(domain.state(), IntegrationState::NeedsConfiguration);
    assert_eq!(
        domain.settings.login_host.as_str(),
        "https://login.salesforce.com"
    );
    assert!(domain.settings.pkce);
    assert!(!domain.settings.send_secret_on_refresh);

    w.client_id = Some("3MVG9client".to_owned());
    w.client_secret_sealed = Some(sealed("secret"));
    w.login_url = "https://test.salesforce.com".to_owned();
    w.session_timeout_s = 900;
    w.now_ms = T0 + 1;
    let second = store.upsert_integration(&w).await.unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(second.created_at, T0);
    assert_eq!(second.updated_at, T0 + 1);
    assert_eq!(second.client_secret_sealed, Some(sealed("secret")));
    let domain = second.to_domain().unwrap();
    assert_eq!(domain.state(), IntegrationState::Configured);
    assert_eq!(
        domain.settings.login_host.as_str(),
        "https://test.salesforce.com"
    );
    assert_eq!(domain.settings.session_timeout_s, 900);

    let got = store
        .get_integration(&app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .unwrap();
    assert_eq!(got, Some(second));
    assert_eq!(store.list_integrations(&app_id).await.unwrap().len(), 1);

    assert!(
        store
            .set_integration_enabled(
                &app_id,
                &UnifiedApi::crm(),
                &ServiceId::salesforce(),
                false,
                T0 + 2
            )
            .await
            .unwrap()
    );
    let disabled = store
        .get_integration(&app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        disabled.to_domain().unwrap().state(),
        IntegrationState::Disabled
    );
    assert_eq!(disabled.version, 3);

    let other = app(&store).await;
    assert!(
        store
            .get_integration(&other, &UnifiedApi::crm(), &ServiceId::salesforce())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .set_integration_enabled(
                &other,
                &UnifiedApi::crm(),
                &ServiceId::salesforce(),
                true,
                T0
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_integration(&app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
            .await
            .unwrap()
    );
    assert!(store.list_integrations(&app_id).await.unwrap().is_empty());
}

async fn staged_credentials_promote(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let (ua, sid) = (UnifiedApi::crm(), ServiceId::salesforce());
    let mut w = IntegrationWrite::new(
        app_id.clone(),
        ua.clone(),
        sid.clone(),
        &crate::fixtures::settings(),
        T0,
    );
    w.client_id = Some("old".to_owned());
    w.client_secret_sealed = Some(sealed("old-secret"));
    let row = store.upsert_integration(&w).await.unwrap();
    // Nothing staged: nothing to promote.
    assert!(
        !store
            .promote_staged_credentials(&app_id, &ua, &sid, None, row.version, T0)
            .await
            .unwrap()
    );

    w.staged_client_id = Some("new".to_owned());
    w.staged_client_secret_sealed = Some(sealed("new-secret-staged-column"));
    let row = store.upsert_integration(&w).await.unwrap();
    let staged = row.to_domain().unwrap().staged.unwrap();
    assert_eq!(staged.client_id, "new");
    assert!(staged.has_client_secret);

    // A stale version loses.
    let resealed = sealed("new-secret-main-column");
    assert!(
        !store
            .promote_staged_credentials(&app_id, &ua, &sid, Some(&resealed), row.version - 1, T0)
            .await
            .unwrap()
    );
    assert!(
        store
            .promote_staged_credentials(&app_id, &ua, &sid, Some(&resealed), row.version, T0 + 5)
            .await
            .unwrap()
    );
    let after = store
        .get_integration(&app_id, &ua, &sid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.client_id.as_deref(), Some("new"));
    assert_eq!(after.client_secret_sealed, Some(resealed));
    assert_eq!(after.staged_client_id, None);
    assert_eq!(after.staged_client_secret_sealed, None);
    assert_eq!(after.version, row.version + 1);
}

async fn integration_requires_application(db: TestDatabase) {
    let store = db.store().await;
    let w = IntegrationWrite::new(
        patchbay_core::ApplicationId::generate(),
        UnifiedApi::crm(),
        ServiceId::salesforce(),
        &crate::fixtures::settings(),
        T0,
    );
    assert!(matches!(
        store.upsert_integration(&w).await,
        Err(StoreError::MissingParent("application"))
    ));
}
