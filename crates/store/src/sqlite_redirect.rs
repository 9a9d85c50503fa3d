//! The redirection service's tables on SQLite: the shared queries of
//! `queries/redirect.rs`, and what differs here.

use crate::rows::sqlite::*;
use crate::sqlite_pool::{self as be, SqliteStore};

type Row = sqlx::sqlite::SqliteRow;

crate::queries::redirect::redirect_store!(SqliteStore);

/// The single writer connection serialises every claim already.
async fn lock_mac(_: &mut sqlx::SqliteConnection, _: Mac) -> Result<()> {
    Ok(())
}

/// SQLite names the violated constraint only in its message.
fn fk_or(e: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.message().contains("FOREIGN KEY") {
            return StoreError::Invalid {
                field: "company",
                message: format!("{what} does not exist"),
            };
        }
        if db.message().contains("UNIQUE") || db.message().contains("PRIMARY KEY") {
            return StoreError::Conflict(format!("{what} already exists"));
        }
    }
    StoreError::Database(e)
}
