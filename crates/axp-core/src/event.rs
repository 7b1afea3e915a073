//! Lifecycle events (contract §3.2; `axp-spec/schemas/protocol/intent.event.v1.json`).
//!
//! Every change of an intent appends exactly one event, numbered by `seq` (1, 2, 3, … per intent,
//! no gaps) in the same transaction as the change.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::IntentId;
use crate::intent::PendingWith;
use crate::status::{Status, WaitingReason};
use crate::time::Timestamp;

/// The kind of a lifecycle event; on the wire `intent.<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    /// seq 1, status CREATED.
    #[serde(rename = "intent.created")]
    Created,
    /// seq 2, status SUBMITTED, in the same transaction as the create.
    #[serde(rename = "intent.submitted")]
    Submitted,
    /// Handed to its target; `handler` is the target address.
    #[serde(rename = "intent.delivered")]
    Delivered,
    /// The target acknowledged.
    #[serde(rename = "intent.acknowledged")]
    Acknowledged,
    /// Work started or resumed.
    #[serde(rename = "intent.in_progress")]
    InProgress,
    /// Blocked on a tool, an agent or time.
    #[serde(rename = "intent.waiting")]
    Waiting,
    /// A human task was opened (status WAITING, reason WAITING_FOR_HUMAN).
    #[serde(rename = "intent.human_task_assigned")]
    HumanTaskAssigned,
    /// A reminder fired; status unchanged.
    #[serde(rename = "intent.reminder")]
    Reminder,
    /// Escalated to `details.escalated_to`; status unchanged.
    #[serde(rename = "intent.escalated")]
    Escalated,
    /// The handler changed; status unchanged.
    #[serde(rename = "intent.transfer")]
    Transfer,
    /// `max_delivery_attempts` exhausted; status FAILED.
    #[serde(rename = "intent.delivery_failed")]
    DeliveryFailed,
    /// `deadline_at` passed; status TIMED_OUT.
    #[serde(rename = "intent.timed_out")]
    TimedOut,
    /// Finished; `details.result`.
    #[serde(rename = "intent.completed")]
    Completed,
    /// Failed; `details.error`.
    #[serde(rename = "intent.failed")]
    Failed,
    /// Canceled; `details.reason`.
    #[serde(rename = "intent.canceled")]
    Canceled,
}

impl EventType {
    /// Every event type, in lifecycle order.
    pub const ALL: [EventType; 15] = [
        EventType::Created,
        EventType::Submitted,
        EventType::Delivered,
        EventType::Acknowledged,
        EventType::InProgress,
        EventType::Waiting,
        EventType::HumanTaskAssigned,
        EventType::Reminder,
        EventType::Escalated,
        EventType::Transfer,
        EventType::DeliveryFailed,
        EventType::TimedOut,
        EventType::Completed,
        EventType::Failed,
        EventType::Canceled,
    ];

    /// The wire name, e.g. `intent.completed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "intent.created",
            EventType::Submitted => "intent.submitted",
            EventType::Delivered => "intent.delivered",
            EventType::Acknowledged => "intent.acknowledged",
            EventType::InProgress => "intent.in_progress",
            EventType::Waiting => "intent.waiting",
            EventType::HumanTaskAssigned => "intent.human_task_assigned",
            EventType::Reminder => "intent.reminder",
            EventType::Escalated => "intent.escalated",
            EventType::Transfer => "intent.transfer",
            EventType::DeliveryFailed => "intent.delivery_failed",
            EventType::TimedOut => "intent.timed_out",
            EventType::Completed => "intent.completed",
            EventType::Failed => "intent.failed",
            EventType::Canceled => "intent.canceled",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lifecycle event as returned by the events list, the SSE stream and `resolve.event`.
///
/// ```json
/// {"intent_id":"…","seq":3,"event_type":"intent.completed","status":"COMPLETED",
///  "waiting_reason":null,"handler":"agent://…","actor":"gateway","at":"2026-02-28T00:00:10.000Z",
///  "details":{"result":{"ok":true}},"pending_with":null}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntentEvent {
    /// The intent this event belongs to.
    pub intent_id: IntentId,
    /// Position in the intent's history: 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// What happened.
    pub event_type: EventType,
    /// The intent's status after this event.
    pub status: Status,
    /// Set exactly when `status` is WAITING.
    pub waiting_reason: Option<WaitingReason>,
    /// The agent address handling the intent at this point.
    pub handler: String,
    /// Who caused it: an agent address, `gateway` or `system`.
    pub actor: String,
    /// When it was committed.
    pub at: Timestamp,
    /// Event-specific fields (`result`, `error`, `reason`, `intent_type`, …); always an object.
    #[serde(default)]
    pub details: Map<String, Value>,
    /// Who the intent is waiting on after this event, if anyone.
    pub pending_with: Option<PendingWith>,
    /// The task opened, on `intent.human_task_assigned` (§3.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_task: Option<Map<String, Value>>,
}

impl IntentEvent {
    /// True for the events that end an intent's lifecycle.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}
