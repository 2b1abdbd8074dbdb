use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{Backend, IntegrationWrite, Sealed, SealedColumn, SealedRow, TokenWrite};

use crate::fixtures::{T0, app, authorized_connection, connection, sealed};

patchbay_store::backend_tests!(
    sealed_inventory_and_replace,
    sealed_bytes_are_stored_verbatim
);

async fn sealed_inventory_and_replace(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let mut w = IntegrationWrite::new(
        app_id.clone(),
        UnifiedApi::crm(),
        ServiceId::salesforce(),
        &crate::fixtures::settings(),
        T0,
    );
    w.client_id = Some("cid".to_owned());
    w.client_secret_sealed = Some(sealed("cs"));
    w.staged_client_id = Some("cid2".to_owned());
    w.staged_client_secret_sealed = Some(sealed("cs2"));
    store.upsert_integration(&w).await.unwrap();
    let conn = authorized_connection(&store, &app_id, "c1").await;
    crate::oauth::insert(&store, &app_id, "state-h", T0 + 1000).await;
    // A webhook subscription: its API-key copy and signing secret.
    let hook_id = crate::webhooks::subscribe(&store, &app_id, &["*"]).await;

    let values = store.sealed_values().await.unwrap();
    let mut columns: Vec<_> = values.iter().map(|v| v.location.column).collect();
    columns.dedup();
    assert_eq!(columns, SealedColumn::ALL.to_vec());
    assert_eq!(values.len(), 7);
    for v in &values {
        assert_eq!(v.location.row.application_id(), &app_id);
    }
    let access = values
        .iter()
        .find(|v| v.location.column == SealedColumn::ConnectionAccessToken)
        .unwrap();
    assert_eq!(access.value, sealed("a1"));
    assert_eq!(
        access.location.row,
        SealedRow::Connection {
            application_id: app_id.clone(),
            id: conn.id.clone()
        }
    );
    assert_eq!(access.location.row.row_id(), conn.id.to_string());
    let secret = values
        .iter()
        .find(|v| v.location.column == SealedColumn::IntegrationClientSecret)
        .unwrap();
    assert_eq!(secret.location.row.row_id(), "crm/salesforce");
    let hook_secret = values
        .iter()
        .find(|v| v.location.column == SealedColumn::WebhookSecret)
        .unwrap();
    assert_eq!(hook_secret.location.row.row_id(), hook_id);
    assert_eq!(hook_secret.value, sealed("secret"));

    // Re-encrypt every value; a compare-and-set on the old bytes.
    for v in &values {
        let mut new = b"k2:".to_vec();
        new.extend_from_slice(v.value.as_bytes());
        assert!(
            store
                .replace_sealed(&v.location, &v.value, &Sealed::new(new))
                .await
                .unwrap()
        );
        // The old value no longer matches: a second replace is refused.
        assert!(
            !store
                .replace_sealed(&v.location, &v.value, &sealed("zzz"))
                .await
                .unwrap()
        );
    }
    let after = store.sealed_values().await.unwrap();
    assert_eq!(after.len(), 7);
    assert!(after.iter().all(|v| v.value.as_bytes().starts_with(b"k2:")));
    let conn_after = store.get_connection(&conn.id).await.unwrap().unwrap();
    assert_eq!(
        conn_after.token_version, conn.token_version,
        "re-encryption is not a token change"
    );

    // A concurrent token write wins over a re-encryption that read the old value.
    let access = after
        .iter()
        .find(|v| v.location.column == SealedColumn::ConnectionAccessToken)
        .unwrap();
    store
        .set_tokens(
            &conn.id,
            &TokenWrite {
                access_token: sealed("fresh"),
                refresh_token: Some(sealed("r")),
                instance_url: None,
                granted_scopes: None,
                issued_at: None,
                expires_at: None,
                next_refresh_at: None,
                health: patchbay_core::Health::Ok,
                now_ms: T0,
            },
        )
        .await
        .unwrap();
    assert!(
        !store
            .replace_sealed(&access.location, &access.value, &sealed("k3"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_connection(&conn.id)
            .await
            .unwrap()
            .unwrap()
            .access_token_sealed,
        Some(sealed("fresh"))
    );
    // Rows without sealed values are not listed.
    connection(&store, &app_id, "c-empty").await;
    assert_eq!(store.sealed_values().await.unwrap().len(), 7);
}

/// The store persists exactly the bytes it is given and nothing derived from a plaintext:
/// a toy "sealer" here stands in for the crypto crate.
async fn sealed_bytes_are_stored_verbatim(db: TestDatabase) {
    let plaintext = format!("PLAINTEXT-TOKEN-{}", uuid::Uuid::new_v4().simple());
    let toy_seal = |p: &str| -> Vec<u8> {
        let mut out = b"SEALED-v1:".to_vec();
        out.extend(p.bytes().rev().map(|b| b ^ 0x5a));
        out
    };
    let sealed_bytes = toy_seal(&plaintext);
    let store = db.store().await;
    let app_id = app(&store).await;
    let conn = connection(&store, &app_id, "c1").await;
    store
        .set_tokens(
            &conn.id,
            &TokenWrite {
                access_token: Sealed::new(sealed_bytes.clone()),
                refresh_token: Some(Sealed::new(sealed_bytes.clone())),
                instance_url: None,
                granted_scopes: None,
                issued_at: None,
                expires_at: None,
                next_refresh_at: None,
                health: patchbay_core::Health::Ok,
                now_ms: T0,
            },
        )
        .await
        .unwrap();

    let raw: Vec<u8> =
        sqlx::query_scalar("SELECT access_token_sealed FROM connections WHERE id = $1")
            .bind(conn.id.as_str())
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(raw, sealed_bytes, "stored byte for byte");

    if db.backend() == Backend::Sqlite {
        store.close().await;
        let path = db.sqlite_file().unwrap();
        let mut bytes = std::fs::read(path).unwrap();
        let wal = path.with_extension("db-wal");
        if wal.exists() {
            bytes.extend(std::fs::read(wal).unwrap());
        }
        let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(
            contains(&sealed_bytes),
            "sealed bytes are in the file verbatim"
        );
        assert!(!contains(plaintext.as_bytes()), "the plaintext is not");
    }
}
