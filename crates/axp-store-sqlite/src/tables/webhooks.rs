//! Webhook subscriptions and events.

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl WebhookTable for SqliteTx<'_> {
    /// The subscription of `owner` for `callback_url`, with its secret.
    async fn subscription_by_url_for_update(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        url: &str,
    ) -> Result<Option<(Subscription, String)>> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT body, secret FROM webhook_subscriptions WHERE workspace_id = ?1 AND owner_agent = ?2 AND callback_url = ?3",
        )
        .map_err(db)?
        .query_row(params![ws.to_string(), owner, url], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .optional()
        .map_err(db)?
        .map(|(body, secret)| Ok((from_json(&body)?, secret)))
        .transpose()
    }

    async fn subscription(
        &mut self,
        ws: WorkspaceId,
        id: SubscriptionId,
        _for_update: bool,
    ) -> Result<Option<(Subscription, String)>> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT body, secret FROM webhook_subscriptions WHERE workspace_id = ?1 AND subscription_id = ?2",
        )
        .map_err(db)?
        .query_row(params![ws.to_string(), id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()
        .map_err(db)?
        .map(|(body, secret)| Ok((from_json(&body)?, secret)))
        .transpose()
    }

    /// Inserts or rewrites a subscription.
    async fn put_subscription(&mut self, ws: WorkspaceId, s: &Subscription, secret: &str) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "INSERT INTO webhook_subscriptions (workspace_id, subscription_id, owner_agent, callback_url, active, secret, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (workspace_id, subscription_id) DO UPDATE SET active = ?5, secret = ?6, body = ?7",
        )
        .map_err(db)?
        .execute(params![ws.to_string(), s.subscription_id.to_string(), s.owner_agent, s.callback_url, s.active, secret, to_json(s)?])
        .map_err(db)?;
        Ok(())
    }

    async fn list_subscriptions(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        include_inactive: bool,
    ) -> Result<Vec<Subscription>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT body FROM webhook_subscriptions WHERE workspace_id = ?1 AND owner_agent = ?2 AND (?3 OR active = 1)
                  ORDER BY subscription_id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ws.to_string(), owner, include_inactive], |r| r.get::<_, String>(0))
            .map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    /// Active subscriptions of any of `owners`.
    async fn active_subscriptions(&mut self, ws: WorkspaceId, owners: &[&str]) -> Result<Vec<Subscription>> {
        let conn = &*self.conn;
        let mut out = Vec::new();
        let mut stmt = conn
            .prepare_cached("SELECT body FROM webhook_subscriptions WHERE workspace_id = ?1 AND owner_agent = ?2 AND active = 1")
            .map_err(db)?;
        for owner in owners {
            let rows =
                stmt.query_map(params![ws.to_string(), owner], |r| r.get::<_, String>(0)).map_err(db)?;
            for b in rows {
                out.push(from_json(&b.map_err(db)?)?);
            }
        }
        Ok(out)
    }

    async fn insert_event(&mut self, ws: WorkspaceId, e: &WebhookEvent) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "INSERT INTO webhook_events (workspace_id, event_id, owner_agent, body, occurred_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db)?
        .execute(params![ws.to_string(), e.event_id.to_string(), e.owner_agent, to_json(e)?, e.occurred_at.as_millis()])
        .map_err(db)?;
        Ok(())
    }

    async fn event(&mut self, ws: WorkspaceId, owner: &str, id: EventId) -> Result<Option<WebhookEvent>> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT body FROM webhook_events WHERE workspace_id = ?1 AND event_id = ?2 AND owner_agent = ?3",
        )
        .map_err(db)?
        .query_row(params![ws.to_string(), id.to_string(), owner], |r| r.get::<_, String>(0))
        .optional()
        .map_err(db)?
        .map(|b| from_json(&b))
        .transpose()
    }

    /// The counters of an event's deliveries (queued = all of them).
    async fn event_counters(&mut self, ws: WorkspaceId, event: EventId) -> Result<EventCounters> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached("SELECT status, COUNT(*) FROM deliveries WHERE workspace_id = ?1 AND event_id = ?2 GROUP BY status")
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ws.to_string(), event.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
            })
            .map_err(db)?;
        Ok(axp_store::event_counters(rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?))
    }
}
