//! Consumers. Deleting one deletes its connections (foreign key cascade).

use patchbay_core::{ApplicationId, ConsumerId, ConsumerMetadata};
use sqlx::any::AnyRow;

use crate::error::classify;
use crate::row::{Placeholders, RowExt, like_escape, page_limit};
use crate::{Page, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRow {
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub metadata: ConsumerMetadata,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `filter[consumer_id]` (prefix, case-sensitive) and `filter[search]` (substring of id,
/// email, account name or user name; case-insensitive for ASCII on both backends).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerFilter {
    pub consumer_id_prefix: Option<String>,
    pub search: Option<String>,
}

impl ConsumerRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            application_id: row.id("application_id")?,
            consumer_id: row.id("consumer_id")?,
            metadata: ConsumerMetadata {
                account_name: row.opt_text("account_name")?,
                user_name: row.opt_text("user_name")?,
                email: row.opt_text("email")?,
                image: row.opt_text("image")?,
            },
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
        })
    }
}

const COLUMNS: &str =
    "application_id, consumer_id, account_name, user_name, email, image, created_at, updated_at";

impl Store {
    /// Creates a consumer. `StoreError::Conflict` if it exists.
    pub async fn create_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        metadata: &ConsumerMetadata,
        now_ms: i64,
    ) -> Result<ConsumerRow> {
        let sql = format!(
            "INSERT INTO consumers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(consumer.as_str())
            .bind(metadata.account_name.as_deref())
            .bind(metadata.user_name.as_deref())
            .bind(metadata.email.as_deref())
            .bind(metadata.image.as_deref())
            .bind(now_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| classify(e, "consumer", "application"))?;
        ConsumerRow::from_row(&row)
    }

    /// Creates the consumer or, if it exists, replaces its metadata when `metadata` is given
    /// (sessions upsert the consumer).
    pub async fn upsert_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        metadata: Option<&ConsumerMetadata>,
        now_ms: i64,
    ) -> Result<ConsumerRow> {
        let m = metadata.cloned().unwrap_or_default();
        let replace = i64::from(metadata.is_some());
        let sql = format!(
            "INSERT INTO consumers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (application_id, consumer_id) DO UPDATE SET \
               account_name = CASE WHEN $8 = 1 THEN excluded.account_name ELSE consumers.account_name END, \
               user_name = CASE WHEN $8 = 1 THEN excluded.user_name ELSE consumers.user_name END, \
               email = CASE WHEN $8 = 1 THEN excluded.email ELSE consumers.email END, \
               image = CASE WHEN $8 = 1 THEN excluded.image ELSE consumers.image END, \
               updated_at = CASE WHEN $8 = 1 THEN excluded.updated_at ELSE consumers.updated_at END \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(consumer.as_str())
            .bind(m.account_name.as_deref())
            .bind(m.user_name.as_deref())
            .bind(m.email.as_deref())
            .bind(m.image.as_deref())
            .bind(now_ms)
            .bind(replace)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| classify(e, "consumer", "application"))?;
        ConsumerRow::from_row(&row)
    }

    pub async fn get_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
    ) -> Result<Option<ConsumerRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM consumers WHERE application_id = $1 AND consumer_id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(consumer.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ConsumerRow::from_row).transpose()
    }

    /// Lists consumers ordered by id. `cursor` is the `next_cursor` of the previous page.
    pub async fn list_consumers(
        &self,
        app: &ApplicationId,
        filter: &ConsumerFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<ConsumerRow>> {
        let limit = page_limit(limit);
        let mut p = Placeholders::starting_after(1);
        let mut clauses = vec!["application_id = $1".to_owned()];
        let mut binds: Vec<String> = Vec::new();
        if let Some(prefix) = filter
            .consumer_id_prefix
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            // substr/length instead of LIKE: SQLite's LIKE ignores case, and the prefix must not.
            let ph = p.next();
            clauses.push(format!("substr(consumer_id, 1, length({ph})) = {ph}"));
            binds.push(prefix.to_owned());
        }
        if let Some(term) = filter.search.as_deref().filter(|s| !s.is_empty()) {
            let ph = p.next();
            clauses.push(format!(
                "(lower(consumer_id) LIKE {ph} ESCAPE '\\' OR lower(email) LIKE {ph} ESCAPE '\\' \
                 OR lower(account_name) LIKE {ph} ESCAPE '\\' OR lower(user_name) LIKE {ph} ESCAPE '\\')"
            ));
            binds.push(format!("%{}%", like_escape(&term.to_lowercase())));
        }
        if let Some(after) = cursor {
            let ph = p.next();
            clauses.push(format!("consumer_id > {ph}"));
            binds.push(after.to_owned());
        }
        let ph_limit = p.next();
        let sql = format!(
            "SELECT {COLUMNS} FROM consumers WHERE {} ORDER BY consumer_id LIMIT {ph_limit}",
            clauses.join(" AND ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(app.as_str());
        for b in &binds {
            q = q.bind(b.as_str());
        }
        // One extra row tells whether another page exists.
        let rows = q.bind(limit + 1).fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(ConsumerRow::from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|c| c.consumer_id.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Replaces the metadata. Returns `None` if the consumer does not exist.
    pub async fn update_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        metadata: &ConsumerMetadata,
        now_ms: i64,
    ) -> Result<Option<ConsumerRow>> {
        let sql = format!(
            "UPDATE consumers SET account_name = $3, user_name = $4, email = $5, image = $6, \
               updated_at = $7 \
             WHERE application_id = $1 AND consumer_id = $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(consumer.as_str())
            .bind(metadata.account_name.as_deref())
            .bind(metadata.user_name.as_deref())
            .bind(metadata.email.as_deref())
            .bind(metadata.image.as_deref())
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ConsumerRow::from_row).transpose()
    }

    /// Deletes the consumer and all its connections, with a `deleted` event per connection in
    /// the same transaction (see [`Store::delete_consumer_with_events`]). Returns false if it
    /// did not exist.
    pub async fn delete_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
    ) -> Result<bool> {
        self.delete_consumer_with_events(app, consumer).await
    }
}
