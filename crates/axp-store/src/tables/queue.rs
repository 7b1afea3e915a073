//! The agent queue: what streams read by cursor and poll claims take.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::ids::{IntentId, WorkspaceId};

use crate::{QueueItem, QueueRead, Queued, Result};

/// Table `agent_queue`.
///
/// **Cursors** (contract §4.11) are assigned by the backend: unique and increasing per agent,
/// not necessarily gap-free, and *visible in order*: a reader that has seen cursor N+1 never
/// later finds a committed item below it. Every read that follows a cursor
/// ([`QueueTable::queued`]) must keep that promise.
#[async_trait]
pub trait QueueTable {
    /// Appends an item to the queue of `item.agent` at that agent's next cursor, which it
    /// returns.
    async fn enqueue(&mut self, item: &QueueItem<'_>) -> Result<u64>;

    /// Items of `read.agent` after cursor `read.since` whose intent's status is in
    /// `read.statuses`, ascending by cursor, at most `read.limit`; with `for_update`, the items
    /// are locked until the transaction ends.
    async fn queued(
        &mut self,
        ws: WorkspaceId,
        read: &QueueRead<'_>,
        for_update: bool,
    ) -> Result<Vec<Queued>>;

    /// Takes up to `limit` items of `agent` never handed to it, oldest first, locked and
    /// skipped by concurrent claimers: `(cursor, queued_at, intent)`.
    async fn claim_unhanded(
        &mut self,
        ws: WorkspaceId,
        agent: &str,
        limit: u32,
    ) -> Result<Vec<(u64, Timestamp, IntentId)>>;

    /// Marks item `cursor` of `agent` handed at `now`.
    async fn mark_handed(&mut self, ws: WorkspaceId, agent: &str, cursor: u64, now: Timestamp) -> Result<()>;
}
