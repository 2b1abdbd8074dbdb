use patchbay_core::{
    ApplicationId, ConnectionId, ConsumerId, ConsumerMetadata, Health, ServiceId, UnifiedApi,
};
use patchbay_store::{ConnectionRow, NewApplication, NewConnection, Sealed, Store, TokenWrite};

pub const T0: i64 = 1_800_000_000_000;

pub async fn app(store: &Store) -> ApplicationId {
    let id = ApplicationId::generate();
    store
        .create_application(&NewApplication {
            id: id.clone(),
            name: "Acme".to_owned(),
            redirect_uris: vec!["https://app.example.com/done".to_owned()],
            now_ms: T0,
        })
        .await
        .unwrap();
    id
}

pub fn consumer(s: &str) -> ConsumerId {
    ConsumerId::parse(s).unwrap()
}

pub async fn connection(store: &Store, app: &ApplicationId, consumer_id: &str) -> ConnectionRow {
    let c = consumer(consumer_id);
    store
        .upsert_consumer(app, &c, Some(&ConsumerMetadata::default()), T0)
        .await
        .unwrap();
    store
        .create_connection(&NewConnection {
            id: ConnectionId::generate(),
            application_id: app.clone(),
            consumer_id: c,
            unified_api: UnifiedApi::crm(),
            service_id: ServiceId::salesforce(),
            enabled: true,
            health: Health::Ok,
            login_url_override: None,
            settings_json: "{}".to_owned(),
            metadata_json: "{}".to_owned(),
            now_ms: T0,
        })
        .await
        .unwrap()
}

pub fn sealed(tag: &str) -> Sealed {
    Sealed::new(format!("sealed:{tag}").into_bytes())
}

/// A connection with tokens `a1`/`r1`, expiring at T0 + 1 h, due for refresh at T0 + 50 min.
pub async fn authorized_connection(
    store: &Store,
    app: &ApplicationId,
    consumer_id: &str,
) -> ConnectionRow {
    let c = connection(store, app, consumer_id).await;
    store
        .set_tokens(
            &c.id,
            &TokenWrite {
                access_token: sealed("a1"),
                refresh_token: Some(sealed("r1")),
                instance_url: Some("https://acme.my.salesforce.com".to_owned()),
                granted_scopes: Some("api refresh_token".to_owned()),
                issued_at: Some(T0),
                expires_at: Some(T0 + 3_600_000),
                next_refresh_at: Some(T0 + 3_000_000),
                health: Health::Ok,
                now_ms: T0,
            },
        )
        .await
        .unwrap()
        .unwrap()
}

/// A new integration's settings as a connector would give them (the store keeps no defaults).
pub fn settings() -> patchbay_core::IntegrationSettings {
    patchbay_core::IntegrationSettings::new(
        patchbay_core::LoginOrigin::parse("https://login.salesforce.com").unwrap(),
        patchbay_core::Scopes::parse("api refresh_token offline_access openid").unwrap(),
        7200,
    )
}
