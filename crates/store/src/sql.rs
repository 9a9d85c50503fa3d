//! Query text both backends run as it is: sqlx binds `$N` on SQLite too, and
//! these statements use no dialect-specific SQL.

/// Binds: at, mac, user. The first use of the current credentials.
pub(crate) const MARK_USED: &str =
    "UPDATE devices SET ztprov_used_at = $1, revision = revision + 1 \
     WHERE mac = $2 AND ztprov_user = $3 AND ztprov_used_at IS NULL";
/// Binds: at, mac, user. The first use of the staged credentials.
pub(crate) const MARK_NEXT_USED: &str = "UPDATE devices SET ztprov_next_used_at = $1, \
     revision = revision + 1 WHERE mac = $2 AND ztprov_next_user = $3 AND ztprov_next_used_at IS NULL";
/// Binds: a time in the past, node.
pub(crate) const RELEASE_LEASES: &str =
    "UPDATE events SET lease_until = $1 WHERE state = 'running' AND leased_by = $2";

/// Appended to the SET of a bulk `UPDATE devices`: stamps the rows with the
/// current generation once per statement, so the stamping trigger, which
/// fires only for a row whose `gen` a write left as it was, is skipped (on
/// PostgreSQL a PL/pgSQL call per row, about a tenth of the queue
/// recorder's time; migrations `postgres/0016`, `sqlite/0007`).
pub(crate) const STAMP: &str = ", gen = (SELECT value FROM generation WHERE id = 1)";

/// A register keeps the current ztprov credentials (the provider still hands
/// them out) and stages the new ones; they replace the current ones when the
/// provider confirms. The SET of an `UPDATE devices … FROM (VALUES (mac,
/// user, pass, expires, now), …) AS v`: many devices in one statement
/// (VALUES columns are `column1`… on both databases).
pub(crate) const ENQUEUE_REGISTER_SET: &str =
    "ztprov_next_user = v.column2, ztprov_next_pass = v.column3, \
     ztprov_next_expires_at = v.column4, ztprov_next_used_at = NULL, status = 'pending', \
     revision = revision + 1, updated_at = v.column5";
/// A deregister invalidates every ztprov credential at once: the given ones
/// are known to nobody and have no window (expires is bound as NULL). Used
/// as [`ENQUEUE_REGISTER_SET`] is.
pub(crate) const ENQUEUE_DEREGISTER_SET: &str =
    "ztprov_user = v.column2, ztprov_pass = v.column3, \
     ztprov_expires_at = v.column4, ztprov_used_at = NULL, ztprov_next_user = NULL, \
     ztprov_next_pass = NULL, ztprov_next_expires_at = NULL, ztprov_next_used_at = NULL, \
     status = 'pending', revision = revision + 1, updated_at = v.column5";

/// An event's outcome on its device, the SET of an `UPDATE devices … FROM
/// (VALUES (mac, event id, status, message, promote), …) AS v`. With
/// `promote`, the provider confirmed the staged credentials: they become
/// the current ones, and the old ones stop working. (Every right-hand side
/// reads the row as it was, so each CASE tests the old staged user.)
pub(crate) const OUTCOME_SET: &str = "status = v.column3, last_message = v.column4, \
     ztprov_user = CASE WHEN v.column5 AND ztprov_next_user IS NOT NULL THEN ztprov_next_user ELSE ztprov_user END, \
     ztprov_pass = CASE WHEN v.column5 AND ztprov_next_user IS NOT NULL THEN ztprov_next_pass ELSE ztprov_pass END, \
     ztprov_expires_at = CASE WHEN v.column5 AND ztprov_next_user IS NOT NULL \
         THEN ztprov_next_expires_at ELSE ztprov_expires_at END, \
     ztprov_used_at = CASE WHEN v.column5 AND ztprov_next_user IS NOT NULL \
         THEN ztprov_next_used_at ELSE ztprov_used_at END, \
     ztprov_next_user = CASE WHEN v.column5 THEN NULL ELSE ztprov_next_user END, \
     ztprov_next_pass = CASE WHEN v.column5 THEN NULL ELSE ztprov_next_pass END, \
     ztprov_next_expires_at = CASE WHEN v.column5 THEN NULL ELSE ztprov_next_expires_at END, \
     ztprov_next_used_at = CASE WHEN v.column5 THEN NULL ELSE ztprov_next_used_at END, \
     revision = revision + CASE WHEN v.column5 AND ztprov_next_user IS NOT NULL THEN 1 ELSE 0 END";

/// One row of a device outcome write (`v` in [`OUTCOME_SET`]): the device,
/// the event whose outcome it is (written only if it is the device's
/// newest), the status and message it leaves, and whether staged
/// credentials are promoted.
pub(crate) struct OutcomeRow<'a> {
    pub mac: &'a str,
    pub id: i64,
    pub status: &'static str,
    pub message: &'a str,
    pub promote: bool,
}

/// The MACs in place of `{list}`.
pub(crate) const DELETE_DEVICE: &str = "DELETE FROM devices WHERE mac {list}";

/// Devices the admin deleted go once the provider has let them go. The MACs
/// in place of `{list}`.
pub(crate) const REMOVE_IF_ASKED: &str = "DELETE FROM devices WHERE mac {list} AND removing";

/// Deletes rows of a contact log (`contacts` or `redirect_contacts`) older
/// than `before`, then the oldest beyond `max_rows` (0: no cap). One body for
/// both backends: the statements are plain SQL and sqlx is generic over them.
pub(crate) async fn prune_log<DB>(
    pool: &sqlx::Pool<DB>,
    table: ContactTable,
    before: chrono::DateTime<chrono::Utc>,
    max_rows: u64,
) -> crate::Result<u64>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as sqlx::Database>::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::QueryResult: RowsAffected,
{
    let t = table.name();
    let mut conn = pool.acquire().await?;
    let mut n = sqlx::query(&format!("DELETE FROM {t} WHERE at < $1"))
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows();
    if max_rows > 0 {
        let keep = i64::try_from(max_rows).unwrap_or(i64::MAX);
        n += sqlx::query(&format!(
            "DELETE FROM {t} WHERE id <= (SELECT id FROM {t} ORDER BY id DESC LIMIT 1 OFFSET $1)"
        ))
        .bind(keep)
        .execute(&mut *conn)
        .await?
        .rows();
    }
    Ok(n)
}

/// `rows_affected` is inherent on each backend's result type; this names it
/// for code generic over the backend.
pub(crate) trait RowsAffected {
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

/// The two contact logs; a closed set, so table names never come from input.
#[derive(Clone, Copy)]
pub(crate) enum ContactTable {
    Phones,
    Redirect,
}

impl ContactTable {
    fn name(self) -> &'static str {
        match self {
            ContactTable::Phones => "contacts",
            ContactTable::Redirect => "redirect_contacts",
        }
    }
}

/// Binds: at, then the MACs in place of `{list}`.
pub(crate) const MARK_REMOVING: &str =
    "UPDATE devices SET removing = TRUE, updated_at = $1 WHERE mac {list}";

/// The words when a provider's (scope, vendor) is taken; both backends
/// name the clash differently but say this.
pub(crate) fn scope_taken(p: &crate::Provider) -> String {
    match &p.tenant {
        Some(t) => format!("tenant {t} already has a provider for {} phones", p.vendor),
        None => format!("a master provider already exists for {} phones", p.vendor),
    }
}
