//! The agent queue.

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params};

use super::intents::{status_set, stored_body};
use super::*;

#[async_trait]
impl QueueTable for SqliteTx<'_> {
    async fn enqueue(&mut self, item: &QueueItem<'_>) -> Result<u64> {
        let key = self.key_to_insert(Keyed::Workspace(item.workspace_id))?;
        let agent = self.key_to_insert(Keyed::Agent(key, item.agent.into()))?;
        let (conn, counters) = self.counters()?;
        let cursor = counters.cursors.next();
        conn.prepare_cached(
            "INSERT INTO agent_queue (workspace_id, agent_address, cursor, intent_id, queued_at, handed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db)?
        .execute(params![
            key,
            agent,
            cursor as i64,
            id_blob(&item.intent_id),
            item.queued_at.as_millis(),
            item.handed.then_some(item.queued_at.as_millis())
        ])
        .map_err(db)?;
        Ok(cursor)
    }

    async fn queued(
        &mut self,
        ws: WorkspaceId,
        read: &QueueRead<'_>,
        _for_update: bool,
    ) -> Result<Vec<Queued>> {
        // One writer: cursors commit in order, so every committed item is visible in order.
        let key = self.ws_key(ws)?;
        let agent = self.agent_key(key, read.agent)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT q.cursor, q.queued_at, q.handed_at, i.body
                   FROM agent_queue q
                   JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
                  WHERE q.workspace_id = ?1 AND q.agent_address = ?2 AND q.cursor > ?3
                    AND instr(?4, ',' || i.status || ',') > 0
                  ORDER BY q.cursor LIMIT ?5",
            )
            .map_err(db)?;
        let since = read.since.min(i64::MAX as u64) as i64;
        queue_rows(&mut stmt, params![key, agent, since, status_set(read.statuses), read.limit])
    }

    async fn claim_unhanded(
        &mut self,
        ws: WorkspaceId,
        agent: &str,
        limit: u32,
    ) -> Result<Vec<(u64, Timestamp, IntentId)>> {
        let key = self.ws_key(ws)?;
        let agent = self.agent_key(key, agent)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT cursor, queued_at, intent_id FROM agent_queue
                  WHERE workspace_id = ?1 AND agent_address = ?2 AND handed_at IS NULL
                  ORDER BY cursor LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![key, agent, limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, blob_id(r, 2)?))
            })
            .map_err(db)?;
        rows.map(|row| {
            let (cursor, at, id) = row.map_err(db)?;
            Ok((cursor as u64, Timestamp::from_millis(at), id))
        })
        .collect()
    }

    async fn mark_handed(
        &mut self,
        ws: WorkspaceId,
        address: &str,
        cursor: u64,
        now: Timestamp,
    ) -> Result<()> {
        let key = self.ws_key(ws)?;
        let address = self.agent_key(key, address)?;
        let conn = &*self.conn;
        conn.prepare_cached(
            "UPDATE agent_queue SET handed_at = ?1 WHERE workspace_id = ?2 AND agent_address = ?3 AND cursor = ?4",
        )
        .map_err(db)?
        .execute(params![now.as_millis(), key, address, cursor as i64])
        .map_err(db)?;
        Ok(())
    }
}

fn queue_rows(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Queued>> {
    let rows = stmt
        .query_map(params, |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?, stored_body(r, 3)?))
        })
        .map_err(db)?;
    rows.map(|row| {
        let (cursor, at, handed_at, body) = row.map_err(db)?;
        Ok(Queued {
            cursor: cursor as u64,
            queued_at: Timestamp::from_millis(at),
            handed: handed_at.is_some(),
            intent: axp_store::unpack_intent(&body)?,
        })
    })
    .collect()
}
