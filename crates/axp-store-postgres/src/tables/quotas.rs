//! Quota policies and usage counters.

use async_trait::async_trait;
use axp_core::quota::{Dimension, OverageMode, QuotaPolicy};

use super::*;

#[async_trait]
impl QuotaTable for PgTx {
    async fn get_quota_policy(&mut self, ws: WorkspaceId) -> Result<Option<QuotaPolicy>> {
        let row = q("SELECT org_id, quota_policy_id, dimensions, soft_threshold_percent, hard_enforcement,
                            overage_mode, updated_by_actor_id, updated_at
                       FROM quota_policies WHERE workspace_id = $1")
        .bind(ws.0)
        .fetch_optional(self.conn())
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        let mode: String = get(&r, 5)?;
        Ok(Some(QuotaPolicy {
            org_id: OrgId(get(&r, 0)?),
            quota_policy_id: get(&r, 1)?,
            workspace_id: ws,
            dimensions: from_json(&get::<String>(&r, 2)?)?,
            soft_threshold_percent: get::<i32>(&r, 3)?.clamp(1, 100) as u8,
            hard_enforcement: get(&r, 4)?,
            overage_mode: OverageMode::parse(&mode)
                .ok_or_else(|| Error::Internal(format!("unknown overage mode {mode:?}")))?,
            updated_by_actor_id: get(&r, 6)?,
            updated_at: get::<Option<i64>>(&r, 7)?.map(Timestamp::from_millis),
        }))
    }

    async fn put_quota_policy(&mut self, p: &QuotaPolicy) -> Result<()> {
        q("INSERT INTO quota_policies (workspace_id, org_id, quota_policy_id, dimensions, soft_threshold_percent,
                                       hard_enforcement, overage_mode, updated_by_actor_id, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (workspace_id) DO UPDATE SET
               dimensions = excluded.dimensions, soft_threshold_percent = excluded.soft_threshold_percent,
               hard_enforcement = excluded.hard_enforcement, overage_mode = excluded.overage_mode,
               updated_by_actor_id = excluded.updated_by_actor_id, updated_at = excluded.updated_at")
        .bind(p.workspace_id.0)
        .bind(p.org_id.0)
        .bind(&p.quota_policy_id)
        .bind(to_json(&p.dimensions)?)
        .bind(i32::from(p.soft_threshold_percent))
        .bind(p.hard_enforcement)
        .bind(p.overage_mode.as_str())
        .bind(&p.updated_by_actor_id)
        .bind(p.updated_at.map(Timestamp::as_millis))
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    /// One statement for the whole batch; rows are locked in the order given (the engine sorts
    /// them, so concurrent replicas' flushes do not deadlock).
    async fn add_usage(&mut self, counts: &[UsageCount]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let ws: Vec<Uuid> = counts.iter().map(|c| c.workspace_id.0).collect();
        let dims: Vec<&str> = counts.iter().map(|c| c.dimension.as_str()).collect();
        let days: Vec<i64> = counts.iter().map(|c| c.day).collect();
        let ns: Vec<i64> = counts.iter().map(|c| i64::try_from(c.count).unwrap_or(i64::MAX)).collect();
        q("INSERT INTO usage_counters (workspace_id, dimension, day, count)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[])
           ON CONFLICT (workspace_id, day, dimension) DO UPDATE SET count = usage_counters.count + excluded.count")
        .bind(ws)
        .bind(dims)
        .bind(days)
        .bind(ns)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn usage(&mut self, ws: WorkspaceId, from_day: i64, to_day: i64) -> Result<Vec<UsageCount>> {
        let rows = q("SELECT dimension, day, count FROM usage_counters
                       WHERE workspace_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day, dimension")
        .bind(ws.0)
        .bind(from_day)
        .bind(to_day)
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let dim: String = get(r, 0)?;
                let dimension = Dimension::parse(&dim)
                    .ok_or_else(|| Error::Internal(format!("unknown dimension {dim:?}")))?;
                Ok(UsageCount {
                    workspace_id: ws,
                    dimension,
                    day: get(r, 1)?,
                    count: get::<i64>(r, 2)?.max(0) as u64,
                })
            })
            .collect()
    }
}
