//! The agent mesh: agents' heartbeat and kill-switch state, metrics per day, events.

use async_trait::async_trait;
use axp_core::mesh::{MeshEvent, MetricsTotal};
use axp_store::tables::{DayMetrics, MeshState, MeshTable};
use r2d2_sqlite::rusqlite::{OptionalExtension, Row};

use super::*;

const STATE: &str = "SELECT service_account_id, address, last_heartbeat_at, killed_at FROM mesh_agents";

fn state(r: &Row<'_>) -> rusqlite::Result<(String, String, Option<i64>, Option<i64>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_state((sa, address, hb, killed): (String, String, Option<i64>, Option<i64>)) -> Result<MeshState> {
    Ok(MeshState {
        service_account_id: ServiceAccountId(uuid_of(&sa)?),
        address,
        last_heartbeat_at: hb.map(Timestamp::from_millis),
        killed_at: killed.map(Timestamp::from_millis),
    })
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl MeshTable for SqliteTx<'_> {
    async fn mesh_state(
        &mut self,
        ws: WorkspaceId,
        sa: ServiceAccountId,
        _for_update: bool,
    ) -> Result<Option<MeshState>> {
        let raw = self
            .conn
            .prepare_cached(&format!("{STATE} WHERE workspace_id = ?1 AND service_account_id = ?2"))
            .map_err(db)?
            .query_row(params![ws.to_string(), sa.to_string()], state)
            .optional()
            .map_err(db)?;
        raw.map(to_state).transpose()
    }

    async fn mesh_states(&mut self, ws: WorkspaceId) -> Result<Vec<MeshState>> {
        let mut stmt = self.conn.prepare_cached(&format!("{STATE} WHERE workspace_id = ?1")).map_err(db)?;
        let rows = stmt.query_map(params![ws.to_string()], state).map_err(db)?;
        rows.map(|r| to_state(r.map_err(db)?)).collect()
    }

    async fn put_mesh_state(&mut self, ws: WorkspaceId, s: &MeshState) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO mesh_agents
                        (workspace_id, service_account_id, address, last_heartbeat_at, killed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![
                ws.to_string(),
                s.service_account_id.to_string(),
                s.address,
                s.last_heartbeat_at.map(Timestamp::as_millis),
                s.killed_at.map(Timestamp::as_millis)
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn killed_addresses(&mut self, ws: WorkspaceId) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT address FROM mesh_agents WHERE workspace_id = ?1 AND killed_at IS NOT NULL",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![ws.to_string()], |r| r.get(0)).map_err(db)?;
        rows.map(|r| r.map_err(db)).collect()
    }

    async fn add_mesh_metrics(
        &mut self,
        ws: WorkspaceId,
        sa: ServiceAccountId,
        day: i64,
        t: &MetricsTotal,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO mesh_metrics (workspace_id, service_account_id, day, intents_total,
                        intents_succeeded, intents_failed, latency_ms_sum, latency_weight, cost_usd, reports)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (workspace_id, day, service_account_id) DO UPDATE SET
                     intents_total = intents_total + excluded.intents_total,
                     intents_succeeded = intents_succeeded + excluded.intents_succeeded,
                     intents_failed = intents_failed + excluded.intents_failed,
                     latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
                     latency_weight = latency_weight + excluded.latency_weight,
                     cost_usd = cost_usd + excluded.cost_usd,
                     reports = reports + excluded.reports",
            )
            .map_err(db)?
            .execute(params![
                ws.to_string(),
                sa.to_string(),
                day,
                count(t.intents_total),
                count(t.intents_succeeded),
                count(t.intents_failed),
                t.latency_ms_sum,
                count(t.latency_weight),
                t.cost_usd,
                count(t.reports)
            ])
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
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT service_account_id, day, intents_total, intents_succeeded, intents_failed,
                        latency_ms_sum, latency_weight, cost_usd, reports
                   FROM mesh_metrics
                  WHERE workspace_id = ?1 AND day BETWEEN ?2 AND ?3
                    AND (?4 IS NULL OR service_account_id = ?4)",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ws.to_string(), from_day, to_day, sa.map(|s| s.to_string())], |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    MetricsTotal {
                        intents_total: n(2)?,
                        intents_succeeded: n(3)?,
                        intents_failed: n(4)?,
                        latency_ms_sum: r.get(5)?,
                        latency_weight: n(6)?,
                        cost_usd: r.get(7)?,
                        reports: n(8)?,
                    },
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (sa, day, total) = row.map_err(db)?;
            out.push(DayMetrics { service_account_id: ServiceAccountId(uuid_of(&sa)?), day, total });
        }
        Ok(out)
    }

    async fn insert_mesh_event(&mut self, ws: WorkspaceId, e: &MeshEvent) -> Result<()> {
        let details = e.details.as_ref().map(to_json).transpose()?;
        self.conn
            .prepare_cached(
                "INSERT INTO mesh_events (workspace_id, event_id, address, event_type, details, actor_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(db)?
            .execute(params![
                ws.to_string(),
                e.event_id.to_string(),
                e.address,
                e.event_type,
                details,
                e.actor_id,
                e.created_at.as_millis()
            ])
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
        type Raw = (String, String, String, Option<String>, Option<String>, i64);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT event_id, address, event_type, details, actor_id, created_at FROM mesh_events
                  WHERE workspace_id = ?1 AND (?2 IS NULL OR event_type = ?2) AND (?3 IS NULL OR address = ?3)
                  ORDER BY created_at DESC, event_id DESC LIMIT ?4",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ws.to_string(), event_type, address, limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, address, event_type, details, actor_id, at): Raw = row.map_err(db)?;
            out.push(MeshEvent {
                event_id: uuid_of(&id)?,
                address,
                event_type,
                details: details.as_deref().map(from_json).transpose()?,
                actor_id,
                created_at: Timestamp::from_millis(at),
            });
        }
        Ok(out)
    }
}
