//! A map in shards that copies share, for the provisioning view: a new
//! view is a copy of the old one with a few keys changed, and a copy costs
//! one pointer per shard plus the shards it changes.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

/// A map split into shards that are shared between copies: changing one key
/// of a copy copies one shard (about 25 entries at 100,000 devices), not the
/// map.
///
/// A shard is a sorted slice in the same allocation as its reference
/// counts, searched by halves: a lookup follows one pointer to it. A hash
/// map per shard followed two (its header, then its table), and at 10,000
/// devices in random order each was a cache miss on the path of every phone
/// request (`benches/handle.rs`). The shard is chosen by a hash seeded at
/// random per process, so no chosen set of keys can pile into one shard;
/// and were one to grow large, a lookup in it would still take log n steps.
pub struct Sharded<K, V> {
    shards: Vec<Arc<[(K, V)]>>,
    seed: foldhash::fast::RandomState,
}

/// Many, because a reload that changes k keys copies up to k shards: a
/// queue batch promotes a hundred devices' credentials at once, and with
/// 256 shards each such reload copied about half the map (the reloader was
/// an eighth of the node's CPU while registering 20,000 devices). A copy of
/// the whole view still costs only this many pointers, 64 KB.
const SHARDS: usize = 4096;

impl<K, V> Clone for Sharded<K, V> {
    fn clone(&self) -> Self {
        Sharded {
            shards: self.shards.clone(),
            seed: self.seed,
        }
    }
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        let empty: Arc<[(K, V)]> = Arc::new([]);
        Sharded {
            shards: vec![empty; SHARDS],
            seed: foldhash::fast::RandomState::default(),
        }
    }
}

impl<K: Hash + Ord + Clone, V: Clone> Sharded<K, V> {
    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        (self.seed.hash_one(key) as usize) % SHARDS
    }

    fn find<Q>(&self, key: &Q) -> (usize, Result<usize, usize>)
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        let i = self.shard(key);
        (
            i,
            self.shards[i].binary_search_by(|(k, _)| k.borrow().cmp(key)),
        )
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        let (i, at) = self.find(key);
        at.ok().map(|j| {
            let (k, v) = &self.shards[i][j];
            (k, v)
        })
    }

    pub fn insert(&mut self, key: K, value: V) {
        let (i, at) = self.find(&key);
        // Replacing a key keeps what follows it; a new key goes in before.
        let (j, rest) = match at {
            Ok(j) => (j, j + 1),
            Err(j) => (j, j),
        };
        let old = &self.shards[i];
        let mut new = Vec::with_capacity(old.len() + 1);
        new.extend_from_slice(&old[..j]);
        new.push((key, value));
        new.extend_from_slice(&old[rest..]);
        self.shards[i] = new.into();
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        let (i, at) = self.find(key);
        let j = at.ok()?;
        let old = &self.shards[i];
        let value = old[j].1.clone();
        let new: Vec<(K, V)> = old[..j].iter().chain(&old[j + 1..]).cloned().collect();
        self.shards[i] = new.into();
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(|s| s.iter().map(|(_, v)| v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_what_they_do_not_change() {
        let mut a: Sharded<u32, u32> = Sharded::default();
        for k in 0..10_000 {
            a.insert(k, k * 2);
        }
        let mut b = a.clone();
        b.insert(7, 1);
        b.insert(10_000, 5);
        assert_eq!(b.remove(&3), Some(6));
        assert_eq!(b.remove(&3), None);
        assert_eq!(
            (a.get(&7), a.get(&3), a.get(&10_000)),
            (Some(&14), Some(&6), None)
        );
        assert_eq!(
            (b.get(&7), b.get(&3), b.get(&10_000)),
            (Some(&1), None, Some(&5))
        );
        assert_eq!((a.len(), b.len()), (10_000, 10_000));
        let shared = a
            .shards
            .iter()
            .zip(&b.shards)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert!(shared >= SHARDS - 3, "{shared} shards shared");
        let mut all: Vec<u32> = b.values().copied().collect();
        all.sort();
        assert_eq!(all.len(), 10_000);
    }

    #[test]
    fn keys_are_found_by_what_they_borrow_as() {
        let mut m: Sharded<String, ()> = Sharded::default();
        m.insert("prov-a".into(), ());
        m.insert("prov-b".into(), ());
        assert_eq!(
            m.get_key_value("prov-a").map(|(k, _)| k.as_str()),
            Some("prov-a")
        );
        assert!(m.get("prov-c").is_none());
    }
}
