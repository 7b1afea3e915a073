//! The agent mesh (contract §6 "Mesh"): each agent's last heartbeat and kill switch, its
//! reported metrics per UTC day, and the mesh event log.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::ids::{ServiceAccountId, WorkspaceId};
use axp_core::mesh::{MeshEvent, MetricsTotal};

use crate::Result;

/// An agent's mesh state: a row exists once it sent a heartbeat or was killed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshState {
    /// The agent's service account (its `address_id`).
    pub service_account_id: ServiceAccountId,
    /// Its agent address.
    pub address: String,
    /// Its last heartbeat, if any.
    pub last_heartbeat_at: Option<Timestamp>,
    /// When its kill switch went on, while it is on.
    pub killed_at: Option<Timestamp>,
}

/// One agent's metrics on one UTC day (days since 1970-01-01).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DayMetrics {
    /// The agent.
    pub service_account_id: ServiceAccountId,
    /// The UTC day ([`axp_core::quota::day_of`]).
    pub day: i64,
    /// What its heartbeats reported that day.
    pub total: MetricsTotal,
}

/// Tables `mesh_agents` (one row per agent with a heartbeat or a kill), `mesh_metrics` (one
/// row per agent and UTC day) and `mesh_events`.
#[async_trait]
pub trait MeshTable {
    /// The mesh state of agent `sa` (locked with `for_update`).
    async fn mesh_state(
        &mut self,
        ws: WorkspaceId,
        sa: ServiceAccountId,
        for_update: bool,
    ) -> Result<Option<MeshState>>;

    /// Every agent's mesh state in the workspace (no order).
    async fn mesh_states(&mut self, ws: WorkspaceId) -> Result<Vec<MeshState>>;

    /// Stores `state` as its agent's (insert or replace).
    async fn put_mesh_state(&mut self, ws: WorkspaceId, state: &MeshState) -> Result<()>;

    /// The addresses of the workspace's agents whose kill switch is on.
    async fn killed_addresses(&mut self, ws: WorkspaceId) -> Result<Vec<String>>;

    /// Adds `total` to the agent's row of `day`, creating it at zero first.
    async fn add_mesh_metrics(
        &mut self,
        ws: WorkspaceId,
        sa: ServiceAccountId,
        day: i64,
        total: &MetricsTotal,
    ) -> Result<()>;

    /// The rows of days `from_day..=to_day`, of agent `sa` or (`None`) of every agent.
    async fn mesh_metrics(
        &mut self,
        ws: WorkspaceId,
        sa: Option<ServiceAccountId>,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<DayMetrics>>;

    /// Appends an event to the log.
    async fn insert_mesh_event(&mut self, ws: WorkspaceId, event: &MeshEvent) -> Result<()>;

    /// The newest `limit` events, newest first, only of `event_type` and `address` when given.
    async fn mesh_events(
        &mut self,
        ws: WorkspaceId,
        event_type: Option<&str>,
        address: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MeshEvent>>;
}
