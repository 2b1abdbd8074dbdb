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
