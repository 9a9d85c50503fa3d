//! `StoreError`: what can go wrong in a store, split by who must act on it.

/// Conflict, NotFound and Invalid are the caller's to fix and are shown to users;
/// Database is ours and is logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} {key} not found")]
    NotFound { what: &'static str, key: String },
    #[error("{0}")]
    Conflict(String),
    /// The caller may not touch this (another company's MAC, for instance).
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn not_found(what: &'static str, key: impl ToString) -> Self {
        StoreError::NotFound {
            what,
            key: key.to_string(),
        }
    }
}

impl From<touchless_domain::Error> for StoreError {
    /// A value read back from the database that no longer parses.
    fn from(e: touchless_domain::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl From<touchless_phones::Error> for StoreError {
    /// A model read back that this build does not know.
    fn from(e: touchless_phones::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
