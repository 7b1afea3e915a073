//! Intents and their event log.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl IntentTable for PgTx {
    async fn intent(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>> {
        let conn = self.conn();
        body(
            q("SELECT body FROM intents WHERE workspace_id = $1 AND intent_id = $2")
                .bind(ws.0)
                .bind(id.0)
                .fetch_optional(conn)
                .await
                .map_err(db)?,
        )
    }

    /// The intent, locked until the transaction ends (the latest committed version).
    async fn intent_for_update(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>> {
        let conn = self.conn();
        body(
            q("SELECT body FROM intents WHERE workspace_id = $1 AND intent_id = $2 FOR UPDATE")
                .bind(ws.0)
                .bind(id.0)
                .fetch_optional(conn)
                .await
                .map_err(db)?,
        )
    }

    /// The intents with these ids, locked, keyed by id.
    async fn intents_for_update(
        &mut self,
        ws: WorkspaceId,
        ids: &[IntentId],
    ) -> Result<HashMap<IntentId, Intent>> {
        let conn = self.conn();
        let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let rows = q("SELECT body FROM intents WHERE workspace_id = $1 AND intent_id = ANY($2) ORDER BY intent_id FOR UPDATE")
            .bind(ws.0)
            .bind(ids)
            .fetch_all(conn)
            .await
            .map_err(db)?;
        bodies::<Intent>(rows).map(|v| v.into_iter().map(|i| (i.intent_id, i)).collect())
    }

    async fn insert_intent(&mut self, ws: WorkspaceId, rows: &IntentRows) -> Result<()> {
        let (conn, intent) = (self.conn(), &rows.intent);
        q("INSERT INTO intents (workspace_id, intent_id, status, to_agent, created_at, body) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ws.0)
            .bind(intent.intent_id.0)
            .bind(intent.status.as_str())
            .bind(&intent.to_agent)
            .bind(intent.created_at.as_millis())
            .bind(&rows.intent_json)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        insert_event_bodies(conn, ws, &rows.events, &rows.event_json).await
    }

    async fn update_intent(&mut self, ws: WorkspaceId, intent: &Intent) -> Result<()> {
        let conn = self.conn();
        q("UPDATE intents SET status = $1, to_agent = $2, body = $3 WHERE workspace_id = $4 AND intent_id = $5")
            .bind(intent.status.as_str())
            .bind(&intent.to_agent)
            .bind(to_json(intent)?)
            .bind(ws.0)
            .bind(intent.intent_id.0)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_events(&mut self, ws: WorkspaceId, events: &[IntentEvent]) -> Result<()> {
        let bodies: Vec<String> = events.iter().map(to_json).collect::<Result<_>>()?;
        insert_event_bodies(self.conn(), ws, events, &bodies).await
    }

    async fn events_since(
        &mut self,
        ws: WorkspaceId,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>> {
        let conn = self.conn();
        bodies(
            q("SELECT body FROM intent_events WHERE workspace_id = $1 AND intent_id = $2 AND seq > $3 ORDER BY seq LIMIT $4")
                .bind(ws.0)
                .bind(id.0)
                .bind(since.min(i64::MAX as u64) as i64)
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await
                .map_err(db)?,
        )
    }

    async fn intent_exists(&mut self, ws: WorkspaceId, id: IntentId) -> Result<bool> {
        let conn = self.conn();
        let row = q("SELECT EXISTS (SELECT 1 FROM intents WHERE workspace_id = $1 AND intent_id = $2)")
            .bind(ws.0)
            .bind(id.0)
            .fetch_one(conn)
            .await
            .map_err(db)?;
        get(&row, 0)
    }

    async fn list_intents(&mut self, ws: WorkspaceId, filter: &IntentFilter) -> Result<Vec<Intent>> {
        let conn = self.conn();
        bodies(
            q("SELECT body FROM intents
                WHERE workspace_id = $1
                  AND (cardinality($2::text[]) = 0 OR status = ANY($2))
                  AND ($3::text IS NULL OR to_agent = $3)
                  AND ($5::bigint IS NULL OR created_at <= $5)
                ORDER BY created_at, intent_id LIMIT $4")
            .bind(ws.0)
            .bind(status_names(&filter.statuses))
            .bind(filter.to_agent.as_deref())
            .bind(i64::from(filter.limit))
            .bind(filter.created_before.map(Timestamp::as_millis))
            .fetch_all(conn)
            .await
            .map_err(db)?,
        )
    }

    async fn register_intent_type(&mut self, ws: WorkspaceId, intent_type: &str) -> Result<()> {
        let conn = self.conn();
        q("INSERT INTO intent_types (workspace_id, intent_type) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(ws.0)
            .bind(intent_type)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn intent_types(&mut self, ws: WorkspaceId) -> Result<Vec<String>> {
        let conn = self.conn();
        let rows = q("SELECT intent_type FROM intent_types WHERE workspace_id = $1 ORDER BY intent_type")
            .bind(ws.0)
            .fetch_all(conn)
            .await
            .map_err(db)?;
        rows.iter().map(|r| get(r, 0)).collect()
    }
}

pub(super) fn status_names(statuses: &[Status]) -> Vec<String> {
    statuses.iter().map(|s| s.as_str().to_owned()).collect()
}

/// Appends `events` in one statement, with `bodies[i]` the serialized `events[i]`.
async fn insert_event_bodies(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    events: &[IntentEvent],
    bodies: &[String],
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.intent_id.0).collect();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
    q("INSERT INTO intent_events (workspace_id, intent_id, seq, body)
       SELECT $1, * FROM UNNEST($2::uuid[], $3::bigint[], $4::text[])")
    .bind(ws.0)
    .bind(ids)
    .bind(seqs)
    .bind(bodies)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}
