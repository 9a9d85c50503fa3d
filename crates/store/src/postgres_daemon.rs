//! The PostgreSQL backend's daemon tables: providers and the event queue.
//!
//! Claiming is one `UPDATE … FROM (… FOR UPDATE SKIP LOCKED)`: another node's
//! claim in progress is passed over, not waited for.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::postgres_pool::{constraint, constraint_name};
use crate::postgres_pool::{later, now, PgStore};
use crate::rows::postgres::*;
use crate::{Action, Event, EventState, Outcome, Provider, QueueStore, Result, StoreError};

pub(crate) async fn create_provider(s: &PgStore, p: &Provider) -> Result<Provider> {
    sqlx::query(
        "INSERT INTO providers (name, kind, base_url, access_key_id, secret, tenant_id, created_at, ca_pem) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&p.name)
    .bind(&p.kind)
    .bind(&p.base_url)
    .bind(&p.access_key_id)
    .bind(&p.secret)
    .bind(p.tenant.as_ref().map(|t| t.as_str().to_owned()))
    .bind(now())
    .bind(p.ca_pem.as_deref())
    .execute(&s.pool)
    .await
    .map_err(|e| match (constraint_name(&e).as_deref(), &e) {
        (Some("providers_pkey"), _) => StoreError::Conflict(format!("provider {} already exists", p.name)),
        (Some("providers_scope"), _) => StoreError::Conflict(match &p.tenant {
            Some(t) => format!("tenant {t} already has a provider"),
            None => "a master provider already exists".into(),
        }),
        _ => constraint(e, "provider exists", "tenant does not exist"),
    })?;
    s.get_provider(&p.name)
        .await?
        .ok_or_else(|| StoreError::not_found("provider", &p.name))
}

pub(crate) async fn list_providers(s: &PgStore) -> Result<Vec<Provider>> {
    let rows = sqlx::query("SELECT * FROM providers ORDER BY name")
        .fetch_all(&s.pool)
        .await?;
    rows.iter().map(provider_row).collect()
}

pub(crate) async fn get_provider(s: &PgStore, name: &str) -> Result<Option<Provider>> {
    let row = sqlx::query("SELECT * FROM providers WHERE name = $1")
        .bind(name)
        .fetch_optional(&s.pool)
        .await?;
    row.as_ref().map(provider_row).transpose()
}

pub(crate) async fn delete_provider(s: &PgStore, name: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM providers WHERE name = $1")
        .bind(name)
        .execute(&s.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found("provider", name));
    }
    Ok(())
}

pub(crate) async fn enqueue(
    s: &PgStore,
    action: Action,
    items: &[crate::Issued],
) -> Result<Vec<i64>> {
    let items = items.to_vec();
    s.write(move |c| {
        Box::pin(async move { crate::sql::postgres::enqueue(c, action, &items, now()).await })
    })
    .await
}

pub(crate) async fn claim_events(
    s: &PgStore,
    node: &str,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Event>> {
    let at = now();
    // SKIP LOCKED: another node's claim in progress is passed over, not waited
    // for. An event whose MAC has an older unfinished event is never due, so
    // the order per MAC holds across nodes.
    let rows = sqlx::query(
        "WITH due AS ( \
           SELECT e.id FROM events e \
           WHERE ((e.state = 'pending' AND e.next_attempt_at <= $3) OR (e.state = 'running' AND e.lease_until < $3)) \
             AND NOT EXISTS (SELECT 1 FROM events p WHERE p.mac = e.mac AND p.id < e.id AND p.state IN ('pending', 'running')) \
           ORDER BY e.id LIMIT $4 FOR UPDATE SKIP LOCKED) \
         UPDATE events SET state = 'running', attempts = attempts + 1, lease_until = $1, leased_by = $2, updated_at = $3 \
         FROM due WHERE events.id = due.id RETURNING events.*",
    )
    .bind(later(lease))
    .bind(node)
    .bind(at)
    .bind(i64::from(limit))
    .fetch_all(&s.pool)
    .await?;
    let mut events = rows.iter().map(event_row).collect::<Result<Vec<_>>>()?;
    events.sort_by_key(|e| e.id);
    Ok(events)
}

pub(crate) async fn release_leases(s: &PgStore, node: &str) -> Result<u64> {
    let done = sqlx::query(crate::sql::RELEASE_LEASES)
        .bind(now() - chrono::Duration::seconds(1))
        .bind(node)
        .execute(&s.pool)
        .await?;
    Ok(done.rows_affected())
}

pub(crate) async fn renew_lease(s: &PgStore, id: i64, node: &str, lease: Duration) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE events SET lease_until = $1, updated_at = $2 WHERE id = $3 AND leased_by = $4 AND state = 'running'",
    )
    .bind(later(lease))
    .bind(now())
    .bind(id)
    .bind(node)
    .execute(&s.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn finish_event(
    s: &PgStore,
    id: i64,
    node: &str,
    outcome: &Outcome,
) -> Result<bool> {
    let (node, outcome) = (node.to_owned(), outcome.clone());
    s.quiet(move |c| {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM events WHERE id = $1 AND leased_by = $2 AND state = 'running' FOR UPDATE")
                .bind(id)
                .bind(&node)
                .fetch_optional(&mut *c)
                .await?;
            let Some(row) = row else { return Ok(false) };
            let ev = event_row(&row)?;
            let at = now();
            let (state, next, error) = match &outcome {
                Outcome::Done => ("done", at, None),
                Outcome::Retry { at: when, message } => ("pending", *when, Some(message.clone())),
                Outcome::Failed { message } => ("failed", at, Some(message.clone())),
            };
            sqlx::query(
                "UPDATE events SET state = $1, next_attempt_at = $2, last_error = $3, lease_until = NULL, leased_by = NULL, \
                 updated_at = $4 WHERE id = $5",
            )
            .bind(state)
            .bind(next)
            .bind(&error)
            .bind(at)
            .bind(id)
            .execute(&mut *c)
            .await?;
            let newer: Option<i64> = sqlx::query_scalar("SELECT id FROM events WHERE mac = $1 AND id > $2 LIMIT 1")
                .bind(ev.mac.to_string())
                .bind(id)
                .fetch_optional(&mut *c)
                .await?;
            if newer.is_some() {
                return Ok(true);
            }
            let (status, registered, message): (&str, Option<Option<DateTime<Utc>>>, String) = match (&outcome, ev.action) {
                (Outcome::Done, Action::Register) => ("registered", Some(Some(at)), "-".into()),
                (Outcome::Done, Action::Deregister) => ("unregistered", Some(None), "-".into()),
                (Outcome::Retry { message, .. }, _) => ("pending", None, message.clone()),
                (Outcome::Failed { message }, _) => ("failed", None, message.clone()),
            };
            sqlx::query(
                "UPDATE devices SET status = $1, registered_at = CASE WHEN $2 THEN $3 ELSE registered_at END, \
                 last_message = $4, updated_at = $5 WHERE mac = $6",
            )
            .bind(status)
            .bind(registered.is_some())
            .bind(registered.flatten())
            .bind(message)
            .bind(at)
            .bind(ev.mac.to_string())
            .execute(&mut *c)
            .await?;
            // Only a promotion or a removal changes what phones are served.
            let served = match (&outcome, ev.action) {
                (Outcome::Done, Action::Register) => crate::sql::PROMOTE_NEXT,
                (Outcome::Done, Action::Deregister) => crate::sql::REMOVE_IF_ASKED,
                _ => return Ok(true),
            };
            let changed = sqlx::query(served).bind(ev.mac.to_string()).execute(&mut *c).await?.rows_affected();
            if changed > 0 {
                sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1").execute(&mut *c).await?;
                sqlx::query("SELECT pg_notify('touchless_generation', '')").execute(&mut *c).await?;
            }
            Ok(true)
        })
    })
    .await
}

pub(crate) async fn list_events(
    s: &PgStore,
    state: Option<EventState>,
    limit: u32,
) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT * FROM events WHERE ($1::text IS NULL OR state = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(state.map(|s| s.as_str()))
    .bind(i64::from(limit))
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(event_row).collect()
}

pub(crate) async fn event_counts(s: &PgStore) -> Result<Vec<(EventState, u64)>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM events GROUP BY state")
            .fetch_all(&s.pool)
            .await?;
    crate::daemon::counts(rows)
}

pub(crate) async fn get_event(s: &PgStore, id: i64) -> Result<Option<Event>> {
    let row = sqlx::query("SELECT * FROM events WHERE id = $1")
        .bind(id)
        .fetch_optional(&s.pool)
        .await?;
    row.as_ref().map(event_row).transpose()
}

pub(crate) async fn retry_event(s: &PgStore, id: i64) -> Result<Event> {
    let mut tx = s.pool.begin().await?;
    let done = sqlx::query(
        "UPDATE events SET state = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1 WHERE id = $2 AND state = 'failed'",
    )
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        drop(tx);
        return match s.get_event(id).await? {
            None => Err(StoreError::not_found("event", id)),
            Some(e) => Err(StoreError::Conflict(format!(
                "event {id} is {}, only failed events can be retried",
                e.state.as_str()
            ))),
        };
    }
    sqlx::query("UPDATE devices SET status = 'pending', updated_at = $1 WHERE mac = (SELECT mac FROM events WHERE id = $2)")
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    s.get_event(id)
        .await?
        .ok_or_else(|| StoreError::not_found("event", id))
}
