//! Intents and their event log.

use async_trait::async_trait;
use axp_core::api::SortOrder;
use axp_store::{EventRow, pack_events, pack_intent, unpack_events, unpack_intent};
use r2d2_sqlite::rusqlite::types::Value as SqlValue;
use r2d2_sqlite::rusqlite::{OptionalExtension, params, params_from_iter};

use super::*;

#[async_trait]
impl IntentTable for SqliteTx<'_> {
    async fn intent(&mut self, ws: WorkspaceId, id: IntentId) -> Result<Option<Intent>> {
        let key = self.ws_key(ws)?;
        let conn = &*self.conn;
        conn.prepare_cached("SELECT body FROM intents WHERE workspace_id = ?1 AND intent_id = ?2")
            .map_err(db)?
            .query_row(params![key, id_blob(&id)], |r| stored_body(r, 0))
            .optional()
            .map_err(db)?
            .map(|b| unpack_intent(&b))
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
        let intent = &rows.intent;
        let key = self.key_to_insert(Keyed::Workspace(ws))?;
        let to = self.key_to_insert(Keyed::Agent(key, intent.to_agent.as_str().into()))?;
        let from = self.key_to_insert(Keyed::Agent(key, intent.from_agent.as_str().into()))?;
        let intent_type = self.key_to_insert(Keyed::Type(key, intent.intent_type.as_str().into()))?;
        let conn = &*self.conn;
        conn.prepare_cached(
            "INSERT INTO intents (workspace_id, intent_id, status, to_agent, created_at, body, finished_at, from_agent, intent_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(db)?
        .execute(params![
            key,
            id_blob(&intent.intent_id),
            status_code(intent.status),
            to,
            intent.created_at.as_millis(),
            rows.intent_body,
            intent.finished_at().map(Timestamp::as_millis),
            from,
            intent_type
        ])
        .map_err(db)?;
        insert_event_rows(conn, key, &rows.event_rows)
    }

    async fn update_intent(&mut self, ws: WorkspaceId, intent: &Intent) -> Result<()> {
        let key = self.ws_key(ws)?;
        if key == NO_KEY {
            return Ok(()); // no intent of the workspace to update
        }
        // Its recipient may be new (a delegation).
        let to = self.key_to_insert(Keyed::Agent(key, intent.to_agent.as_str().into()))?;
        let conn = &*self.conn;
        conn.prepare_cached(
            "UPDATE intents SET status = ?1, to_agent = ?2, body = ?3, finished_at = ?6 WHERE workspace_id = ?4 AND intent_id = ?5",
        )
        .map_err(db)?
        .execute(params![
            status_code(intent.status),
            to,
            pack_intent(intent)?,
            key,
            id_blob(&intent.intent_id),
            intent.finished_at().map(Timestamp::as_millis)
        ])
        .map_err(db)?;
        Ok(())
    }

    async fn insert_events(&mut self, ws: WorkspaceId, events: &[IntentEvent]) -> Result<()> {
        let key = self.key_to_insert(Keyed::Workspace(ws))?;
        insert_event_rows(&*self.conn, key, &pack_events(events)?)
    }

    async fn events_since(
        &mut self,
        ws: WorkspaceId,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>> {
        let key = self.ws_key(ws)?;
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                // The rows `unpack_events` needs: from the one holding `since` on.
                "SELECT body FROM intent_events WHERE workspace_id = ?1 AND intent_id = ?2
                   AND seq >= COALESCE((SELECT MAX(seq) FROM intent_events
                                        WHERE workspace_id = ?1 AND intent_id = ?2 AND seq <= ?3), 0)
                 ORDER BY seq LIMIT ?4",
            )
            .map_err(db)?;
        let since_arg = since.min(i64::MAX as u64) as i64;
        let rows = stmt
            .query_map(params![key, id_blob(&id), since_arg, i64::from(limit) + 1], |r| stored_body(r, 0))
            .map_err(db)?;
        unpack_events(id, rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?, since, limit)
    }

    async fn intent_exists(&mut self, ws: WorkspaceId, id: IntentId) -> Result<bool> {
        let key = self.ws_key(ws)?;
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM intents WHERE workspace_id = ?1 AND intent_id = ?2)",
        )
        .map_err(db)?
        .query_row(params![key, id_blob(&id)], |r| r.get(0))
        .map_err(db)
    }

    async fn list_intents(&mut self, ws: WorkspaceId, filter: &IntentFilter) -> Result<Vec<Intent>> {
        let key = self.ws_key(ws)?;
        let named = NamedKeys {
            to_agent: filter.to_agent.as_deref().map(|a| self.agent_key(key, a)).transpose()?,
            from_agent: filter.from_agent.as_deref().map(|a| self.agent_key(key, a)).transpose()?,
            intent_type: filter
                .intent_type
                .as_deref()
                .map(|t| self.key(&Keyed::Type(key, t.into())))
                .transpose()?,
        };
        let conn = &*self.conn;
        let (sql, args) = list_query(key, &named, filter);
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let rows = stmt.query_map(params_from_iter(args), |r| stored_body(r, 0)).map_err(db)?;
        rows.map(|b| unpack_intent(&b.map_err(db)?)).collect()
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

/// The keys of the names a listing filters on ([`SqliteTx::key`]; [`NO_KEY`] for a name with
/// none, which matches no intent).
struct NamedKeys {
    to_agent: Option<i64>,
    from_agent: Option<i64>,
    intent_type: Option<i64>,
}

/// The SELECT of [`IntentTable::list_intents`] and its arguments. It names only the conditions
/// `f` sets, each a plain comparison, so the planner can serve them from an index
/// (`intents_by_created`, `intents_by_agent`, `intents_by_status`). The statement text varies
/// with the filter's shape only, never with its values. `key` is the workspace's key, `named`
/// the keys of the names `f` filters on.
fn list_query(key: i64, named: &NamedKeys, f: &IntentFilter) -> (String, Vec<SqlValue>) {
    let mut sql = String::from("SELECT body FROM intents WHERE workspace_id = ?");
    let mut args = vec![SqlValue::Integer(key)];
    if !f.statuses.is_empty() {
        let marks = vec!["?"; f.statuses.len()].join(", ");
        sql.push_str(&format!(" AND status IN ({marks})"));
        args.extend(f.statuses.iter().map(|s| SqlValue::Integer(status_code(*s))));
    }
    let keyed =
        [("to_agent", named.to_agent), ("from_agent", named.from_agent), ("intent_type", named.intent_type)];
    for (column, value) in keyed {
        if let Some(value) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            args.push(SqlValue::Integer(value));
        }
    }
    for (op, bound) in [(">=", f.created_after), ("<=", f.created_before)] {
        if let Some(t) = bound {
            sql.push_str(&format!(" AND created_at {op} ?"));
            args.push(SqlValue::Integer(t.as_millis()));
        }
    }
    let (past, direction) = match f.order {
        SortOrder::Asc => (">", "ASC"),
        SortOrder::Desc => ("<", "DESC"),
    };
    if let Some(p) = f.start_after {
        sql.push_str(&format!(" AND (created_at, intent_id) {past} (?, ?)"));
        args.push(SqlValue::Integer(p.created_at.as_millis()));
        args.push(SqlValue::Blob(id_blob(&p.intent_id).to_vec()));
    }
    sql.push_str(&format!(" ORDER BY created_at {direction}, intent_id {direction} LIMIT ?"));
    args.push(SqlValue::Integer(i64::from(f.limit)));
    (sql, args)
}

/// Column `column` of `r`, a stored `intents` or `intent_events` body: a BLOB (compressed) or,
/// written before, TEXT (`axp_store::pack_intent`, `axp_store::pack_events`).
pub(super) fn stored_body(r: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<Vec<u8>> {
    Ok(r.get_ref(column)?.as_bytes()?.to_vec())
}

/// Appends event rows ([`axp_store::pack_events`]) of the workspace with key `key`.
fn insert_event_rows(conn: &Connection, key: i64, rows: &[EventRow]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO intent_events (workspace_id, intent_id, seq, body) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db)?;
    for row in rows {
        stmt.execute(params![key, id_blob(&row.intent_id), row.seq as i64, row.body]).map_err(db)?;
    }
    Ok(())
}

/// Comma-wrapped list of status codes ([`status_code`]) for `instr()` matching: `,1,2,` for
/// SUBMITTED and DELIVERED.
pub(super) fn status_set(statuses: &[Status]) -> String {
    let mut s = String::from(",");
    for st in statuses {
        s.push_str(&status_code(*st).to_string());
        s.push(',');
    }
    s
}

#[cfg(test)]
mod tests {
    use axp_core::api::IntentPosition;

    use super::*;

    /// SQLite's plan for `f`'s listing.
    fn plan(conn: &Connection, f: &IntentFilter) -> String {
        let named = NamedKeys {
            to_agent: f.to_agent.as_ref().map(|_| 2),
            from_agent: f.from_agent.as_ref().map(|_| 3),
            intent_type: f.intent_type.as_ref().map(|_| 4),
        };
        let (sql, args) = list_query(1, &named, f);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(params_from_iter(args), |r| r.get::<_, String>(3)).unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join(" | ")
    }

    /// Migration 0024's CASE gives each status the code the writer stores.
    #[test]
    fn the_migration_codes_statuses_as_the_writer_does() {
        let sql = include_str!("../../migrations/0024_compact_columns.sql");
        let case = &sql[sql.find("CASE i.status").unwrap()..];
        let case = case[..case.find("END").unwrap() + 3].replace("i.status", "?1");
        let conn = Connection::open_in_memory().unwrap();
        for status in Status::ALL {
            let code: i64 =
                conn.query_row(&format!("SELECT {case}"), [status.as_str()], |r| r.get(0)).unwrap();
            assert_eq!(code, status_code(status), "{status:?}");
        }
    }

    /// The listings the SDK, the CLI and a dashboard make walk an index in their order from
    /// the cursor on: none sorts or reads the workspace's every intent first.
    #[test]
    fn listings_walk_an_index_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let page = IntentFilter { limit: 51, ..Default::default() };
        let newest = IntentFilter { order: SortOrder::Desc, ..page.clone() };
        let at = Some(IntentPosition { created_at: Timestamp::from_millis(5), intent_id: IntentId::new() });
        let cases = [
            ("the SDK's list", page.clone()),
            (
                "the poll binding",
                IntentFilter {
                    statuses: vec![Status::Submitted, Status::Delivered],
                    to_agent: Some("agent://a/b/c".into()),
                    ..page
                },
            ),
            ("newest first", newest.clone()),
            ("the next page", IntentFilter { start_after: at, ..newest.clone() }),
            (
                "to an agent",
                IntentFilter { to_agent: Some("agent://a/b/c".into()), start_after: at, ..newest.clone() },
            ),
            (
                "one status",
                IntentFilter { statuses: vec![Status::Failed], start_after: at, ..newest.clone() },
            ),
            (
                "two statuses",
                IntentFilter { statuses: vec![Status::Failed, Status::Waiting], ..newest.clone() },
            ),
            (
                "a type in a time window",
                IntentFilter {
                    intent_type: Some("notify.message.v1".into()),
                    created_after: Some(Timestamp::from_millis(3)),
                    created_before: Some(Timestamp::from_millis(9)),
                    ..newest.clone()
                },
            ),
            ("from an agent", IntentFilter { from_agent: Some("agent://a/b/c".into()), ..newest }),
        ];
        for (what, f) in cases {
            let plan = plan(&conn, &f);
            assert!(
                plan.starts_with("SEARCH intents USING INDEX intents_by_") && !plan.contains("TEMP B-TREE"),
                "{what}: {plan}"
            );
        }
    }
}
