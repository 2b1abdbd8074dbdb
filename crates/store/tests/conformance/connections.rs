use patchbay_core::{
    ConnectionId, ConnectionState, Health, IntegrationState, ServiceId, UnifiedApi, compute_state,
};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{ConnectionPatch, NewConnection, StoreError};

use crate::fixtures::{T0, app, authorized_connection, connection, consumer, sealed};

patchbay_store::backend_tests!(
    connection_lifecycle,
    connection_rules,
    connection_tenant_isolation,
    operational_counts_group_connections_by_health_and_enabled
);

/// The `/metrics` gauges' query: every application's connections, by (health, enabled).
async fn operational_counts_group_connections_by_health_and_enabled(db: TestDatabase) {
    let store = db.store().await;
    let empty = store.operational_counts().await.unwrap();
    assert!(empty.connections.is_empty());
    assert_eq!(empty.webhook_backlog, 0);
    let app_id = app(&store).await;
    connection(&store, &app_id, "c1").await;
    connection(&store, &app_id, "c2").await;
    let off = connection(&store, &app_id, "c3").await;
    store
        .update_connection(
            &app_id,
            &off.id,
            &ConnectionPatch {
                enabled: Some(false),
                settings_json: None,
                metadata_json: None,
            },
            T0 + 1,
        )
        .await
        .unwrap();
    let counts = store.operational_counts().await.unwrap();
    assert_eq!(
        counts.connections,
        vec![("ok".to_owned(), false, 1), ("ok".to_owned(), true, 2)]
    );
    assert_eq!(counts.webhook_backlog, 0);
}

async fn connection_lifecycle(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = connection(&store, &app_id, "c1").await;
    assert_eq!(c.token_version, 0);
    assert!(!c.has_tokens());
    assert_eq!(
        compute_state(IntegrationState::Configured, Some(&c.facts(true))),
        ConnectionState::Added
    );

    let found = store
        .find_connection(
            &app_id,
            &c.consumer_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
        )
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&c));

    let authorized = authorized_connection(&store, &app_id, "c2").await;
    assert_eq!(authorized.token_version, 1);
    assert_eq!(authorized.access_token_sealed, Some(sealed("a1")));
    assert_eq!(
        authorized.instance_url.as_deref(),
        Some("https://acme.my.salesforce.com")
    );
    assert_eq!(
        compute_state(IntegrationState::Configured, Some(&authorized.facts(true))),
        ConnectionState::Callable
    );

    let patched = store
        .update_connection(
            &app_id,
            &authorized.id,
            &ConnectionPatch {
                enabled: Some(false),
                settings_json: Some(r#"{"instance_url":"x"}"#.to_owned()),
                metadata_json: None,
            },
            T0 + 1,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!patched.enabled);
    assert_eq!(patched.settings_json, r#"{"instance_url":"x"}"#);
    assert_eq!(patched.metadata_json, "{}");
    assert_eq!(patched.updated_at, T0 + 1);
    assert_eq!(
        compute_state(IntegrationState::Configured, Some(&patched.facts(true))),
        ConnectionState::Added
    );
    let unchanged = store
        .update_connection(&app_id, &authorized.id, &ConnectionPatch::default(), T0 + 2)
        .await
        .unwrap()
        .unwrap();
    assert!(!unchanged.enabled);

    assert!(
        store
            .clear_tokens(&authorized.id, Health::Revoked, T0 + 3)
            .await
            .unwrap()
    );
    let cleared = store.get_connection(&authorized.id).await.unwrap().unwrap();
    assert!(!cleared.has_tokens());
    assert_eq!(cleared.health, Health::Revoked);
    assert_eq!(cleared.token_version, 2);

    assert!(
        store
            .set_health(&c.id, Health::PendingConfirmation, T0)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_connection(&c.id).await.unwrap().unwrap().health,
        Health::PendingConfirmation
    );

    assert!(store.record_downstream_error(&c.id, T0 + 9).await.unwrap());
    let still = store.get_connection(&c.id).await.unwrap().unwrap();
    assert_eq!(
        still.health,
        Health::PendingConfirmation,
        "degraded only replaces ok"
    );
    assert_eq!(still.last_downstream_error_at, Some(T0 + 9));

    let listed = store.list_connections(&app_id, None).await.unwrap();
    assert_eq!(listed.len(), 2);
    let listed = store
        .list_connections(&app_id, Some(&consumer("c1")))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    assert!(store.delete_connection(&app_id, &c.id).await.unwrap());
    assert!(!store.delete_connection(&app_id, &c.id).await.unwrap());
    assert!(
        store
            .set_tokens(
                &c.id,
                &patchbay_store::TokenWrite {
                    access_token: sealed("x"),
                    refresh_token: None,
                    instance_url: None,
                    granted_scopes: None,
                    issued_at: None,
                    expires_at: None,
                    next_refresh_at: None,
                    health: Health::Ok,
                    now_ms: T0,
                }
            )
            .await
            .unwrap()
            .is_none()
    );
}

async fn connection_rules(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = connection(&store, &app_id, "c1").await;
    let dup = NewConnection {
        id: ConnectionId::generate(),
        application_id: app_id.clone(),
        consumer_id: c.consumer_id.clone(),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
        enabled: true,
        health: Health::Ok,
        login_url_override: Some("https://test.salesforce.com".to_owned()),
        settings_json: "{}".to_owned(),
        metadata_json: "{}".to_owned(),
        now_ms: T0,
    };
    assert!(matches!(
        store.create_connection(&dup).await,
        Err(StoreError::Conflict("connection"))
    ));
    let no_consumer = NewConnection {
        consumer_id: consumer("ghost"),
        ..dup.clone()
    };
    assert!(matches!(
        store.create_connection(&no_consumer).await,
        Err(StoreError::MissingParent("consumer"))
    ));
    // Same consumer, another service: allowed.
    let other_service = NewConnection {
        service_id: ServiceId::parse("hubspot").unwrap(),
        ..dup
    };
    let row = store.create_connection(&other_service).await.unwrap();
    assert_eq!(
        row.login_url_override.as_deref(),
        Some("https://test.salesforce.com")
    );
}

async fn connection_tenant_isolation(db: TestDatabase) {
    let store = db.store().await;
    let app_a = app(&store).await;
    let app_b = app(&store).await;
    let conn = authorized_connection(&store, &app_a, "shared-id").await;
    crate::fixtures::connection(&store, &app_b, "shared-id").await;
    assert!(
        store
            .update_connection(
                &app_b,
                &conn.id,
                &ConnectionPatch {
                    enabled: Some(false),
                    ..Default::default()
                },
                T0
            )
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.delete_connection(&app_b, &conn.id).await.unwrap());
    assert!(
        store
            .get_connection(&conn.id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let b = store
        .find_connection(
            &app_b,
            &conn.consumer_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_ne!(b.id, conn.id);
    assert!(!b.has_tokens());
    assert_eq!(store.list_connections(&app_b, None).await.unwrap().len(), 1);
}
