use sqlx::error::ErrorKind;

/// Store failures. Messages name tables and constraints, never values: rows hold secrets
/// (sealed, but still not for logs) and caller-supplied ids.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    InvalidUrl,
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A row this write refers to is missing (foreign key), e.g. a connection for an unknown
    /// consumer.
    #[error("referenced {0} does not exist")]
    MissingParent(&'static str),
    /// A stored value failed validation when read back (a bad id, an unknown enum spelling).
    #[error("corrupt value in column {column}")]
    Corrupt { column: &'static str },
    #[error("could not create the database directory")]
    CreateDir(#[source] std::io::Error),
    #[error("could not create the database file")]
    CreateFile(#[source] std::io::Error),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// The PostgreSQL database named in the URL does not exist and could not be created (the
    /// role lacks CREATEDB, say). The message names the database and how to create it.
    #[error(
        "PostgreSQL database \"{name}\" does not exist and could not be created; create it with `createdb {name}` (or `CREATE DATABASE \"{name}\"`), or grant the role CREATEDB"
    )]
    CreateDatabase {
        name: String,
        #[source]
        source: sqlx::Error,
    },
}

impl StoreError {
    /// Whether the database is out of reach for now (the pool timed out while it is down, the
    /// link was cut, a restart or failover is in progress) rather than refusing a statement:
    /// the server answers these 503 with `Retry-After` instead of 500.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
            // A stream that ends or garbles mid-message (seen as "unexpected response from
            // SSLRequest" when a restarting server drops the handshake) is the link, not the
            // statement.
            | sqlx::Error::Protocol(_) => true,
            // SQLSTATE class 08 (connection exception) and 57P01-57P03 (admin shutdown, crash
            // shutdown, cannot connect now: the server is stopping or still starting).
            sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
            }),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

/// Turns a unique or foreign-key violation into a typed error naming `what`.
pub(crate) fn classify(e: sqlx::Error, what: &'static str, parent: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        match db.kind() {
            ErrorKind::UniqueViolation => return StoreError::Conflict(what),
            ErrorKind::ForeignKeyViolation => return StoreError::MissingParent(parent),
            _ => {}
        }
    }
    StoreError::Database(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_unavailable_and_a_bad_statement_is_not() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ] {
            assert!(StoreError::Database(e).is_unavailable());
        }
        for e in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
        ] {
            assert!(!StoreError::Database(e).is_unavailable());
        }
        assert!(!StoreError::InvalidCursor.is_unavailable());
    }
}
