//! A hash map in shards that copies share, for the provisioning view: a new
//! view is a copy of the old one with a few keys changed, and a copy costs
//! one pointer per shard plus the shards it changes.

use std::sync::Arc;

use foldhash::HashMap as FastMap;

/// A hash map split into shards that are shared between copies: changing
/// one key of a copy copies one shard (about 25 entries at 100,000
/// devices), not the map. The shard is chosen by a fixed hash; each shard
/// is a randomly seeded map, so chosen keys can unbalance shards, not slow
/// lookups.
pub struct Sharded<K, V> {
    shards: Vec<Arc<FastMap<K, V>>>,
}

/// Many, because a reload that changes k keys copies up to k shards: a
/// queue batch promotes a hundred devices' credentials at once, and with
/// 256 shards each such reload copied about half the map (the reloader was
/// an eighth of the node's CPU while registering 20,000 devices). A copy of
/// the whole view still costs only this many pointers, 32 KB.
const SHARDS: usize = 4096;

impl<K, V> Clone for Sharded<K, V> {
    fn clone(&self) -> Self {
        Sharded {
            shards: self.shards.clone(),
        }
    }
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Arc::new(FastMap::default())).collect(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Sharded<K, V> {
    fn shard<Q: std::hash::Hash + ?Sized>(key: &Q) -> usize {
        use std::hash::BuildHasher;
        (foldhash::fast::FixedState::with_seed(0x7ea1).hash_one(key) as usize) % SHARDS
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.shards[Self::shard(key)].get(key)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.shards[Self::shard(key)].get_key_value(key)
    }

    pub fn insert(&mut self, key: K, value: V) {
        let i = Self::shard(&key);
        Arc::make_mut(&mut self.shards[i]).insert(key, value);
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let i = Self::shard(key);
        self.shards[i].get(key)?;
        Arc::make_mut(&mut self.shards[i]).remove(key)
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(|s| s.values())
    }
}
