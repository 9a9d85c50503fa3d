//! The daemon's tables on PostgreSQL: the shared queries of
//! `queries/queue.rs`, and what differs here.
//!
//! Claiming is one `UPDATE` of the rows two `FOR UPDATE SKIP LOCKED` CTEs
//! pick: another node's claim in progress is passed over, not waited for.

use sqlx::postgres::PgRow;

use crate::postgres_pool::{self as be, constraint, constraint_name, PgStore};
use crate::rows::postgres::*;

type Conn = sqlx::PgConnection;
type Row = PgRow;

crate::queries::queue::queue_store!(PgStore);

/// The ids of the rows the multi-row INSERT `q` makes in `events`, in the
/// rows' order (ids grow with the rows).
async fn inserted_ids(
    c: &mut Conn,
    mut q: sqlx::QueryBuilder<'_, sqlx::Postgres>,
) -> Result<Vec<i64>> {
    q.push(" RETURNING id");
    let mut made: Vec<i64> = q.build_query_scalar().fetch_all(&mut *c).await?;
    made.sort_unstable();
    Ok(made)
}

/// Leases due events, oldest first. An event whose MAC has an older
/// unfinished event is never due, so the order per MAC holds across nodes.
///
/// Pending and expired events are picked apart, each walking its state's
/// partial index (`events_pending`, `events_running`) in id order and
/// probing `events_open`, so a claim reads
/// about as many rows as it leases, however long the history of finished
/// events. (One `WHERE` over both states walked the primary key through every
/// finished event and then joined the batch to a scan of the whole table: a
/// claim of 1,000 took 32 ms with no history and 81 ms at 100,000 finished
/// events; this way 30 and 29 ms, `benches/claim.rs` with `VACUUM=1`.) Each
/// part locks its rows with `SKIP LOCKED` (PostgreSQL allows that in a CTE,
/// not in a `UNION`), so another node's claim in progress is passed over.
async fn claim(
    s: &PgStore,
    node: &str,
    limit: u32,
    lease_until: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Vec<PgRow>> {
    const OLDER: &str = "SELECT 1 FROM events p \
        WHERE p.mac = e.mac AND p.id < e.id AND p.state IN ('pending', 'running')";
    Ok(sqlx::query(&format!(
        "WITH pending AS ( \
           SELECT e.id FROM events e \
           WHERE e.state = 'pending' AND e.next_attempt_at <= $3 AND NOT EXISTS ({OLDER}) \
           ORDER BY e.id LIMIT $4 FOR UPDATE SKIP LOCKED), \
         expired AS ( \
           SELECT e.id FROM events e \
           WHERE e.state = 'running' AND e.lease_until < $3 AND NOT EXISTS ({OLDER}) \
           ORDER BY e.id LIMIT $4 FOR UPDATE SKIP LOCKED) \
         UPDATE events SET state = 'running', attempts = attempts + 1, lease_until = $1, leased_by = $2, updated_at = $3 \
         WHERE id = ANY (ARRAY(SELECT id FROM pending UNION ALL SELECT id FROM expired ORDER BY 1 LIMIT $4)) \
         RETURNING *",
    ))
    .bind(lease_until)
    .bind(node)
    .bind(at)
    .bind(i64::from(limit))
    .fetch_all(&s.pool)
    .await?)
}

/// PostgreSQL names the constraint that refused the row.
fn provider_conflict(e: sqlx::Error, p: &Provider) -> StoreError {
    match constraint_name(&e).as_deref() {
        Some("providers_pkey") => {
            StoreError::Conflict(format!("provider {} already exists", p.name))
        }
        Some("providers_scope") => StoreError::Conflict(crate::sql::scope_taken(p)),
        _ => constraint(e, "provider exists", "tenant does not exist"),
    }
}
