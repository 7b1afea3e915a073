//! Durable timers.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl TimerTable for PgTx {
    /// Schedules `timers` for an intent, replacing any with the same key.
    async fn schedule(&mut self, ws: WorkspaceId, intent_id: IntentId, timers: &[Timer]) -> Result<()> {
        let conn = self.conn();
        for t in timers {
            q("INSERT INTO timers (workspace_id, intent_id, key, kind, due_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (workspace_id, intent_id, key) DO UPDATE SET kind = EXCLUDED.kind, due_at = EXCLUDED.due_at")
            .bind(ws.0)
            .bind(intent_id.0)
            .bind(t.kind.key())
            .bind(to_json(&t.kind)?)
            .bind(t.due_at.as_millis())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    /// Drops every timer of an intent (it ended).
    async fn clear_timers(&mut self, ws: WorkspaceId, intent_id: IntentId) -> Result<()> {
        let conn = self.conn();
        q("DELETE FROM timers WHERE workspace_id = $1 AND intent_id = $2")
            .bind(ws.0)
            .bind(intent_id.0)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Takes up to `limit` timers due at `now`, earliest first, across all workspaces: deletes them
    /// and returns them. Timers another transaction holds are skipped, so each timer is taken by
    /// one transaction on one replica; if that transaction rolls back, the timer is back.
    async fn take_due_timers(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DueTimer>> {
        let conn = self.conn();
        let rows = q("DELETE FROM timers t USING (
                          SELECT workspace_id, intent_id, key FROM timers WHERE due_at <= $1
                           ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) d
                       WHERE t.workspace_id = d.workspace_id AND t.intent_id = d.intent_id AND t.key = d.key
                       RETURNING t.workspace_id, t.intent_id, t.kind, t.due_at")
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?;
        let mut due: Vec<DueTimer> = rows
            .iter()
            .map(|r| {
                Ok(DueTimer {
                    workspace_id: WorkspaceId(get(r, 0)?),
                    intent_id: IntentId(get(r, 1)?),
                    kind: from_json(&get::<String>(r, 2)?)?,
                    due_at: Timestamp::from_millis(get(r, 3)?),
                })
            })
            .collect::<Result<_>>()?;
        due.sort_by_key(|t| t.due_at);
        Ok(due)
    }

    async fn next_timer_due(&mut self) -> Result<Option<Timestamp>> {
        let conn = self.conn();
        let row = q("SELECT MIN(due_at) FROM timers").fetch_one(conn).await.map_err(db)?;
        Ok(get::<Option<i64>>(&row, 0)?.map(Timestamp::from_millis))
    }
}
