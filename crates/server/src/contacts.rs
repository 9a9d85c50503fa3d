//! The device contact log, batched: phones' requests reach the database once per
//! flush interval, coalesced, never on the request path.
//!
//! Identical requests (same MAC, source, agent, path and status) within one
//! interval become one row with a hit count. That keeps a boot storm or a
//! misconfigured phone in a retry loop from turning the contact log into a
//! second access log, while every distinct event is still recorded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use touchless_domain::Mac;
use touchless_store::{Contact, Store};

const QUEUE: usize = 100_000;
const MAX_BATCH: usize = 5_000;

pub struct ContactSink {
    tx: mpsc::Sender<Contact>,
    dropped: AtomicU64,
}

impl ContactSink {
    pub fn record(
        &self,
        at: DateTime<Utc>,
        mac: Mac,
        ip: String,
        user_agent: String,
        path: String,
        status: u16,
    ) {
        let c = Contact {
            at,
            mac,
            ip,
            user_agent,
            path,
            status,
            hits: 1,
        };
        if self.tx.try_send(c).is_err() {
            // Only under a flood the database cannot absorb; counted and reported.
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Handle to stop the writer: it drains what is queued, writes it, then returns.
pub struct ContactWriter {
    finish: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ContactWriter {
    pub async fn close(self) {
        let _ = self.finish.send(());
        let _ = self.task.await;
    }
}

pub fn start(store: Arc<dyn Store>, interval: Duration) -> (Arc<ContactSink>, ContactWriter) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let sink = Arc::new(ContactSink {
        tx,
        dropped: AtomicU64::new(0),
    });
    let (finish, finish_rx) = oneshot::channel();
    let task = tokio::spawn(run(store, rx, finish_rx, interval, Arc::clone(&sink)));
    (sink, ContactWriter { finish, task })
}

type Key = (Mac, String, String, String, u16);

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Contact>,
    mut finish: oneshot::Receiver<()>,
    interval: Duration,
    sink: Arc<ContactSink>,
) {
    let mut pending: HashMap<Key, Contact> = HashMap::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            Some(c) = rx.recv() => {
                add(&mut pending, c);
                if pending.len() >= MAX_BATCH {
                    flush(&*store, &mut pending, &sink).await;
                }
            }
            _ = tick.tick() => flush(&*store, &mut pending, &sink).await,
            _ = &mut finish => break,
        }
    }
    while let Ok(c) = rx.try_recv() {
        add(&mut pending, c);
    }
    flush(&*store, &mut pending, &sink).await;
}

fn add(pending: &mut HashMap<Key, Contact>, c: Contact) {
    let key = (
        c.mac,
        c.ip.clone(),
        c.user_agent.clone(),
        c.path.clone(),
        c.status,
    );
    match pending.get_mut(&key) {
        Some(p) => {
            p.hits += 1;
            p.at = c.at;
        }
        None => {
            pending.insert(key, c);
        }
    }
}

async fn flush(store: &dyn Store, pending: &mut HashMap<Key, Contact>, sink: &ContactSink) {
    let dropped = sink.dropped.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "contact log queue was full; some phone contacts were not recorded"
        );
    }
    if pending.is_empty() {
        return;
    }
    let mut batch: Vec<Contact> = pending.drain().map(|(_, c)| c).collect();
    batch.sort_by_key(|c| c.at);
    if let Err(e) = store.record_contacts(&batch).await {
        tracing::error!(error = %e, rows = batch.len(), "writing the contact log failed");
    }
}
