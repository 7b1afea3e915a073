//! Webhook subscriptions and the events recorded for their owners.

use async_trait::async_trait;
use axp_core::delivery::{EventCounters, Subscription, WebhookEvent};
use axp_core::ids::{EventId, SubscriptionId, WorkspaceId};

use crate::Result;

/// Tables `webhook_subscriptions`, `webhook_events`.
#[async_trait]
pub trait WebhookTable {
    /// The subscription of `owner` for `url`, with its secret, locked until the transaction
    /// ends (even when missing: two upserts of the same key serialise).
    async fn subscription_by_url_for_update(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        url: &str,
    ) -> Result<Option<(Subscription, String)>>;

    /// One subscription with its secret (locked with `for_update`).
    async fn subscription(
        &mut self,
        ws: WorkspaceId,
        id: SubscriptionId,
        for_update: bool,
    ) -> Result<Option<(Subscription, String)>>;

    /// Inserts or rewrites a subscription with its secret.
    async fn put_subscription(&mut self, ws: WorkspaceId, s: &Subscription, secret: &str) -> Result<()>;

    /// The subscriptions of `owner`, active ones only unless `include_inactive`.
    async fn list_subscriptions(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        include_inactive: bool,
    ) -> Result<Vec<Subscription>>;

    /// The active subscriptions of any of `owners`.
    async fn active_subscriptions(&mut self, ws: WorkspaceId, owners: &[&str]) -> Result<Vec<Subscription>>;

    /// Records an event.
    async fn insert_event(&mut self, ws: WorkspaceId, e: &WebhookEvent) -> Result<()>;

    /// One event of `owner`.
    async fn event(&mut self, ws: WorkspaceId, owner: &str, id: EventId) -> Result<Option<WebhookEvent>>;

    /// The counters of an event's deliveries.
    async fn event_counters(&mut self, ws: WorkspaceId, event: EventId) -> Result<EventCounters>;
}
