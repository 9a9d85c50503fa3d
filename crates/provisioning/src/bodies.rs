//! The render cache: rendered files by device (or tenant and model), bounded
//! in bytes.
//!
//! A body is cached under its file's key together with the stamp of the view
//! entry it was rendered from; an entry replaced by an edit has a new stamp,
//! so its old body is a miss and is overwritten by the next render. Eviction is
//! CLOCK (second chance) per shard: a body read since the hand last passed it
//! survives one more pass, so files phones fetch again outlive the one-time
//! fetches of a reboot storm. Hits take a shard's read lock only.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::RwLock;

use bytes::Bytes;
use foldhash::HashMap as FastMap;
use touchless_api::status::RenderCache;
use touchless_domain::Mac;
use touchless_phones::PhoneModel;

/// Which file a body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyKey {
    /// A device's file, for the firmware stage it is given (0: none, else
    /// the stage's index + 1): a phone reports one version at a time.
    Prov(Mac, u16),
    /// A vendor's firmware file of its own (the file a firmware setting names),
    /// by stage as above.
    Firmware(Mac, u16),
    Ztprov(Mac),
    /// A tenant's model-wide file; the tenant is named by its entry's stamp.
    Model(u64, PhoneModel),
}

struct Slot {
    stamp: u64,
    body: Bytes,
    referenced: AtomicBool,
}

#[derive(Default)]
struct Shard {
    map: FastMap<BodyKey, Slot>,
    /// The clock: every key in `map` once, oldest insertion first.
    hand: VecDeque<BodyKey>,
    bytes: usize,
}

pub struct Bodies {
    shards: Vec<RwLock<Shard>>,
    shard_budget: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

const SHARDS: usize = 64;

/// What a cached body costs beyond its bytes (slot, key, clock entry): so
/// that many tiny bodies cannot exceed the budget through overhead.
const OVERHEAD: usize = 96;

impl Bodies {
    /// A cache of at most `capacity` bytes; 0 caches nothing.
    pub fn new(capacity: usize) -> Self {
        Bodies {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            shard_budget: capacity / SHARDS,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &BodyKey) -> &RwLock<Shard> {
        let h = foldhash::fast::FixedState::with_seed(0xb0d1).hash_one(key) as usize;
        &self.shards[h % SHARDS]
    }

    /// The body cached for `key` if it was rendered from the entry `stamp`.
    pub fn get(&self, key: &BodyKey, stamp: u64) -> Option<Bytes> {
        let shard = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
        match shard.map.get(key) {
            Some(s) if s.stamp == stamp => {
                // A load first: a store on every hit would dirty the
                // slot's cache line for a flag that is already set.
                if !s.referenced.load(Ordering::Relaxed) {
                    s.referenced.store(true, Ordering::Relaxed);
                }
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(s.body.clone())
            }
            _ => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Caches `body` for `key` as rendered from entry `stamp`, evicting what
    /// the clock picks until the shard is within budget. A body larger than a
    /// shard's budget is not cached.
    pub fn put(&self, key: BodyKey, stamp: u64, body: Bytes) {
        let cost = body.len() + OVERHEAD;
        if cost > self.shard_budget {
            return;
        }
        // A rendered body comes from a grown String whose capacity can be
        // well above its length: the cache keeps an exact copy, so that the
        // bytes it counts are the bytes it holds.
        let body = Bytes::copy_from_slice(&body);
        let mut guard = self.shard(&key).write().unwrap_or_else(|e| e.into_inner());
        let shard = &mut *guard;
        let slot = Slot {
            stamp,
            body,
            referenced: AtomicBool::new(false),
        };
        match shard.map.insert(key, slot) {
            Some(old) => shard.bytes -= old.body.len() + OVERHEAD,
            None => shard.hand.push_back(key),
        }
        shard.bytes += cost;
        while shard.bytes > self.shard_budget {
            let Some(k) = shard.hand.pop_front() else {
                break;
            };
            let Some(s) = shard.map.get(&k) else {
                continue;
            };
            // The newcomer is never its own victim: evicting it would make
            // every insert into a full shard a miss forever.
            if k != key && !s.referenced.swap(false, Ordering::Relaxed) {
                let s = shard.map.remove(&k).expect("looked up above");
                shard.bytes -= s.body.len() + OVERHEAD;
                self.evictions.fetch_add(1, Ordering::Relaxed);
            } else {
                shard.hand.push_back(k);
            }
        }
    }

    /// What the cache holds and how it has done since start.
    pub fn stats(&self) -> RenderCache {
        let (mut bytes, mut entries) = (0u64, 0u64);
        for s in &self.shards {
            let s = s.read().unwrap_or_else(|e| e.into_inner());
            bytes += s.bytes as u64;
            entries += s.map.len() as u64;
        }
        RenderCache {
            capacity_bytes: (self.shard_budget * SHARDS) as u64,
            bytes,
            entries,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> BodyKey {
        BodyKey::Prov(Mac::parse(&format!("0004{i:08X}")).unwrap(), 0)
    }

    #[test]
    fn stays_within_its_bytes_and_counts() {
        let cache = Bodies::new(SHARDS * 4_000);
        let body = Bytes::from(vec![b'x'; 904]); // 1,000 bytes with overhead
        for i in 0..10_000 {
            cache.put(key(i), 1, body.clone());
        }
        let s = cache.stats();
        assert!(s.bytes <= s.capacity_bytes, "{s:?}");
        assert!(s.entries >= 100 && s.entries <= 256, "{s:?}");
        assert_eq!(s.evictions, 10_000 - s.entries, "{s:?}");
        // The newest is always there; an old stamp is a miss.
        assert!(cache.get(&key(9_999), 1).is_some());
        assert!(cache.get(&key(9_999), 2).is_none());
        let s = cache.stats();
        assert_eq!((s.hits, s.misses), (1, 1));
    }

    #[test]
    fn a_body_read_again_outlives_one_time_reads() {
        let cache = Bodies::new(SHARDS * 10_000);
        let body = Bytes::from(vec![b'x'; 904]);
        let hot: Vec<BodyKey> = (0..64).map(key).collect();
        for k in &hot {
            cache.put(*k, 1, body.clone());
        }
        for i in 64..20_000 {
            for k in &hot {
                if i % 16 == 0 {
                    cache.get(k, 1);
                }
            }
            cache.put(key(i), 1, body.clone());
        }
        let kept = hot.iter().filter(|k| cache.get(k, 1).is_some()).count();
        assert!(kept >= 60, "only {kept} of 64 read-again bodies kept");
    }

    #[test]
    fn replacing_a_body_keeps_the_count_right() {
        let cache = Bodies::new(SHARDS * 10_000);
        for stamp in 0..100 {
            cache.put(key(1), stamp, Bytes::from(vec![b'x'; 100 + stamp as usize]));
        }
        let s = cache.stats();
        assert_eq!(s.entries, 1);
        assert_eq!(s.bytes, 199 + OVERHEAD as u64);
        assert_eq!(s.evictions, 0);
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let cache = Bodies::new(0);
        cache.put(key(1), 1, Bytes::from_static(b"x"));
        assert!(cache.get(&key(1), 1).is_none());
        assert_eq!(cache.stats().entries, 0);
    }
}
