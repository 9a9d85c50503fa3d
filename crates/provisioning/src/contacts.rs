//! The device contact log, batched: phones' requests reach the database once per
//! flush interval, coalesced, never on the request path.
//!
//! Identical requests (same MAC, source, agent, path and status) within one
//! interval become one row with a hit count, and repeats of a contact written
//! lately (in the last half to whole of [`REPEAT_INTERVALS`] intervals, a
//! minute by default) wait and are summed into one row then. That keeps a
//! boot storm, a phone in a retry loop or one that polls from turning the
//! contact log into a second access log, while every distinct event is still
//! recorded within one interval. Handlers add to a map under a mutex (a
//! lookup, no allocation for a repeat); a task swaps the map out and writes it.

use std::hash::BuildHasher;

use foldhash::{HashMap, HashSet};
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

/// Distinct contacts kept between flushes before new ones are dropped (and
/// counted); also the most repeats held back, and written contacts
/// remembered, at once.
const MAX_PENDING: usize = 200_000;
/// A contact written in the last half to whole of this many flush intervals
/// is not written again at once when it repeats: its repeats are summed and
/// written once that time is up. With 10,000 phones fetching all the time,
/// writing every one each interval kept the writer busy for 50 ms every 5 s,
/// on the cores that serve phones, and raised the 99th percentile of their
/// waits by a quarter.
const REPEAT_INTERVALS: u32 = 12;
/// Requests naming a MAC that is not registered, recorded per flush interval;
/// the rest are only counted. Enough to see that an unregistered phone did
/// call, without letting a flood of made-up MACs fill the disk.
const UNKNOWN_SAMPLE: u64 = 20;

/// What came in since the last flush. A repeat touches only its tally (32
/// bytes of table, no strings), which matters when every phone request
/// looks one up; the text of a contact is kept once, at its first request.
#[derive(Default)]
struct Pending {
    /// By the contact's identity: one keyed hash of its MAC, source, status,
    /// path and user agent. The key is random, so two contacts share a tally
    /// neither by chance (64 bits) nor by a client's choice.
    tally: HashMap<u64, Tally>,
    rows: Vec<(u64, Seen)>,
}

/// A contact's text as the request path keeps it: the source address stays
/// an address until the writer formats it (`Display` cost about 1,300
/// instructions, on the request path, for every first sighting).
struct Seen {
    mac: Mac,
    ip: Option<IpAddr>,
    user_agent: String,
    path: String,
    status: u16,
}

struct Tally {
    at: DateTime<Utc>,
    hits: u32,
    /// Where its text is in `rows`.
    row: u32,
}

pub struct ContactSink {
    pending: Mutex<Pending>,
    hasher: foldhash::fast::RandomState,
    dropped: AtomicU64,
    /// Requests for unregistered MACs since the last flush.
    unknown: AtomicU64,
}

impl ContactSink {
    fn new() -> Self {
        ContactSink {
            pending: Mutex::new(Pending::default()),
            hasher: foldhash::fast::RandomState::default(),
            dropped: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
        }
    }

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
        let id = self.hasher.hash_one((mac, ip, status, path, user_agent));
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = pending.tally.get_mut(&id) {
            t.hits += 1;
            t.at = at;
            return;
        }
        if !known && self.unknown.fetch_add(1, Ordering::Relaxed) >= UNKNOWN_SAMPLE {
            return;
        }
        if pending.tally.len() >= MAX_PENDING {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let row = pending.rows.len() as u32;
        pending.rows.push((
            id,
            Seen {
                mac,
                ip,
                user_agent: clip(user_agent, 512),
                path: clip(path, 256),
                status,
            },
        ));
        pending.tally.insert(id, Tally { at, hits: 1, row });
    }

    /// Contacts waiting for the next write.
    pub fn backlog(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tally
            .len()
    }

    /// What came in since the last call, each with its identity.
    fn take(&self) -> Vec<(u64, Contact)> {
        let Pending { tally, rows } =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        // Every row has exactly one tally, made with it.
        let mut counts = vec![None; rows.len()];
        for t in tally.into_values() {
            counts[t.row as usize] = Some((t.at, t.hits));
        }
        rows.into_iter()
            .zip(counts)
            .filter_map(|((id, s), count)| {
                let (at, hits) = count?;
                let Seen {
                    mac,
                    ip,
                    user_agent,
                    path,
                    status,
                } = s;
                let ip = ip.map(ip_text).unwrap_or_default();
                let c = Contact {
                    at,
                    mac,
                    ip,
                    user_agent,
                    path,
                    status,
                    hits,
                };
                Some((id, c))
            })
            .collect()
    }
}

fn ip_text(ip: IpAddr) -> String {
    let mut text = Vec::with_capacity(15);
    touchless_runtime::accesslog::push_ip(&mut text, ip);
    String::from_utf8(text).unwrap_or_default()
}

/// The first `max` characters of `s`. Most texts are far shorter, and
/// then it is one copy instead of a character at a time.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    s.chars().take(max).collect()
}

/// Which contacts are written now and which repeats wait: the writer's
/// memory of what it wrote lately, as two sets of key hashes, one per half
/// of [`REPEAT_INTERVALS`] (a hash is 9 bytes of table: after 100,000 phones
/// fetched once, about a megabyte). A contact is recent while its hash is in
/// either set, for half to all of that time. Two contacts whose hashes
/// collide share their schedule, nothing worse.
struct Repeats {
    half: Duration,
    /// Written since `since`, and in the half before.
    current: HashSet<u64>,
    before: HashSet<u64>,
    since: tokio::time::Instant,
    /// Repeats of recent contacts, summed, until they are no longer recent.
    held: HashMap<u64, Contact>,
}

impl Repeats {
    fn new(every: Duration) -> Self {
        Repeats {
            half: every / 2,
            current: HashSet::default(),
            before: HashSet::default(),
            since: tokio::time::Instant::now(),
            held: HashMap::default(),
        }
    }

    /// The contacts to write now, oldest first: `fresh` ones that are not
    /// recent, and held repeats that no longer are (`all`: everything, at
    /// shutdown).
    fn due(
        &mut self,
        fresh: Vec<(u64, Contact)>,
        now: tokio::time::Instant,
        all: bool,
    ) -> Vec<Contact> {
        if now - self.since >= self.half {
            self.before = std::mem::take(&mut self.current);
            if now - self.since >= 2 * self.half {
                self.before.clear();
            }
            self.since = now;
        }
        let Repeats {
            current,
            before,
            held,
            ..
        } = self;
        let recent = |current: &HashSet<u64>, k: &u64| current.contains(k) || before.contains(k);
        let mut out = Vec::new();
        for (k, c) in fresh {
            let room = || held.len() < MAX_PENDING || held.contains_key(&k);
            if !all && recent(current, &k) && room() {
                held.entry(k)
                    .and_modify(|h| {
                        h.hits = h.hits.saturating_add(c.hits);
                        h.at = h.at.max(c.at);
                    })
                    .or_insert(c);
                continue;
            }
            if current.len() < MAX_PENDING {
                current.insert(k);
            }
            out.push(c);
        }
        let up: Vec<u64> = held
            .keys()
            .filter(|k| all || !recent(current, k))
            .copied()
            .collect();
        for k in up {
            if let Some(c) = held.remove(&k) {
                current.insert(k);
                out.push(c);
            }
        }
        out.sort_by_key(|c| c.at);
        out
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
    repeats: Repeats,
}

pub fn start(
    store: Arc<dyn Store>,
    interval: Duration,
    retention: Duration,
    max_rows: u64,
) -> (Arc<ContactSink>, ContactWriter) {
    let sink = Arc::new(ContactSink::new());
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
        repeats: Repeats::new(interval * REPEAT_INTERVALS),
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
            return flush(&*self.store, &self.sink, &mut self.repeats, false).await;
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
        flush(&*self.store, &self.sink, &mut self.repeats, true).await
    }
}

/// Writes what is due (`all`: everything, held repeats too).
async fn flush(
    store: &dyn Store,
    sink: &ContactSink,
    repeats: &mut Repeats,
    all: bool,
) -> anyhow::Result<()> {
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
    let batch = repeats.due(sink.take(), tokio::time::Instant::now(), all);
    if batch.is_empty() {
        return Ok(());
    }
    store
        .record_contacts(&batch)
        .await
        .map_err(|e| anyhow::anyhow!("writing {} contact(s) to the log: {e}", batch.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(path: &str, hits: u32, secs: i64) -> Contact {
        Contact {
            at: DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            mac: Mac::parse("000413AABBCC").unwrap(),
            ip: "192.0.2.7".into(),
            user_agent: String::new(),
            path: path.into(),
            status: 200,
            hits,
        }
    }

    fn repeats() -> Repeats {
        Repeats::new(Duration::from_secs(60))
    }

    #[test]
    fn texts_are_kept_as_sent_up_to_their_length_in_characters() {
        assert_eq!(clip("snom/10.1", 512), "snom/10.1");
        let long = "ä".repeat(300);
        assert_eq!(clip(&long, 256).chars().count(), 256);
        assert_eq!(clip(&"a".repeat(300), 256).len(), 256);
        assert_eq!(ip_text([192, 0, 2, 7].into()), "192.0.2.7");
        assert_eq!(ip_text([0, 0, 0, 0].into()), "0.0.0.0");
        assert_eq!(ip_text("2001:db8::1".parse().unwrap()), "2001:db8::1");
    }

    #[test]
    fn a_sighting_becomes_one_row_with_its_hits_and_last_time() {
        let sink = ContactSink::new();
        let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let mac = Mac::parse("000413AABBCC").unwrap();
        let ip = Some([192, 0, 2, 7].into());
        for s in 0..3 {
            sink.record(at(s), mac, true, ip, "snom", "/prov/a.htm", 200);
        }
        sink.record(at(5), mac, true, ip, "snom", "/prov/a.htm", 401);
        let rows = sink.take();
        assert_eq!(rows.len(), 2);
        let (_, c) = &rows[0];
        assert_eq!((c.hits, c.at, c.status), (3, at(2), 200));
        assert_eq!(
            (c.ip.as_str(), c.path.as_str()),
            ("192.0.2.7", "/prov/a.htm")
        );
        assert_eq!((rows[1].1.hits, rows[1].1.status), (1, 401));
        assert!(sink.take().is_empty());
    }

    #[test]
    fn a_repeat_within_the_minute_waits_and_is_summed_into_one_row() {
        let mut r = repeats();
        let t0 = tokio::time::Instant::now();
        let s = Duration::from_secs;
        // First seen: written at once.
        let out = r.due(vec![(1, contact("/a", 3, 0))], t0, false);
        assert_eq!(out.iter().map(|c| c.hits).collect::<Vec<_>>(), [3]);
        // Repeats in the next intervals wait; a new contact does not.
        let out = r.due(
            vec![(1, contact("/a", 5, 5)), (2, contact("/b", 1, 6))],
            t0 + s(5),
            false,
        );
        assert_eq!(
            out.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
            ["/b"]
        );
        assert!(r
            .due(vec![(1, contact("/a", 7, 10))], t0 + s(10), false)
            .is_empty());
        // Once the minute is up, one row with every held hit and the last time.
        let out = r.due(Vec::new(), t0 + s(60), false);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].hits, out[0].at), (12, contact("/a", 0, 10).at));
        // Quiet keys are forgotten: after another minute "/a" is new again.
        assert!(r.due(Vec::new(), t0 + s(125), false).is_empty());
        assert!(r.current.is_empty() && r.before.is_empty() && r.held.is_empty());
        let out = r.due(vec![(1, contact("/a", 1, 126))], t0 + s(126), false);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn at_shutdown_held_repeats_are_written_too() {
        let mut r = repeats();
        let t0 = tokio::time::Instant::now();
        r.due(vec![(1, contact("/a", 1, 0))], t0, false);
        assert!(r
            .due(
                vec![(1, contact("/a", 4, 1))],
                t0 + Duration::from_secs(1),
                false
            )
            .is_empty());
        let out = r.due(
            vec![(1, contact("/a", 2, 2))],
            t0 + Duration::from_secs(2),
            true,
        );
        assert_eq!(out.iter().map(|c| c.hits).sum::<u32>(), 6, "{out:?}");
    }
}
