//! Durable timers.

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::params;

use super::*;

#[async_trait]
impl TimerTable for SqliteTx<'_> {
    /// Schedules `timers` for an intent, replacing any with the same key.
    async fn schedule(&mut self, ws: WorkspaceId, intent_id: IntentId, timers: &[Timer]) -> Result<()> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "INSERT OR REPLACE INTO timers (workspace_id, intent_id, key, kind, due_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?;
        for t in timers {
            stmt.execute(params![
                ws.to_string(),
                intent_id.to_string(),
                t.kind.key(),
                to_json(&t.kind)?,
                t.due_at.as_millis()
            ])
            .map_err(db)?;
        }
        Ok(())
    }

    /// Drops every timer of an intent (it ended).
    async fn clear_timers(&mut self, ws: WorkspaceId, intent_id: IntentId) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached("DELETE FROM timers WHERE workspace_id = ?1 AND intent_id = ?2")
            .map_err(db)?
            .execute(params![ws.to_string(), intent_id.to_string()])
            .map_err(db)?;
        Ok(())
    }

    async fn take_due_timers(&mut self, now: Timestamp, limit: u32) -> Result<Vec<DueTimer>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT workspace_id, intent_id, kind, due_at FROM timers WHERE due_at <= ?1 ORDER BY due_at LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![now.as_millis(), limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(db)?;
        let due = rows
            .map(|row| {
                let (ws, id, kind, due_at) = row.map_err(db)?;
                Ok(DueTimer {
                    workspace_id: WorkspaceId(uuid_of(&ws)?),
                    intent_id: IntentId(uuid_of(&id)?),
                    kind: from_json(&kind)?,
                    due_at: Timestamp::from_millis(due_at),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        drop(stmt);
        // One writer: deleting them in this transaction is taking them.
        for timer in &due {
            delete_timer(conn, timer.workspace_id, timer.intent_id, timer.kind.key())?;
        }
        Ok(due)
    }

    async fn next_timer_due(&mut self) -> Result<Option<Timestamp>> {
        let conn = &*self.conn;
        conn.prepare_cached("SELECT MIN(due_at) FROM timers")
            .map_err(db)?
            .query_row([], |r| r.get::<_, Option<i64>>(0))
            .map(|t| t.map(Timestamp::from_millis))
            .map_err(db)
    }
}

fn delete_timer(conn: &Connection, ws: WorkspaceId, intent_id: IntentId, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM timers WHERE workspace_id = ?1 AND intent_id = ?2 AND key = ?3")
        .map_err(db)?
        .execute(params![ws.to_string(), intent_id.to_string(), key])
        .map_err(db)?;
    Ok(())
}
