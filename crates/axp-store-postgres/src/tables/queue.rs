//! The agent queue.

use async_trait::async_trait;

use super::intents::status_names;
use super::*;

#[async_trait]
impl QueueTable for PgTx {
    async fn enqueue(&mut self, item: &QueueItem<'_>) -> Result<u64> {
        let cursor = self.next_cursor().await?;
        self.queue.push(QueueRow {
            ws: item.workspace_id.0,
            agent: item.agent.to_owned(),
            cursor: cursor as i64,
            intent_id: item.intent_id.0,
            queued_at: item.queued_at.as_millis(),
            handed_at: item.handed.then_some(item.queued_at.as_millis()),
        });
        Ok(cursor)
    }

    /// Items below the horizon only (see the module doc); with `for_update`, locked. Outside a
    /// transaction, rows held back behind the horizon are waited for a little, then read again.
    async fn queued(
        &mut self,
        ws: WorkspaceId,
        read: &QueueRead<'_>,
        for_update: bool,
    ) -> Result<Vec<Queued>> {
        self.flush().await?;
        let sql = if for_update {
            "SELECT q.cursor, q.queued_at, q.handed_at, i.body, q.cursor < (SELECT axp_horizon())
               FROM agent_queue q
               JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
              WHERE q.workspace_id = $1 AND q.agent_address = $2 AND q.cursor > $3 AND i.status = ANY($4)
              ORDER BY q.cursor LIMIT $5
              FOR UPDATE OF q"
        } else {
            "SELECT q.cursor, q.queued_at, q.handed_at, i.body, q.cursor < (SELECT axp_horizon())
               FROM agent_queue q
               JOIN intents i ON i.workspace_id = q.workspace_id AND i.intent_id = q.intent_id
              WHERE q.workspace_id = $1 AND q.agent_address = $2 AND q.cursor > $3 AND i.status = ANY($4)
              ORDER BY q.cursor LIMIT $5"
        };
        let since = read.since.min(i64::MAX as u64) as i64;
        let query = || {
            q(sql)
                .bind(ws.0)
                .bind(read.agent)
                .bind(since)
                .bind(status_names(read.statuses))
                .bind(i64::from(read.limit))
        };
        queue_rows(&self.below_horizon(!for_update, 0, query).await?)
    }

    /// Only the queue's partial index of unhanded items is read (no join: the caller checks
    /// each intent under its row lock), so a claim costs the same however many intents the
    /// agent was handed before.
    async fn claim_unhanded(
        &mut self,
        ws: WorkspaceId,
        agent: &str,
        limit: u32,
    ) -> Result<Vec<(u64, Timestamp, IntentId)>> {
        self.flush().await?;
        let rows = q("SELECT cursor, queued_at, intent_id FROM agent_queue
                       WHERE workspace_id = $1 AND agent_address = $2 AND handed_at IS NULL
                       ORDER BY cursor LIMIT $3
                       FOR UPDATE SKIP LOCKED")
        .bind(ws.0)
        .bind(agent)
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| Ok((get::<i64>(r, 0)? as u64, Timestamp::from_millis(get(r, 1)?), IntentId(get(r, 2)?))))
            .collect()
    }

    async fn mark_handed(&mut self, ws: WorkspaceId, agent: &str, cursor: u64, now: Timestamp) -> Result<()> {
        self.flush().await?;
        q("UPDATE agent_queue SET handed_at = $1 WHERE workspace_id = $2 AND agent_address = $3 AND cursor = $4")
            .bind(now.as_millis())
            .bind(ws.0)
            .bind(agent)
            .bind(cursor as i64)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }
}

fn queue_rows(rows: &[PgRow]) -> Result<Vec<Queued>> {
    rows.iter()
        .map(|r| {
            Ok(Queued {
                cursor: get::<i64>(r, 0)? as u64,
                queued_at: Timestamp::from_millis(get(r, 1)?),
                handed: get::<Option<i64>>(r, 2)?.is_some(),
                intent: axp_store::unpack_intent(get(r, 3)?)?,
            })
        })
        .collect()
}
