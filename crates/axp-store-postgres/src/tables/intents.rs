//! Intents and their event log.

use async_trait::async_trait;
use axp_core::api::SortOrder;
use axp_store::{pack_events, pack_intent, unpack_events, unpack_intent};
use sqlx_core::query_builder::QueryBuilder;

use super::*;

#[async_trait]
impl IntentTable for PgTx {
    async fn intent(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>> {
        self.flush().await?;
        let conn = self.conn();
        intent_body(
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
        self.flush().await?;
        let conn = self.conn();
        intent_body(
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
        self.flush().await?;
        let conn = self.conn();
        let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let rows = q("SELECT body FROM intents WHERE workspace_id = $1 AND intent_id = ANY($2) ORDER BY intent_id FOR UPDATE")
            .bind(ws.0)
            .bind(ids)
            .fetch_all(conn)
            .await
            .map_err(db)?;
        rows.iter().map(|r| unpack_intent(get(r, 0)?).map(|i| (i.intent_id, i))).collect()
    }

    /// Buffered until the transaction next reads intents, or ends.
    async fn insert_intent(&mut self, ws: WorkspaceId, rows: &IntentRows) -> Result<()> {
        let intent = &rows.intent;
        self.intents.push(IntentRow {
            ws: ws.0,
            id: intent.intent_id.0,
            status: intent.status.as_str(),
            to_agent: intent.to_agent.clone(),
            created_at: intent.created_at.as_millis(),
            body: rows.intent_body.clone(),
            from_agent: intent.from_agent.clone(),
            intent_type: intent.intent_type.clone(),
            finished_at: intent.finished_at().map(Timestamp::as_millis),
        });
        self.buffer_events(ws, rows.event_rows.clone());
        Ok(())
    }

    async fn update_intent(&mut self, ws: WorkspaceId, intent: &Intent) -> Result<()> {
        self.flush().await?;
        let conn = self.conn();
        q("UPDATE intents SET status = $1, to_agent = $2, body = $3, finished_at = $6
            WHERE workspace_id = $4 AND intent_id = $5")
        .bind(intent.status.as_str())
        .bind(&intent.to_agent)
        .bind(pack_intent(intent)?)
        .bind(ws.0)
        .bind(intent.intent_id.0)
        .bind(intent.finished_at().map(Timestamp::as_millis))
        .execute(conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Buffered until the transaction next reads intents, or ends.
    async fn insert_events(&mut self, ws: WorkspaceId, events: &[IntentEvent]) -> Result<()> {
        self.buffer_events(ws, pack_events(events)?);
        Ok(())
    }

    async fn events_since(
        &mut self,
        ws: WorkspaceId,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>> {
        self.flush().await?;
        let conn = self.conn();
        // The rows `unpack_events` needs: from the one holding `since` on.
        let rows = q("SELECT body FROM intent_events WHERE workspace_id = $1 AND intent_id = $2
                        AND seq >= COALESCE((SELECT MAX(seq) FROM intent_events
                                             WHERE workspace_id = $1 AND intent_id = $2 AND seq <= $3), 0)
                      ORDER BY seq LIMIT $4")
        .bind(ws.0)
        .bind(id.0)
        .bind(since.min(i64::MAX as u64) as i64)
        .bind(i64::from(limit) + 1)
        .fetch_all(conn)
        .await
        .map_err(db)?;
        let bodies = rows.iter().map(|r| get::<&[u8]>(r, 0)).collect::<Result<Vec<_>>>()?;
        unpack_events(id, bodies, since, limit)
    }

    async fn intent_exists(&mut self, ws: WorkspaceId, id: IntentId) -> Result<bool> {
        self.flush().await?;
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
        self.flush().await?;
        let conn = self.conn();
        let rows = list_query(ws, filter).build().fetch_all(conn).await.map_err(db)?;
        rows.iter().map(|r| unpack_intent(get(r, 0)?)).collect()
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

/// The SELECT of [`IntentTable::list_intents`] with its arguments bound. It names only the
/// conditions `f` sets, each a plain comparison, so the planner can serve them from an index
/// (`intents_by_created`, `intents_by_agent`, `intents_by_status`) also in a generic plan. The
/// statement text varies with the filter's shape only, never with its values.
fn list_query(ws: WorkspaceId, f: &IntentFilter) -> QueryBuilder<'static, Postgres> {
    let mut sql = QueryBuilder::new("SELECT body FROM intents WHERE workspace_id = ");
    sql.push_bind(ws.0);
    if !f.statuses.is_empty() {
        sql.push(" AND status = ANY(").push_bind(status_names(&f.statuses)).push(")");
    }
    let text = [("to_agent", &f.to_agent), ("from_agent", &f.from_agent), ("intent_type", &f.intent_type)];
    for (column, value) in text {
        if let Some(value) = value {
            sql.push(format_args!(" AND {column} = ")).push_bind(value.clone());
        }
    }
    for (op, bound) in [(">=", f.created_after), ("<=", f.created_before)] {
        if let Some(t) = bound {
            sql.push(format_args!(" AND created_at {op} ")).push_bind(t.as_millis());
        }
    }
    let (past, direction) = match f.order {
        SortOrder::Asc => (">", "ASC"),
        SortOrder::Desc => ("<", "DESC"),
    };
    if let Some(p) = f.start_after {
        sql.push(format_args!(" AND (created_at, intent_id) {past} ("))
            .push_bind(p.created_at.as_millis())
            .push(", ")
            .push_bind(p.intent_id.0)
            .push(")");
    }
    sql.push(format_args!(" ORDER BY created_at {direction}, intent_id {direction} LIMIT "))
        .push_bind(i64::from(f.limit));
    sql
}

pub(super) fn status_names(statuses: &[Status]) -> Vec<String> {
    statuses.iter().map(|s| s.as_str().to_owned()).collect()
}

/// The intent in column 0 of `row`, if there is a row ([`unpack_intent`]).
fn intent_body(row: Option<PgRow>) -> Result<Option<Intent>> {
    row.map(|r| unpack_intent(get(&r, 0)?)).transpose()
}

impl PgTx {
    fn buffer_events(&mut self, ws: WorkspaceId, rows: Vec<axp_store::EventRow>) {
        for row in rows {
            self.events.push(EventRow {
                ws: ws.0,
                intent_id: row.intent_id.0,
                seq: row.seq as i64,
                body: row.body,
            });
        }
    }
}
