//! [`RowCache`]: agents' records and owners' active subscriptions, kept on each replica across
//! transactions.
//!
//! Nearly every create reads its agent's record (the binding routes it) and the active
//! subscriptions of its sender and agent (lifecycle events fan out to them); they change
//! rarely. A transaction that changes either drops this cache on its own replica when it
//! commits, before its callers are answered, and on every other replica when its notification
//! arrives (the same line that drops cached principals), so another replica may route by a
//! binding changed a notification's delay (milliseconds) earlier. While this replica is not
//! listening, the cache is suspended: every read goes to the database.
//!
//! A read that raced with a change must not leave the old row behind: the invalidation
//! mechanism is [`InvalidatedCache`]'s (readers take a generation before reading the database).

use axp_core::WorkspaceId;
use axp_core::delivery::Subscription;
use axp_store::{InvalidatedCache, ServiceAccountRecord};

/// About the most entries kept per table; past it `InvalidatedCache` evicts (its module doc says which).
const MAX_ENTRIES: usize = 32_768;

/// An agent address or subscription owner in a workspace.
pub(crate) type Key = (WorkspaceId, String);

/// The cache; see the module doc. Starts suspended (until the replica listens).
pub(crate) struct RowCache {
    /// Agents by address (`None`: known not to exist).
    pub(crate) agents: InvalidatedCache<Key, Option<ServiceAccountRecord>>,
    /// Active subscriptions by owner.
    pub(crate) subscriptions: InvalidatedCache<Key, Vec<Subscription>>,
}

impl RowCache {
    /// A suspended, empty cache.
    pub(crate) fn suspended() -> Self {
        Self {
            agents: InvalidatedCache::new(MAX_ENTRIES, true),
            subscriptions: InvalidatedCache::new(MAX_ENTRIES, true),
        }
    }

    /// Drops everything (a committed change).
    pub(crate) fn invalidate(&self) {
        self.agents.invalidate();
        self.subscriptions.invalidate();
    }

    /// Drops everything and serves nothing until [`RowCache::resume`] (not listening).
    pub(crate) fn suspend(&self) {
        self.agents.suspend();
        self.subscriptions.suspend();
    }

    /// Listening again: caches from empty.
    pub(crate) fn resume(&self) {
        self.agents.resume();
        self.subscriptions.resume();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        (WorkspaceId::new(), "agent://o/w/a".into())
    }

    #[test]
    fn serves_nothing_until_resumed_and_again_after_a_suspend() {
        let cache = RowCache::suspended();
        let k = key();
        cache.agents.insert(k.clone(), None, cache.agents.generation());
        assert_eq!(cache.agents.get(&k), None, "suspended: nothing taken");
        cache.resume();
        cache.agents.insert(k.clone(), None, cache.agents.generation());
        assert_eq!(cache.agents.get(&k), Some(None));
        cache.suspend();
        assert_eq!(cache.agents.get(&k), None);
    }

    #[test]
    fn a_change_drops_both_tables() {
        let cache = RowCache::suspended();
        cache.resume();
        let k = key();
        cache.agents.insert(k.clone(), None, cache.agents.generation());
        cache.subscriptions.insert(k.clone(), Vec::new(), cache.subscriptions.generation());
        cache.invalidate();
        assert_eq!((cache.agents.get(&k), cache.subscriptions.get(&k)), (None, None));
    }
}
