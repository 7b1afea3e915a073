//! What the server asks of storage for retention (`docs/retention.md`): each workspace's
//! periods, and the removal of finished work past them in small transactions. A part of
//! [`crate::Store`] (its supertrait), implemented by `axp_engine::Ledger` like the rest.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::ids::{IntentId, WorkspaceId};
use axp_core::retention::{ArchivedIntent, RetentionOverrides};

use serde_json::{Map, Value};

use crate::{Audit, Result, Tenant};

/// Rows past retention that are not an intent's, removed by [`RetentionStore::prune`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PruneStep {
    /// Dead-lettered deliveries of a workspace created before the time.
    DeadLetters(WorkspaceId, Timestamp),
    /// Webhook events (and their settled deliveries) of a workspace older than the time.
    WebhookEvents(WorkspaceId, Timestamp),
    /// Idempotency records, any workspace, expired at the time (their 24 h are over).
    ExpiredIdempotency(Timestamp),
    /// Audit entries, any organization, created before the time.
    Audit(Timestamp),
}

/// Retention storage; see [`crate::Store`] for the conventions (every call one transaction or
/// one read).
#[async_trait]
pub trait RetentionStore {
    /// The caller's workspace's overrides (none set: all `None`).
    async fn retention_overrides(&self, tenant: &Tenant) -> Result<RetentionOverrides>;

    /// Applies a `PATCH` body ([`RetentionOverrides::patched`], checked by the caller) to the
    /// caller's workspace's overrides at `now`, in one transaction, audited (`retention.updated`,
    /// with the patch as details); answers the overrides after it. Errors: [`crate::Error::Internal`]
    /// for a patch that does not validate.
    async fn update_retention(
        &self,
        tenant: &Tenant,
        patch: Map<String, Value>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<RetentionOverrides>;

    /// Every workspace with its overrides, by workspace id.
    async fn retention_workspaces(&self) -> Result<Vec<(WorkspaceId, RetentionOverrides)>>;

    /// Up to `limit` intents of `ws` that finished before `before`, earliest finish first, each
    /// with its events and deliveries as the archive keeps them (stamped `archived_at = now`).
    async fn finished_intents(
        &self,
        ws: WorkspaceId,
        before: Timestamp,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<ArchivedIntent>>;

    /// The ids of up to `limit` intents of `ws` that finished before `before`.
    async fn finished_intent_ids(
        &self,
        ws: WorkspaceId,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<IntentId>>;

    /// Removes those of intents `ids` that are finished, with every row that belongs only to
    /// them (see [`crate::tables::RetentionTable::remove_intents`]); an unfinished intent is
    /// never removed, whatever the caller asked. Answers how many were removed.
    async fn remove_finished_intents(&self, ws: WorkspaceId, ids: Vec<IntentId>) -> Result<u64>;

    /// Removes up to `limit` rows of one [`PruneStep`]; answers how many.
    async fn prune(&self, step: PruneStep, limit: u32) -> Result<u64>;

    /// Gives up to `pages` freed database pages back to the file system, where the backend
    /// keeps them (SQLite in incremental auto-vacuum mode).
    async fn reclaim_space(&self, pages: u32) -> Result<()>;
}
