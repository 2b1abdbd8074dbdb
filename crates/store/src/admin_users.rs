//! Admin console users. The store keeps only the password's argon2id PHC string, which the
//! console computes and verifies; this module never sees a plaintext password.

use sqlx::any::AnyRow;

use crate::error::classify;
use crate::row::RowExt;
use crate::{Result, Store};

/// An admin user as stored. `Debug` leaves the hash out: it is not a secret in the sense of a
/// token, but it is offline-attackable and has no business in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminUserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
}

impl std::fmt::Debug for AdminUserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminUserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl AdminUserRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.text("id")?,
            username: row.text("username")?,
            password_hash: row.text("password_hash")?,
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
            last_login_at: row.opt_int("last_login_at")?,
        })
    }
}

const COLUMNS: &str = "id, username, password_hash, created_at, updated_at, last_login_at";

impl Store {
    /// Creates an admin user; a taken username is `StoreError::Conflict("admin user")`.
    pub async fn create_admin_user(
        &self,
        id: &str,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<AdminUserRow> {
        let sql = format!(
            "INSERT INTO admin_users (id, username, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id)
            .bind(username)
            .bind(password_hash)
            .bind(now_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| classify(e, "admin user", "admin user"))?;
        AdminUserRow::from_row(&row)
    }

    pub async fn find_admin_user(&self, username: &str) -> Result<Option<AdminUserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM admin_users WHERE username = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(AdminUserRow::from_row).transpose()
    }

    pub async fn list_admin_users(&self) -> Result<Vec<AdminUserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM admin_users ORDER BY username");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(AdminUserRow::from_row).collect()
    }

    /// Replaces a user's password hash (e.g. `create-user` on an existing name with
    /// `--reset`). Returns whether the user exists.
    pub async fn set_admin_password(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE admin_users SET password_hash = $2, updated_at = $3 WHERE username = $1",
        )
        .bind(username)
        .bind(password_hash)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_admin_login(&self, id: &str, now_ms: i64) -> Result<()> {
        sqlx::query("UPDATE admin_users SET last_login_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
