//! The PostgreSQL backend: several stateless nodes on one database.
//!
//! Same contract as [`crate::SqliteStore`] (the conformance suite runs on both);
//! what differs is concurrency. Writers run in ordinary transactions and the
//! generation counter row serialises them where it matters; the event queue is
//! claimed with `FOR UPDATE SKIP LOCKED`, so nodes never take the same event.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::PgPool;

use touchless_domain::{ProvUser, TenantId};

use crate::{Result, StoreError};

pub struct PgStore {
    pub(crate) pool: PgPool,
    /// The queue recorder's connection, on a thread of its own.
    recorder: crate::postgres_recorder::Recorder,
    /// Hawk nonces waiting to be written, a batch at a time.
    nonces: crate::nonces::NonceBatches,
    /// Devices this node has created since it last analyzed them, and how
    /// many it had created then (see [`PgStore::after_create_devices`]).
    created: std::sync::Mutex<(u64, u64)>,
}

/// Remembers a Hawk nonce (see `RedirectStore::remember_nonce`), in
/// batches with the other calls' ([`crate::nonces`]): a commit per call
/// cost a WAL flush per call.
pub(crate) async fn remember_nonce(
    s: &PgStore,
    key_id: &str,
    nonce: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool> {
    s.nonces.remember(&s.pool, key_id, nonce, expires_at).await
}

crate::nonces::writer_for!(PgPool, now);

pub(crate) fn now() -> DateTime<Utc> {
    let n = Utc::now();
    DateTime::from_timestamp_micros(n.timestamp_micros()).unwrap_or(n)
}

pub(crate) fn later(d: Duration) -> DateTime<Utc> {
    now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(60))
}

pub(crate) type Tx<'c> = &'c mut PgConnection;

impl PgStore {
    pub async fn open(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        // sqlx takes an advisory lock: nodes starting together migrate once.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore {
            pool,
            recorder: crate::postgres_recorder::Recorder::new(url),
            nonces: Default::default(),
            created: Default::default(),
        })
    }

    /// Runs `f` in a transaction that also bumps the generation and tells
    /// every listening node.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(Tx<'c>) -> PgFuture<'c, T> + Send,
    {
        let mut tx = self.pool.begin().await?;
        // First: the rows this write stamps (triggers) carry the new value,
        // and the row lock held until commit orders writers by generation.
        bump_generation(&mut tx).await?;
        let v = f(&mut tx).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// [`PgStore::quiet`] for the queue's recorder: on its own connection
    /// and thread (see `postgres_recorder`), else on the shared pool.
    pub(crate) async fn recorded<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(Tx<'c>) -> PgFuture<'c, T> + Send + 'static,
    {
        let Some((rt, pool)) = self.recorder.get() else {
            return self.quiet(f).await;
        };
        let task = rt.spawn(async move { in_transaction(&pool, f).await });
        task.await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "the queue recorder's write failed");
            Err(StoreError::Database(sqlx::Error::WorkerCrashed))
        })
    }

    /// A transaction for the logs (the same as [`PgStore::quiet`] here).
    pub(crate) async fn append<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(Tx<'c>) -> PgFuture<'c, T> + Send,
    {
        self.quiet(f).await
    }

    /// A transaction for a read-then-write (the redirection service's).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    pub(crate) async fn close_pools(&self) {
        self.recorder.close().await;
        self.pool.close().await;
    }

    pub(crate) async fn copy_into(&self, _into: &std::path::Path) -> crate::Result<()> {
        Err(StoreError::Unsupported(
            "backups of a PostgreSQL installation are taken with pg_dump \
             (pg_dump -Fc DATABASE > FILE; see the README), not by touchless"
                .into(),
        ))
    }

    pub(crate) fn reads(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn writes(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn log_pool(&self) -> &PgPool {
        &self.pool
    }

    /// REPEATABLE READ: the generation and the rows are one consistent view.
    pub(crate) async fn read_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// NOTIFYs from every node's writes, through one LISTEN connection.
    pub(crate) async fn hints(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&self.pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN unavailable; relying on polling");
                return None;
            }
        };
        if let Err(e) = listener.listen("touchless_generation").await {
            tracing::warn!(error = %e, "LISTEN failed; relying on polling");
            return None;
        }
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(_) => {
                        if tx.is_closed() {
                            return;
                        }
                        // A full channel already holds a hint; one is enough.
                        let _ = tx.try_send(());
                    }
                    Err(e) => {
                        // PgListener reconnects on the next recv; do not spin.
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        Some(rx)
    }

    /// After a large enqueue, fresh statistics for `events`: planned with
    /// the old ones (a few pending rows), the claim hashed every pending
    /// event against every other and sorted them all to take the oldest
    /// 1,000 (85 ms a claim with 20,000 queued, growing with the backlog),
    /// until autovacuum analyzed the table a minute or more later; with
    /// them it walks the oldest events in order and stops at the batch.
    pub(crate) async fn after_enqueue(&self, queued: usize) {
        if queued < 1000 {
            return;
        }
        self.analyze("events").await;
    }

    /// Fresh statistics for `tables`, now rather than when autovacuum next
    /// comes by; a failure only costs the plans, so it is logged.
    async fn analyze(&self, tables: &str) {
        if let Err(e) = sqlx::query(&format!("ANALYZE {tables}"))
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, tables, "refreshing statistics failed");
        }
    }

    /// After devices are created, fresh statistics once the devices this
    /// node created have doubled since it last took them. Without them, a
    /// cached plan made while the table was nearly empty outlived a bulk
    /// load: every view reload (`devices WHERE gen > $1`) scanned all 100,000
    /// rows, 9 ms each, on every node, until autovacuum analyzed the table a
    /// minute or more later. Doubling keeps it to 7 runs for 100,000
    /// devices loaded in batches of 1,000, each a sample of at most 30,000
    /// rows.
    pub(crate) async fn after_create_devices(&self, created: usize) {
        {
            let mut c = self.created.lock().unwrap_or_else(|e| e.into_inner());
            c.0 += created as u64;
            if c.0 < 1000 || c.0 < 2 * c.1 {
                return;
            }
            c.1 = c.0;
        }
        self.analyze("devices, lines, device_settings").await;
    }

    /// A transaction for changes the provisioning view does not show.
    pub(crate) async fn quiet<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(Tx<'c>) -> PgFuture<'c, T> + Send,
    {
        in_transaction(&self.pool, f).await
    }
}

/// `f` in a transaction on a connection of `pool`, committed if it succeeds.
async fn in_transaction<T, F>(pool: &PgPool, f: F) -> Result<T>
where
    T: Send,
    F: for<'c> FnOnce(Tx<'c>) -> PgFuture<'c, T> + Send,
{
    let mut tx = pool.begin().await?;
    let v = f(&mut tx).await?;
    tx.commit().await?;
    Ok(v)
}

type PgFuture<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>>;

/// PostgreSQL's spelling of "position of a substring" (SQLite's is `instr`).
pub(crate) const SUBSTR: &str = "strpos";

/// `col IN <the list bound as $n>`, as a text array.
pub(crate) fn in_list(n: u8) -> String {
    format!("= ANY(${n})")
}

pub(crate) fn list_param(keys: &[String]) -> Vec<String> {
    keys.to_vec()
}

/// Row ids bound for [`in_list`].
pub(crate) fn id_list_param(ids: &[i64]) -> Vec<i64> {
    ids.to_vec()
}

/// ` IN <ids>` pushed into a statement being built, bound as one array.
pub(crate) fn push_in_ids(q: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, ids: &[i64]) {
    q.push(" = ANY(").push_bind(ids.to_vec()).push(")");
}

/// The rows of a device outcome write (see `finish_in`) pushed as its
/// `FROM` source `v`, named `column1`… as a VALUES list names them: five
/// arrays, one a column, so the statement's text is the same whatever the
/// number of rows. (As a VALUES list, each length was a new statement,
/// parsed and planned again: 139 parses in 201 writes of a 256-queue run,
/// a fifth of that statement's time.)
pub(crate) fn push_outcome_rows(
    q: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>,
    rows: &[crate::sql::OutcomeRow<'_>],
) {
    let column = |f: fn(&crate::sql::OutcomeRow<'_>) -> String| -> Vec<String> {
        rows.iter().map(f).collect()
    };
    q.push("UNNEST(")
        .push_bind(column(|r| r.mac.to_owned()))
        .push("::text[], ")
        .push_bind(rows.iter().map(|r| r.id).collect::<Vec<i64>>())
        .push("::int8[], ")
        .push_bind(column(|r| r.status.to_owned()))
        .push("::text[], ")
        .push_bind(column(|r| r.message.to_owned()))
        .push("::text[], ")
        .push_bind(rows.iter().map(|r| r.promote).collect::<Vec<bool>>())
        .push("::bool[]) AS v (column1, column2, column3, column4, column5)");
}

pub(crate) fn constraint(e: sqlx::Error, unique: &str, fk: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        match db.code().as_deref() {
            Some("23505") => return StoreError::Conflict(unique.to_owned()),
            Some("23503") => {
                return StoreError::Invalid {
                    field: "tenant",
                    message: fk.to_owned(),
                }
            }
            _ => {}
        }
    }
    StoreError::Database(e)
}

pub(crate) fn constraint_name(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.constraint().map(str::to_owned),
        _ => None,
    }
}

pub(crate) fn tenant_conflict(e: sqlx::Error, id: &TenantId, user: &ProvUser) -> StoreError {
    if constraint_name(&e).as_deref() == Some("tenants_prov_user") {
        return StoreError::Conflict(format!(
            "provisioning user {user} is already used by another tenant"
        ));
    }
    constraint(e, &format!("tenant {id} already exists"), "")
}

/// Tells readers that what phones are served changed: the counter, and a
/// NOTIFY delivered at commit to every node listening, so they reload at
/// once instead of at their next poll.
pub(crate) async fn bump_generation(c: &mut PgConnection) -> Result<()> {
    // One statement, one round trip.
    sqlx::query(
        "WITH g AS (UPDATE generation SET value = value + 1 WHERE id = 1 RETURNING value) \
         SELECT pg_notify('touchless_generation', '') FROM g",
    )
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Appended to a SELECT in a write transaction: another node writing the
/// same row waits for this one.
pub(crate) const LOCK_ROW: &str = " FOR UPDATE";
