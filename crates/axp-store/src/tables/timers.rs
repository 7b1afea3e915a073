//! Durable timers: deadlines, leases, reminders, step timers.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::ids::{IntentId, WorkspaceId};
use axp_core::timer::Timer;

use crate::{DueTimer, Result};

/// Table `timers`: one row per (intent, timer key).
#[async_trait]
pub trait TimerTable {
    /// Schedules `timers` for an intent, replacing any with the same key.
    async fn schedule(&mut self, ws: WorkspaceId, intent: IntentId, timers: &[Timer]) -> Result<()>;

    /// Drops every timer of an intent.
    async fn clear_timers(&mut self, ws: WorkspaceId, intent: IntentId) -> Result<()>;

    /// Deletes and returns up to `limit` timers due at `now`, earliest first, across
    /// workspaces; concurrent takers (other replicas) skip the ones taken, so each fires once.
    async fn take_due_timers(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DueTimer>>;

    /// When the earliest timer is due, across workspaces.
    async fn next_timer_due(&mut self) -> Result<Option<Timestamp>>;
}
