//! Intents and their event log.

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl IntentTable for SqliteTx<'_> {
    async fn intent(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>> {
        let conn = &*self.conn;
        conn.prepare_cached("SELECT body FROM intents WHERE workspace_id = ?1 AND intent_id = ?2")
            .map_err(db)?
            .query_row(params![ws.to_string(), id.to_string()], |r| r.get::<_, String>(0))
            .optional()
            .map_err(db)?
            .map(|b| from_json(&b))
            .transpose()
    }

    async fn intent_for_update(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>> {
        // One writer: a read in its transaction is as good as a lock.
        self.intent(ws, id).await
    }

    async fn intents_for_update(
        &mut self,
        ws: WorkspaceId,
        ids: &[IntentId],
    ) -> Result<HashMap<IntentId, Intent>> {
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(intent) = self.intent(ws, *id).await? {
                out.insert(*id, intent);
            }
        }
        Ok(out)
    }

    async fn insert_intent(&mut self, ws: WorkspaceId, rows: &IntentRows) -> Result<()> {
        let conn = &*self.conn;
        let intent = &rows.intent;
        conn.prepare_cached(
            "INSERT INTO intents (workspace_id, intent_id, status, to_agent, created_at, body, finished_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db)?
        .execute(params![
            ws.to_string(),
            intent.intent_id.to_string(),
            intent.status.as_str(),
            intent.to_agent,
            intent.created_at.as_millis(),
            rows.intent_json,
            intent.finished_at().map(Timestamp::as_millis)
        ])
        .map_err(db)?;
        insert_event_bodies(conn, ws, &rows.events, &rows.event_json)
    }

    async fn update_intent(&mut self, ws: WorkspaceId, intent: &Intent) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "UPDATE intents SET status = ?1, to_agent = ?2, body = ?3, finished_at = ?6 WHERE workspace_id = ?4 AND intent_id = ?5",
        )
        .map_err(db)?
        .execute(params![
            intent.status.as_str(),
            intent.to_agent,
            to_json(intent)?,
            ws.to_string(),
            intent.intent_id.to_string(),
            intent.finished_at().map(Timestamp::as_millis)
        ])
        .map_err(db)?;
        Ok(())
    }

    async fn insert_events(&mut self, ws: WorkspaceId, events: &[IntentEvent]) -> Result<()> {
        let conn = &*self.conn;
        let bodies = events.iter().map(to_json).collect::<Result<Vec<_>>>()?;
        insert_event_bodies(conn, ws, events, &bodies)
    }

    async fn events_since(
        &mut self,
        ws: WorkspaceId,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT body FROM intent_events WHERE workspace_id = ?1 AND intent_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(
                params![ws.to_string(), id.to_string(), since.min(i64::MAX as u64) as i64, limit],
                |r| r.get::<_, String>(0),
            )
            .map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    async fn intent_exists(&mut self, ws: WorkspaceId, id: IntentId) -> Result<bool> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM intents WHERE workspace_id = ?1 AND intent_id = ?2)",
        )
        .map_err(db)?
        .query_row(params![ws.to_string(), id.to_string()], |r| r.get(0))
        .map_err(db)
    }

    async fn list_intents(&mut self, ws: WorkspaceId, filter: &IntentFilter) -> Result<Vec<Intent>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT body FROM intents
                  WHERE workspace_id = ?1
                    AND (?2 = ',' OR instr(?2, ',' || status || ',') > 0)
                    AND (?3 IS NULL OR to_agent = ?3)
                    AND (?5 IS NULL OR created_at <= ?5)
                  ORDER BY created_at, intent_id LIMIT ?4",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(
                params![
                    ws.to_string(),
                    status_set(&filter.statuses),
                    filter.to_agent,
                    filter.limit,
                    filter.created_before.map(Timestamp::as_millis)
                ],
                |r| r.get::<_, String>(0),
            )
            .map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    async fn register_intent_type(&mut self, ws: WorkspaceId, intent_type: &str) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached("INSERT OR IGNORE INTO intent_types (workspace_id, intent_type) VALUES (?1, ?2)")
            .map_err(db)?
            .execute(params![ws.to_string(), intent_type])
            .map_err(db)?;
        Ok(())
    }

    async fn intent_types(&mut self, ws: WorkspaceId) -> Result<Vec<String>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT intent_type FROM intent_types WHERE workspace_id = ?1 ORDER BY intent_type",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![ws.to_string()], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.map(|r| r.map_err(db)).collect()
    }
}

/// Appends `events`, with `bodies[i]` the serialized `events[i]`.
fn insert_event_bodies(
    conn: &Connection,
    ws: WorkspaceId,
    events: &[IntentEvent],
    bodies: &[String],
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO intent_events (workspace_id, intent_id, seq, body) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db)?;
    let ws = ws.to_string();
    for (e, body) in events.iter().zip(bodies) {
        stmt.execute(params![ws, e.intent_id.to_string(), e.seq as i64, body]).map_err(db)?;
    }
    Ok(())
}

/// Comma-wrapped status list for `instr()` matching: `,SUBMITTED,DELIVERED,`.
pub(super) fn status_set(statuses: &[Status]) -> String {
    let mut s = String::from(",");
    for st in statuses {
        s.push_str(st.as_str());
        s.push(',');
    }
    s
}
