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

    /// [`insert`](Self::insert) of many keys (the last of equal keys wins),
    /// copying each shard they change once: `register --all` replaces every
    /// device's entry, and one at a time that copied a shard per device.
    pub fn insert_many(&mut self, entries: Vec<(K, V)>) {
        let mut keyed: Vec<(usize, K, V)> = entries
            .into_iter()
            .map(|(k, v)| (self.shard(&k), k, v))
            .collect();
        // Stable: of equal keys, the last given stays last.
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            let i = group[0].0;
            let old = &self.shards[i];
            let mut new = Vec::with_capacity(old.len() + group.len());
            let mut rest = old.iter().peekable();
            for (g, (_, key, value)) in group.iter().enumerate() {
                if group.get(g + 1).is_some_and(|next| next.1 == *key) {
                    continue;
                }
                while let Some(kept) = rest.next_if(|(k, _)| k < key) {
                    new.push(kept.clone());
                }
                rest.next_if(|(k, _)| k == key);
                new.push((key.clone(), value.clone()));
            }
            new.extend(rest.cloned());
            self.shards[i] = new.into();
        }
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

    /// [`remove`](Self::remove) of many keys, copying each shard they
    /// change once: a tenant whose devices leave the per-device `/prov`
    /// index takes all of them out at once.
    pub fn remove_many<Q>(&mut self, keys: &[&Q])
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        let mut keyed: Vec<(usize, &Q)> = keys.iter().map(|k| (self.shard(*k), *k)).collect();
        keyed.sort_unstable_by_key(|&(i, _)| i);
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            let i = group[0].0;
            let gone = |k: &K| group.iter().any(|&(_, q)| k.borrow() == q);
            if !self.shards[i].iter().any(|(k, _)| gone(k)) {
                continue;
            }
            let new: Vec<(K, V)> = self.shards[i]
                .iter()
                .filter(|(k, _)| !gone(k))
                .cloned()
                .collect();
            self.shards[i] = new.into();
        }
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
    fn inserting_many_is_inserting_each() {
        let mut one: Sharded<u32, u32> = Sharded::default();
        for k in (0..20_000).step_by(2) {
            one.insert(k, k);
        }
        let mut many = one.clone();
        // New keys, replaced keys and a key given twice, in no order.
        let entries: Vec<(u32, u32)> = (0..6_000u32)
            .map(|i| (i.wrapping_mul(7_919) % 30_000, i))
            .chain([(5, 1), (5, 2)])
            .collect();
        for (k, v) in &entries {
            one.insert(*k, *v);
        }
        many.insert_many(entries);
        assert_eq!(many.get(&5), Some(&2));
        for i in 0..30_000 {
            assert_eq!(one.get(&i), many.get(&i), "key {i}");
        }
        assert_eq!(one.len(), many.len());
        for shard in &many.shards {
            assert!(shard.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn removing_many_is_removing_each() {
        let mut one: Sharded<u32, u32> = Sharded::default();
        for k in 0..20_000 {
            one.insert(k, k);
        }
        let mut many = one.clone();
        // Present keys, absent keys and a key given twice, in no order.
        let keys: Vec<u32> = (0..6_000u32)
            .map(|i| i.wrapping_mul(7_919) % 30_000)
            .chain([5, 5])
            .collect();
        for k in &keys {
            one.remove(k);
        }
        many.remove_many(&keys.iter().collect::<Vec<_>>());
        for i in 0..30_000 {
            assert_eq!(one.get(&i), many.get(&i), "key {i}");
        }
        assert_eq!(one.len(), many.len());
        assert!(many.len() < 20_000 - 4_000, "{} left", many.len());
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
