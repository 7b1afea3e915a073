//! Retention settings and the removal of rows past retention (docs/retention.md).

use async_trait::async_trait;
use axp_core::retention::RetentionOverrides;

use super::*;

/// Rows that belong to one intent alone, by the statement that removes them (`$1` workspace,
/// `$2` the intents); the intent rows themselves go last.
const INTENT_ROWS: [&str; 9] = [
    "DELETE FROM intent_events WHERE workspace_id = $1 AND intent_id = ANY($2)",
    "DELETE FROM agent_queue WHERE workspace_id = $1 AND intent_id = ANY($2)",
    "DELETE FROM timers WHERE workspace_id = $1 AND intent_id = ANY($2)",
    "DELETE FROM thread_participants WHERE workspace_id = $1 AND thread_id = ANY($2)",
    "DELETE FROM thread_entries WHERE workspace_id = $1 AND thread_id = ANY($2)",
    "DELETE FROM approvals WHERE workspace_id = $1 AND approval_id = ANY($2)",
    "DELETE FROM deliveries WHERE workspace_id = $1 AND intent_id = ANY($2) AND status IN ('delivered', 'failed')",
    "DELETE FROM routed_deliveries WHERE workspace_id = $1 AND intent_id = ANY($2)",
    "DELETE FROM intents WHERE workspace_id = $1 AND intent_id = ANY($2)",
];

#[async_trait]
impl RetentionTable for PgTx {
    async fn retention_overrides(&mut self, ws: WorkspaceId) -> Result<Option<RetentionOverrides>> {
        let row = q("SELECT body FROM retention_settings WHERE workspace_id = $1")
            .bind(ws.0)
            .fetch_optional(self.conn())
            .await
            .map_err(db)?;
        body(row)
    }

    async fn put_retention_overrides(
        &mut self,
        ws: WorkspaceId,
        overrides: &RetentionOverrides,
        now: Timestamp,
    ) -> Result<()> {
        q("INSERT INTO retention_settings (workspace_id, body, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (workspace_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at")
        .bind(ws.0)
        .bind(to_json(overrides)?)
        .bind(now.as_millis())
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn retention_workspaces(&mut self) -> Result<Vec<(WorkspaceId, Option<RetentionOverrides>)>> {
        let rows = q("SELECT w.workspace_id, r.body FROM workspaces w
                        LEFT JOIN retention_settings r ON r.workspace_id = w.workspace_id
                       ORDER BY w.workspace_id")
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let body: Option<String> = get(r, 1)?;
                Ok((WorkspaceId(get(r, 0)?), body.as_deref().map(from_json).transpose()?))
            })
            .collect()
    }

    async fn finished_before(
        &mut self,
        ws: WorkspaceId,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<IntentId>> {
        self.flush().await?;
        let rows = q("SELECT intent_id FROM intents
                       WHERE workspace_id = $1 AND finished_at IS NOT NULL AND finished_at < $2
                       ORDER BY finished_at LIMIT $3")
        .bind(ws.0)
        .bind(before.as_millis())
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter().map(|r| Ok(IntentId(get(r, 0)?))).collect()
    }

    async fn intent_deliveries(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Vec<Delivery>> {
        let rows = q("SELECT body FROM deliveries WHERE workspace_id = $1 AND intent_id = $2
                       ORDER BY created_at, delivery_id")
        .bind(ws.0)
        .bind(id.0)
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        bodies(rows)
    }

    async fn remove_intents(&mut self, ws: WorkspaceId, ids: &[IntentId]) -> Result<u64> {
        self.flush().await?;
        let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let mut removed = 0;
        for sql in INTENT_ROWS {
            removed = q(sql).bind(ws.0).bind(&ids).execute(self.conn()).await.map_err(db)?.rows_affected();
        }
        Ok(removed)
    }

    async fn remove_dead_letters(&mut self, ws: WorkspaceId, before: Timestamp, limit: u32) -> Result<u64> {
        let sql = "DELETE FROM deliveries WHERE workspace_id = $1 AND delivery_id IN (
                       SELECT delivery_id FROM deliveries
                        WHERE workspace_id = $1 AND status = 'dead_lettered' AND created_at < $2 LIMIT $3)";
        self.delete_batch(sql, Some(ws), before, limit).await
    }

    async fn remove_webhook_events(&mut self, ws: WorkspaceId, before: Timestamp, limit: u32) -> Result<u64> {
        let events = "DELETE FROM webhook_events WHERE workspace_id = $1 AND event_id IN (
                          SELECT event_id FROM webhook_events WHERE workspace_id = $1 AND occurred_at < $2 LIMIT $3)";
        let deliveries = "DELETE FROM deliveries WHERE workspace_id = $1 AND delivery_id IN (
                              SELECT delivery_id FROM deliveries
                               WHERE workspace_id = $1 AND status IN ('delivered', 'failed') AND created_at < $2
                                 AND kind = 'webhook' LIMIT $3)";
        Ok(self.delete_batch(events, Some(ws), before, limit).await?
            + self.delete_batch(deliveries, Some(ws), before, limit).await?)
    }

    async fn remove_expired_idempotency(&mut self, now: Timestamp, limit: u32) -> Result<u64> {
        let sql = "DELETE FROM idempotency WHERE ctid IN (SELECT ctid FROM idempotency WHERE expires_at < $1 LIMIT $2)";
        self.delete_batch(sql, None, now, limit).await
    }

    async fn remove_audit_before(&mut self, before: Timestamp, limit: u32) -> Result<u64> {
        let sql = "DELETE FROM audit_log WHERE audit_id IN (SELECT audit_id FROM audit_log WHERE created_at < $1 LIMIT $2)";
        self.delete_batch(sql, None, before, limit).await
    }

    /// Autovacuum makes freed space reusable; batched deletes keep each one small.
    async fn reclaim_space(&mut self, _pages: u32) -> Result<()> {
        Ok(())
    }
}

impl PgTx {
    /// Runs one batched `DELETE`, bound as (`ws` when given, `before` in milliseconds, `limit`);
    /// answers the rows removed.
    async fn delete_batch(
        &mut self,
        sql: &str,
        ws: Option<WorkspaceId>,
        before: Timestamp,
        limit: u32,
    ) -> Result<u64> {
        let mut query = q(sql);
        if let Some(ws) = ws {
            query = query.bind(ws.0);
        }
        let done =
            query.bind(before.as_millis()).bind(i64::from(limit)).execute(self.conn()).await.map_err(db)?;
        Ok(done.rows_affected())
    }
}
