//! The redirection service's tables on PostgreSQL: the shared queries of
//! `queries/redirect.rs`, and what differs here.

use crate::postgres_pool::{self as be, PgStore};
use crate::rows::postgres::*;

type Row = sqlx::postgres::PgRow;

crate::queries::redirect::redirect_store!(PgStore);

/// Serialises claims of one MAC (also of one not yet in the table) until
/// the transaction ends.
async fn lock_mac(c: &mut sqlx::PgConnection, mac: Mac) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(mac.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// PostgreSQL's error codes: 23503 foreign key, 23505 unique.
fn fk_or(e: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        match db.code().as_deref() {
            Some("23503") => {
                return StoreError::Invalid {
                    field: "company",
                    message: format!("{what} does not exist"),
                }
            }
            Some("23505") => return StoreError::Conflict(format!("{what} already exists")),
            _ => {}
        }
    }
    StoreError::Database(e)
}
