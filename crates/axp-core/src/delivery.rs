//! Push deliveries: an intent POSTed to an `http` agent, or an event to a webhook subscription
//! (contract §5.4, §5.5). Every attempt is recorded; a delivery that runs out of attempts is
//! dead-lettered and can be replayed as a new delivery linked to it.

use std::fmt;
use std::str::FromStr;

use crate::ids::{DeliveryId, EventId, IntentId, OrgId, SubscriptionId, WorkspaceId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How intents reach an agent: its delivery binding, the `delivery_mode` of service accounts,
/// agents and scenario agents (README/DESIGN "Delivery bindings"; contract §4.12, §4.13). On the
/// wire it is the lowercase name, e.g. `"delivery_mode": "stream"`.
///
/// ```
/// use axp_core::delivery::Binding;
///
/// assert_eq!("http".parse::<Binding>(), Ok(Binding::Http));
/// assert_eq!(serde_json::to_value(Binding::Poll)?, serde_json::json!("poll"));
/// assert_eq!(
///     "mesh".parse::<Binding>().unwrap_err().to_string(),
///     r#"must be one of ["stream", "poll", "http", "inbox", "internal"]"#
/// );
/// // Read from a newer server, a binding this version does not know is `Unknown`.
/// assert_eq!(serde_json::from_value::<Binding>(serde_json::json!("mesh"))?, Binding::Unknown);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    /// The agent holds an SSE stream (the default).
    #[default]
    Stream,
    /// The agent claims work when it likes.
    Poll,
    /// The server POSTs each intent to the agent's endpoint.
    Http,
    /// The agent is a person: an intent to it becomes their human task.
    Inbox,
    /// The server itself runs the steps.
    Internal,
    /// A binding this version does not know, read from a newer server; the SDK keeps reading.
    /// Never parsed by [`FromStr`] nor produced by this server.
    #[serde(other)]
    Unknown,
}

impl Binding {
    /// Every binding a request may name, in the order error messages list them.
    pub const ALL: [Binding; 5] =
        [Binding::Stream, Binding::Poll, Binding::Http, Binding::Inbox, Binding::Internal];

    /// The wire name, e.g. `stream`.
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Stream => "stream",
            Binding::Poll => "poll",
            Binding::Http => "http",
            Binding::Inbox => "inbox",
            Binding::Internal => "internal",
            Binding::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `delivery_mode` that names none of [`Binding::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBinding;

impl fmt::Display for UnknownBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "must be one of {:?}", Binding::ALL.map(Binding::as_str))
    }
}

impl std::error::Error for UnknownBinding {}

impl FromStr for Binding {
    type Err = UnknownBinding;

    /// Parses a wire name exactly (lowercase; `unknown` is not one).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Binding::ALL.into_iter().find(|b| b.as_str() == s).ok_or(UnknownBinding)
    }
}

/// Where a delivery goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// An intent to an agent with the `http` binding; the body is the agent stream frame.
    AgentPush,
    /// An event to a webhook subscription.
    Webhook,
}

impl DeliveryKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::AgentPush => "agent_push",
            DeliveryKind::Webhook => "webhook",
        }
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// An attempt is under way.
    Delivering,
    /// The receiver answered 2xx.
    Delivered,
    /// Stopped without success because its intent ended meanwhile; not retried.
    Failed,
    /// Every attempt failed; listed under `?status=dead_lettered` and replayable.
    DeadLettered,
}

impl DeliveryStatus {
    /// The wire name, e.g. `dead_lettered`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivering => "delivering",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::DeadLettered => "dead_lettered",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivering, Self::Delivered, Self::Failed, Self::DeadLettered]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// One attempt of a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    /// 1, 2, 3, …
    pub attempt: u32,
    /// When it started.
    pub at: Timestamp,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why it failed (timeout, refused, blocked address, non-2xx), when it did.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// A push delivery as `GET /v1/deliveries/{id}` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// Its id.
    pub delivery_id: DeliveryId,
    /// The dead-lettered delivery this one replays.
    pub replay_of_delivery_id: Option<DeliveryId>,
    /// Organization.
    pub org_id: OrgId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// Agent push or webhook.
    pub kind: DeliveryKind,
    /// `http` for agent pushes, `webhook` for subscriptions (the contract's `transport_type`).
    pub transport_type: String,
    /// The Standard Webhooks `webhook-id`: the same on every attempt and on replays.
    pub message_id: String,
    /// The intent pushed (agent pushes).
    pub intent_id: Option<IntentId>,
    /// The webhook event (webhooks).
    pub event_id: Option<EventId>,
    /// The subscription (webhooks).
    pub subscription_id: Option<SubscriptionId>,
    /// The agent address or the subscription's owner.
    pub target: String,
    /// Where it is POSTed.
    pub url: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempt: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<Timestamp>,
    /// The last HTTP status received.
    pub last_response_code: Option<u16>,
    /// The last failure, for people.
    pub error_detail: Option<String>,
    /// Every attempt, oldest first.
    pub attempts: Vec<DeliveryAttempt>,
    /// The JSON body POSTed.
    pub payload: Value,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Event types a webhook subscription may name besides the `intent.*` lifecycle events
/// (contract §5.4).
pub const WEBHOOK_EVENT_TYPES: [&str; 6] = [
    "inbox.thread_created",
    "inbox.thread_updated",
    "inbox.reply_received",
    "invite.accepted",
    "auth.session_revoked",
    "workflow.notification",
];

/// A webhook subscription (contract §5.4); every key is always present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscription {
    /// Its id.
    pub subscription_id: SubscriptionId,
    /// Whose events it receives.
    pub owner_agent: String,
    /// Where they are POSTed.
    pub callback_url: String,
    /// Which event types (`inbox.*`, `invite.accepted`, `auth.session_revoked`, `intent.*`).
    pub event_types: Vec<String>,
    /// False once revoked or deactivated.
    pub active: bool,
    /// Free text.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// `****` + the secret's last four characters.
    pub secret_hint: Option<String>,
}

/// The body POSTed for a webhook event (contract §5.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEvent {
    /// Its id (the `webhook-id` of its deliveries).
    pub event_id: EventId,
    /// e.g. `inbox.thread_created` or `intent.completed`.
    pub event_type: String,
    /// Who emitted it (`axp` for lifecycle events).
    pub source: String,
    /// Whose subscriptions receive it.
    pub owner_agent: String,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// Its data (the lifecycle event object for `intent.*`).
    pub payload: Value,
}

/// What became of an event's deliveries (contract §5.4 counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventCounters {
    /// Deliveries created (one per matching active subscription).
    pub queued_deliveries: u32,
    /// Attempts made within the request (axp delivers asynchronously: 0).
    pub processed_deliveries: u32,
    /// Deliveries answered 2xx.
    pub delivered: u32,
    /// Deliveries waiting for an attempt.
    pub pending: u32,
    /// Deliveries that ran out of attempts.
    pub dead_lettered: u32,
}
