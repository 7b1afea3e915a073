//! Workspace quota policies and usage counters (contract §6 "Quotas", "Usage").

use async_trait::async_trait;
use axp_core::ids::WorkspaceId;
use axp_core::quota::{Dimension, QuotaPolicy};

use crate::Result;

/// One count of a dimension's use in a workspace on a UTC day ([`axp_core::quota::day_of`]).
/// Written as increments: the usage meter adds what it counted since its last flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageCount {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// What was used.
    pub dimension: Dimension,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// How much (requests, intents, writes, deliveries or bytes).
    pub count: u64,
}

/// Tables `quota_policies` (one row per workspace that changed its policy) and `usage_counters`
/// (one row per workspace, dimension and day).
#[async_trait]
pub trait QuotaTable {
    /// Workspace `ws`'s stored policy, if it ever changed one.
    async fn get_quota_policy(&mut self, ws: WorkspaceId) -> Result<Option<QuotaPolicy>>;

    /// Stores `policy` as its workspace's (insert or replace).
    async fn put_quota_policy(&mut self, policy: &QuotaPolicy) -> Result<()>;

    /// Adds each count to its (workspace, dimension, day) row, creating it at 0 first.
    async fn add_usage(&mut self, counts: &[UsageCount]) -> Result<()>;

    /// Workspace `ws`'s rows for days `from_day..=to_day`, by day then dimension.
    async fn usage(&mut self, ws: WorkspaceId, from_day: i64, to_day: i64) -> Result<Vec<UsageCount>>;
}
