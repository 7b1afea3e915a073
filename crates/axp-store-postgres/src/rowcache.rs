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
//! A read that raced with a change must not leave the old row behind: readers take the
//! [`RowCache::generation`] before reading the database and offer the row with it; a drop
//! in between moves the generation on and the offer is refused.

use std::collections::HashMap;
use std::sync::Mutex;

use axp_core::WorkspaceId;
use axp_core::delivery::Subscription;
use axp_store::ServiceAccountRecord;

/// Entries kept at most; past it the cache starts over.
const MAX_ENTRIES: usize = 65_536;

/// An agent address or subscription owner in a workspace.
pub(crate) type Key = (WorkspaceId, String);

#[derive(Default)]
struct State {
    generation: u64,
    suspended: bool,
    agents: HashMap<Key, Option<ServiceAccountRecord>>,
    subscriptions: HashMap<Key, Vec<Subscription>>,
}

impl State {
    fn drop_all(&mut self) {
        self.generation += 1;
        self.agents.clear();
        self.subscriptions.clear();
    }
}

/// The cache; see the module doc. Starts suspended (until the replica listens).
pub(crate) struct RowCache {
    state: Mutex<State>,
}

impl RowCache {
    /// A suspended, empty cache.
    pub(crate) fn suspended() -> Self {
        Self { state: Mutex::new(State { suspended: true, ..State::default() }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take before reading the database, to offer what was read.
    pub(crate) fn generation(&self) -> u64 {
        self.state().generation
    }

    /// The agent at `key` (`Some(None)`: known not to exist), unless unknown or suspended.
    pub(crate) fn agent(&self, key: &Key) -> Option<Option<ServiceAccountRecord>> {
        let state = self.state();
        if state.suspended { None } else { state.agents.get(key).cloned() }
    }

    /// Offers the agent read at `generation`.
    pub(crate) fn offer_agent(&self, key: Key, agent: Option<ServiceAccountRecord>, generation: u64) {
        let mut state = self.state();
        if Self::takes(&mut state, generation) {
            state.agents.insert(key, agent);
        }
    }

    /// The active subscriptions of the owner at `key`, unless unknown or suspended.
    pub(crate) fn subscriptions(&self, key: &Key) -> Option<Vec<Subscription>> {
        let state = self.state();
        if state.suspended { None } else { state.subscriptions.get(key).cloned() }
    }

    /// Offers the subscriptions read at `generation`.
    pub(crate) fn offer_subscriptions(&self, key: Key, subscriptions: Vec<Subscription>, generation: u64) {
        let mut state = self.state();
        if Self::takes(&mut state, generation) {
            state.subscriptions.insert(key, subscriptions);
        }
    }

    fn takes(state: &mut State, generation: u64) -> bool {
        if state.suspended || state.generation != generation {
            return false;
        }
        if state.agents.len() + state.subscriptions.len() >= MAX_ENTRIES {
            state.drop_all();
            state.generation = generation;
        }
        true
    }

    /// Drops everything (a committed change).
    pub(crate) fn invalidate(&self) {
        self.state().drop_all();
    }

    /// Drops everything and serves nothing until [`RowCache::resume`] (not listening).
    pub(crate) fn suspend(&self) {
        let mut state = self.state();
        state.drop_all();
        state.suspended = true;
    }

    /// Listening again: caches from empty.
    pub(crate) fn resume(&self) {
        let mut state = self.state();
        state.drop_all();
        state.suspended = false;
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
        cache.offer_agent(k.clone(), None, cache.generation());
        assert_eq!(cache.agent(&k), None, "suspended: nothing taken");
        cache.resume();
        cache.offer_agent(k.clone(), None, cache.generation());
        assert_eq!(cache.agent(&k), Some(None));
        cache.suspend();
        assert_eq!(cache.agent(&k), None);
    }

    #[test]
    fn a_read_that_raced_with_a_change_is_refused() {
        let cache = RowCache::suspended();
        cache.resume();
        let k = key();
        let before = cache.generation();
        cache.invalidate(); // a change committed while the read was in flight
        cache.offer_subscriptions(k.clone(), Vec::new(), before);
        assert_eq!(cache.subscriptions(&k), None);
        cache.offer_subscriptions(k.clone(), Vec::new(), cache.generation());
        assert_eq!(cache.subscriptions(&k), Some(Vec::new()));
        cache.invalidate();
        assert_eq!(cache.subscriptions(&k), None, "dropped on a change");
    }
}
