//! [`InvalidatedCache`]: a map that is dropped whole when what it mirrors changes, and that a
//! read racing with such a change cannot repopulate with what it read before.
//!
//! A reader takes [`InvalidatedCache::generation`] *before* reading the database and offers
//! what it read with it; an [`InvalidatedCache::invalidate`] in between moves the generation on
//! and the offer is refused. While invalidations cannot be heard (a PostgreSQL replica whose
//! listening connection is down) the cache is [`InvalidatedCache::suspend`]ed: it serves and
//! keeps nothing until [`InvalidatedCache::resume`]d, empty.
//!
//! Full, it evicts with `quick_cache`'s S3-FIFO: an entry read since it came in stays, one never
//! read again leaves first. So the entries in use survive a stream of one-off keys (addresses or
//! API keys a client invents) instead of being dropped with them and read from the database again.

use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use quick_cache::unsync::Cache;

/// See the module doc. Thread-safe; share it behind an `Arc`.
pub struct InvalidatedCache<K, V> {
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    /// Bumped by every invalidation.
    generation: u64,
    entries: Cache<K, V>,
    suspended: bool,
}

impl<K: Eq + Hash, V: Clone> InvalidatedCache<K, V> {
    /// An empty cache of at most about `capacity` entries, serving at once unless `suspended`.
    pub fn new(capacity: usize, suspended: bool) -> Self {
        Self { inner: Mutex::new(Inner { generation: 0, entries: Cache::new(capacity), suspended }) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry for `key`, unless absent or suspended. `fresh` decides whether a found entry
    /// may still be served; one it refuses is forgotten.
    pub fn get_if(&self, key: &K, fresh: impl FnOnce(&V) -> bool) -> Option<V> {
        let mut inner = self.lock();
        if inner.suspended {
            return None;
        }
        let value = inner.entries.get(key)?;
        if !fresh(value) {
            inner.entries.remove(key);
            return None;
        }
        Some(value.clone())
    }

    /// The entry for `key`, unless absent or suspended.
    pub fn get(&self, key: &K) -> Option<V> {
        self.get_if(key, |_| true)
    }

    /// The current generation: read it before reading the database.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps what a read started at `generation` found, unless the cache was invalidated (or
    /// suspended) since.
    pub fn insert(&self, key: K, value: V, generation: u64) {
        let mut inner = self.lock();
        if inner.suspended || inner.generation != generation {
            return;
        }
        inner.entries.insert(key, value);
    }

    /// Forgets every entry and refuses reads that started before now.
    pub fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    /// Invalidates and serves nothing until [`InvalidatedCache::resume`].
    pub fn suspend(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
        inner.suspended = true;
    }

    /// Invalidates (what was kept may predate a change that was missed) and serves again.
    pub fn resume(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
        inner.suspended = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_until_invalidated_and_refuses_reads_older_than_an_invalidation() {
        let cache = InvalidatedCache::new(10, false);
        cache.insert(1, "a", cache.generation());
        assert_eq!(cache.get(&1), Some("a"));
        let before = cache.generation();
        cache.invalidate();
        assert_eq!(cache.get(&1), None);
        cache.insert(1, "old", before);
        assert_eq!(cache.get(&1), None, "read before the invalidation");
    }

    #[test]
    fn nothing_is_served_or_kept_while_suspended_and_a_resume_starts_over() {
        let cache = InvalidatedCache::new(10, true);
        cache.insert(1, "a", cache.generation());
        assert_eq!(cache.get(&1), None);
        cache.resume();
        cache.insert(1, "a", cache.generation());
        assert_eq!(cache.get(&1), Some("a"));
        let before = cache.generation();
        cache.suspend();
        cache.resume();
        assert_eq!(cache.get(&1), None);
        cache.insert(1, "a", before);
        assert_eq!(cache.get(&1), None, "read across a suspension");
    }

    #[test]
    fn stale_entries_are_forgotten() {
        let cache = InvalidatedCache::new(2, false);
        cache.insert(1, 10, cache.generation());
        assert_eq!(cache.get_if(&1, |v| *v > 10), None);
        assert_eq!(cache.get(&1), None, "forgotten");
    }

    /// One key in use while ten times the capacity of one-off keys go through: it stays, the
    /// cache stays within its bound, and one-off keys leave.
    #[test]
    fn a_full_cache_keeps_the_entries_in_use() {
        let cache = InvalidatedCache::new(100, false);
        cache.insert(-1, -1, cache.generation());
        for k in 0..1000 {
            cache.insert(k, k, cache.generation());
            assert_eq!(cache.get(&-1), Some(-1), "the key in use evicted after {k} one-off keys");
        }
        let kept = (0..1000).filter(|k| cache.get(k).is_some()).count();
        assert!(kept < 100, "{kept} one-off keys kept");
        assert_eq!(cache.get(&999), Some(999), "the newest kept");
    }
}
