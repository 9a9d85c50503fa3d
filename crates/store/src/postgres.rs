//! The PostgreSQL backend's `Store`: the registry's queries here, the rest
//! delegated to the files of each concern (`postgres_registry`, `postgres_daemon`,
//! `postgres_redirect`); the pool and its transactions are in `postgres_pool`.

use std::time::Duration;

use async_trait::async_trait;

use crate::postgres_pool::*;
use crate::{Action, Event, EventState, MetaStore, Outcome, Provider, QueueStore, Result};

#[async_trait]
impl QueueStore for PgStore {
    async fn create_provider(&self, p: &Provider) -> Result<Provider> {
        crate::postgres_daemon::create_provider(self, p).await
    }

    async fn list_providers(&self) -> Result<Vec<Provider>> {
        crate::postgres_daemon::list_providers(self).await
    }

    async fn get_provider(&self, name: &str) -> Result<Option<Provider>> {
        crate::postgres_daemon::get_provider(self, name).await
    }

    async fn delete_provider(&self, name: &str) -> Result<()> {
        crate::postgres_daemon::delete_provider(self, name).await
    }

    async fn enqueue(&self, action: Action, items: &[crate::Issued]) -> Result<Vec<i64>> {
        crate::postgres_daemon::enqueue(self, action, items).await
    }

    async fn claim_events(&self, node: &str, limit: u32, lease: Duration) -> Result<Vec<Event>> {
        crate::postgres_daemon::claim_events(self, node, limit, lease).await
    }

    async fn release_leases(&self, node: &str) -> Result<u64> {
        crate::postgres_daemon::release_leases(self, node).await
    }

    async fn renew_lease(&self, id: i64, node: &str, lease: Duration) -> Result<bool> {
        crate::postgres_daemon::renew_lease(self, id, node, lease).await
    }

    async fn finish_event(&self, id: i64, node: &str, outcome: &Outcome) -> Result<bool> {
        crate::postgres_daemon::finish_event(self, id, node, outcome).await
    }

    async fn list_events(&self, state: Option<EventState>, limit: u32) -> Result<Vec<Event>> {
        crate::postgres_daemon::list_events(self, state, limit).await
    }

    async fn event_counts(&self) -> Result<Vec<(EventState, u64)>> {
        crate::postgres_daemon::event_counts(self).await
    }

    async fn get_event(&self, id: i64) -> Result<Option<Event>> {
        crate::postgres_daemon::get_event(self, id).await
    }

    async fn retry_event(&self, id: i64) -> Result<Event> {
        crate::postgres_daemon::retry_event(self, id).await
    }
}

#[async_trait]
impl MetaStore for PgStore {
    async fn meta_get_or_insert(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
