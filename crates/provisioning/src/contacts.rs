//! The device contact log, batched: phones' requests reach the database once per
//! flush interval, coalesced, never on the request path.
//!
//! Identical requests (same MAC, source, agent, path and status) within one
//! interval become one row with a hit count. That keeps a boot storm or a phone
//! in a retry loop from turning the contact log into a second access log, while
//! every distinct event is still recorded. Handlers add to a map under a mutex
//! (a lookup, no allocation for a repeat); a task swaps the map out and writes it.

use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use touchless_domain::Mac;
use touchless_store::{Contact, Store};

use touchless_runtime::tasks::Task;

/// Tombstones of deleted tenants and devices kept for the views of other
/// nodes (see `RegistryStore::prune_tombstones`).
const TOMBSTONES_KEPT: u64 = 1_000_000;

/// Distinct contacts kept between flushes before new ones are dropped (and counted).
const MAX_PENDING: usize = 200_000;
/// Requests naming a MAC that is not registered, recorded per flush interval;
/// the rest are only counted. Enough to see that an unregistered phone did
/// call, without letting a flood of made-up MACs fill the disk.
const UNKNOWN_SAMPLE: u64 = 20;

/// `(mac, source, status, hash of path and user agent)`: hashing the strings
/// instead of owning them makes a repeat contact allocation-free.
type Key = (Mac, Option<IpAddr>, u16, u64);

pub struct ContactSink {
    pending: Mutex<HashMap<Key, Contact>>,
    hasher: foldhash::fast::RandomState,
    dropped: AtomicU64,
    /// Requests for unregistered MACs since the last flush.
    unknown: AtomicU64,
}

impl ContactSink {
    /// `known`: the MAC is a registered device. Unknown ones are sampled.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        at: DateTime<Utc>,
        mac: Mac,
        known: bool,
        ip: Option<IpAddr>,
        user_agent: &str,
        path: &str,
        status: u16,
    ) {
        // Known or not, the same hashing, lock and lookup: the time a request
        // takes must not tell whether its MAC is registered.
        let mut h = self.hasher.build_hasher();
        path.hash(&mut h);
        user_agent.hash(&mut h);
        let key = (mac, ip, status, h.finish());
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = pending.get_mut(&key) {
            c.hits += 1;
            c.at = at;
            return;
        }
        if !known && self.unknown.fetch_add(1, Ordering::Relaxed) >= UNKNOWN_SAMPLE {
            return;
        }
        if pending.len() >= MAX_PENDING {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.insert(
            key,
            Contact {
                at,
                mac,
                ip: ip.map(|i| i.to_string()).unwrap_or_default(),
                user_agent: user_agent.chars().take(512).collect(),
                path: path.chars().take(256).collect(),
                status,
                hits: 1,
            },
        );
    }

    /// Contacts waiting for the next write.
    pub fn backlog(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn take(&self) -> Vec<Contact> {
        let map = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut batch: Vec<Contact> = map.into_values().collect();
        batch.sort_by_key(|c| c.at);
        batch
    }
}

/// Writes the sink to the store once per flush interval (a [`Task`]), and
/// prunes the contact log: contacts older than the retention, and the oldest
/// beyond `max_rows`, every ten minutes.
pub struct ContactWriter {
    store: Arc<dyn Store>,
    sink: Arc<ContactSink>,
    tick: tokio::time::Interval,
    prune: tokio::time::Interval,
    retention: Duration,
    max_rows: u64,
    pruning: bool,
}

pub fn start(
    store: Arc<dyn Store>,
    interval: Duration,
    retention: Duration,
    max_rows: u64,
) -> (Arc<ContactSink>, ContactWriter) {
    let sink = Arc::new(ContactSink {
        pending: Mutex::new(HashMap::default()),
        hasher: foldhash::fast::RandomState::default(),
        dropped: AtomicU64::new(0),
        unknown: AtomicU64::new(0),
    });
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prune = tokio::time::interval(Duration::from_secs(600));
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let writer = ContactWriter {
        store,
        sink: Arc::clone(&sink),
        tick,
        prune,
        retention,
        max_rows,
        pruning: false,
    };
    (sink, writer)
}

#[async_trait::async_trait]
impl Task for ContactWriter {
    async fn wake(&mut self) {
        self.pruning = tokio::select! {
            _ = self.tick.tick() => false,
            _ = self.prune.tick() => true,
        };
    }

    async fn work(&mut self) -> anyhow::Result<()> {
        if !self.pruning {
            return flush(&*self.store, &self.sink).await;
        }
        let keep = chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::days(30));
        let n = self
            .store
            .prune_contacts(Utc::now() - keep, self.max_rows)
            .await
            .map_err(|e| anyhow::anyhow!("pruning the contact log: {e}"))?;
        if n > 0 {
            tracing::info!(deleted = n, "pruned old phone contacts");
        }
        // What phones uploaded is kept as long as their contacts.
        let n = self
            .store
            .prune_uploads(Utc::now() - keep)
            .await
            .map_err(|e| anyhow::anyhow!("pruning phone uploads: {e}"))?;
        if n > 0 {
            tracing::info!(deleted = n, "pruned old phone uploads");
        }
        // Deleted devices leave tombstones for the views of other nodes;
        // keep the newest, far more than any view falls behind.
        self.store
            .prune_tombstones(TOMBSTONES_KEPT)
            .await
            .map_err(|e| anyhow::anyhow!("pruning tombstones: {e}"))?;
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        flush(&*self.store, &self.sink).await
    }
}

async fn flush(store: &dyn Store, sink: &ContactSink) -> anyhow::Result<()> {
    let unknown = sink.unknown.swap(0, Ordering::Relaxed);
    if unknown > UNKNOWN_SAMPLE {
        tracing::info!(
            requests = unknown,
            recorded = UNKNOWN_SAMPLE,
            "requests for MACs that are not registered since the last flush; only a sample is kept in the contact log"
        );
    }
    let dropped = sink.dropped.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "too many distinct phone contacts between flushes; some were not recorded"
        );
    }
    let batch = sink.take();
    if batch.is_empty() {
        return Ok(());
    }
    store
        .record_contacts(&batch)
        .await
        .map_err(|e| anyhow::anyhow!("writing {} contact(s) to the log: {e}", batch.len()))
}
