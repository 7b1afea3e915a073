//! The agent mesh (contract §6 "Mesh"). The rules: a heartbeat stamps the agent's state and adds
//! its metrics to its row of the UTC day, and one from an agent that was not `healthy` logs
//! `health.changed`; a kill or resume that changes the switch logs its event, is audited, drops
//! every replica's cached killed set (`principals_changed`) and wakes the agent's open streams
//! (its queue topic), which then end.

use std::collections::BTreeSet;
use std::sync::Arc;

use axp_core::api::{AuditTarget, actions};
use axp_core::ids::ServiceAccountId;
use axp_core::mesh::{HealthStatus, HeartbeatMetrics, MeshEvent, MetricsTotal, event_types};
use axp_core::quota::day_of;
use axp_core::{Timestamp, WorkspaceId};
use axp_store::tables::MeshState;
use axp_store::{
    Audit, Error, MESH_AGENTS_MAX, MeshView, Result, ServiceAccountRecord, Tenant, Topic, Transaction,
};
use serde_json::{Map, Value};

use super::Ledger;
use super::audit::{At, details, record};

/// A new mesh event about `address`.
fn event(
    address: &str,
    event_type: &str,
    details: Option<Map<String, Value>>,
    actor: Option<String>,
    now: Timestamp,
) -> MeshEvent {
    MeshEvent {
        event_id: uuid::Uuid::now_v7(),
        address: address.to_owned(),
        event_type: event_type.to_owned(),
        details,
        actor_id: actor,
        created_at: now,
    }
}

/// The agent's current state, or a fresh one (no heartbeat, not killed).
async fn state_for_update(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    sa: &ServiceAccountRecord,
) -> Result<MeshState> {
    Ok(tx.mesh_state(ws, sa.service_account_id, true).await?.unwrap_or_else(|| MeshState {
        service_account_id: sa.service_account_id,
        address: sa.agent_address.clone(),
        last_heartbeat_at: None,
        killed_at: None,
    }))
}

/// [`axp_store::MeshStore`] for [`Ledger`].
#[async_trait::async_trait]
impl axp_store::MeshStore for Ledger {
    async fn mesh_heartbeat(
        &self,
        tenant: &Tenant,
        agent: &ServiceAccountRecord,
        metrics: Option<HeartbeatMetrics>,
        now: Timestamp,
    ) -> Result<MeshState> {
        self.write((tenant.workspace_id, agent.clone(), metrics, now), |(ws, sa, metrics, now), tx| {
            Box::pin(async move {
                let (ws, now) = (*ws, *now);
                let mut state = state_for_update(tx, ws, sa).await?;
                let before = HealthStatus::derive(now, state.last_heartbeat_at, state.killed_at.is_some());
                state.last_heartbeat_at = Some(state.last_heartbeat_at.map_or(now, |at| at.max(now)));
                tx.put_mesh_state(ws, &state).await?;
                if !matches!(before, HealthStatus::Healthy | HealthStatus::Killed) {
                    let change = details([
                        ("from", Value::String(before.as_str().into())),
                        ("to", Value::String(HealthStatus::Healthy.as_str().into())),
                    ]);
                    let e = event(&state.address, event_types::HEALTH_CHANGED, Some(change), None, now);
                    tx.insert_mesh_event(ws, &e).await?;
                }
                if let Some(m) = metrics {
                    tx.add_mesh_metrics(ws, sa.service_account_id, day_of(now), &MetricsTotal::of(m)).await?;
                }
                Ok(state)
            })
        })
        .await
    }

    async fn mesh_agents(&self, tenant: &Tenant, from_day: i64, to_day: i64) -> Result<MeshView> {
        self.read((tenant.workspace_id, from_day, to_day), |(ws, from, to), tx| {
            Box::pin(async move {
                Ok(MeshView {
                    agents: tx.list_agents(*ws, MESH_AGENTS_MAX).await?,
                    states: tx.mesh_states(*ws).await?,
                    metrics: tx.mesh_metrics(*ws, None, *from, *to).await?,
                })
            })
        })
        .await
    }

    async fn mesh_agent(
        &self,
        tenant: &Tenant,
        agent: ServiceAccountId,
        days: (i64, i64),
        events: u32,
    ) -> Result<(MeshView, Vec<MeshEvent>)> {
        self.read((tenant.clone(), agent, days, events), |(tenant, id, (from, to), limit), tx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                let sa = tx.service_account(tenant, *id, false).await?.ok_or(Error::NotFound)?;
                let state = tx.mesh_state(ws, *id, false).await?;
                let metrics = tx.mesh_metrics(ws, Some(*id), *from, *to).await?;
                let events = tx.mesh_events(ws, None, Some(&sa.agent_address), *limit).await?;
                Ok((MeshView { agents: vec![sa], states: state.into_iter().collect(), metrics }, events))
            })
        })
        .await
    }

    async fn set_agent_killed(
        &self,
        tenant: &Tenant,
        agent: ServiceAccountId,
        killed: bool,
        now: Timestamp,
        by: &Audit,
    ) -> Result<(ServiceAccountRecord, MeshState)> {
        let args = (tenant.clone(), agent, killed, now, by.clone());
        self.write(args, |(tenant, id, killed, now, by), tx| {
            Box::pin(async move {
                let (ws, now) = (tenant.workspace_id, *now);
                let sa = tx.service_account(tenant, *id, true).await?.ok_or(Error::NotFound)?;
                let mut state = state_for_update(tx, ws, &sa).await?;
                if state.killed_at.is_some() == *killed {
                    return Ok((sa, state));
                }
                state.killed_at = killed.then_some(now);
                tx.put_mesh_state(ws, &state).await?;
                let (kind, action) = if *killed {
                    (event_types::AGENT_KILLED, actions::AGENT_KILLED)
                } else {
                    (event_types::AGENT_RESUMED, actions::AGENT_RESUMED)
                };
                let e = event(&state.address, kind, None, Some(by.actor.id.clone()), now);
                tx.insert_mesh_event(ws, &e).await?;
                let target = AuditTarget::new("service_account", sa.service_account_id);
                let audit = details([("address", Value::String(state.address.clone()))]);
                record(tx, by, At::tenant(tenant, now), action, target, audit).await?;
                tx.principals_changed();
                tx.announce(Topic::Agent(ws, state.address.clone()));
                Ok((sa, state))
            })
        })
        .await
    }

    async fn killed_agents(&self, tenant: &Tenant) -> Result<Arc<BTreeSet<String>>> {
        let ws = tenant.workspace_id;
        let cache = self.backend.principals();
        if let Some(set) = cache.killed(ws) {
            return Ok(set);
        }
        let generation = cache.killed_generation();
        let set: Arc<BTreeSet<String>> =
            Arc::new(self.read(ws, |ws, tx| tx.killed_addresses(*ws)).await?.into_iter().collect());
        cache.insert_killed(ws, set.clone(), generation);
        Ok(set)
    }

    async fn mesh_events(
        &self,
        tenant: &Tenant,
        event_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MeshEvent>> {
        let args = (tenant.workspace_id, event_type.map(str::to_owned), limit);
        self.read(args, |(ws, kind, limit), tx| tx.mesh_events(*ws, kind.as_deref(), None, *limit)).await
    }
}
