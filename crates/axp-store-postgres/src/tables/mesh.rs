//! The agent mesh: agents' heartbeat and kill-switch state, metrics per day, events.

use async_trait::async_trait;
use axp_core::mesh::{MeshEvent, MetricsTotal};

use super::*;

fn state(r: &PgRow) -> Result<MeshState> {
    Ok(MeshState {
        service_account_id: ServiceAccountId(get(r, 0)?),
        address: get(r, 1)?,
        last_heartbeat_at: get::<Option<i64>>(r, 2)?.map(Timestamp::from_millis),
        killed_at: get::<Option<i64>>(r, 3)?.map(Timestamp::from_millis),
    })
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl MeshTable for PgTx {
    async fn mesh_state(
        &mut self,
        ws: WorkspaceId,
        sa: ServiceAccountId,
        for_update: bool,
    ) -> Result<Option<MeshState>> {
        let sql = if for_update {
            "SELECT service_account_id, address, last_heartbeat_at, killed_at FROM mesh_agents
              WHERE workspace_id = $1 AND service_account_id = $2 FOR UPDATE"
        } else {
            "SELECT service_account_id, address, last_heartbeat_at, killed_at FROM mesh_agents
              WHERE workspace_id = $1 AND service_account_id = $2"
        };
        let row = q(sql).bind(ws.0).bind(sa.0).fetch_optional(self.conn()).await.map_err(db)?;
        row.as_ref().map(state).transpose()
    }

    async fn mesh_states(&mut self, ws: WorkspaceId) -> Result<Vec<MeshState>> {
        let rows = q("SELECT service_account_id, address, last_heartbeat_at, killed_at FROM mesh_agents
                       WHERE workspace_id = $1")
        .bind(ws.0)
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter().map(state).collect()
    }

    async fn put_mesh_state(&mut self, ws: WorkspaceId, s: &MeshState) -> Result<()> {
        q("INSERT INTO mesh_agents (workspace_id, service_account_id, address, last_heartbeat_at, killed_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (workspace_id, service_account_id) DO UPDATE SET address = excluded.address,
               last_heartbeat_at = excluded.last_heartbeat_at, killed_at = excluded.killed_at")
        .bind(ws.0)
        .bind(s.service_account_id.0)
        .bind(&s.address)
        .bind(s.last_heartbeat_at.map(Timestamp::as_millis))
        .bind(s.killed_at.map(Timestamp::as_millis))
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn killed_addresses(&mut self, ws: WorkspaceId) -> Result<Vec<String>> {
        let rows = q("SELECT address FROM mesh_agents WHERE workspace_id = $1 AND killed_at IS NOT NULL")
            .bind(ws.0)
            .fetch_all(self.conn())
            .await
            .map_err(db)?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    async fn add_mesh_metrics(
        &mut self,
        ws: WorkspaceId,
        sa: ServiceAccountId,
        day: i64,
        t: &MetricsTotal,
    ) -> Result<()> {
        q("INSERT INTO mesh_metrics AS m (workspace_id, service_account_id, day, intents_total,
                  intents_succeeded, intents_failed, latency_ms_sum, latency_weight, cost_usd, reports)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (workspace_id, day, service_account_id) DO UPDATE SET
               intents_total = m.intents_total + excluded.intents_total,
               intents_succeeded = m.intents_succeeded + excluded.intents_succeeded,
               intents_failed = m.intents_failed + excluded.intents_failed,
               latency_ms_sum = m.latency_ms_sum + excluded.latency_ms_sum,
               latency_weight = m.latency_weight + excluded.latency_weight,
               cost_usd = m.cost_usd + excluded.cost_usd,
               reports = m.reports + excluded.reports")
        .bind(ws.0)
        .bind(sa.0)
        .bind(day)
        .bind(count(t.intents_total))
        .bind(count(t.intents_succeeded))
        .bind(count(t.intents_failed))
        .bind(t.latency_ms_sum)
        .bind(count(t.latency_weight))
        .bind(t.cost_usd)
        .bind(count(t.reports))
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn mesh_metrics(
        &mut self,
        ws: WorkspaceId,
        sa: Option<ServiceAccountId>,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<DayMetrics>> {
        let rows = q("SELECT service_account_id, day, intents_total, intents_succeeded, intents_failed,
                             latency_ms_sum, latency_weight, cost_usd, reports
                        FROM mesh_metrics
                       WHERE workspace_id = $1 AND day BETWEEN $2 AND $3
                         AND ($4::uuid IS NULL OR service_account_id = $4)")
        .bind(ws.0)
        .bind(from_day)
        .bind(to_day)
        .bind(sa.map(|s| s.0))
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let n = |i: usize| get::<i64>(r, i).map(|v| v.max(0) as u64);
                Ok(DayMetrics {
                    service_account_id: ServiceAccountId(get(r, 0)?),
                    day: get(r, 1)?,
                    total: MetricsTotal {
                        intents_total: n(2)?,
                        intents_succeeded: n(3)?,
                        intents_failed: n(4)?,
                        latency_ms_sum: get(r, 5)?,
                        latency_weight: n(6)?,
                        cost_usd: get(r, 7)?,
                        reports: n(8)?,
                    },
                })
            })
            .collect()
    }

    async fn insert_mesh_event(&mut self, ws: WorkspaceId, e: &MeshEvent) -> Result<()> {
        let details = e.details.as_ref().map(to_json).transpose()?;
        q("INSERT INTO mesh_events (workspace_id, event_id, address, event_type, details, actor_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(ws.0)
        .bind(e.event_id)
        .bind(&e.address)
        .bind(&e.event_type)
        .bind(details)
        .bind(&e.actor_id)
        .bind(e.created_at.as_millis())
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn mesh_events(
        &mut self,
        ws: WorkspaceId,
        event_type: Option<&str>,
        address: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MeshEvent>> {
        let rows = q("SELECT event_id, address, event_type, details, actor_id, created_at FROM mesh_events
                       WHERE workspace_id = $1 AND ($2::text IS NULL OR event_type = $2)
                         AND ($3::text IS NULL OR address = $3)
                       ORDER BY created_at DESC, event_id DESC LIMIT $4")
        .bind(ws.0)
        .bind(event_type)
        .bind(address)
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(MeshEvent {
                    event_id: get(r, 0)?,
                    address: get(r, 1)?,
                    event_type: get(r, 2)?,
                    details: get::<Option<String>>(r, 3)?.as_deref().map(from_json).transpose()?,
                    actor_id: get(r, 4)?,
                    created_at: Timestamp::from_millis(get(r, 5)?),
                })
            })
            .collect()
    }
}
