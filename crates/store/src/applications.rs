//! Applications (tenants).

use patchbay_core::ApplicationId;
use sqlx::any::AnyRow;

use crate::error::{StoreError, classify};
use crate::row::RowExt;
use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub id: ApplicationId,
    pub name: String,
    /// The allow-list of where consumers may be sent back after connecting.
    pub redirect_uris: Vec<String>,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub id: ApplicationId,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ApplicationRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let uris = row.text("redirect_uris")?;
        Ok(Self {
            id: row.id("id")?,
            name: row.text("name")?,
            redirect_uris: serde_json::from_str(&uris).map_err(|_| StoreError::Corrupt {
                column: "redirect_uris",
            })?,
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
        })
    }
}

const COLUMNS: &str = "id, name, redirect_uris, created_at, updated_at";

fn uris_json(uris: &[String]) -> Result<String> {
    serde_json::to_string(uris).map_err(|_| StoreError::Corrupt {
        column: "redirect_uris",
    })
}

impl Store {
    pub async fn create_application(&self, new: &NewApplication) -> Result<ApplicationRow> {
        let sql = format!(
            "INSERT INTO applications ({COLUMNS}) VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(new.id.as_str())
            .bind(new.name.as_str())
            .bind(uris_json(&new.redirect_uris)?)
            .bind(new.now_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| classify(e, "application", "application"))?;
        ApplicationRow::from_row(&row)
    }

    pub async fn get_application(&self, id: &ApplicationId) -> Result<Option<ApplicationRow>> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ApplicationRow::from_row).transpose()
    }

    pub async fn list_applications(&self) -> Result<Vec<ApplicationRow>> {
        let sql = format!("SELECT {COLUMNS} FROM applications ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ApplicationRow::from_row).collect()
    }

    /// Replaces name and redirect URIs. Returns `None` if the application does not exist.
    pub async fn update_application(
        &self,
        id: &ApplicationId,
        name: &str,
        redirect_uris: &[String],
        now_ms: i64,
    ) -> Result<Option<ApplicationRow>> {
        let sql = format!(
            "UPDATE applications SET name = $2, redirect_uris = $3, updated_at = $4 \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.as_str())
            .bind(name)
            .bind(uris_json(redirect_uris)?)
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ApplicationRow::from_row).transpose()
    }

    /// Deletes the application and, by cascade, its keys, integrations, consumers,
    /// connections and OAuth transactions. Request logs and the audit log are kept.
    pub async fn delete_application(&self, id: &ApplicationId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM applications WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// CORS origins live beside the application row, read and written on their own, so that the
/// row type (and everything that builds one) stays as it was.
impl Store {
    /// The application's extra CORS origins; `None` when the application does not exist.
    pub async fn get_cors_origins(&self, id: &ApplicationId) -> Result<Option<Vec<String>>> {
        let row = sqlx::query("SELECT cors_origins FROM applications WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(origins_from_row).transpose()
    }

    /// Replaces the application's extra CORS origins; false when it does not exist.
    pub async fn set_cors_origins(
        &self,
        id: &ApplicationId,
        origins: &[String],
        now_ms: i64,
    ) -> Result<bool> {
        let json = serde_json::to_string(origins).map_err(|_| StoreError::Corrupt {
            column: "cors_origins",
        })?;
        let done =
            sqlx::query("UPDATE applications SET cors_origins = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_str())
                .bind(json)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }
}

impl Store {
    /// Every application's redirect URIs and extra CORS origins (for CORS preflights).
    pub async fn list_cors_sources(&self) -> Result<Vec<(Vec<String>, Vec<String>)>> {
        let rows = sqlx::query("SELECT redirect_uris, cors_origins FROM applications")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let uris = serde_json::from_str(&row.text("redirect_uris")?).map_err(|_| {
                    StoreError::Corrupt {
                        column: "redirect_uris",
                    }
                })?;
                Ok((uris, origins_from_row(row)?))
            })
            .collect()
    }
}

fn origins_from_row(row: &AnyRow) -> Result<Vec<String>> {
    serde_json::from_str(&row.text("cors_origins")?).map_err(|_| StoreError::Corrupt {
        column: "cors_origins",
    })
}
