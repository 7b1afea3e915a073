//! A cache of authenticated principals: who an API key stands for, answered without a database
//! round trip on every request. Both stores use it; each decides when to [`PrincipalCache::invalidate`]:
//!
//! - SQLite: exact, because its process is the only writer: every write that can revoke a key or
//!   change a service account invalidates once its batch has committed, before any caller of
//!   the batch is answered.
//! - PostgreSQL: the replica that commits such a write invalidates the same way and sends a
//!   notification that makes every other replica invalidate too. A replica cannot hear those
//!   while its listening connection is down, so it [`PrincipalCache::suspend`]s the cache then
//!   and [`PrincipalCache::resume`]s it, empty, once it listens again.
//!
//! The invalidation mechanism is [`InvalidatedCache`]'s. Each entry keeps its key's expiry and is
//! not served past it.
//!
//! It also keeps each workspace's killed agent addresses (the mesh kill switch, contract §6
//! "Mesh"): a kill or resume changes a service account, so it is dropped by the same
//! invalidations, and checking the switch on every create costs no database read.

use std::collections::BTreeSet;
use std::sync::Arc;

use axp_core::{Timestamp, WorkspaceId};

use crate::Principal;
use crate::cache::InvalidatedCache;

/// About the most keys remembered; past it `InvalidatedCache` evicts (its module doc says which).
const MAX_ENTRIES: usize = 10_000;

/// Principals by key hash (the SHA-256 of the key), each with its key's expiry (`None`: never).
/// Thread-safe; share it behind an `Arc`.
pub struct PrincipalCache {
    entries: InvalidatedCache<[u8; 32], (Principal, Option<Timestamp>)>,
    /// Killed agent addresses by workspace.
    killed: InvalidatedCache<WorkspaceId, Arc<BTreeSet<String>>>,
}

impl Default for PrincipalCache {
    fn default() -> Self {
        Self::new(false)
    }
}

impl PrincipalCache {
    fn new(suspended: bool) -> Self {
        Self {
            entries: InvalidatedCache::new(MAX_ENTRIES, suspended),
            killed: InvalidatedCache::new(MAX_ENTRIES, suspended),
        }
    }

    /// A cache that serves nothing until [`PrincipalCache::resume`]d.
    pub fn suspended() -> Self {
        Self::new(true)
    }

    /// The cached killed agent addresses of workspace `ws`, if known.
    pub fn killed(&self, ws: WorkspaceId) -> Option<Arc<BTreeSet<String>>> {
        self.killed.get(&ws)
    }

    /// The generation of the killed-address cache: read it before reading the database.
    pub fn killed_generation(&self) -> u64 {
        self.killed.generation()
    }

    /// Caches workspace `ws`'s killed addresses as a read started at `generation` found them,
    /// unless the cache was invalidated since.
    pub fn insert_killed(&self, ws: WorkspaceId, addresses: Arc<BTreeSet<String>>, generation: u64) {
        self.killed.insert(ws, addresses, generation);
    }

    /// The cached principal of the key with `hash`, if its key is still unexpired at `now`.
    pub fn get(&self, hash: &[u8; 32], now: Timestamp) -> Option<Principal> {
        let live = |(_, expires_at): &(Principal, Option<Timestamp>)| expires_at.is_none_or(|at| at > now);
        self.entries.get_if(hash, live).map(|(principal, _)| principal)
    }

    /// The current generation: read it before looking a key up in the database.
    pub fn generation(&self) -> u64 {
        self.entries.generation()
    }

    /// Caches what a lookup started at `generation` found, unless the cache was invalidated
    /// since (the lookup may have read what that invalidation stands for, or not).
    pub fn insert(
        &self,
        hash: [u8; 32],
        principal: &Principal,
        expires_at: Option<Timestamp>,
        generation: u64,
    ) {
        self.entries.insert(hash, (principal.clone(), expires_at), generation);
    }

    /// Forgets every entry and refuses lookups that started before now.
    pub fn invalidate(&self) {
        self.entries.invalidate();
        self.killed.invalidate();
    }

    /// Invalidates and serves nothing until [`PrincipalCache::resume`]: for while invalidations
    /// cannot be heard.
    pub fn suspend(&self) {
        self.entries.suspend();
        self.killed.suspend();
    }

    /// Invalidates (what was cached before may predate an invalidation that was missed) and
    /// serves again.
    pub fn resume(&self) {
        self.entries.resume();
        self.killed.resume();
    }
}

#[cfg(test)]
mod tests {
    use axp_core::AgentAddress;
    use axp_core::ids::{ApiKeyId, OrgId, ServiceAccountId, WorkspaceId};

    use super::*;
    use axp_core::access::Roles;

    use crate::{Actor, Tenant};

    fn principal() -> Principal {
        Principal {
            tenant: Tenant {
                org_id: OrgId(uuid::Uuid::now_v7()),
                workspace_id: WorkspaceId(uuid::Uuid::now_v7()),
                org_slug: "o".into(),
                workspace_slug: "w".into(),
            },
            actor: Actor::ServiceAccount {
                id: ServiceAccountId(uuid::Uuid::now_v7()),
                key_id: ApiKeyId(uuid::Uuid::now_v7()),
            },
            agent_address: AgentAddress::from_trusted("agent://o/w/a".into()),
            roles: Roles::NONE,
            grants: Vec::new(),
        }
    }

    #[test]
    fn serves_until_invalidated() {
        let cache = PrincipalCache::default();
        let p = principal();
        let now = Timestamp::from_millis(1_000);
        cache.insert([1; 32], &p, None, cache.generation());
        assert_eq!(cache.get(&[1; 32], now), Some(p));
        assert_eq!(cache.get(&[2; 32], now), None);
        cache.invalidate();
        assert_eq!(cache.get(&[1; 32], now), None);
    }

    #[test]
    fn a_lookup_older_than_an_invalidation_is_not_cached() {
        let cache = PrincipalCache::default();
        let before = cache.generation();
        cache.invalidate(); // a revocation committed while the lookup ran
        cache.insert([1; 32], &principal(), None, before);
        assert_eq!(cache.get(&[1; 32], Timestamp::from_millis(0)), None);
    }

    #[test]
    fn an_expired_key_is_not_served() {
        let cache = PrincipalCache::default();
        let p = principal();
        cache.insert([1; 32], &p, Some(Timestamp::from_millis(2_000)), cache.generation());
        assert_eq!(cache.get(&[1; 32], Timestamp::from_millis(1_999)), Some(p));
        assert_eq!(cache.get(&[1; 32], Timestamp::from_millis(2_000)), None);
    }

    #[test]
    fn nothing_is_served_while_suspended() {
        let cache = PrincipalCache::suspended();
        let now = Timestamp::from_millis(0);
        cache.insert([1; 32], &principal(), None, cache.generation());
        assert_eq!(cache.get(&[1; 32], now), None, "not listening yet");
        cache.resume();
        let p = principal();
        cache.insert([1; 32], &p, None, cache.generation());
        assert_eq!(cache.get(&[1; 32], now), Some(p));
        cache.suspend();
        assert_eq!(cache.get(&[1; 32], now), None);
        cache.resume();
        assert_eq!(cache.get(&[1; 32], now), None, "a reconnect starts over");
    }

    #[test]
    fn a_lookup_across_a_suspension_is_not_cached() {
        let cache = PrincipalCache::default();
        let before = cache.generation();
        cache.suspend();
        cache.resume();
        cache.insert([1; 32], &principal(), None, before);
        assert_eq!(cache.get(&[1; 32], Timestamp::from_millis(0)), None);
    }

    #[test]
    fn killed_addresses_are_dropped_with_the_principals_and_not_kept_while_suspended() {
        let cache = PrincipalCache::default();
        let ws = WorkspaceId::new();
        let set = Arc::new(BTreeSet::from(["agent://o/w/a".to_owned()]));
        cache.insert_killed(ws, set.clone(), cache.killed_generation());
        assert_eq!(cache.killed(ws), Some(set.clone()));
        assert_eq!(cache.killed(WorkspaceId::new()), None, "per workspace");
        let before = cache.killed_generation();
        cache.invalidate(); // a kill or resume committed
        assert_eq!(cache.killed(ws), None);
        cache.insert_killed(ws, set.clone(), before);
        assert_eq!(cache.killed(ws), None, "read before the kill");
        cache.suspend();
        cache.insert_killed(ws, set, cache.killed_generation());
        assert_eq!(cache.killed(ws), None, "not listening");
    }
}
