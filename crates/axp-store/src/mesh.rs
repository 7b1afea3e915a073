//! What the server asks of storage for the agent mesh (contract §6 "Mesh"): heartbeats and
//! their daily metrics, health, the kill switch and the mesh event log. A part of
//! [`crate::Store`] (its supertrait), implemented by `axp_engine::Ledger` like the rest.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::ids::ServiceAccountId;

use crate::{Audit, MeshView, Result, ServiceAccountRecord, Tenant, tables};

/// Mesh storage; see [`crate::Store`] for the conventions (every call one transaction or one read).
#[async_trait]
pub trait MeshStore {
    /// Records a heartbeat of `agent` at `now` (contract §6 "Mesh"), adding `metrics` to its row
    /// of `now`'s UTC day; a heartbeat from an agent that was not `healthy` (and not killed)
    /// logs `health.changed`. Returns its mesh state after the heartbeat.
    async fn mesh_heartbeat(
        &self,
        tenant: &Tenant,
        agent: &ServiceAccountRecord,
        metrics: Option<axp_core::mesh::HeartbeatMetrics>,
        now: Timestamp,
    ) -> Result<tables::MeshState>;

    /// The workspace's agents (oldest first, at most [`crate::MESH_AGENTS_MAX`]) with their mesh states
    /// and their metrics of UTC days `from_day..=to_day`.
    async fn mesh_agents(&self, tenant: &Tenant, from_day: i64, to_day: i64) -> Result<MeshView>;

    /// One agent (by its `address_id`, its service account id) with its mesh state, its metrics
    /// of days `from_day..=to_day` and its newest `events` mesh events. Errors:
    /// [`crate::Error::NotFound`].
    async fn mesh_agent(
        &self,
        tenant: &Tenant,
        agent: ServiceAccountId,
        (from_day, to_day): (i64, i64),
        events: u32,
    ) -> Result<(MeshView, Vec<axp_core::mesh::MeshEvent>)>;

    /// Turns agent `agent`'s kill switch on (`killed`) or off at `now`, logs `agent.killed` or
    /// `agent.resumed` and audits it, and drops every replica's cached killed set (the change is
    /// a service account change). Turning it to where it is changes, logs and audits nothing.
    /// Returns the agent and its mesh state after. Errors: [`crate::Error::NotFound`].
    async fn set_agent_killed(
        &self,
        tenant: &Tenant,
        agent: ServiceAccountId,
        killed: bool,
        now: Timestamp,
        by: &Audit,
    ) -> Result<(ServiceAccountRecord, tables::MeshState)>;

    /// The addresses of `tenant`'s killed agents: cached per workspace until a kill or resume
    /// commits anywhere ([`crate::PrincipalCache::killed`]), so checking them costs no database read.
    async fn killed_agents(
        &self,
        tenant: &Tenant,
    ) -> Result<std::sync::Arc<std::collections::BTreeSet<String>>>;

    /// The newest `limit` mesh events of the workspace, newest first, only of `event_type` when
    /// given.
    async fn mesh_events(
        &self,
        tenant: &Tenant,
        event_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<axp_core::mesh::MeshEvent>>;
}
