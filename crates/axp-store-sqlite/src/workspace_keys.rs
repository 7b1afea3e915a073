//! Workspace keys: the small integer that names a workspace in the tables that grow by rows per
//! intent (`intents`, `intent_events`, `agent_queue`, `thread_participants`; migration 0023).
//!
//! A key takes one byte or two in a row where the workspace's UUID text took 36, and every row
//! and index entry of those tables starts with it. Table `workspace_keys` maps each workspace
//! that has such rows to its key. A key is given the first time the writer inserts a row of a
//! workspace ([`crate::tables::SqliteTx::key_to_insert`]), in the transaction of that row;
//! once committed it is never deleted or given again. [`NO_KEY`] (0, never given) stands for a workspace with no
//! key: it matches no row.
//!
//! [`WorkspaceKeys`] remembers the committed keys, shared by the writer and the readers. A key
//! the writer gives is remembered only once its batch commits: a batch or job that rolls back
//! takes its `workspace_keys` row with it, and SQLite may then give the same number to another
//! workspace.

use std::collections::HashMap;
use std::sync::RwLock;

use axp_core::ids::WorkspaceId;
use axp_store::Result;
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, params};

use crate::tables::db;

/// The key of a workspace with none: no row carries it.
pub(crate) const NO_KEY: i64 = 0;

/// The committed workspace keys, loaded at start and learned as they are read or committed. One
/// entry per workspace with rows in the keyed tables: bounded by the workspaces that exist.
#[derive(Default)]
pub(crate) struct WorkspaceKeys {
    known: RwLock<HashMap<WorkspaceId, i64>>,
}

impl WorkspaceKeys {
    /// Every key in `workspace_keys`.
    ///
    /// Errors: the database's (a database the migrations did not reach has no such table).
    pub(crate) fn load(conn: &Connection) -> Result<Self> {
        let mut stmt = conn.prepare("SELECT workspace_id, key FROM workspace_keys").map_err(db)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(db)?;
        let mut known = HashMap::new();
        for row in rows {
            let (ws, key) = row.map_err(db)?;
            let ws = ws.parse().map_err(|e: uuid::Error| axp_store::Error::Internal(e.to_string()))?;
            known.insert(WorkspaceId(ws), key);
        }
        Ok(Self { known: RwLock::new(known) })
    }

    /// The committed key of `ws`, if remembered.
    pub(crate) fn get(&self, ws: WorkspaceId) -> Option<i64> {
        self.known.read().unwrap_or_else(|e| e.into_inner()).get(&ws).copied()
    }

    /// Remembers committed keys.
    pub(crate) fn learn(&self, keys: impl IntoIterator<Item = (WorkspaceId, i64)>) {
        self.known.write().unwrap_or_else(|e| e.into_inner()).extend(keys);
    }
}

/// The key of `ws` in `workspace_keys` as `conn` sees it.
///
/// Errors: the database's.
pub(crate) fn stored_key(conn: &Connection, ws: WorkspaceId) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT key FROM workspace_keys WHERE workspace_id = ?1")
        .map_err(db)?
        .query_row(params![ws.to_string()], |r| r.get(0))
        .optional()
        .map_err(db)
}

/// Gives `ws` a new key in `workspace_keys` (inside the writer's transaction).
///
/// Errors: the database's.
pub(crate) fn insert_key(conn: &Connection, ws: WorkspaceId) -> Result<i64> {
    conn.prepare_cached("INSERT INTO workspace_keys (workspace_id) VALUES (?1)")
        .map_err(db)?
        .execute(params![ws.to_string()])
        .map_err(db)?;
    Ok(conn.last_insert_rowid())
}
