//! Webhook subscriptions and events.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl WebhookTable for PgTx {
    /// The subscription of `owner` for `callback_url`, with its secret, locked (after an advisory
    /// lock on the pair, so two replicas creating it at once queue up instead of conflicting).
    async fn subscription_by_url_for_update(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        url: &str,
    ) -> Result<Option<(Subscription, String)>> {
        let conn = self.conn();
        lock_key(&mut *conn, &format!("sub\u{1f}{ws}\u{1f}{owner}\u{1f}{url}")).await?;
        sub_with_secret(
            q("SELECT body, secret FROM webhook_subscriptions
                WHERE workspace_id = $1 AND owner_agent = $2 AND callback_url = $3 FOR UPDATE")
            .bind(ws.0)
            .bind(owner)
            .bind(url)
            .fetch_optional(conn)
            .await
            .map_err(db)?,
        )
    }

    async fn subscription(
        &mut self,
        ws: WorkspaceId,
        id: SubscriptionId,
        lock: bool,
    ) -> Result<Option<(Subscription, String)>> {
        let conn = self.conn();
        let sql = if lock {
            "SELECT body, secret FROM webhook_subscriptions WHERE workspace_id = $1 AND subscription_id = $2 FOR UPDATE"
        } else {
            "SELECT body, secret FROM webhook_subscriptions WHERE workspace_id = $1 AND subscription_id = $2"
        };
        sub_with_secret(q(sql).bind(ws.0).bind(id.0).fetch_optional(conn).await.map_err(db)?)
    }

    /// Inserts or rewrites a subscription.
    async fn put_subscription(&mut self, ws: WorkspaceId, s: &Subscription, secret: &str) -> Result<()> {
        self.subscriptions.clear();
        self.cached_rows_changed = true;
        let conn = self.conn();
        q("INSERT INTO webhook_subscriptions (workspace_id, subscription_id, owner_agent, callback_url, active, secret, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (workspace_id, subscription_id) DO UPDATE SET active = $5, secret = $6, body = $7")
        .bind(ws.0)
        .bind(s.subscription_id.0)
        .bind(&s.owner_agent)
        .bind(&s.callback_url)
        .bind(s.active)
        .bind(secret)
        .bind(to_json(s)?)
        .execute(conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn list_subscriptions(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        include_inactive: bool,
    ) -> Result<Vec<Subscription>> {
        let conn = self.conn();
        bodies(
            q("SELECT body FROM webhook_subscriptions WHERE workspace_id = $1 AND owner_agent = $2 AND ($3 OR active)
                ORDER BY subscription_id")
            .bind(ws.0)
            .bind(owner)
            .bind(include_inactive)
            .fetch_all(conn)
            .await
            .map_err(db)?,
        )
    }

    /// Active subscriptions of any of `owners`, in the order of `owners`.
    async fn active_subscriptions(&mut self, ws: WorkspaceId, owners: &[&str]) -> Result<Vec<Subscription>> {
        let shared = !self.cached_rows_changed;
        for owner in owners {
            let key = (ws, (*owner).to_owned());
            if shared
                && !self.subscriptions.contains_key(&key)
                && let Some(subs) = self.rows.subscriptions.get(&key)
            {
                self.subscriptions.insert(key, subs);
            }
        }
        let missing: Vec<&str> = owners
            .iter()
            .copied()
            .filter(|o| !self.subscriptions.contains_key(&(ws, (*o).to_owned())))
            .collect();
        if !missing.is_empty() {
            let generation = self.rows.subscriptions.generation();
            let found: Vec<Subscription> = bodies(
                q("SELECT body FROM webhook_subscriptions WHERE workspace_id = $1 AND owner_agent = ANY($2) AND active
                    ORDER BY subscription_id")
                .bind(ws.0)
                .bind(&missing)
                .fetch_all(self.conn())
                .await
                .map_err(db)?,
            )?;
            for owner in missing {
                let subs: Vec<Subscription> =
                    found.iter().filter(|s| s.owner_agent == owner).cloned().collect();
                if shared {
                    self.rows.subscriptions.insert((ws, owner.to_owned()), subs.clone(), generation);
                }
                self.subscriptions.insert((ws, owner.to_owned()), subs);
            }
        }
        Ok(owners.iter().flat_map(|o| self.subscriptions[&(ws, (*o).to_owned())].clone()).collect())
    }

    async fn insert_event(&mut self, ws: WorkspaceId, e: &WebhookEvent) -> Result<()> {
        let conn = self.conn();
        q("INSERT INTO webhook_events (workspace_id, event_id, owner_agent, body, occurred_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(ws.0)
            .bind(e.event_id.0)
            .bind(&e.owner_agent)
            .bind(to_json(e)?)
            .bind(e.occurred_at.as_millis())
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn event(&mut self, ws: WorkspaceId, owner: &str, id: EventId) -> Result<Option<WebhookEvent>> {
        let conn = self.conn();
        body(
            q("SELECT body FROM webhook_events WHERE workspace_id = $1 AND event_id = $2 AND owner_agent = $3")
                .bind(ws.0)
                .bind(id.0)
                .bind(owner)
                .fetch_optional(conn)
                .await
                .map_err(db)?,
        )
    }

    /// The counters of an event's deliveries (queued = all of them).
    async fn event_counters(&mut self, ws: WorkspaceId, event: EventId) -> Result<EventCounters> {
        let conn = self.conn();
        let rows = q(
            "SELECT status, COUNT(*) FROM deliveries WHERE workspace_id = $1 AND event_id = $2 GROUP BY status",
        )
        .bind(ws.0)
        .bind(event.0)
        .fetch_all(conn)
        .await
        .map_err(db)?;
        let counts = rows.iter().map(|r| Ok((get::<String>(r, 0)?, get::<i64>(r, 1)? as u32)));
        Ok(axp_store::event_counters(counts.collect::<Result<Vec<_>>>()?))
    }
}

fn sub_with_secret(row: Option<PgRow>) -> Result<Option<(Subscription, String)>> {
    row.map(|r| Ok((from_json(&get::<String>(&r, 0)?)?, get::<String>(&r, 1)?))).transpose()
}
