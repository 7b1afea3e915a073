//! Inbox threads (contract §5.1) and approvals (§5.2).
//!
//! One thread per intent (`thread_id = intent_id`), visible to its sender, its recipient(s), its
//! `reply_to` once completed, and delegates. The timeline joins the intent's lifecycle events
//! (`lifecycle.intent.*`, never deletable) with the thread's own entries (replies, delegations,
//! decisions, reads, completion deliveries).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::event::IntentEvent;
use crate::ids::{ApprovalId, IntentId};
use crate::intent::{Intent, PendingWith};
use crate::time::Timestamp;

/// Where a thread stands for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ThreadStatus {
    /// Created or delivered; nobody acted yet.
    Pending,
    /// Someone replied or acted.
    Active,
    /// Its intent ended.
    Done,
}

impl ThreadStatus {
    /// The wire value: `pending`, `active` or `done`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Done => "done",
        }
    }

    /// Parses `pending`, `active` or `done`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "done" => Some(Self::Done),
            _ => None,
        }
    }
}

/// One timeline entry: `{event_id, event_type, actor, at, details}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    /// A UUID (lifecycle entries get a stable one derived from the intent and `seq`).
    pub event_id: Uuid,
    /// `intent_received`, `lifecycle.intent.<…>`, `reply`, `delegated`, `approved`, `rejected`,
    /// `read`, `intent_completion_delivered`.
    pub event_type: String,
    /// Who did it (an agent address, `system` or `gateway`).
    pub actor: String,
    /// When.
    pub at: Timestamp,
    /// Entry data (`message` and `message_id` for replies, …).
    #[serde(default)]
    pub details: Map<String, Value>,
}

impl TimelineEntry {
    /// True for entries a participant may delete (messages); lifecycle and system entries are
    /// never deleted.
    pub fn is_message(&self) -> bool {
        self.event_type == "reply"
    }

    /// The entries every thread starts from: `intent_received`, then one
    /// `lifecycle.<event_type>` per lifecycle event, with ids derived from the intent and `seq`
    /// so they are the same on every read.
    pub fn from_lifecycle(intent_id: IntentId, events: &[IntentEvent]) -> Vec<TimelineEntry> {
        let mut out = Vec::with_capacity(events.len() + 1);
        for e in events {
            if e.seq == 1 {
                out.push(TimelineEntry {
                    event_id: Uuid::new_v5(intent_id.as_uuid(), b"intent_received"),
                    event_type: "intent_received".into(),
                    actor: "system".into(),
                    at: e.at,
                    details: Map::new(),
                });
            }
            let mut details = Map::new();
            details.insert("seq".into(), Value::from(e.seq));
            details.insert("status".into(), serde_json::to_value(e.status).unwrap_or(Value::Null));
            details.extend(e.details.clone());
            out.push(TimelineEntry {
                event_id: Uuid::new_v5(intent_id.as_uuid(), &e.seq.to_be_bytes()),
                event_type: format!("lifecycle.{}", e.event_type),
                actor: if e.actor.len() >= 2 { e.actor.clone() } else { "system".into() },
                at: e.at,
                details,
            });
        }
        out
    }
}

/// A thread as one owner sees it (the thread object of §5.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Thread {
    /// = `intent_id`.
    pub thread_id: IntentId,
    /// The intent.
    pub intent_id: IntentId,
    /// pending, active or done.
    pub status: ThreadStatus,
    /// The owner viewing it.
    pub owner_agent: String,
    /// The intent's sender.
    pub from_agent: String,
    /// The intent's (current) target.
    pub to_agent: String,
    /// The intent's type.
    pub intent_type: String,
    /// When the intent was created.
    pub created_at: Timestamp,
    /// When the thread last changed.
    pub updated_at: Timestamp,
    /// When the last message was posted, if any.
    pub last_message_at: Option<Timestamp>,
    /// Whether it changed since this owner last read it.
    pub unread: bool,
    /// Oldest first; never empty.
    pub timeline: Vec<TimelineEntry>,
    /// The open human task, if the intent waits for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_task: Option<Map<String, Value>>,
    /// Who the intent waits on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_with: Option<PendingWith>,
}

impl Thread {
    /// Builds the view of `intent` for `owner` from its lifecycle events and the thread's own
    /// entries (already without the ones deleted or hidden for this owner).
    pub fn build(
        intent: &Intent,
        owner: &str,
        events: &[IntentEvent],
        mut entries: Vec<TimelineEntry>,
        unread: bool,
        updated_at: Timestamp,
    ) -> Self {
        let acted =
            entries.iter().any(|e| e.event_type != "read" && e.event_type != "intent_completion_delivered");
        let status = if intent.status.is_terminal() {
            ThreadStatus::Done
        } else if acted {
            ThreadStatus::Active
        } else {
            ThreadStatus::Pending
        };
        let last_message_at = entries.iter().filter(|e| e.is_message()).map(|e| e.at).max();
        let mut timeline = TimelineEntry::from_lifecycle(intent.intent_id, events);
        timeline.append(&mut entries);
        timeline.sort_by_key(|e| e.at);
        Thread {
            thread_id: intent.intent_id,
            intent_id: intent.intent_id,
            status,
            owner_agent: owner.to_owned(),
            from_agent: intent.from_agent.clone(),
            to_agent: intent.to_agent.clone(),
            intent_type: intent.intent_type.clone(),
            created_at: intent.created_at,
            updated_at: updated_at.max(intent.updated_at),
            last_message_at,
            unread,
            timeline,
            human_task: intent.human_task.clone().filter(|_| !intent.status.is_terminal()),
            pending_with: intent.pending_with.clone(),
        }
    }
}

/// What an owner does to a thread.
#[derive(Clone, Debug, PartialEq)]
pub enum ThreadAction {
    /// Posts a message (1 to 5000 characters).
    Reply {
        /// The text.
        message: String,
    },
    /// Hands the thread (and an open human task) to another owner.
    Delegate {
        /// The new owner (normalised address, or a person).
        to: String,
        /// Why.
        note: Option<String>,
    },
    /// Approves or rejects; answers an open human task.
    Decide {
        /// Approve (true) or reject.
        approve: bool,
        /// Why.
        comment: Option<String>,
    },
    /// Marks the thread read for this owner.
    Read,
    /// Deletes messages: for this owner only (`both: false`) or for everyone.
    DeleteMessages {
        /// `both` mode.
        both: bool,
        /// Which messages; none: the newest `limit`.
        message_ids: Vec<String>,
        /// How many at most (1 to 100).
        limit: usize,
    },
}

/// A decided approval (§5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// Its id (a human task's intent id, or any id a client chose).
    pub approval_id: ApprovalId,
    /// `approve` or `reject`.
    pub decision: String,
    /// Why.
    pub comment: Option<String>,
    /// When.
    pub decided_at: Timestamp,
}
