//! The rows a transaction buffers, and [`PgTx::flush`], which writes them all in one statement.

use super::*;

/// A new intent not yet written.
pub(crate) struct IntentRow {
    pub(super) ws: Uuid,
    pub(super) id: Uuid,
    pub(super) status: &'static str,
    pub(super) to_agent: String,
    pub(super) created_at: i64,
    /// Compressed ([`axp_store::pack_intent`]).
    pub(super) body: Vec<u8>,
    pub(super) finished_at: Option<i64>,
    pub(super) from_agent: String,
    pub(super) intent_type: String,
}

/// A new event not yet written.
pub(crate) struct EventRow {
    pub(super) ws: Uuid,
    pub(super) intent_id: Uuid,
    pub(super) seq: i64,
    /// Compressed ([`axp_store::EventRow::body`]).
    pub(super) body: Vec<u8>,
}

/// A new queue item not yet written.
pub(crate) struct QueueRow {
    pub(super) ws: Uuid,
    pub(super) agent: String,
    pub(super) cursor: i64,
    pub(super) intent_id: Uuid,
    pub(super) queued_at: i64,
    pub(super) handed_at: Option<i64>,
}

/// A participant touch not yet written (one per workspace, owner and thread).
pub(crate) struct TouchRow {
    pub(super) unread: bool,
    pub(super) change_seq: i64,
    pub(super) updated_at: i64,
}

/// Every buffered table written by one statement: one data-modifying CTE per table, each
/// inserting from `UNNEST` of its columns (an empty array inserts nothing). No table here
/// refers to another, so the CTEs need not see each other's rows.
const FLUSH: &str = "
WITH intents AS (
    INSERT INTO intents (workspace_id, intent_id, status, to_agent, created_at, body, finished_at, from_agent, intent_type)
    SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::bytea[], $23::bigint[], $24::text[], $25::text[])
), events AS (
    INSERT INTO intent_events (workspace_id, intent_id, seq, body)
    SELECT * FROM UNNEST($7::uuid[], $8::uuid[], $9::bigint[], $10::bytea[])
), queue AS (
    INSERT INTO agent_queue (workspace_id, agent_address, cursor, intent_id, queued_at, handed_at)
    SELECT * FROM UNNEST($11::uuid[], $12::text[], $13::bigint[], $14::uuid[], $15::bigint[], $16::bigint[])
), touches AS (
    INSERT INTO thread_participants AS p (workspace_id, owner_agent, thread_id, change_seq, unread, updated_at)
    SELECT * FROM UNNEST($17::uuid[], $18::text[], $19::uuid[], $20::bigint[], $21::bool[], $22::bigint[])
    ON CONFLICT (workspace_id, thread_id, owner_agent)
    DO UPDATE SET change_seq = EXCLUDED.change_seq, unread = (p.unread OR EXCLUDED.unread), updated_at = EXCLUDED.updated_at
)
SELECT 1";

impl PgTx {
    /// Writes everything buffered, in one statement: before the transaction reads or updates a
    /// buffered table, and when it ends. Participant rows go in key order, so two
    /// transactions touching the same rows lock them in the same order.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        if self.intents.is_empty()
            && self.events.is_empty()
            && self.queue.is_empty()
            && self.touches.is_empty()
        {
            return Ok(());
        }
        let (intents, events, queue) = (
            std::mem::take(&mut self.intents),
            std::mem::take(&mut self.events),
            std::mem::take(&mut self.queue),
        );
        let mut touches: Vec<_> = std::mem::take(&mut self.touches).into_iter().collect();
        touches.sort_by(|((wa, oa, ta), _), ((wb, ob, tb), _)| (wa, ta, oa).cmp(&(wb, tb, ob)));
        q(FLUSH)
            .bind(intents.iter().map(|r| r.ws).collect::<Vec<_>>())
            .bind(intents.iter().map(|r| r.id).collect::<Vec<_>>())
            .bind(intents.iter().map(|r| r.status).collect::<Vec<_>>())
            .bind(intents.iter().map(|r| r.to_agent.as_str()).collect::<Vec<_>>())
            .bind(intents.iter().map(|r| r.created_at).collect::<Vec<_>>())
            .bind(intents.iter().map(|r| r.body.as_slice()).collect::<Vec<_>>())
            .bind(events.iter().map(|r| r.ws).collect::<Vec<_>>())
            .bind(events.iter().map(|r| r.intent_id).collect::<Vec<_>>())
            .bind(events.iter().map(|r| r.seq).collect::<Vec<_>>())
            .bind(events.iter().map(|r| r.body.as_slice()).collect::<Vec<_>>())
            .bind(queue.iter().map(|r| r.ws).collect::<Vec<_>>())
            .bind(queue.iter().map(|r| r.agent.as_str()).collect::<Vec<_>>())
            .bind(queue.iter().map(|r| r.cursor).collect::<Vec<_>>())
            .bind(queue.iter().map(|r| r.intent_id).collect::<Vec<_>>())
            .bind(queue.iter().map(|r| r.queued_at).collect::<Vec<_>>())
            .bind(queue.iter().map(|r| r.handed_at).collect::<Vec<_>>())
            .bind(touches.iter().map(|((ws, _, _), _)| ws.0).collect::<Vec<_>>())
            .bind(touches.iter().map(|((_, owner, _), _)| owner.as_str()).collect::<Vec<_>>())
            .bind(touches.iter().map(|((_, _, thread), _)| thread.0).collect::<Vec<_>>())
            .bind(touches.iter().map(|(_, t)| t.change_seq).collect::<Vec<_>>())
            .bind(touches.iter().map(|(_, t)| t.unread).collect::<Vec<_>>())
            .bind(touches.iter().map(|(_, t)| t.updated_at).collect::<Vec<_>>())
            .bind(intents.iter().map(|r| r.finished_at).collect::<Vec<_>>())
            .bind(intents.iter().map(|r| r.from_agent.as_str()).collect::<Vec<_>>())
            .bind(intents.iter().map(|r| r.intent_type.as_str()).collect::<Vec<_>>())
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }
}
