//! Push deliveries.

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl DeliveryTable for SqliteTx<'_> {
    async fn insert_delivery(
        &mut self,
        ws: WorkspaceId,
        d: &Delivery,
        secret_owner: &str,
        due_at: Option<Timestamp>,
    ) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "INSERT INTO deliveries (workspace_id, delivery_id, kind, status, due_at, secret_owner, created_at, body, event_id, intent_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db)?
        .execute(params![
            ws.to_string(),
            d.delivery_id.to_string(),
            d.kind.as_str(),
            d.status.as_str(),
            due_at.map(Timestamp::as_millis),
            secret_owner,
            d.created_at.as_millis(),
            to_json(d)?,
            d.event_id.map(|e| e.to_string()),
            d.intent_id.map(|i| i.to_string())
        ])
        .map_err(db)?;
        Ok(())
    }

    async fn update_delivery(
        &mut self,
        ws: WorkspaceId,
        d: &Delivery,
        due_at: Option<Timestamp>,
    ) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached("UPDATE deliveries SET status = ?1, due_at = ?2, body = ?3 WHERE workspace_id = ?4 AND delivery_id = ?5")
            .map_err(db)?
            .execute(params![d.status.as_str(), due_at.map(Timestamp::as_millis), to_json(d)?, ws.to_string(), d.delivery_id.to_string()])
            .map_err(db)?;
        Ok(())
    }

    /// A delivery and the owner of its signing secret.
    async fn delivery(
        &mut self,
        ws: WorkspaceId,
        id: DeliveryId,
        _for_update: bool,
    ) -> Result<Option<(Delivery, String)>> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT body, secret_owner FROM deliveries WHERE workspace_id = ?1 AND delivery_id = ?2",
        )
        .map_err(db)?
        .query_row(params![ws.to_string(), id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()
        .map_err(db)?
        .map(|(body, owner)| Ok((from_json(&body)?, owner)))
        .transpose()
    }

    /// Deliveries due at `now` across workspaces, earliest first.
    async fn claim_due_deliveries(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, Delivery, String)>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT workspace_id, body, secret_owner FROM deliveries
                  WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![now.as_millis(), limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(db)?;
        rows.map(|row| {
            let (ws, body, owner) = row.map_err(db)?;
            let ws = WorkspaceId(uuid_of(&ws)?);
            Ok((ws, from_json(&body)?, owner))
        })
        .collect()
    }

    async fn next_delivery_due(&mut self) -> Result<Option<Timestamp>> {
        let conn = &*self.conn;
        conn.prepare_cached("SELECT MIN(due_at) FROM deliveries WHERE due_at IS NOT NULL")
            .map_err(db)?
            .query_row([], |r| r.get::<_, Option<i64>>(0))
            .map(|t| t.map(Timestamp::from_millis))
            .map_err(db)
    }

    async fn list_deliveries(
        &mut self,
        ws: WorkspaceId,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT body FROM deliveries WHERE workspace_id = ?1 AND (?2 IS NULL OR status = ?2)
                  ORDER BY created_at DESC, delivery_id DESC LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ws.to_string(), status.map(DeliveryStatus::as_str), limit], |r| {
                r.get::<_, String>(0)
            })
            .map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }
}
