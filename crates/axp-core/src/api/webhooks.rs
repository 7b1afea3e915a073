//! Webhook subscriptions and events (contract §5.4), and push deliveries (§5.5). The objects
//! themselves ([`Subscription`], [`Delivery`], [`EventCounters`]) are in [`crate::delivery`].

use serde::{Deserialize, Serialize};

use super::yes;
use crate::delivery::{Delivery, EventCounters, Subscription};
use crate::ids::{EventId, SubscriptionId};
use crate::time::Timestamp;

/// Body of `POST /v1/webhooks/subscriptions`.
///
/// ```
/// let request = axp_core::api::SubscriptionRequest::new(
///     "https://hooks.example.com/axp",
///     ["intent.completed", "intent.failed"],
/// );
/// assert_eq!(request.event_types.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Response of `POST /v1/webhooks/subscriptions`: `{"ok": true, "subscription": {…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The subscription created or updated.
    pub subscription: Subscription,
}

/// Response of `GET /v1/webhooks/subscriptions`: `{"ok": true, "subscriptions": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListSubscriptionsResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The owner's subscriptions.
    pub subscriptions: Vec<Subscription>,
}

/// Response of `DELETE /v1/webhooks/subscriptions/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedSubscription {
    /// The subscription revoked.
    pub subscription_id: SubscriptionId,
    /// When.
    pub revoked_at: Option<Timestamp>,
}

/// Response of `POST /v1/webhooks/events` and of its replay: the event and what became of its
/// deliveries so far (delivery is asynchronous, so most are `pending`). The fields of the other
/// call are absent, not null.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEventReceipt {
    /// The event's id (the `webhook-id` of its deliveries).
    pub event_id: EventId,
    /// Its type.
    pub event_type: String,
    /// Whose subscriptions received it.
    pub owner_agent: String,
    /// Who emitted it (publish only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When it was accepted (publish only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Timestamp>,
    /// When it was queued again (replay only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_at: Option<Timestamp>,
    /// Delivery counters.
    #[serde(flatten)]
    pub counters: EventCounters,
}

/// Response of `GET /v1/deliveries/{id}` and `POST /v1/deliveries/{id}/replay`:
/// `{"ok": true, "delivery": {…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The delivery, with every attempt.
    pub delivery: Delivery,
}

/// Response of `GET /v1/deliveries`: `{"ok": true, "deliveries": [...]}`, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListDeliveriesResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The workspace's push deliveries.
    pub deliveries: Vec<Delivery>,
}
