//! Push deliveries.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl DeliveryTable for PgTx {
    async fn insert_delivery(
        &mut self,
        ws: WorkspaceId,
        d: &Delivery,
        secret_owner: &str,
        due_at: Option<Timestamp>,
    ) -> Result<()> {
        let conn = self.conn();
        q("INSERT INTO deliveries (workspace_id, delivery_id, kind, status, due_at, secret_owner, created_at, event_id, body, intent_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(ws.0)
        .bind(d.delivery_id.0)
        .bind(d.kind.as_str())
        .bind(d.status.as_str())
        .bind(due_at.map(Timestamp::as_millis))
        .bind(secret_owner)
        .bind(d.created_at.as_millis())
        .bind(d.event_id.map(|e| e.0))
        .bind(to_json(d)?)
        .bind(d.intent_id.map(|i| i.0))
        .execute(conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn update_delivery(
        &mut self,
        ws: WorkspaceId,
        d: &Delivery,
        due_at: Option<Timestamp>,
    ) -> Result<()> {
        let conn = self.conn();
        q("UPDATE deliveries SET status = $1, due_at = $2, body = $3 WHERE workspace_id = $4 AND delivery_id = $5")
            .bind(d.status.as_str())
            .bind(due_at.map(Timestamp::as_millis))
            .bind(to_json(d)?)
            .bind(ws.0)
            .bind(d.delivery_id.0)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// A delivery and the owner of its signing secret; with `lock`, locked until commit.
    async fn delivery(
        &mut self,
        ws: WorkspaceId,
        id: DeliveryId,
        lock: bool,
    ) -> Result<Option<(Delivery, String)>> {
        let conn = self.conn();
        let sql = if lock {
            "SELECT body, secret_owner FROM deliveries WHERE workspace_id = $1 AND delivery_id = $2 FOR UPDATE"
        } else {
            "SELECT body, secret_owner FROM deliveries WHERE workspace_id = $1 AND delivery_id = $2"
        };
        let row = q(sql).bind(ws.0).bind(id.0).fetch_optional(conn).await.map_err(db)?;
        row.map(|r| Ok((from_json(&get::<String>(&r, 0)?)?, get::<String>(&r, 1)?))).transpose()
    }

    /// Deliveries due at `now` across workspaces, earliest first, locked; rows another
    /// transaction holds (another replica's dispatcher) are skipped.
    async fn claim_due_deliveries(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, Delivery, String)>> {
        let conn = self.conn();
        let rows = q("SELECT workspace_id, body, secret_owner FROM deliveries
                       WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2
                       FOR UPDATE SKIP LOCKED")
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| Ok((WorkspaceId(get(r, 0)?), from_json(&get::<String>(r, 1)?)?, get::<String>(r, 2)?)))
            .collect()
    }

    async fn next_delivery_due(&mut self) -> Result<Option<Timestamp>> {
        let conn = self.conn();
        let row = q("SELECT MIN(due_at) FROM deliveries WHERE due_at IS NOT NULL")
            .fetch_one(conn)
            .await
            .map_err(db)?;
        Ok(get::<Option<i64>>(&row, 0)?.map(Timestamp::from_millis))
    }

    async fn list_deliveries(
        &mut self,
        ws: WorkspaceId,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let conn = self.conn();
        bodies(
            q("SELECT body FROM deliveries WHERE workspace_id = $1 AND ($2::text IS NULL OR status = $2)
                ORDER BY created_at DESC, delivery_id DESC LIMIT $3")
            .bind(ws.0)
            .bind(status.map(DeliveryStatus::as_str))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await
            .map_err(db)?,
        )
    }
}
