//! What the server asks of storage for webhooks (contract §5.4): subscriptions, and the events
//! published to them. A part of [`crate::Store`] (its supertrait), implemented by
//! `axp_engine::Ledger` like the rest.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::delivery::{EventCounters, Subscription, WebhookEvent};
use axp_core::ids::{EventId, SubscriptionId};

use crate::{NewSubscription, Result, Tenant};

/// Webhook storage; see [`crate::Store`] for the conventions (every call one transaction or one read).
#[async_trait]
pub trait WebhookStore {
    /// Creates or updates a webhook subscription; the key is (owner, callback URL), and
    /// upserting a revoked one reactivates it (contract §5.4).
    async fn upsert_subscription(
        &self,
        tenant: &Tenant,
        subscription: NewSubscription,
        now: Timestamp,
    ) -> Result<Subscription>;

    /// The subscriptions of `owner`, active ones only unless `include_inactive`.
    async fn list_subscriptions(
        &self,
        tenant: &Tenant,
        owner: &str,
        include_inactive: bool,
    ) -> Result<Vec<Subscription>>;

    /// Revokes a subscription of `owner` (idempotent). Errors: [`crate::Error::NotFound`].
    async fn revoke_subscription(
        &self,
        tenant: &Tenant,
        owner: &str,
        id: SubscriptionId,
        now: Timestamp,
    ) -> Result<Subscription>;

    /// Records `event` and queues a delivery of it to every active subscription of its owner
    /// that names its type.
    async fn publish_event(&self, tenant: &Tenant, event: WebhookEvent) -> Result<EventCounters>;

    /// Queues `owner`'s event `id` again to its matching active subscriptions. Errors:
    /// [`crate::Error::NotFound`].
    async fn replay_event(
        &self,
        tenant: &Tenant,
        owner: &str,
        id: EventId,
        now: Timestamp,
    ) -> Result<(WebhookEvent, EventCounters)>;
}
