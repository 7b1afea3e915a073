//! Authenticated principals cached on each replica ([`PrincipalCache`]), kept exact across
//! replicas.
//!
//! A replica that commits a write which can revoke a key or change a service account
//! invalidates its own cache right after the commit, before answering, and the same
//! transaction sends a `k` line on the notification channel, so every other replica invalidates
//! when it commits. A replica whose listening connection is down cannot hear those, so it does
//! not use the cache until it listens again, and it starts over once it does.

use std::sync::atomic::{AtomicBool, Ordering};

use axp_core::Timestamp;
use axp_store::{Principal, PrincipalCache};

/// The principal cache of one replica, served only while its `LISTEN` connection is up.
#[derive(Default)]
pub(crate) struct KeyCache {
    cache: PrincipalCache,
    listening: AtomicBool,
}

impl KeyCache {
    /// The cached principal of the key with `hash` (see [`PrincipalCache::get`]); `None` while
    /// this replica is not listening.
    pub(crate) fn get(&self, hash: &[u8; 32], now: Timestamp) -> Option<Principal> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        self.cache.get(hash, now)
    }

    /// See [`PrincipalCache::generation`].
    pub(crate) fn generation(&self) -> u64 {
        self.cache.generation()
    }

    /// See [`PrincipalCache::insert`].
    pub(crate) fn insert(
        &self,
        hash: [u8; 32],
        principal: &Principal,
        expires_at: Option<Timestamp>,
        generation: u64,
    ) {
        self.cache.insert(hash, principal, expires_at, generation);
    }

    /// Forgets every entry (a key or service account changed somewhere).
    pub(crate) fn invalidate(&self) {
        self.cache.invalidate();
    }

    /// Records whether the `LISTEN` connection is up. Either way the cache starts over: what
    /// was cached before the connection (re)started may predate a notification it missed, and
    /// a lookup still running across the change is kept out by the generation.
    pub(crate) fn set_listening(&self, listening: bool) {
        if listening {
            self.cache.invalidate();
            self.listening.store(true, Ordering::Release);
        } else {
            self.listening.store(false, Ordering::Release);
            self.cache.invalidate();
        }
    }
}

#[cfg(test)]
mod tests {
    use axp_core::AgentAddress;
    use axp_core::ids::{ApiKeyId, OrgId, ServiceAccountId, WorkspaceId};
    use axp_store::Tenant;

    use super::*;

    fn principal() -> Principal {
        Principal {
            tenant: Tenant {
                org_id: OrgId(uuid::Uuid::now_v7()),
                workspace_id: WorkspaceId(uuid::Uuid::now_v7()),
                org_slug: "o".into(),
                workspace_slug: "w".into(),
            },
            service_account_id: ServiceAccountId(uuid::Uuid::now_v7()),
            key_id: ApiKeyId(uuid::Uuid::now_v7()),
            agent_address: AgentAddress::from_trusted("agent://o/w/a".into()),
        }
    }

    #[test]
    fn nothing_is_served_while_not_listening() {
        let keys = KeyCache::default();
        let now = Timestamp::from_millis(0);
        keys.insert([1; 32], &principal(), None, keys.generation());
        assert_eq!(keys.get(&[1; 32], now), None, "not listening yet");
        keys.set_listening(true);
        let p = principal();
        keys.insert([1; 32], &p, None, keys.generation());
        assert_eq!(keys.get(&[1; 32], now), Some(p));
        keys.set_listening(false);
        assert_eq!(keys.get(&[1; 32], now), None);
        keys.set_listening(true);
        assert_eq!(keys.get(&[1; 32], now), None, "a reconnect starts over");
    }

    #[test]
    fn a_lookup_across_a_reconnect_is_not_cached() {
        let keys = KeyCache::default();
        keys.set_listening(true);
        let before = keys.generation();
        keys.set_listening(false);
        keys.set_listening(true);
        keys.insert([1; 32], &principal(), None, before);
        assert_eq!(keys.get(&[1; 32], Timestamp::from_millis(0)), None);
    }
}
