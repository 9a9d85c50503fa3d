//! The daemon's tables on SQLite: the shared queries of
//! `queries/queue.rs`, and what differs here.
//!
//! Claiming is one `UPDATE … RETURNING` on the single writer connection, so
//! two claims never interleave.

use sqlx::sqlite::SqliteRow;

use crate::rows::sqlite::*;
use crate::sqlite_pool::{self as be, SqliteStore};

type Conn = sqlx::SqliteConnection;
type Row = SqliteRow;

crate::queries::queue::queue_store!(SqliteStore);

/// An older unfinished event of the same MAC as `e`.
const OLDER: &str =
    "SELECT 1 FROM events p WHERE p.mac = e.mac AND p.id < e.id AND p.state IN ('pending', 'running')";

/// Leases due events, oldest first. An event whose MAC has an older
/// unfinished event is never due, so the order per MAC holds. Pending and
/// expired events are picked apart, each walking `events_state_id` in id
/// order, so a claim reads about as many rows as it leases. (The unary `+`
/// keeps SQLite from picking `events_claim` instead and sorting every
/// pending event.)
async fn claim(
    s: &SqliteStore,
    node: &str,
    limit: u32,
    lease_until: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Vec<SqliteRow>> {
    Ok(sqlx::query(&format!(
        "UPDATE events SET state = 'running', attempts = attempts + 1, lease_until = $1, leased_by = $2, updated_at = $3 \
         WHERE id IN ( \
           SELECT id FROM (SELECT e.id FROM events e \
             WHERE e.state = 'pending' AND +e.next_attempt_at <= $3 AND NOT EXISTS ({OLDER}) \
             ORDER BY e.id LIMIT $4) \
           UNION ALL \
           SELECT id FROM (SELECT e.id FROM events e \
             WHERE e.state = 'running' AND +e.lease_until < $3 AND NOT EXISTS ({OLDER}) \
             ORDER BY e.id LIMIT $4) \
           ORDER BY 1 LIMIT $4) \
         RETURNING *",
    ))
    .bind(lease_until)
    .bind(node)
    .bind(at)
    .bind(i64::from(limit))
    .fetch_all(&s.writer)
    .await?)
}

/// The ids of the rows the multi-row INSERT `q` makes in `events`, in the
/// rows' order. One statement on the single writer gives its rows
/// consecutive ids (AUTOINCREMENT takes one past the largest ever used) and
/// reports the last one. `RETURNING id` would hand each id over from the
/// connection's thread on its own: 100,000 wake-ups for `register --all`.
async fn inserted_ids(
    c: &mut Conn,
    mut q: sqlx::QueryBuilder<'_, sqlx::Sqlite>,
) -> Result<Vec<i64>> {
    let done = q.build().execute(&mut *c).await?;
    let made = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
    let last = done.last_insert_rowid();
    Ok((last - made + 1..=last).collect())
}

/// SQLite says which column clashed only in its message.
fn provider_conflict(e: sqlx::Error, p: &Provider) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let m = db.message();
        if m.contains("providers.name") {
            return StoreError::Conflict(format!("provider {} already exists", p.name));
        }
        if m.contains("UNIQUE") {
            return StoreError::Conflict(crate::sql::scope_taken(p));
        }
        if m.contains("FOREIGN KEY") {
            return StoreError::Invalid {
                field: "tenant",
                message: "tenant does not exist".into(),
            };
        }
    }
    StoreError::Database(e)
}
