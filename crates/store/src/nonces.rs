//! Hawk nonces, remembered a batch at a time (group commit), on both
//! backends.
//!
//! Every Hawk-signed call to the redirection service remembers its nonce, so
//! a request replayed after a restart, or to another node, is refused. A
//! statement (and a commit) per call queued on SQLite's one writer behind
//! every other write, and on PostgreSQL cost a WAL flush each: while the
//! queue registered 10,000 devices at the built-in service (16 workers), the
//! nonces alone took SQLite from about 7.8 s to 10 s and PostgreSQL from
//! 7.6-8.9 s to 10.8-11.4 s (`bench/queue.sh`, with the nonce write switched
//! off as the experiment). Here the calls that arrive while one batch is
//! written wait for it, then go as the next batch, in one statement.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::{Result, StoreError};

/// Rows per statement: three parameters each, well under SQLite's limit.
const CHUNK: usize = 1_000;

/// One call's nonce and where its answer goes: `true` if it was new.
pub(crate) struct Pending {
    pub(crate) key_id: String,
    pub(crate) nonce: String,
    pub(crate) expires_at: DateTime<Utc>,
    answer: oneshot::Sender<std::result::Result<bool, String>>,
}

/// The nonces waiting for the next batch, and the turn to write one.
#[derive(Default)]
pub(crate) struct NonceBatches {
    pending: Mutex<Vec<Pending>>,
    turn: tokio::sync::Mutex<()>,
}

/// What a batch is written with: a pool of either backend.
pub(crate) trait Writer: Clone + Send + Sync + 'static {
    /// Whether each nonce of `chunk` was new: inserted, or taken over from
    /// an expired row.
    fn insert(
        &self,
        chunk: &[Pending],
    ) -> impl std::future::Future<Output = Result<Vec<bool>>> + Send;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl NonceBatches {
    /// Remembers `nonce` of `key_id` until `expires_at`: `false` if it is
    /// already remembered and not yet expired (a replay).
    pub(crate) async fn remember(
        &self,
        writer: &impl Writer,
        key_id: &str,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let (answer, mut rx) = oneshot::channel();
        lock(&self.pending).push(Pending {
            key_id: key_id.to_owned(),
            nonce: nonce.to_owned(),
            expires_at,
            answer,
        });
        let turn = self.turn.lock().await;
        // The holder of the turn before this one may have written ours.
        if let Ok(r) = rx.try_recv() {
            return r.map_err(lost);
        }
        let batch = std::mem::take(&mut *lock(&self.pending));
        // On a task of its own, so the batch is written and answered even if
        // this call is dropped meanwhile (its client went away).
        let writer = writer.clone();
        let written = tokio::spawn(async move { write(&writer, batch).await }).await;
        drop(turn);
        if let Err(e) = written {
            return Err(lost(e.to_string()));
        }
        rx.await.map_err(|e| lost(e.to_string()))?.map_err(lost)
    }
}

fn lost(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!(
        "remembering a Hawk nonce: {message}"
    )))
}

/// Writes a batch and answers each of its calls. A nonce named twice in one
/// batch is new only the first time.
async fn write(writer: &impl Writer, batch: Vec<Pending>) {
    let mut seen = HashSet::new();
    let (mut first, repeats): (Vec<Pending>, Vec<Pending>) = batch
        .into_iter()
        .partition(|p| seen.insert((p.key_id.clone(), p.nonce.clone())));
    for p in repeats {
        let _ = p.answer.send(Ok(false));
    }
    while !first.is_empty() {
        let chunk: Vec<Pending> = first.drain(..first.len().min(CHUNK)).collect();
        let answers = writer.insert(&chunk).await.map_err(|e| e.to_string());
        for (i, p) in chunk.into_iter().enumerate() {
            let _ = p.answer.send(match &answers {
                Ok(new) => Ok(new[i]),
                Err(message) => Err(message.clone()),
            });
        }
    }
}

/// The statement for a chunk, the same on both backends: a nonce inserted,
/// or taken over from an expired row, comes back; one still remembered
/// does not.
macro_rules! writer_for {
    ($pool:ty, $now:path) => {
        impl crate::nonces::Writer for $pool {
            async fn insert(&self, chunk: &[crate::nonces::Pending]) -> crate::Result<Vec<bool>> {
                let mut q =
                    sqlx::QueryBuilder::new("INSERT INTO hawk_nonces (key_id, nonce, expires_at) ");
                q.push_values(chunk, |mut b, p| {
                    b.push_bind(p.key_id.as_str())
                        .push_bind(p.nonce.as_str())
                        .push_bind(p.expires_at);
                });
                q.push(
                    " ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at \
                     WHERE hawk_nonces.expires_at < ",
                )
                .push_bind($now())
                .push(" RETURNING key_id, nonce");
                let rows: Vec<(String, String)> = q.build_query_as().fetch_all(self).await?;
                let new: std::collections::HashSet<(String, String)> = rows.into_iter().collect();
                Ok(chunk
                    .iter()
                    .map(|p| new.contains(&(p.key_id.clone(), p.nonce.clone())))
                    .collect())
            }
        }
    };
}
pub(crate) use writer_for;
