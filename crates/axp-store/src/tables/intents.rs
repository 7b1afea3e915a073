//! Intents and their event log.

use std::collections::HashMap;

use async_trait::async_trait;
use axp_core::ids::{IntentId, WorkspaceId};
use axp_core::{Intent, IntentEvent};

use crate::{IntentFilter, IntentRows, Result};

/// Tables `intents`, `intent_events`, `intent_types`.
#[async_trait]
pub trait IntentTable {
    /// One intent.
    async fn intent(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>>;

    /// One intent, locked until the transaction ends (two writers never append the same
    /// event `seq`).
    async fn intent_for_update(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>>;

    /// Several intents, locked until the transaction ends (in id order, so lockers never
    /// deadlock); missing ids are left out.
    async fn intents_for_update(
        &mut self,
        ws: WorkspaceId,
        ids: &[IntentId],
    ) -> Result<HashMap<IntentId, Intent>>;

    /// Whether the intent exists.
    async fn intent_exists(&mut self, ws: WorkspaceId, id: IntentId) -> Result<bool>;

    /// Writes a new intent and its first events from their serialized rows.
    /// Errors: [`crate::Error::Conflict`] when the id exists.
    async fn insert_intent(&mut self, ws: WorkspaceId, rows: &IntentRows) -> Result<()>;

    /// Rewrites an intent's state.
    async fn update_intent(&mut self, ws: WorkspaceId, intent: &Intent) -> Result<()>;

    /// Appends events (each `seq` once per intent).
    async fn insert_events(&mut self, ws: WorkspaceId, events: &[IntentEvent]) -> Result<()>;

    /// Events of an intent with `seq > since`, ascending, at most `limit`.
    async fn events_since(
        &mut self,
        ws: WorkspaceId,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>>;

    /// The first `filter.limit` intents of `ws` that match `filter`, in `filter.order` by
    /// `(created_at, intent_id)`, starting after `filter.start_after` (see [`IntentFilter`]).
    async fn list_intents(&mut self, ws: WorkspaceId, filter: &IntentFilter) -> Result<Vec<Intent>>;

    /// Records that scenarios use `intent_type` in the workspace (idempotent).
    async fn register_intent_type(&mut self, ws: WorkspaceId, intent_type: &str) -> Result<()>;

    /// The intent types registered in the workspace, sorted.
    async fn intent_types(&mut self, ws: WorkspaceId) -> Result<Vec<String>>;
}
