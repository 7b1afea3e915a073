//! Retention: each workspace's overrides, and the batched removal of rows past retention
//! (`docs/retention.md`). Which intents may go is the engine's rule (`axp_engine::Ledger`): a
//! backend removes the rows of the ids it is given.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::delivery::Delivery;
use axp_core::ids::{IntentId, WorkspaceId};
use axp_core::retention::RetentionOverrides;

use crate::Result;

/// Table `retention_settings` (one row per workspace that changed its periods) and the removal
/// of rows past retention from the others. Every removal takes a `limit` and answers how many
/// rows it removed, so the pruner works in small transactions.
#[async_trait]
pub trait RetentionTable {
    /// Workspace `ws`'s stored overrides, if it ever changed one.
    async fn retention_overrides(&mut self, ws: WorkspaceId) -> Result<Option<RetentionOverrides>>;

    /// Stores `overrides` as workspace `ws`'s (insert or replace) at `now`.
    async fn put_retention_overrides(
        &mut self,
        ws: WorkspaceId,
        overrides: &RetentionOverrides,
        now: Timestamp,
    ) -> Result<()>;

    /// Every workspace with its stored overrides (`None`: the defaults), by workspace id.
    async fn retention_workspaces(&mut self) -> Result<Vec<(WorkspaceId, Option<RetentionOverrides>)>>;

    /// Up to `limit` intents of `ws` that finished before `before`, earliest finish first.
    async fn finished_before(
        &mut self,
        ws: WorkspaceId,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<IntentId>>;

    /// The push deliveries of intent `id` (dead letters included), oldest first.
    async fn intent_deliveries(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Vec<Delivery>>;

    /// Removes intents `ids` of `ws` with what belongs only to them: their events, agent-queue
    /// and timer rows, inbox participants and entries, approval, routed delivery, and their delivered or failed
    /// deliveries (dead letters and deliveries still under way stay). Answers the intents removed.
    async fn remove_intents(&mut self, ws: WorkspaceId, ids: &[IntentId]) -> Result<u64>;

    /// Removes up to `limit` dead-lettered deliveries of `ws` created before `before`.
    async fn remove_dead_letters(&mut self, ws: WorkspaceId, before: Timestamp, limit: u32) -> Result<u64>;

    /// Removes up to `limit` webhook events of `ws` created before `before`, and up to `limit`
    /// delivered or failed webhook deliveries created before it; answers the rows removed.
    async fn remove_webhook_events(&mut self, ws: WorkspaceId, before: Timestamp, limit: u32) -> Result<u64>;

    /// Removes up to `limit` idempotency records (any workspace) that expired before `now`.
    async fn remove_expired_idempotency(&mut self, now: Timestamp, limit: u32) -> Result<u64>;

    /// Removes up to `limit` audit entries (any organization) created before `before`.
    async fn remove_audit_before(&mut self, before: Timestamp, limit: u32) -> Result<u64>;

    /// Gives up to `pages` free pages back to the file system where the database keeps them
    /// (SQLite in incremental auto-vacuum mode); a no-op where the database does it itself.
    async fn reclaim_space(&mut self, pages: u32) -> Result<()>;
}
