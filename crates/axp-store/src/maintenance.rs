//! [`Maintenance`]: what the operator asks of a backend beside its jobs: a consistent copy of
//! the database (`axp backup`) and what it holds (`axp admin stats`). Server-wide, never scoped
//! by workspace: the server lets only its operator reach it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use axp_core::api::StoreStats;

use crate::Result;

/// A consistent copy of the database, written into a directory the caller owns and removes.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The copy of the database: one SQLite file, as of one instant, beside no WAL.
    pub database: PathBuf,
    /// The copy's schema version (see [`StoreStats::schema_version`]).
    pub schema_version: i64,
    /// The media objects the copy references: each object's path relative to the media
    /// directory (`<workspace_id>/<object_id>`) and a file in the caller's directory holding its
    /// bytes (a hard link, or a copy across file systems), so a later removal cannot take them.
    pub media: Vec<(String, PathBuf)>,
    /// Objects the copy references whose bytes were removed before they could be taken (an
    /// upload deleted or replaced during the backup), by relative path.
    pub missing_media: Vec<String>,
}

/// Operator maintenance of a backend. Object-safe; reached through
/// [`crate::Store::maintenance`].
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Rows per table, sizes, the oldest unfinished intent and the dead-letter count, read
    /// without blocking writers. Errors: [`crate::Error::Unavailable`].
    async fn stats(&self) -> Result<StoreStats>;

    /// Agent-queue items not yet handed to their agent whose intent is still open, across
    /// workspaces, by the delivery binding of the agent the item waits for (`stream`, `poll`,
    /// `http`, …, as [`axp_core::delivery::Binding`] names them; `none` for an address with no
    /// service account). Bindings with nothing waiting are left out. Read without blocking
    /// writers; costs one pass over the waiting items. Errors: [`crate::Error::Unavailable`].
    async fn queue_depths(&self) -> Result<BTreeMap<String, u64>>;

    /// Writes a consistent copy of the database and of the media bytes it references into
    /// `dir` (an empty directory on the database's file system), without holding up writers for
    /// longer than a batch. Errors: [`crate::Error::Unsupported`] where the backend has its
    /// own tools (PostgreSQL: `pg_dump`, PITR); [`crate::Error::Unavailable`] when the copy
    /// cannot be written.
    async fn snapshot(&self, dir: &Path) -> Result<Snapshot>;
}
