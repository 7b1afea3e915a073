//! Keys: the small integers that name a workspace, and an agent address or an intent type within
//! a workspace, in the tables that grow by rows per intent (`intents`, `intent_events`,
//! `agent_queue`, `thread_participants`, and the workspace in `idempotency`; migrations 0023,
//! 0024 and 0025).
//!
//! A key takes a byte or a few in a row where the workspace's UUID text took 36 and an agent
//! address tens, and every row and index entry of those tables starts with them. Keys are given
//! in the order names first appear, so a new agent's rows go at the end of their indexes, next
//! to each other, instead of each into a page of its own.
//!
//! Tables `workspace_keys`, `agent_keys` and `type_keys` map names to keys. A key is given the
//! first time the writer inserts a row naming it ([`crate::tables::SqliteTx::key_to_insert`]),
//! in the transaction of that row; once committed it is never deleted or given again.
//! [`NO_KEY`] (0, never given) stands for a name with no key: it matches no row.
//!
//! [`Keys`] remembers committed keys, shared by the writer and the readers, up to about
//! [`REMEMBERED`] of them (clients may invent agent addresses without end). Past that it evicts
//! (`quick_cache`'s S3-FIFO: a name seen once leaves first, a name in use stays), and a name it
//! forgot is read from the table again. A key the writer gives is remembered only once its batch
//! commits: a batch or job that rolls back takes its key row with it, and SQLite may then give
//! the same number to another name.

use std::collections::HashMap;

use axp_core::ids::WorkspaceId;
use axp_store::Result;
use quick_cache::sync::Cache;
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, params};

use crate::tables::db;

/// The key of a name with none: no row carries it.
pub(crate) const NO_KEY: i64 = 0;

/// About the most keys remembered at once (the cache keeps its bound per shard): about 100
/// bytes each, 1.6 MB in all. A create to an agent address not remembered walks `agent_keys`'
/// index once when the address is new (the insert) and twice when it has a key already (the
/// insert that does nothing, then the read).
pub(crate) const REMEMBERED: usize = 16_384;

/// A name that has a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Keyed {
    /// A workspace (`workspace_keys`).
    Workspace(WorkspaceId),
    /// An agent address in the workspace whose key is the first field (`agent_keys`).
    Agent(i64, Box<str>),
    /// An intent type in the workspace whose key is the first field (`type_keys`).
    Type(i64, Box<str>),
}

/// The keys the writer's current batch gave or read, not yet committed: remembered in [`Keys`]
/// when the batch commits, forgotten when a job or the batch rolls back.
///
/// A map, not a list: every create to a new agent address looks its key up here several times
/// (the intent, its queue row, its inbox rows), and a batch holds up to
/// [`crate::writer::MAX_BATCH`] jobs. Scanning a list made that cost grow with the batch. Measured
/// in a release microbenchmark of one create's lookups: 0.23, 0.49 and 1.43 µs per create for
/// batches of 16, 64 and 256 creates to new addresses, against 0.27–0.34 µs with the map.
pub(crate) type BatchKeys = HashMap<Keyed, i64, quick_cache::DefaultHashBuilder>;

/// The committed keys remembered (see the module doc).
pub(crate) struct Keys {
    known: Cache<Keyed, i64>,
}

impl Default for Keys {
    fn default() -> Self {
        Self { known: Cache::new(REMEMBERED) }
    }
}

impl Keys {
    /// The committed key of `name`, if remembered (a hit marks the name in use).
    pub(crate) fn get(&self, name: &Keyed) -> Option<i64> {
        self.known.get(name)
    }

    /// Remembers committed keys, evicting past [`REMEMBERED`] (module doc).
    pub(crate) fn learn(&self, keys: impl IntoIterator<Item = (Keyed, i64)>) {
        for (name, key) in keys {
            self.known.insert(name, key);
        }
    }
}

/// The key of `name` as `conn` sees it.
///
/// Errors: the database's.
pub(crate) fn stored_key(conn: &Connection, name: &Keyed) -> Result<Option<i64>> {
    match name {
        Keyed::Workspace(ws) => conn
            .prepare_cached("SELECT key FROM workspace_keys WHERE workspace_id = ?1")
            .map_err(db)?
            .query_row(params![ws.to_string()], |r| r.get(0)),
        Keyed::Agent(ws, address) => conn
            .prepare_cached("SELECT key FROM agent_keys WHERE workspace_id = ?1 AND agent_address = ?2")
            .map_err(db)?
            .query_row(params![ws, address], |r| r.get(0)),
        Keyed::Type(ws, intent_type) => conn
            .prepare_cached("SELECT key FROM type_keys WHERE workspace_id = ?1 AND intent_type = ?2")
            .map_err(db)?
            .query_row(params![ws, intent_type], |r| r.get(0)),
    }
    .optional()
    .map_err(db)
}

/// Gives `name` a new key (inside the writer's transaction), or `None` when it has one already
/// (the insert does nothing then: `ON CONFLICT DO NOTHING` on the name's unique index).
///
/// Errors: the database's.
pub(crate) fn insert_key(conn: &Connection, name: &Keyed) -> Result<Option<i64>> {
    let inserted = match name {
        Keyed::Workspace(ws) => conn
            .prepare_cached("INSERT INTO workspace_keys (workspace_id) VALUES (?1) ON CONFLICT DO NOTHING")
            .map_err(db)?
            .execute(params![ws.to_string()]),
        Keyed::Agent(ws, address) => conn
            .prepare_cached(
                "INSERT INTO agent_keys (workspace_id, agent_address) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .map_err(db)?
            .execute(params![ws, address]),
        Keyed::Type(ws, intent_type) => conn
            .prepare_cached(
                "INSERT INTO type_keys (workspace_id, intent_type) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .map_err(db)?
            .execute(params![ws, intent_type]),
    }
    .map_err(db)?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(n: usize) -> Keyed {
        Keyed::Agent(1, n.to_string().into())
    }

    /// One agent in use while clients invent ten times as many addresses as memory holds: the
    /// agent in use stays remembered, memory stays within its bound, and names seen once leave.
    #[test]
    fn a_name_in_use_stays_while_names_seen_once_leave() {
        let keys = Keys::default();
        let busy = Keyed::Agent(1, "busy".into());
        keys.learn([(busy.clone(), 7)]);
        for n in 0..10 * REMEMBERED {
            keys.learn([(agent(n), n as i64 + 8)]);
            assert_eq!(keys.get(&busy), Some(7), "the agent in use forgotten after {n} new names");
        }
        assert!(keys.known.len() <= REMEMBERED + REMEMBERED / 16, "{} remembered", keys.known.len());
        let kept = (0..10 * REMEMBERED).filter(|&n| keys.get(&agent(n)).is_some()).count();
        assert!(kept <= REMEMBERED, "{kept} names seen once kept");
        assert_eq!(
            keys.get(&agent(10 * REMEMBERED - 1)),
            Some(10 * REMEMBERED as i64 + 7),
            "the newest kept"
        );
    }
}
