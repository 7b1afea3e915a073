//! The inbox: thread participants, entries, approvals.

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

/// `thread_participants.hidden` as stored: NULL for none, else a JSON array (migration 0024).
fn stored_hidden(hidden: &[String]) -> Result<Option<String>> {
    if hidden.is_empty() { Ok(None) } else { to_json(&hidden).map(Some) }
}

#[async_trait]
impl InboxTable for SqliteTx<'_> {
    async fn touch_participants(
        &mut self,
        ws: WorkspaceId,
        thread: IntentId,
        who: &[Participant<'_>],
        now: Timestamp,
    ) -> Result<()> {
        let key = self.key_to_insert(Keyed::Workspace(ws))?;
        let owners: Vec<i64> = who
            .iter()
            .map(|p| self.key_to_insert(Keyed::Agent(key, p.owner.into())))
            .collect::<Result<_>>()?;
        let (conn, counters) = self.counters()?;
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO thread_participants (workspace_id, owner_agent, thread_id, change_seq, unread, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (workspace_id, thread_id, owner_agent)
                 DO UPDATE SET change_seq = ?4, unread = (unread OR ?5), updated_at = ?6",
            )
            .map_err(db)?;
        for (p, owner) in who.iter().zip(owners) {
            let change_seq = counters.change_seqs.next();
            stmt.execute(params![key, owner, id_blob(&thread), change_seq as i64, p.unread, now.as_millis()])
                .map_err(db)?;
        }
        Ok(())
    }

    /// Everyone who can see the thread.
    async fn participants(&mut self, ws: WorkspaceId, thread: IntentId) -> Result<Vec<String>> {
        let key = self.ws_key(ws)?;
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT a.agent_address FROM thread_participants p JOIN agent_keys a ON a.key = p.owner_agent
                  WHERE p.workspace_id = ?1 AND p.thread_id = ?2",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![key, id_blob(&thread)], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.map(|r| r.map_err(db)).collect()
    }

    async fn membership(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        thread: IntentId,
        _for_update: bool,
    ) -> Result<Option<Membership>> {
        let key = self.ws_key(ws)?;
        let owner = self.agent_key(key, owner)?;
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT unread, hidden, updated_at, change_seq FROM thread_participants
              WHERE workspace_id = ?1 AND owner_agent = ?2 AND thread_id = ?3",
        )
        .map_err(db)?
        .query_row(params![key, owner, id_blob(&thread)], |r| {
            Ok((
                r.get::<_, bool>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()
        .map_err(db)?
        .map(|(unread, hidden, at, seq)| {
            Ok(Membership {
                unread,
                hidden: hidden.as_deref().map(from_json).transpose()?.unwrap_or_default(),
                updated_at: Timestamp::from_millis(at),
                change_seq: seq as u64,
            })
        })
        .transpose()
    }

    async fn set_membership(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        thread: IntentId,
        unread: bool,
        hidden: &[String],
    ) -> Result<()> {
        let key = self.ws_key(ws)?;
        let owner = self.agent_key(key, owner)?;
        let conn = &*self.conn;
        conn.prepare_cached(
            "UPDATE thread_participants SET unread = ?1, hidden = ?2 WHERE workspace_id = ?3 AND owner_agent = ?4 AND thread_id = ?5",
        )
        .map_err(db)?
        .execute(params![unread, stored_hidden(hidden)?, key, owner, id_blob(&thread)])
        .map_err(db)?;
        Ok(())
    }

    /// Threads of `owner`: (thread id, change_seq), newest change first, or after `after` in
    /// change order when paging the changes feed.
    async fn owner_threads(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(IntentId, u64)>> {
        let key = self.ws_key(ws)?;
        let owner = self.agent_key(key, owner)?;
        let conn = &*self.conn;
        let sql = if after.is_some() {
            "SELECT thread_id, change_seq FROM thread_participants
              WHERE workspace_id = ?1 AND owner_agent = ?2 AND change_seq > ?3 ORDER BY change_seq LIMIT ?4"
        } else {
            "SELECT thread_id, change_seq FROM thread_participants
              WHERE workspace_id = ?1 AND owner_agent = ?2 AND ?3 >= 0 ORDER BY change_seq DESC LIMIT ?4"
        };
        let mut stmt = conn.prepare_cached(sql).map_err(db)?;
        let after = after.unwrap_or(0).min(i64::MAX as u64) as i64;
        let rows = stmt
            .query_map(params![key, owner, after, limit], |r| Ok((blob_id(r, 0)?, r.get::<_, i64>(1)?)))
            .map_err(db)?;
        rows.map(|row| {
            let (id, seq) = row.map_err(db)?;
            Ok((id, seq as u64))
        })
        .collect()
    }

    async fn insert_entry(&mut self, ws: WorkspaceId, thread: IntentId, e: &TimelineEntry) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached("INSERT INTO thread_entries (workspace_id, thread_id, entry_id, at, body) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(db)?
            .execute(params![ws.to_string(), thread.to_string(), e.event_id.to_string(), e.at.as_millis(), to_json(e)?])
            .map_err(db)?;
        Ok(())
    }

    /// The thread's own entries that are not deleted, oldest first.
    async fn entries(&mut self, ws: WorkspaceId, thread: IntentId) -> Result<Vec<TimelineEntry>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT body FROM thread_entries WHERE workspace_id = ?1 AND thread_id = ?2 AND deleted = 0 ORDER BY at, entry_id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ws.to_string(), thread.to_string()], |r| r.get::<_, String>(0))
            .map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    async fn delete_entry(&mut self, ws: WorkspaceId, thread: IntentId, entry: &str) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "UPDATE thread_entries SET deleted = 1 WHERE workspace_id = ?1 AND thread_id = ?2 AND entry_id = ?3",
        )
        .map_err(db)?
        .execute(params![ws.to_string(), thread.to_string(), entry])
        .map_err(db)?;
        Ok(())
    }

    async fn approval(&mut self, ws: WorkspaceId, id: ApprovalId) -> Result<Option<Approval>> {
        let conn = &*self.conn;
        conn.prepare_cached("SELECT body FROM approvals WHERE workspace_id = ?1 AND approval_id = ?2")
            .map_err(db)?
            .query_row(params![ws.to_string(), id.to_string()], |r| r.get::<_, String>(0))
            .optional()
            .map_err(db)?
            .map(|b| from_json(&b))
            .transpose()
    }

    async fn insert_approval(&mut self, ws: WorkspaceId, a: &Approval) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached("INSERT INTO approvals (workspace_id, approval_id, body) VALUES (?1, ?2, ?3)")
            .map_err(db)?
            .execute(params![ws.to_string(), a.approval_id.to_string(), to_json(a)?])
            .map_err(db)?;
        Ok(())
    }
}
