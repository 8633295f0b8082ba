use thiserror::Error;

/// What can go wrong with the store, in words an operator can act on.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    UnsupportedUrl(String),

    #[error(
        "cannot reach the database at {url} (gave up after {attempts} attempts in {seconds}s): {cause}"
    )]
    Unreachable {
        url: String,
        attempts: u32,
        seconds: u64,
        cause: String,
    },

    #[error(
        "{path} is not a usable SQLite database (corrupt, or not a database at all): {cause}. It was not modified"
    )]
    Corrupt { path: String, cause: String },

    #[error(
        "the database schema is at version {found}, newer than this Cairn knows (up to {known}); upgrade Cairn or use another database. The database was not modified"
    )]
    SchemaNewer { found: i64, known: i64 },

    #[error(
        "migration {version} recorded in the database differs from this Cairn's; the schema was changed by hand or by another build. The database was not modified"
    )]
    SchemaMismatch { version: i64 },

    #[error(
        "migration {version} was left half-applied; restore from a backup or fix it by hand. The database was not modified"
    )]
    SchemaDirty { version: i64 },

    /// A unique value is taken: a user's email, a connection's name.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("migration failed: {0}")]
    Migrate(String),

    #[error("stored data is invalid: {0}")]
    InvalidData(String),
}

impl StoreError {
    /// The database could not be reached (down, restarting, the pool
    /// exhausted): worth trying again shortly, unlike a bad statement.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } => true,
            StoreError::Database(error) => {
                matches!(
                    error,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) || error
                    .as_database_error()
                    .and_then(|e| e.code())
                    // admin_shutdown, crash_shutdown, cannot_connect_now
                    .is_some_and(|code| matches!(code.as_ref(), "57P01" | "57P02" | "57P03"))
            }
            _ => false,
        }
    }

    /// Maps sqlx's migration errors to the refusals an operator understands.
    pub(crate) fn from_migrate(error: sqlx::migrate::MigrateError, latest_known: i64) -> Self {
        use sqlx::migrate::MigrateError as M;
        match error {
            M::VersionMissing(found) if found > latest_known => StoreError::SchemaNewer {
                found,
                known: latest_known,
            },
            M::VersionMissing(version) | M::VersionMismatch(version) => {
                StoreError::SchemaMismatch { version }
            }
            M::Dirty(version) => StoreError::SchemaDirty { version },
            M::Execute(e) => StoreError::Database(e),
            other => StoreError::Migrate(other.to_string()),
        }
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`] on `field`.
pub(crate) fn conflict_on(field: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict { field },
        _ => StoreError::Database(error),
    }
}

/// Reads the optional integration kind of a job.
pub(crate) fn integration_from(
    kind: Option<String>,
) -> Result<Option<cairn_core::integrations::IntegrationKind>, StoreError> {
    kind.map(|k| {
        cairn_core::integrations::IntegrationKind::parse(&k)
            .ok_or_else(|| StoreError::InvalidData(format!("integration kind `{k}`")))
    })
    .transpose()
}
