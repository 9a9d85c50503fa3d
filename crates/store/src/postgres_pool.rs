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

use crate::Result;

pub struct PgStore {
    pub(crate) pool: PgPool,
}

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
        Ok(PgStore { pool })
    }

    /// Runs `f` in a transaction that also bumps the generation and tells
    /// every listening node.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(Tx<'c>) -> PgFuture<'c, T> + Send,
    {
        let mut tx = self.pool.begin().await?;
        let v = f(&mut tx).await?;
        sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        // Delivered at commit to every node listening: they reload at once
        // instead of at their next poll.
        sqlx::query("SELECT pg_notify('touchless_generation', '')")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// A transaction for changes the provisioning view does not show.
    pub(crate) async fn quiet<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(Tx<'c>) -> PgFuture<'c, T> + Send,
    {
        let mut tx = self.pool.begin().await?;
        let v = f(&mut tx).await?;
        tx.commit().await?;
        Ok(v)
    }
}

type PgFuture<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>>;
