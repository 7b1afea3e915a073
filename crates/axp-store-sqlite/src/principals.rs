//! The principal cache: who an API key stands for, answered without SQL or a hop to the blocking
//! pool on every request.
//!
//! It is exact because this process is the only writer of its database. Every write that can
//! revoke a key or change a service account sets [`WriteCtx::principals_changed`], and the
//! writer thread calls [`Principals::invalidate`] once that batch is over, before it answers any
//! of the batch's callers. A lookup that read the database before such a commit must not
//! repopulate the cache after the invalidation: [`Principals::insert`] takes the generation read
//! *before* the lookup and drops the entry if an invalidation happened since. Each entry keeps
//! its key's expiry and is not served past it.
//!
//! [`WriteCtx::principals_changed`]: crate::writer::WriteCtx::principals_changed

use std::collections::HashMap;
use std::sync::Mutex;

use axp_core::Timestamp;
use axp_store::Principal;

/// Keys remembered before the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// Principals by key hash.
#[derive(Default)]
pub(crate) struct Principals {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every invalidation.
    generation: u64,
    entries: HashMap<[u8; 32], Entry>,
}

struct Entry {
    principal: Principal,
    /// When the key stops working (`None`: never).
    expires_at: Option<Timestamp>,
}

impl Principals {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached principal of the key with `hash`, if its key is still unexpired at `now`.
    pub(crate) fn get(&self, hash: &[u8; 32], now: Timestamp) -> Option<Principal> {
        let mut inner = self.lock();
        let entry = inner.entries.get(hash)?;
        if entry.expires_at.is_some_and(|at| at <= now) {
            inner.entries.remove(hash);
            return None;
        }
        Some(entry.principal.clone())
    }

    /// The current generation: read it before looking a key up in the database.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Caches what a lookup started at `generation` found, unless the cache was invalidated
    /// since (the lookup may have read what that invalidation stands for, or not).
    pub(crate) fn insert(
        &self,
        hash: [u8; 32],
        principal: &Principal,
        expires_at: Option<Timestamp>,
        generation: u64,
    ) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(hash, Entry { principal: principal.clone(), expires_at });
    }

    /// Forgets every entry and refuses lookups that started before now.
    pub(crate) fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
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
    fn serves_until_invalidated() {
        let cache = Principals::default();
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
        let cache = Principals::default();
        let before = cache.generation();
        cache.invalidate(); // a revocation committed while the lookup ran
        cache.insert([1; 32], &principal(), None, before);
        assert_eq!(cache.get(&[1; 32], Timestamp::from_millis(0)), None);
    }

    #[test]
    fn an_expired_key_is_not_served() {
        let cache = Principals::default();
        let p = principal();
        cache.insert([1; 32], &p, Some(Timestamp::from_millis(2_000)), cache.generation());
        assert_eq!(cache.get(&[1; 32], Timestamp::from_millis(1_999)), Some(p));
        assert_eq!(cache.get(&[1; 32], Timestamp::from_millis(2_000)), None);
    }
}
