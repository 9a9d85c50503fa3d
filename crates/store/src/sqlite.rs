//! The SQLite backend's `Store`: the registry's queries here, the rest
//! delegated to the files of each concern (`sqlite_registry`, `sqlite_daemon`,
//! `sqlite_redirect`); the pool and its transactions are in `sqlite_pool`.

use std::time::Duration;

use async_trait::async_trait;

use crate::sqlite_pool::*;
use crate::{MetaStore, QueueStore, Result};

#[async_trait]
impl QueueStore for SqliteStore {
    async fn create_provider(&self, p: &crate::Provider) -> Result<crate::Provider> {
        crate::sqlite_daemon::create_provider(self, p).await
    }

    async fn list_providers(&self) -> Result<Vec<crate::Provider>> {
        crate::sqlite_daemon::list_providers(self).await
    }

    async fn get_provider(&self, name: &str) -> Result<Option<crate::Provider>> {
        crate::sqlite_daemon::get_provider(self, name).await
    }

    async fn delete_provider(&self, name: &str) -> Result<()> {
        crate::sqlite_daemon::delete_provider(self, name).await
    }

    async fn enqueue(&self, action: crate::Action, items: &[crate::Issued]) -> Result<Vec<i64>> {
        crate::sqlite_daemon::enqueue(self, action, items).await
    }

    async fn claim_events(
        &self,
        node: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<crate::Event>> {
        crate::sqlite_daemon::claim_events(self, node, limit, lease).await
    }

    async fn release_leases(&self, node: &str) -> Result<u64> {
        let done = sqlx::query(crate::sql::RELEASE_LEASES)
            .bind(now() - chrono::Duration::seconds(1))
            .bind(node)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn renew_lease(&self, id: i64, node: &str, lease: Duration) -> Result<bool> {
        crate::sqlite_daemon::renew_lease(self, id, node, lease).await
    }

    async fn finish_event(&self, id: i64, node: &str, outcome: &crate::Outcome) -> Result<bool> {
        crate::sqlite_daemon::finish_event(self, id, node, outcome).await
    }

    async fn list_events(
        &self,
        state: Option<crate::EventState>,
        limit: u32,
    ) -> Result<Vec<crate::Event>> {
        crate::sqlite_daemon::list_events(self, state, limit).await
    }

    async fn event_counts(&self) -> Result<Vec<(crate::EventState, u64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM events GROUP BY state")
                .fetch_all(&self.reader)
                .await?;
        crate::daemon::counts(rows)
    }

    async fn get_event(&self, id: i64) -> Result<Option<crate::Event>> {
        crate::sqlite_daemon::get_event(self, id).await
    }

    async fn retry_event(&self, id: i64) -> Result<crate::Event> {
        crate::sqlite_daemon::retry_event(self, id).await
    }
}

#[async_trait]
impl MetaStore for SqliteStore {
    async fn meta_get_or_insert(&self, key: &str, value: &str) -> Result<String> {
        let mut c = self.writer.acquire().await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut *c)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_one(&mut *c)
            .await?)
    }

    async fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
