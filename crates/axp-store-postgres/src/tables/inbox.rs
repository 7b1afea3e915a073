//! The inbox: thread participants, entries, approvals.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl InboxTable for PgTx {
    /// Buffered (one per owner and thread, the latest change cursor winning) until the
    /// transaction next reads participants, or ends.
    async fn touch_participants(
        &mut self,
        ws: WorkspaceId,
        thread: IntentId,
        who: &[Participant<'_>],
        now: Timestamp,
    ) -> Result<()> {
        for p in who {
            let change_seq = self.next_cursor().await? as i64;
            let row = self.touches.entry((ws, p.owner.to_owned(), thread)).or_insert_with(|| TouchRow {
                unread: false,
                change_seq,
                updated_at: now.as_millis(),
            });
            row.unread |= p.unread;
            row.change_seq = change_seq;
            row.updated_at = now.as_millis();
        }
        Ok(())
    }

    /// Everyone who can see the thread.
    async fn participants(&mut self, ws: WorkspaceId, thread: IntentId) -> Result<Vec<String>> {
        self.flush().await?;
        let conn = self.conn();
        let rows = q("SELECT owner_agent FROM thread_participants WHERE workspace_id = $1 AND thread_id = $2 ORDER BY owner_agent")
            .bind(ws.0)
            .bind(thread.0)
            .fetch_all(conn)
            .await
            .map_err(db)?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    async fn membership(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        thread: IntentId,
        lock: bool,
    ) -> Result<Option<Membership>> {
        self.flush().await?;
        let conn = self.conn();
        let sql = if lock {
            "SELECT unread, hidden, updated_at, change_seq FROM thread_participants
              WHERE workspace_id = $1 AND owner_agent = $2 AND thread_id = $3 FOR UPDATE"
        } else {
            "SELECT unread, hidden, updated_at, change_seq FROM thread_participants
              WHERE workspace_id = $1 AND owner_agent = $2 AND thread_id = $3"
        };
        let row = q(sql).bind(ws.0).bind(owner).bind(thread.0).fetch_optional(conn).await.map_err(db)?;
        row.map(|r| {
            Ok(Membership {
                unread: get(&r, 0)?,
                hidden: from_json(&get::<String>(&r, 1)?)?,
                updated_at: Timestamp::from_millis(get(&r, 2)?),
                change_seq: get::<i64>(&r, 3)? as u64,
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
        self.flush().await?;
        let conn = self.conn();
        q("UPDATE thread_participants SET unread = $1, hidden = $2 WHERE workspace_id = $3 AND owner_agent = $4 AND thread_id = $5")
            .bind(unread)
            .bind(to_json(&hidden)?)
            .bind(ws.0)
            .bind(owner)
            .bind(thread.0)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Paging the change feed (`after`) stops at the horizon (see the module doc), waiting a
    /// little for rows held back behind it.
    async fn owner_threads(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(IntentId, u64)>> {
        self.flush().await?;
        let since = after.unwrap_or(0).min(i64::MAX as u64) as i64;
        let rows = if after.is_some() {
            let sql = "SELECT thread_id, change_seq, change_seq < (SELECT axp_horizon())
                         FROM thread_participants
                        WHERE workspace_id = $1 AND owner_agent = $2 AND change_seq > $3
                        ORDER BY change_seq LIMIT $4";
            let query = || q(sql).bind(ws.0).bind(owner).bind(since).bind(i64::from(limit));
            self.below_horizon(true, 1, query).await?
        } else {
            q("SELECT thread_id, change_seq FROM thread_participants
                WHERE workspace_id = $1 AND owner_agent = $2 ORDER BY change_seq DESC LIMIT $3")
            .bind(ws.0)
            .bind(owner)
            .bind(i64::from(limit))
            .fetch_all(self.conn())
            .await
            .map_err(db)?
        };
        rows.iter().map(|r| Ok((IntentId(get(r, 0)?), get::<i64>(r, 1)? as u64))).collect()
    }

    async fn insert_entry(&mut self, ws: WorkspaceId, thread: IntentId, e: &TimelineEntry) -> Result<()> {
        let conn = self.conn();
        q("INSERT INTO thread_entries (workspace_id, thread_id, entry_id, at, body) VALUES ($1, $2, $3, $4, $5)")
            .bind(ws.0)
            .bind(thread.0)
            .bind(e.event_id)
            .bind(e.at.as_millis())
            .bind(to_json(e)?)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The thread's own entries that are not deleted, oldest first.
    async fn entries(&mut self, ws: WorkspaceId, thread: IntentId) -> Result<Vec<TimelineEntry>> {
        let conn = self.conn();
        bodies(
            q("SELECT body FROM thread_entries WHERE workspace_id = $1 AND thread_id = $2 AND NOT deleted ORDER BY at, entry_id")
                .bind(ws.0)
                .bind(thread.0)
                .fetch_all(conn)
                .await
                .map_err(db)?,
        )
    }

    async fn delete_entry(&mut self, ws: WorkspaceId, thread: IntentId, entry: &str) -> Result<()> {
        let conn = self.conn();
        let Ok(entry) = entry.parse::<Uuid>() else { return Ok(()) };
        q("UPDATE thread_entries SET deleted = true WHERE workspace_id = $1 AND thread_id = $2 AND entry_id = $3")
            .bind(ws.0)
            .bind(thread.0)
            .bind(entry)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn approval(&mut self, ws: WorkspaceId, id: ApprovalId) -> Result<Option<Approval>> {
        let conn = self.conn();
        lock_key(&mut *conn, &format!("approval\u{1f}{ws}\u{1f}{id}")).await?;
        body(
            q("SELECT body FROM approvals WHERE workspace_id = $1 AND approval_id = $2")
                .bind(ws.0)
                .bind(id.0)
                .fetch_optional(conn)
                .await
                .map_err(db)?,
        )
    }

    async fn insert_approval(&mut self, ws: WorkspaceId, a: &Approval) -> Result<()> {
        let conn = self.conn();
        q("INSERT INTO approvals (workspace_id, approval_id, body) VALUES ($1, $2, $3)")
            .bind(ws.0)
            .bind(a.approval_id.0)
            .bind(to_json(a)?)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }
}
