//! Webhook subscriptions and events (contract §5.4). Every call acts for an owner: `owner`
//! (sent as the `owner_agent` query parameter), or the caller's own agent address when `None`.

use axp_core::api::{
    ListSubscriptionsResponse, RevokedSubscription, SubscriptionRequest, SubscriptionResponse,
    WebhookEventReceipt,
};
use axp_core::delivery::Subscription;
use axp_core::{EventId, SubscriptionId};
use serde_json::Value;

use crate::client::Client;
use crate::error::Result;
use crate::request::with_owner;

impl Client {
    /// `POST /v1/webhooks/subscriptions`: subscribes `callback_url` to event types, or updates
    /// the owner's existing subscription for that URL (a revoked one is reactivated). Not
    /// retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::SubscriptionRequest;
    ///
    /// let request = SubscriptionRequest {
    ///     secret: Some("a-shared-secret-of-16+".into()),
    ///     ..SubscriptionRequest::new("https://hooks.example.com/axp", ["intent.completed"])
    /// };
    /// let sub = client.create_webhook_subscription(&request, None).await?;
    /// println!("{} → {}", sub.subscription_id, sub.callback_url);
    /// # Ok(()) }
    /// ```
    pub async fn create_webhook_subscription(
        &self,
        request: &SubscriptionRequest,
        owner: Option<&str>,
    ) -> Result<Subscription> {
        let url = with_owner(self.url(["v1", "webhooks", "subscriptions"]), owner);
        let response: SubscriptionResponse = self.post_json(url, request, None).await?;
        Ok(response.subscription)
    }

    /// `GET /v1/webhooks/subscriptions`: the owner's subscriptions, revoked ones too with
    /// `include_inactive`.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// for sub in client.list_webhook_subscriptions(None, false).await? {
    ///     println!("{} {:?}", sub.callback_url, sub.event_types);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_webhook_subscriptions(
        &self,
        owner: Option<&str>,
        include_inactive: bool,
    ) -> Result<Vec<Subscription>> {
        let mut url = with_owner(self.url(["v1", "webhooks", "subscriptions"]), owner);
        if include_inactive {
            url.query_pairs_mut().append_pair("include_inactive", "true");
        }
        let response: ListSubscriptionsResponse = self.get_json(url).await?;
        Ok(response.subscriptions)
    }

    /// `DELETE /v1/webhooks/subscriptions/{id}`: revokes a subscription; 404 for an unknown id.
    /// Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::SubscriptionId) -> axp_client::Result<()> {
    /// let revoked = client.revoke_webhook_subscription(id, None).await?;
    /// println!("revoked at {:?}", revoked.revoked_at);
    /// # Ok(()) }
    /// ```
    pub async fn revoke_webhook_subscription(
        &self,
        id: SubscriptionId,
        owner: Option<&str>,
    ) -> Result<RevokedSubscription> {
        let url = with_owner(self.url(["v1", "webhooks", "subscriptions", &id.to_string()]), owner);
        self.delete_json(url).await
    }

    /// `POST /v1/webhooks/events`: publishes an event to the owner's matching subscriptions.
    /// Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let receipt = client
    ///     .publish_webhook_event("inbox.thread_updated", "billing", &serde_json::json!({"thread": 1}), None)
    ///     .await?;
    /// println!("{} deliveries queued", receipt.counters.queued_deliveries);
    /// # Ok(()) }
    /// ```
    pub async fn publish_webhook_event(
        &self,
        event_type: &str,
        source: &str,
        payload: &Value,
        owner: Option<&str>,
    ) -> Result<WebhookEventReceipt> {
        let url = with_owner(self.url(["v1", "webhooks", "events"]), owner);
        let body = serde_json::json!({"event_type": event_type, "source": source, "payload": payload});
        self.post_json(url, &body, None).await
    }

    /// `POST /v1/webhooks/events/{id}/replay`: queues an event again to the owner's matching
    /// active subscriptions; 404 for an unknown event. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::EventId) -> axp_client::Result<()> {
    /// let receipt = client.replay_webhook_event(id, None).await?;
    /// println!("queued again at {:?}", receipt.replayed_at);
    /// # Ok(()) }
    /// ```
    pub async fn replay_webhook_event(
        &self,
        id: EventId,
        owner: Option<&str>,
    ) -> Result<WebhookEventReceipt> {
        let url = with_owner(self.url(["v1", "webhooks", "events", &id.to_string(), "replay"]), owner);
        self.post_json(url, &serde_json::json!({}), None).await
    }
}
