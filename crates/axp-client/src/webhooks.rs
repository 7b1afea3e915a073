//! Webhook subscriptions and events (contract §5.4). Every call acts for an owner: `owner`
//! (sent as the `owner_agent` query parameter), or the caller's own agent address when `None`.

use axp_core::Timestamp;
use axp_core::delivery::{EventCounters, Subscription};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::client::{Client, with_owner};
use crate::error::Result;

/// Body of `POST /v1/webhooks/subscriptions`.
///
/// ```
/// let request = axp_client::SubscriptionRequest::new(
///     "https://hooks.example.com/axp",
///     ["intent.completed", "intent.failed"],
/// );
/// assert_eq!(request.event_types.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRequest {
    /// Where events are POSTed (8 to 2048 characters; must pass the server's outbound policy).
    pub callback_url: String,
    /// 1 to 32 of `inbox.thread_created`, `inbox.thread_updated`, `inbox.reply_received`,
    /// `invite.accepted`, `auth.session_revoked`, or any `intent.*` lifecycle event type.
    pub event_types: Vec<String>,
    /// The signing secret (16 to 128 characters). Without one the server picks a secret that
    /// this API never shows, so pass your own when you verify signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Free text, at most 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SubscriptionRequest {
    /// A subscription of `callback_url` to `event_types`.
    pub fn new<I, S>(callback_url: impl Into<String>, event_types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            callback_url: callback_url.into(),
            event_types: event_types.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

/// Response of `DELETE /v1/webhooks/subscriptions/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedSubscription {
    /// The subscription revoked.
    pub subscription_id: Uuid,
    /// When.
    pub revoked_at: Option<Timestamp>,
}

/// Response of `POST /v1/webhooks/events` and of its replay: the event and what became of its
/// deliveries so far (delivery is asynchronous, so most are `pending`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookEventReceipt {
    /// The event's id (the `webhook-id` of its deliveries).
    pub event_id: Uuid,
    /// Its type.
    pub event_type: String,
    /// Whose subscriptions received it.
    pub owner_agent: String,
    /// Who emitted it (publish only).
    #[serde(default)]
    pub source: Option<String>,
    /// When it was accepted (publish only).
    #[serde(default)]
    pub accepted_at: Option<Timestamp>,
    /// When it was queued again (replay only).
    #[serde(default)]
    pub replayed_at: Option<Timestamp>,
    /// Delivery counters.
    #[serde(flatten)]
    pub counters: EventCounters,
}

#[derive(Deserialize)]
struct SubscriptionResponse {
    subscription: Subscription,
}

#[derive(Deserialize)]
struct SubscriptionsResponse {
    subscriptions: Vec<Subscription>,
}

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
        let response: SubscriptionsResponse = self.get_json(url).await?;
        Ok(response.subscriptions)
    }

    /// `DELETE /v1/webhooks/subscriptions/{id}`: revokes a subscription; 404 for an unknown id.
    /// Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: uuid::Uuid) -> axp_client::Result<()> {
    /// let revoked = client.revoke_webhook_subscription(id, None).await?;
    /// println!("revoked at {:?}", revoked.revoked_at);
    /// # Ok(()) }
    /// ```
    pub async fn revoke_webhook_subscription(
        &self,
        id: Uuid,
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
    /// # async fn f(client: axp_client::Client, id: uuid::Uuid) -> axp_client::Result<()> {
    /// let receipt = client.replay_webhook_event(id, None).await?;
    /// println!("queued again at {:?}", receipt.replayed_at);
    /// # Ok(()) }
    /// ```
    pub async fn replay_webhook_event(&self, id: Uuid, owner: Option<&str>) -> Result<WebhookEventReceipt> {
        let url = with_owner(self.url(["v1", "webhooks", "events", &id.to_string(), "replay"]), owner);
        self.post_json(url, &serde_json::json!({}), None).await
    }
}
