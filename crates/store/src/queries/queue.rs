//! The daemon's queries (providers and the event queue), written once; see
//! `queries/mod.rs`. The instantiating module provides what differs: `claim`
//! (`SKIP LOCKED` on PostgreSQL, the single writer on SQLite) and
//! `provider_conflict`; its pool module `be` provides `now`, `later`,
//! `LOCK_ROW` and `bump_generation`.

macro_rules! queue_store {
    ($store:ty) => {
        use std::time::Duration;

        use chrono::{DateTime, Utc};

        use crate::{
            Action, Event, EventState, Issued, Outcome, Provider, QueueStore, Result, StoreError,
        };

        /// Outcomes per set of statements: 4 binds each, well under either
        /// database's limit on binds per statement.
        const FINISH_CHUNK: usize = 500;

        async fn event_in(c: &mut Conn, id: i64) -> Result<Option<Event>> {
            let row = sqlx::query("SELECT * FROM events WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?;
            row.as_ref().map(event_row).transpose()
        }

        #[async_trait::async_trait]
        impl QueueStore for $store {
            async fn create_provider(&self, p: &Provider) -> Result<Provider> {
                sqlx::query(
                    "INSERT INTO providers (name, kind, base_url, access_key_id, secret, tenant_id, \
                     created_at, ca_pem, vendor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&p.name)
                .bind(&p.kind)
                .bind(&p.base_url)
                .bind(&p.access_key_id)
                .bind(&p.secret)
                .bind(p.tenant.as_ref().map(|t| t.as_str().to_owned()))
                .bind(be::now())
                .bind(p.ca_pem.as_deref())
                .bind(p.vendor.name())
                .execute(self.writes())
                .await
                .map_err(|e| provider_conflict(e, p))?;
                self.get_provider(&p.name)
                    .await?
                    .ok_or_else(|| StoreError::not_found("provider", &p.name))
            }

            async fn list_providers(&self) -> Result<Vec<Provider>> {
                let rows = sqlx::query("SELECT * FROM providers ORDER BY name")
                    .fetch_all(self.reads())
                    .await?;
                rows.iter().map(provider_row).collect()
            }

            async fn get_provider(&self, name: &str) -> Result<Option<Provider>> {
                let row = sqlx::query("SELECT * FROM providers WHERE name = $1")
                    .bind(name)
                    .fetch_optional(self.reads())
                    .await?;
                row.as_ref().map(provider_row).transpose()
            }

            async fn update_provider(&self, p: &Provider) -> Result<Provider> {
                let done = sqlx::query(
                    "UPDATE providers SET base_url = $1, access_key_id = $2, secret = $3, ca_pem = $4 \
                     WHERE name = $5",
                )
                .bind(&p.base_url)
                .bind(&p.access_key_id)
                .bind(&p.secret)
                .bind(p.ca_pem.as_deref())
                .bind(&p.name)
                .execute(self.writes())
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("provider", &p.name));
                }
                self.get_provider(&p.name)
                    .await?
                    .ok_or_else(|| StoreError::not_found("provider", &p.name))
            }

            async fn delete_provider(&self, name: &str) -> Result<()> {
                let done = sqlx::query("DELETE FROM providers WHERE name = $1")
                    .bind(name)
                    .execute(self.writes())
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("provider", name));
                }
                Ok(())
            }

            async fn enqueue(&self, action: Action, items: &[Issued]) -> Result<Vec<i64>> {
                let items = items.to_vec();
                let ids = self
                    .write(move |c| {
                        Box::pin(async move { enqueue_in(c, action, &items, be::now()).await })
                    })
                    .await?;
                self.after_enqueue(ids.len()).await;
                Ok(ids)
            }

            async fn claim_events(
                &self,
                node: &str,
                limit: u32,
                lease: Duration,
            ) -> Result<Vec<Event>> {
                let rows = claim(self, node, limit, be::later(lease), be::now()).await?;
                let mut events = rows.iter().map(event_row).collect::<Result<Vec<_>>>()?;
                events.sort_by_key(|e| e.id);
                Ok(events)
            }

            async fn release_leases(&self, node: &str) -> Result<u64> {
                let done = sqlx::query(crate::sql::RELEASE_LEASES)
                    .bind(be::now() - chrono::Duration::seconds(1))
                    .bind(node)
                    .execute(self.writes())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn renew_leases(&self, node: &str, ids: &[i64], lease: Duration) -> Result<u64> {
                let mut n = 0;
                for chunk in ids.chunks(10_000) {
                    let done = sqlx::query(&format!(
                        "UPDATE events SET lease_until = $1 \
                         WHERE leased_by = $2 AND state = 'running' AND id {}",
                        be::in_list(3)
                    ))
                    .bind(be::later(lease))
                    .bind(node)
                    .bind(be::id_list_param(chunk))
                    .execute(self.writes())
                    .await?;
                    n += done.rows_affected();
                }
                Ok(n)
            }

            async fn renew_lease(&self, id: i64, node: &str, lease: Duration) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE events SET lease_until = $1, updated_at = $2 \
                     WHERE id = $3 AND leased_by = $4 AND state = 'running'",
                )
                .bind(be::later(lease))
                .bind(be::now())
                .bind(id)
                .bind(node)
                .execute(self.writes())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn finish_events(&self, node: &str, outcomes: &[(i64, Outcome)]) -> Result<u64> {
                if outcomes.is_empty() {
                    return Ok(0);
                }
                let (node, outcomes) = (node.to_owned(), outcomes.to_vec());
                self.recorded(move |c| {
                    Box::pin(async move {
                        let mut tally = Tally::default();
                        for chunk in outcomes.chunks(FINISH_CHUNK) {
                            finish_in(c, &node, chunk, &mut tally).await?;
                        }
                        // Last: another node's recorder waits on these two
                        // rows only while this one commits.
                        move_totals(c, tally.done, tally.failed).await?;
                        Ok(tally.recorded)
                    })
                })
                .await
            }

            async fn list_events(
                &self,
                state: Option<EventState>,
                limit: u32,
            ) -> Result<Vec<Event>> {
                let rows = sqlx::query(
                    "SELECT * FROM events WHERE (CAST($1 AS TEXT) IS NULL OR state = $1) \
                     ORDER BY id DESC LIMIT $2",
                )
                .bind(state.map(|s| s.as_str()))
                .bind(i64::from(limit))
                .fetch_all(self.reads())
                .await?;
                rows.iter().map(event_row).collect()
            }

            async fn events_of(&self, mac: touchless_domain::Mac, limit: u32) -> Result<Vec<Event>> {
                let rows = sqlx::query("SELECT * FROM events WHERE mac = $1 ORDER BY id DESC LIMIT $2")
                    .bind(mac.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(self.reads())
                    .await?;
                rows.iter().map(event_row).collect()
            }

            async fn event_counts(&self) -> Result<Vec<(EventState, u64)>> {
                // Nothing here grows with the queue or its history: the
                // running events are at most a lease per worker, counted by
                // index; the finished ones are totals `finish_in` and
                // `retry_event` keep; the pending ones are what is left of
                // every event ever queued, a count `enqueue_in` keeps. (As a
                // GROUP BY of the open events, a summary hashed the whole
                // backlog: 9–12 ms a call at 20,000, and a console or bench
                // polling it was a tenth of a core while the queue ran.) One
                // statement, so one snapshot: the parts add up.
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT CAST('running' AS TEXT), COUNT(*) FROM events WHERE state = 'running' \
                     UNION ALL SELECT state, n FROM event_totals \
                     UNION ALL SELECT CAST('queued' AS TEXT), n FROM event_count",
                )
                .fetch_all(self.reads())
                .await?;
                crate::daemon::counts(rows)
            }

            async fn get_event(&self, id: i64) -> Result<Option<Event>> {
                let mut c = self.reads().acquire().await?;
                event_in(&mut c, id).await
            }

            async fn retry_event(&self, id: i64) -> Result<Event> {
                self.quiet(move |c| {
                    Box::pin(async move {
                        let at = be::now();
                        let done = sqlx::query(
                            "UPDATE events SET state = 'pending', attempts = 0, next_attempt_at = $1, \
                             updated_at = $1 WHERE id = $2 AND state = 'failed'",
                        )
                        .bind(at)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                        if done.rows_affected() != 1 {
                            return match event_in(c, id).await? {
                                None => Err(StoreError::not_found("event", id)),
                                Some(e) => Err(StoreError::Conflict(format!(
                                    "event {id} is {}, only failed events can be retried",
                                    e.state.as_str()
                                ))),
                            };
                        }
                        sqlx::query(
                            "UPDATE devices SET status = 'pending', updated_at = $1 \
                             WHERE mac = (SELECT mac FROM events WHERE id = $2)",
                        )
                        .bind(at)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                        // Last: the recorder takes this row after its
                        // devices, so taking it before this device could
                        // deadlock with it.
                        move_totals(c, 0, -1).await?;
                        event_in(c, id)
                            .await?
                            .ok_or_else(|| StoreError::not_found("event", id))
                    })
                })
                .await
            }
        }

        /// One event per item, and the device's credentials and status as
        /// [`QueueStore::enqueue`] describes: a few multi-row statements per
        /// 500 devices, so a selection of 100,000 is queued in seconds.
        async fn enqueue_in(
            c: &mut Conn,
            action: Action,
            items: &[Issued],
            at: DateTime<Utc>,
        ) -> Result<Vec<i64>> {
            let set = match action {
                Action::Register => crate::sql::ENQUEUE_REGISTER_SET,
                Action::Deregister => crate::sql::ENQUEUE_DEREGISTER_SET,
            };
            // A MAC named twice is queued once (one UPDATE cannot set a row twice).
            let mut seen = std::collections::HashSet::new();
            let items: Vec<&Issued> = items.iter().filter(|it| seen.insert(it.mac)).collect();
            let mut ids = Vec::with_capacity(items.len());
            for chunk in items.chunks(500) {
                let mut q = sqlx::QueryBuilder::new(format!(
                    "UPDATE devices SET {set}{} FROM (",
                    crate::sql::STAMP
                ));
                q.push_values(chunk, |mut b, it| {
                    b.push_bind(it.mac.to_string())
                        .push_bind(it.user.to_string())
                        .push_bind(it.pass.as_str().to_owned())
                        .push_bind((action == Action::Register).then_some(it.expires_at))
                        .push_bind(at);
                });
                q.push(") AS v WHERE devices.mac = v.column1");
                let done = q.build().execute(&mut *c).await.map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(
                        "the ztprov user is already used by another device".into(),
                    ),
                    _ => StoreError::Database(e),
                })?;
                if done.rows_affected() < chunk.len() as u64 {
                    let keys: Vec<String> = chunk.iter().map(|it| it.mac.to_string()).collect();
                    let known: Vec<String> = sqlx::query_scalar(&format!(
                        "SELECT mac FROM devices WHERE mac {}",
                        be::in_list(1)
                    ))
                    .bind(be::list_param(&keys))
                    .fetch_all(&mut *c)
                    .await?;
                    let missing = chunk
                        .iter()
                        .find(|it| !known.contains(&it.mac.to_string()))
                        .map_or_else(|| chunk[0].mac, |it| it.mac);
                    return Err(StoreError::not_found("device", missing));
                }
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO events (action, mac, state, next_attempt_at, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut b, it| {
                    b.push_bind(action.as_str())
                        .push_bind(it.mac.to_string())
                        .push_bind("pending")
                        .push_bind(at)
                        .push_bind(at)
                        .push_bind(at);
                });
                let made = inserted_ids(c, q).await?;
                if made.len() != chunk.len() {
                    return Err(StoreError::Corrupt(format!(
                        "an insert of {} events made {}",
                        chunk.len(),
                        made.len()
                    )));
                }
                ids.extend(made);
            }
            // Last: another queueing waits on this row only while this one
            // commits (see `event_counts`).
            sqlx::query("UPDATE event_count SET n = n + $1 WHERE id = 1")
                .bind(ids.len() as i64)
                .execute(&mut *c)
                .await?;
            Ok(ids)
        }

        /// The outcomes on their events (those `node` still holds), then on
        /// each device whose newest event this is, then what they change about
        /// what phones are served: a few multi-row statements per chunk, all
        /// in the caller's transaction, so a busy queue writes its outcomes in
        /// batches rather than a transaction per event.
        async fn finish_in(
            c: &mut Conn,
            node: &str,
            outcomes: &[(i64, Outcome)],
            tally: &mut Tally,
        ) -> Result<()> {
            let at = be::now();
            let rows = record_outcomes(c, node, at, outcomes).await?;
            if rows.is_empty() {
                return Ok(());
            }
            let by_id: std::collections::HashMap<i64, &Outcome> =
                outcomes.iter().map(|(id, o)| (*id, o)).collect();
            // (event id, mac, action, outcome) of what was recorded.
            let mut finished = Vec::with_capacity(rows.len());
            // Done outcomes change what phones are served in two cases: a
            // register's staged credentials replace the current ones, and a
            // deregistered device the admin deleted goes. Only then do the
            // nodes need to reload, and the generation is bumped first, so
            // the rows (or their tombstones) carry the new value.
            let mut changes = false;
            let mut remove = Vec::new();
            for r in &rows {
                let ev = event_row(r)?;
                if let Some(o) = by_id.get(&ev.id) {
                    if matches!(o, Outcome::Done) {
                        let column = match ev.action {
                            Action::Register => "staged",
                            Action::Deregister => {
                                remove.push(ev.mac.to_string());
                                "removing"
                            }
                        };
                        changes |= sqlx::Row::try_get::<Option<bool>, _>(r, column)?.unwrap_or(false);
                    }
                    match o {
                        Outcome::Done => tally.done += 1,
                        Outcome::Failed { .. } => tally.failed += 1,
                        Outcome::Retry { .. } => {}
                    }
                    finished.push((ev.id, ev.mac.to_string(), ev.action, *o));
                }
            }
            if changes {
                be::bump_generation(c).await?;
            }
            // The device reflects its newest event only: an older event that
            // finishes late must not overwrite what a newer one set up. A
            // register that is done promotes the staged credentials in the
            // same statement (`v.column5`).
            let mut q = sqlx::QueryBuilder::new("UPDATE devices SET ");
            q.push(crate::sql::OUTCOME_SET)
                .push(crate::sql::STAMP)
                .push(", registered_at = CASE v.column3 WHEN 'registered' THEN ")
                .push_bind(at)
                .push(" WHEN 'unregistered' THEN NULL ELSE registered_at END, updated_at = ")
                .push_bind(at)
                .push(" FROM ");
            let rows: Vec<crate::sql::OutcomeRow<'_>> = finished
                .iter()
                .map(|(id, mac, action, outcome)| {
                    let (status, message) = match (outcome, action) {
                        (Outcome::Done, Action::Register) => ("registered", "-"),
                        (Outcome::Done, Action::Deregister) => ("unregistered", "-"),
                        (Outcome::Retry { message, .. }, _) => ("pending", message.as_str()),
                        (Outcome::Failed { message }, _) => ("failed", message.as_str()),
                    };
                    crate::sql::OutcomeRow {
                        mac,
                        id: *id,
                        status,
                        message,
                        promote: status == "registered",
                    }
                })
                .collect();
            be::push_outcome_rows(&mut q, &rows);
            // "Its newest event" as the MAC's largest id, a probe of
            // `events_mac` per row. (As `NOT EXISTS` of a newer event,
            // PostgreSQL hashed the whole events table into an anti join for
            // every write, and that grows with the history.)
            q.push(
                " WHERE devices.mac = v.column1 \
                 AND v.column2 = (SELECT MAX(e.id) FROM events e WHERE e.mac = v.column1) \
                 RETURNING mac",
            );
            let newest: std::collections::HashSet<String> = q
                .build_query_scalar::<String>()
                .fetch_all(&mut *c)
                .await?
                .into_iter()
                .collect();
            let remove: Vec<String> = remove.into_iter().filter(|m| newest.contains(m)).collect();
            if !remove.is_empty() {
                sqlx::query(&crate::sql::REMOVE_IF_ASKED.replace("{list}", &be::in_list(1)))
                    .bind(be::list_param(&remove))
                    .execute(&mut *c)
                    .await?;
            }
            tally.recorded += finished.len() as u64;
            Ok(())
        }

        /// Whether the device has staged credentials or is being removed
        /// rides along with each recorded event, so what a done outcome
        /// changes for phones is known without another statement.
        const RECORDED: &str = " RETURNING *, \
            (SELECT ztprov_next_user IS NOT NULL FROM devices d WHERE d.mac = events.mac) AS staged, \
            (SELECT removing FROM devices d WHERE d.mac = events.mac) AS removing";

        /// Writes `outcomes` on the events `node` still holds and returns
        /// those rows ([`RECORDED`]'s columns).
        ///
        /// Done outcomes, nearly all of a busy queue's, share every value but
        /// the id, so they are one `UPDATE … WHERE id IN (…)` with no join
        /// for the planner to get wrong; a lease is set by a claim (to
        /// 'running') and cleared by every outcome, so `leased_by = node`
        /// alone says the event is still this node's to finish. (As a join
        /// of the outcomes' VALUES, PostgreSQL planned with statistics taken
        /// when the queue was all pending: it filtered every running event
        /// of every node through the id list, a fifth of the recorder's time
        /// at 256 queues, or, without `state = 'running'`, compared each
        /// event with every row of the list.) Retries and failures carry
        /// their own times and messages: a VALUES join, as before.
        async fn record_outcomes(
            c: &mut Conn,
            node: &str,
            at: DateTime<Utc>,
            outcomes: &[(i64, Outcome)],
        ) -> Result<Vec<Row>> {
            let (done, other): (Vec<&(i64, Outcome)>, Vec<&(i64, Outcome)>) =
                outcomes.iter().partition(|(_, o)| matches!(o, Outcome::Done));
            let mut rows = Vec::with_capacity(outcomes.len());
            if !done.is_empty() {
                let ids: Vec<i64> = done.iter().map(|(id, _)| *id).collect();
                let mut q = sqlx::QueryBuilder::new(
                    "UPDATE events SET state = 'done', last_error = NULL, \
                     lease_until = NULL, leased_by = NULL, next_attempt_at = ",
                );
                q.push_bind(at).push(", updated_at = ").push_bind(at);
                q.push(" WHERE id");
                be::push_in_ids(&mut q, &ids);
                q.push(" AND leased_by = ").push_bind(node).push(RECORDED);
                rows.extend(q.build().fetch_all(&mut *c).await?);
            }
            if other.is_empty() {
                return Ok(rows);
            }
            let mut q = sqlx::QueryBuilder::new(
                "UPDATE events SET state = v.column2, next_attempt_at = v.column3, \
                 last_error = v.column4, lease_until = NULL, leased_by = NULL, updated_at = ",
            );
            q.push_bind(at).push(" FROM (");
            q.push_values(&other, |mut b, (id, outcome)| {
                let (state, next, error) = match outcome {
                    Outcome::Done => ("done", at, None),
                    Outcome::Retry { at: when, message } => ("pending", *when, Some(message.clone())),
                    Outcome::Failed { message } => ("failed", at, Some(message.clone())),
                };
                b.push_bind(*id).push_bind(state).push_bind(next).push_bind(error);
            });
            // The id list beside the join: it keeps the planner on the primary
            // key. Without it PostgreSQL's generic plan for this statement
            // walked every running event for each row of the list (60 ms for
            // 64 outcomes, and the whole queue waited on it).
            let ids: Vec<i64> = other.iter().map(|(id, _)| *id).collect();
            q.push(") AS v WHERE events.id = v.column1 AND events.id");
            be::push_in_ids(&mut q, &ids);
            q.push(" AND events.leased_by = ")
                .push_bind(node)
                .push(" AND events.state = 'running'")
                .push(RECORDED);
            rows.extend(q.build().fetch_all(&mut *c).await?);
            Ok(rows)
        }

        /// What a write recorded: its outcomes, and how many of them
        /// finished their events, by state.
        #[derive(Default)]
        struct Tally {
            recorded: u64,
            done: i64,
            failed: i64,
        }

        /// Moves the finished events' totals (see `event_counts`) by `done`
        /// and `failed`, locking only a row that changes.
        async fn move_totals(c: &mut Conn, done: i64, failed: i64) -> Result<()> {
            if done == 0 && failed == 0 {
                return Ok(());
            }
            sqlx::query(
                "UPDATE event_totals SET n = n + CASE state WHEN 'done' THEN CAST($1 AS BIGINT) \
                 ELSE CAST($2 AS BIGINT) END \
                 WHERE (state = 'done' AND CAST($1 AS BIGINT) <> 0) \
                    OR (state = 'failed' AND CAST($2 AS BIGINT) <> 0)",
            )
            .bind(done)
            .bind(failed)
            .execute(&mut *c)
            .await?;
            Ok(())
        }
    };
}

pub(crate) use queue_store;
