//! The daemon's tables on SQLite: providers and the event queue.
//!
//! Claiming is one `UPDATE … RETURNING` in a write transaction; SQLite's single
//! writer makes it atomic. The PostgreSQL backend does the same with
//! `FOR UPDATE SKIP LOCKED`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::rows::sqlite::*;
use crate::sqlite_pool::{now, SqliteStore};
use crate::{Action, Event, EventState, Issued, Outcome, Provider, Result, StoreError};

fn later(d: Duration) -> DateTime<Utc> {
    now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(60))
}

pub(crate) async fn create_provider(s: &SqliteStore, p: &Provider) -> Result<Provider> {
    let at = now();
    sqlx::query(
        "INSERT INTO providers (name, kind, base_url, access_key_id, secret, tenant_id, created_at, ca_pem) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&p.name)
    .bind(&p.kind)
    .bind(&p.base_url)
    .bind(&p.access_key_id)
    .bind(&p.secret)
    .bind(p.tenant.as_ref().map(|t| t.as_str()))
    .bind(at)
    .bind(p.ca_pem.as_deref())
    .execute(&s.writer)
    .await
    .map_err(|e| {
        if let sqlx::Error::Database(db) = &e {
            let m = db.message();
            if m.contains("providers.name") {
                return StoreError::Conflict(format!("provider {} already exists", p.name));
            }
            if m.contains("UNIQUE") {
                return StoreError::Conflict(match &p.tenant {
                    Some(t) => format!("tenant {t} already has a provider"),
                    None => "a master provider already exists".into(),
                });
            }
            if m.contains("FOREIGN KEY") {
                return StoreError::Invalid {
                    field: "tenant",
                    message: "tenant does not exist".into(),
                };
            }
        }
        StoreError::Database(e)
    })?;
    get_provider(s, &p.name)
        .await?
        .ok_or_else(|| StoreError::not_found("provider", &p.name))
}

pub(crate) async fn list_providers(s: &SqliteStore) -> Result<Vec<Provider>> {
    let rows = sqlx::query("SELECT * FROM providers ORDER BY name")
        .fetch_all(&s.reader)
        .await?;
    rows.iter().map(provider_row).collect()
}

pub(crate) async fn get_provider(s: &SqliteStore, name: &str) -> Result<Option<Provider>> {
    let row = sqlx::query("SELECT * FROM providers WHERE name = ?")
        .bind(name)
        .fetch_optional(&s.reader)
        .await?;
    row.as_ref().map(provider_row).transpose()
}

pub(crate) async fn delete_provider(s: &SqliteStore, name: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM providers WHERE name = ?")
        .bind(name)
        .execute(&s.writer)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found("provider", name));
    }
    Ok(())
}

pub(crate) async fn enqueue(s: &SqliteStore, action: Action, items: &[Issued]) -> Result<Vec<i64>> {
    let items = items.to_vec();
    s.write(move |c| {
        Box::pin(async move { crate::sql::sqlite::enqueue(c, action, &items, now()).await })
    })
    .await
}

pub(crate) async fn claim_events(
    s: &SqliteStore,
    node: &str,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Event>> {
    let at = now();
    let rows = sqlx::query(
        "UPDATE events SET state = 'running', attempts = attempts + 1, lease_until = ?, leased_by = ?, updated_at = ? \
         WHERE id IN ( \
           SELECT e.id FROM events e \
           WHERE ((e.state = 'pending' AND e.next_attempt_at <= ?) OR (e.state = 'running' AND e.lease_until < ?)) \
             AND NOT EXISTS (SELECT 1 FROM events p WHERE p.mac = e.mac AND p.id < e.id AND p.state IN ('pending', 'running')) \
           ORDER BY e.id LIMIT ?) \
         RETURNING *",
    )
    .bind(later(lease))
    .bind(node)
    .bind(at)
    .bind(at)
    .bind(at)
    .bind(i64::from(limit))
    .fetch_all(&s.writer)
    .await?;
    let mut events = rows.iter().map(event_row).collect::<Result<Vec<_>>>()?;
    events.sort_by_key(|e| e.id);
    Ok(events)
}

pub(crate) async fn renew_lease(
    s: &SqliteStore,
    id: i64,
    node: &str,
    lease: Duration,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE events SET lease_until = ?, updated_at = ? WHERE id = ? AND leased_by = ? AND state = 'running'",
    )
    .bind(later(lease))
    .bind(now())
    .bind(id)
    .bind(node)
    .execute(&s.writer)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn finish_event(
    s: &SqliteStore,
    id: i64,
    node: &str,
    outcome: &Outcome,
) -> Result<bool> {
    let (node, outcome) = (node.to_owned(), outcome.clone());
    s.quiet(move |c| {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM events WHERE id = ? AND leased_by = ? AND state = 'running'")
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
                "UPDATE events SET state = ?, next_attempt_at = ?, last_error = ?, lease_until = NULL, leased_by = NULL, \
                 updated_at = ? WHERE id = ?",
            )
            .bind(state)
            .bind(next)
            .bind(&error)
            .bind(at)
            .bind(id)
            .execute(&mut *c)
            .await?;
            // The device reflects its newest event only: an older event that
            // finishes late must not overwrite what a newer one set up.
            let newer: Option<i64> = sqlx::query_scalar("SELECT id FROM events WHERE mac = ? AND id > ? LIMIT 1")
                .bind(ev.mac.to_string())
                .bind(id)
                .fetch_optional(&mut *c)
                .await?;
            if newer.is_some() {
                return Ok(true);
            }
            let q = match (&outcome, ev.action) {
                (Outcome::Done, Action::Register) => sqlx::query(
                    "UPDATE devices SET status = 'registered', registered_at = ?, last_message = '-', \
                     updated_at = ? WHERE mac = ?",
                )
                .bind(at),
                (Outcome::Done, Action::Deregister) => sqlx::query(
                    "UPDATE devices SET status = 'unregistered', registered_at = NULL, last_message = '-', \
                     updated_at = ? WHERE mac = ?",
                ),
                (Outcome::Retry { message, .. }, _) => sqlx::query(
                    "UPDATE devices SET status = 'pending', last_message = ?, updated_at = ? WHERE mac = ?",
                )
                .bind(message.clone()),
                (Outcome::Failed { message }, _) => sqlx::query(
                    "UPDATE devices SET status = 'failed', last_message = ?, updated_at = ? WHERE mac = ?",
                )
                .bind(message.clone()),
            };
            q.bind(at).bind(ev.mac.to_string()).execute(&mut *c).await?;
            // What phones are served changes in two cases; only then do the
            // other nodes need to reload.
            let served = match (&outcome, ev.action) {
                (Outcome::Done, Action::Register) => crate::sql::PROMOTE_NEXT,
                (Outcome::Done, Action::Deregister) => crate::sql::REMOVE_IF_ASKED,
                _ => return Ok(true),
            };
            let changed = sqlx::query(served)
                .bind(ev.mac.to_string())
                .execute(&mut *c)
                .await?
                .rows_affected();
            if changed > 0 {
                sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
                    .execute(&mut *c)
                    .await?;
            }
            Ok(true)
        })
    })
    .await
}

pub(crate) async fn list_events(
    s: &SqliteStore,
    state: Option<EventState>,
    limit: u32,
) -> Result<Vec<Event>> {
    let rows = match state {
        Some(st) => {
            sqlx::query("SELECT * FROM events WHERE state = ? ORDER BY id DESC LIMIT ?")
                .bind(st.as_str())
                .bind(i64::from(limit))
                .fetch_all(&s.reader)
                .await?
        }
        None => {
            sqlx::query("SELECT * FROM events ORDER BY id DESC LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&s.reader)
                .await?
        }
    };
    rows.iter().map(event_row).collect()
}

pub(crate) async fn get_event(s: &SqliteStore, id: i64) -> Result<Option<Event>> {
    let row = sqlx::query("SELECT * FROM events WHERE id = ?")
        .bind(id)
        .fetch_optional(&s.reader)
        .await?;
    row.as_ref().map(event_row).transpose()
}

pub(crate) async fn retry_event(s: &SqliteStore, id: i64) -> Result<Event> {
    let done = sqlx::query(
        "UPDATE events SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'failed'",
    )
    .bind(now())
    .bind(now())
    .bind(id)
    .execute(&s.writer)
    .await?;
    if done.rows_affected() == 0 {
        return match get_event(s, id).await? {
            None => Err(StoreError::not_found("event", id)),
            Some(e) => Err(StoreError::Conflict(format!(
                "event {id} is {}, only failed events can be retried",
                e.state.as_str()
            ))),
        };
    }
    sqlx::query("UPDATE devices SET status = 'pending', updated_at = ? WHERE mac = (SELECT mac FROM events WHERE id = ?)")
        .bind(now())
        .bind(id)
        .execute(&s.writer)
        .await?;
    get_event(s, id)
        .await?
        .ok_or_else(|| StoreError::not_found("event", id))
}
