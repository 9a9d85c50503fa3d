//! The SQLite backend: the zero-setup default, one file under the data directory.
//!
//! SQLite allows one writer at a time. Rather than let several pooled connections
//! race for the write lock (and fail with SQLITE_BUSY on lock upgrades), all writes
//! go through a one-connection pool and start with `BEGIN IMMEDIATE`; reads use a
//! separate pool and, thanks to WAL, never wait for the writer.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

use touchless_domain::{ProvUser, TenantId};

use crate::{Result, StoreError};

/// Bytes of heap SQLite holds in this process: page caches and prepared
/// statements of every connection to every SQLite database open here.
pub fn sqlite_memory_bytes() -> u64 {
    // SAFETY: reads SQLite's own counter, which any thread may do at any time.
    let n = unsafe { libsqlite3_sys::sqlite3_memory_used() };
    u64::try_from(n).unwrap_or(0)
}

pub struct SqliteStore {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
    /// Readers of [`Store::change_hints`] in this process: SQLite has one
    /// process per database, so its own writes are all there is to hear of.
    pub(crate) hints: std::sync::Mutex<Vec<tokio::sync::mpsc::Sender<()>>>,
    /// Hawk nonces waiting to be written, a batch at a time.
    nonces: crate::nonces::NonceBatches,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private::create_dir(dir).map_err(|e| {
                StoreError::Unsupported(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        // SQLite gives the -wal and -shm files the mode of the database file, so
        // creating that one 0600 keeps all three private whatever the umask.
        if !path.exists() && path.as_os_str() != ":memory:" {
            crate::private::append(path).map_err(|e| {
                StoreError::Unsupported(format!("cannot create {}: {e}", path.display()))
            })?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Statement journals (every multi-row statement in a transaction
            // keeps one) and temporary sorts stay in memory: in a file they
            // were a pwrite per page, thousands per contact-log flush, on the
            // core that serves phones.
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.read_only(true))
            .await?;
        Ok(SqliteStore {
            writer,
            reader,
            hints: std::sync::Mutex::new(Vec::new()),
            nonces: Default::default(),
        })
    }

    /// Runs `f` in a write transaction that also bumps the generation.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        self.transaction(true, f).await
    }

    /// [`SqliteStore::quiet`]: the queue recorder's writes stay on the one
    /// writer connection (PostgreSQL gives them a connection and thread of
    /// their own; here a second connection would only wait on the first for
    /// the file's write lock).
    pub(crate) async fn recorded<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        self.quiet(f).await
    }

    /// A write transaction that does not bump the generation: for changes the
    /// provisioning view does not show (an event's outcome, a device's status).
    pub(crate) async fn quiet<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        self.transaction(false, f).await
    }

    /// Nothing to do after an enqueue: SQLite plans the claim as a walk of
    /// the oldest events whatever the table holds (see the PostgreSQL side).
    pub(crate) async fn after_enqueue(&self, _queued: usize) {}

    /// Nothing to do after devices are created: SQLite plans each statement
    /// anew and reads `gen > ?` through its index whatever the table holds.
    pub(crate) async fn after_create_devices(&self, _created: usize) {}

    /// A write transaction for the logs: no generation bump, no change hint.
    pub(crate) async fn append<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        let mut tx = self.writer.begin().await?;
        let v = f(&mut tx).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// The pool reads go to (WAL: they never wait for the writer).
    /// A transaction for a read-then-write (the redirection service's), on
    /// the one writer connection.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin().await?)
    }

    pub(crate) async fn close_pools(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// `VACUUM INTO` reads one snapshot (a read transaction, so writers go
    /// on) and writes it out compacted, with no WAL to carry along.
    pub(crate) async fn copy_into(&self, into: &std::path::Path) -> crate::Result<()> {
        let path = into.to_str().ok_or_else(|| StoreError::Invalid {
            field: "path",
            message: format!("{} is not UTF-8", into.display()),
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.reader)
            .await?;
        Ok(())
    }

    pub(crate) fn reads(&self) -> &SqlitePool {
        &self.reader
    }

    /// The pool single-statement writes go through (the one writer).
    pub(crate) fn writes(&self) -> &SqlitePool {
        &self.writer
    }

    /// The pool the log pruning writes through.
    pub(crate) fn log_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// A read transaction: one consistent view of the file.
    pub(crate) async fn read_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.reader.begin().await?)
    }

    /// SQLite has one process per database: this process's own commits are
    /// all there is to hear of.
    pub(crate) async fn hints(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        self.hints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        Some(rx)
    }

    async fn transaction<T, F>(&self, bump: bool, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        let mut conn = self.writer.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let out = async {
            // First: the rows this write stamps (triggers) carry the new value.
            if bump {
                bump_generation(&mut conn).await?;
            }
            f(&mut conn).await
        }
        .await;
        match out {
            Ok(v) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                // Any committed write may have moved the generation (event
                // outcomes do so only sometimes); readers check it.
                self.hints
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|tx| {
                        !matches!(
                            tx.try_send(()),
                            Err(tokio::sync::mpsc::error::TrySendError::Closed(_))
                        )
                    });
                Ok(v)
            }
            Err(e) => {
                // The connection goes back to the pool; it must not stay in a transaction.
                if let Err(rb) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                    tracing::error!(error = %rb, "rollback failed; dropping connection");
                    conn.detach();
                }
                Err(e)
            }
        }
    }
}

pub(crate) type WriteFuture<'c, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>>;

/// Remembers a Hawk nonce (see `RedirectStore::remember_nonce`): on the one
/// writer, in batches with the other calls' ([`crate::nonces`]).
pub(crate) async fn remember_nonce(
    s: &SqliteStore,
    key_id: &str,
    nonce: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool> {
    s.nonces
        .remember(&s.writer, key_id, nonce, expires_at)
        .await
}

crate::nonces::writer_for!(SqlitePool, now);

pub(crate) fn now() -> DateTime<Utc> {
    // Millisecond precision: what both SQLite text and PostgreSQL round-trip exactly.
    let n = Utc::now();
    DateTime::from_timestamp_millis(n.timestamp_millis()).unwrap_or(n)
}

/// SQLite's spelling of "position of a substring" (PostgreSQL's is `strpos`).
pub(crate) const SUBSTR: &str = "instr";

/// `col IN <the list bound as $n>`: SQLite has no arrays, so the list is a
/// JSON array read by `json_each`.
pub(crate) fn in_list(n: u8) -> String {
    format!("IN (SELECT value FROM json_each(${n}))")
}

pub(crate) fn list_param(keys: &[String]) -> String {
    serde_json::to_string(keys).unwrap_or_default()
}

/// Row ids bound for [`in_list`].
pub(crate) fn id_list_param(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_default()
}

/// ` IN <ids>` pushed into a statement being built, bound as one JSON array.
pub(crate) fn push_in_ids(q: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>, ids: &[i64]) {
    q.push(" IN (SELECT value FROM json_each(")
        .push_bind(id_list_param(ids))
        .push("))");
}

/// The rows of a device outcome write (see `finish_in`) pushed as its
/// `FROM` source `v`: a VALUES list (SQLite has no arrays; its statements
/// are cheap to prepare).
pub(crate) fn push_outcome_rows(
    q: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>,
    rows: &[crate::sql::OutcomeRow<'_>],
) {
    q.push("(");
    q.push_values(rows, |mut b, r| {
        b.push_bind(r.mac.to_owned())
            .push_bind(r.id)
            .push_bind(r.status)
            .push_bind(r.message.to_owned())
            .push_bind(r.promote);
    });
    q.push(") AS v");
}

/// Maps a UNIQUE or FOREIGN KEY violation to an error the user can act on.
pub(crate) fn constraint(e: sqlx::Error, unique: &str, fk: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let msg = db.message();
        if msg.contains("UNIQUE") || msg.contains("PRIMARY KEY") {
            return StoreError::Conflict(unique.to_owned());
        }
        if msg.contains("FOREIGN KEY") {
            return StoreError::Invalid {
                field: "tenant",
                message: fk.to_owned(),
            };
        }
    }
    StoreError::Database(e)
}

pub(crate) fn tenant_conflict(e: sqlx::Error, t_id: &TenantId, user: &ProvUser) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.message().contains("tenants.prov_user") {
            return StoreError::Conflict(format!(
                "provisioning user {user} is already used by another tenant"
            ));
        }
    }
    constraint(e, &format!("tenant {t_id} already exists"), "")
}

pub(crate) fn later(d: Duration) -> DateTime<Utc> {
    now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(60))
}

/// Tells readers that what phones are served changed (in this transaction).
pub(crate) async fn bump_generation(c: &mut SqliteConnection) -> Result<()> {
    sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Nothing to lock: writes are serialised already (one writer connection).
pub(crate) const LOCK_ROW: &str = "";

/// See [`crate::check_backup`].
pub(crate) async fn check_backup(path: &Path) -> Result<crate::BackupSummary> {
    use sqlx::ConnectOptions as _;
    let not_ours = |why: String| StoreError::Invalid {
        field: "file",
        message: format!("{} is not a touchless backup: {why}", path.display()),
    };
    let mut head = [0u8; 16];
    {
        use std::io::Read as _;
        let mut f = std::fs::File::open(path).map_err(|e| not_ours(e.to_string()))?;
        f.read_exact(&mut head)
            .map_err(|_| not_ours("too short".into()))?;
    }
    if &head != b"SQLite format 3\0" {
        return Err(not_ours("not an SQLite database".into()));
    }
    let mut c = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| not_ours(e.to_string()))?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut c)
        .await
        .map_err(|e| not_ours(e.to_string()))?;
    if check != "ok" {
        return Err(not_ours(format!("SQLite's integrity check says {check}")));
    }
    let count = |table: &'static str| format!("SELECT COUNT(*) FROM {table}");
    let tenants: i64 = sqlx::query_scalar(&count("tenants"))
        .fetch_one(&mut c)
        .await
        .map_err(|e| not_ours(e.to_string()))?;
    let devices: i64 = sqlx::query_scalar(&count("devices"))
        .fetch_one(&mut c)
        .await
        .map_err(|e| not_ours(e.to_string()))?;
    Ok(crate::BackupSummary {
        tenants: tenants as u64,
        devices: devices as u64,
    })
}
