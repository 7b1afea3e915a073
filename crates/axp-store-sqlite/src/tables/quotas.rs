//! Quota policies and usage counters.

use async_trait::async_trait;
use axp_core::quota::{Dimension, OverageMode, QuotaPolicy};
use axp_store::tables::{QuotaTable, UsageCount};
use r2d2_sqlite::rusqlite::OptionalExtension;

use super::*;

#[async_trait]
impl QuotaTable for SqliteTx<'_> {
    async fn get_quota_policy(&mut self, ws: WorkspaceId) -> Result<Option<QuotaPolicy>> {
        type Raw = (String, String, String, i64, bool, String, Option<String>, Option<i64>);
        let raw: Option<Raw> = self
            .conn
            .prepare_cached(
                "SELECT org_id, quota_policy_id, dimensions, soft_threshold_percent, hard_enforcement,
                        overage_mode, updated_by_actor_id, updated_at
                   FROM quota_policies WHERE workspace_id = ?1",
            )
            .map_err(db)?
            .query_row(params![ws.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })
            .optional()
            .map_err(db)?;
        let Some((org, id, dims, soft, hard, mode, by, at)) = raw else { return Ok(None) };
        Ok(Some(QuotaPolicy {
            quota_policy_id: id,
            org_id: OrgId(uuid_of(&org)?),
            workspace_id: ws,
            dimensions: from_json(&dims)?,
            soft_threshold_percent: soft.clamp(1, 100) as u8,
            hard_enforcement: hard,
            overage_mode: OverageMode::parse(&mode)
                .ok_or_else(|| Error::Internal(format!("unknown overage mode {mode:?}")))?,
            updated_by_actor_id: by,
            updated_at: at.map(Timestamp::from_millis),
        }))
    }

    async fn put_quota_policy(&mut self, p: &QuotaPolicy) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO quota_policies (workspace_id, org_id, quota_policy_id, dimensions,
                        soft_threshold_percent, hard_enforcement, overage_mode, updated_by_actor_id, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(db)?
            .execute(params![
                p.workspace_id.to_string(),
                p.org_id.to_string(),
                p.quota_policy_id,
                to_json(&p.dimensions)?,
                p.soft_threshold_percent,
                p.hard_enforcement,
                p.overage_mode.as_str(),
                p.updated_by_actor_id,
                p.updated_at.map(Timestamp::as_millis)
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn add_usage(&mut self, counts: &[UsageCount]) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO usage_counters (workspace_id, dimension, day, count) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (workspace_id, day, dimension) DO UPDATE SET count = count + excluded.count",
            )
            .map_err(db)?;
        for c in counts {
            let n = i64::try_from(c.count).unwrap_or(i64::MAX);
            stmt.execute(params![c.workspace_id.to_string(), c.dimension.as_str(), c.day, n]).map_err(db)?;
        }
        Ok(())
    }

    async fn usage(&mut self, ws: WorkspaceId, from_day: i64, to_day: i64) -> Result<Vec<UsageCount>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT dimension, day, count FROM usage_counters
                  WHERE workspace_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day, dimension",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ws.to_string(), from_day, to_day], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (dim, day, count) = row.map_err(db)?;
            let dimension = Dimension::parse(&dim)
                .ok_or_else(|| Error::Internal(format!("unknown dimension {dim:?}")))?;
            out.push(UsageCount { workspace_id: ws, dimension, day, count: count.max(0) as u64 });
        }
        Ok(out)
    }
}
