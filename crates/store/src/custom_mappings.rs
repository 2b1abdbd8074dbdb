//! Custom mappings: per application (`consumer_id` empty) and per-consumer overrides of a
//! unified `custom_mappings.<key>` to a provider field.

use patchbay_core::{ApplicationId, ConsumerId};
use sqlx::any::AnyRow;

use crate::row::RowExt;
use crate::{Result, Store};

/// Which mapping: the application's (`consumer: None`) or one consumer's override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingKey<'a> {
    pub application_id: &'a ApplicationId,
    pub consumer_id: Option<&'a ConsumerId>,
    pub unified_api: &'a str,
    pub service_id: &'a str,
    pub resource: &'a str,
    pub key: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomMappingRow {
    /// `None` for the application's own mapping.
    pub consumer_id: Option<String>,
    pub unified_api: String,
    pub service_id: String,
    pub resource: String,
    pub key: String,
    /// The provider field the key maps to.
    pub value: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CustomMappingRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let consumer = row.text("consumer_id")?;
        Ok(Self {
            consumer_id: (!consumer.is_empty()).then_some(consumer),
            unified_api: row.text("unified_api")?,
            service_id: row.text("service_id")?,
            resource: row.text("resource")?,
            key: row.text("mapping_key")?,
            value: row.text("value")?,
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
        })
    }
}

const COLUMNS: &str =
    "consumer_id, unified_api, service_id, resource, mapping_key, value, created_at, updated_at";

fn consumer_text(c: Option<&ConsumerId>) -> &str {
    c.map_or("", ConsumerId::as_str)
}

impl Store {
    /// Creates or replaces one mapping.
    pub async fn put_custom_mapping(
        &self,
        key: &MappingKey<'_>,
        value: &str,
        now_ms: i64,
    ) -> Result<CustomMappingRow> {
        let sql = format!(
            "INSERT INTO custom_mappings (application_id, consumer_id, unified_api, service_id, \
               resource, mapping_key, value, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (application_id, consumer_id, unified_api, service_id, resource, mapping_key) \
             DO UPDATE SET value = $7, updated_at = $8 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(key.application_id.as_str())
            .bind(consumer_text(key.consumer_id))
            .bind(key.unified_api)
            .bind(key.service_id)
            .bind(key.resource)
            .bind(key.key)
            .bind(value)
            .bind(now_ms)
            .fetch_one(&self.pool)
            .await?;
        CustomMappingRow::from_row(&row)
    }

    pub async fn delete_custom_mapping(&self, key: &MappingKey<'_>) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM custom_mappings WHERE application_id = $1 AND consumer_id = $2 \
               AND unified_api = $3 AND service_id = $4 AND resource = $5 AND mapping_key = $6",
        )
        .bind(key.application_id.as_str())
        .bind(consumer_text(key.consumer_id))
        .bind(key.unified_api)
        .bind(key.service_id)
        .bind(key.resource)
        .bind(key.key)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The application's mappings for one service, plus `consumer`'s overrides when given.
    pub async fn list_custom_mappings(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        unified_api: &str,
        service_id: &str,
    ) -> Result<Vec<CustomMappingRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM custom_mappings WHERE application_id = $1 \
               AND (consumer_id = '' OR consumer_id = $2) AND unified_api = $3 AND service_id = $4 \
             ORDER BY resource, mapping_key, consumer_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(consumer_text(consumer))
            .bind(unified_api)
            .bind(service_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(CustomMappingRow::from_row).collect()
    }
}
