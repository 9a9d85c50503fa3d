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

use crate::{Result, StoreError};

pub struct SqliteStore {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
    /// Readers of [`Store::change_hints`] in this process: SQLite has one
    /// process per database, so its own writes are all there is to hear of.
    pub(crate) hints: std::sync::Mutex<Vec<tokio::sync::mpsc::Sender<()>>>,
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

    /// A write transaction that does not bump the generation: for changes the
    /// provisioning view does not show (an event's outcome, a device's status).
    pub(crate) async fn quiet<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        self.transaction(false, f).await
    }

    async fn transaction<T, F>(&self, bump: bool, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        let mut conn = self.writer.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let out = async {
            let v = f(&mut conn).await?;
            if bump {
                sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(v)
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

pub(crate) fn now() -> DateTime<Utc> {
    // Millisecond precision: what both SQLite text and PostgreSQL round-trip exactly.
    let n = Utc::now();
    DateTime::from_timestamp_millis(n.timestamp_millis()).unwrap_or(n)
}
