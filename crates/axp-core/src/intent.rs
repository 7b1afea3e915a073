//! The intent object (contract §3.3; `api.intents.get.response.v1.json`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::address::AgentAddress;
use crate::event::{EventType, IntentEvent};
use crate::ids::IntentId;
use crate::status::{Status, WaitingReason};
use crate::time::Timestamp;

/// The actor name the server uses for events it originates itself.
pub const GATEWAY_ACTOR: &str = "gateway";

/// Who an intent is waiting on: `{"type": "agent"|"human"|"internal", "ref": …, "name": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingWith {
    /// `agent`, `human` or `internal`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The address, e-mail or role being waited on.
    #[serde(rename = "ref")]
    pub reference: String,
    /// A display name.
    pub name: String,
}

impl PendingWith {
    /// Waiting on an agent: `ref` is its address, `name` its last segment.
    pub fn agent(address: &str) -> Self {
        let name = address.rsplit('/').next().unwrap_or(address).to_owned();
        Self { kind: "agent".into(), reference: address.to_owned(), name }
    }

    /// Waiting on a person (an assignee of a human task).
    pub fn human(reference: &str) -> Self {
        Self { kind: "human".into(), reference: reference.to_owned(), name: reference.to_owned() }
    }
}

/// The state of one intent, as stored and as returned by `GET /v1/intents/{id}`.
///
/// The wire form adds derived fields (`lifecycle_status`, `legacy_status`, `due_at`): see
/// [`Intent::to_wire`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Intent {
    /// Its id (also its inbox thread id).
    pub intent_id: IntentId,
    /// e.g. `intent.report.generate.v1`.
    pub intent_type: String,
    /// Caller-chosen (or generated) correlation id.
    pub correlation_id: Uuid,
    /// The sender: the calling key's agent address (never taken from the body, §2.3).
    pub from_agent: String,
    /// The target agent address.
    pub to_agent: String,
    /// Where the completion is delivered (§4.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The caller's payload object.
    pub payload: Map<String, Value>,
    /// Current status.
    pub status: Status,
    /// Set exactly when `status` is WAITING.
    pub waiting_reason: Option<WaitingReason>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// After this instant a non-terminal intent becomes TIMED_OUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<Timestamp>,
    /// Seconds after entering WAITING_FOR_HUMAN before the first reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_after_seconds: Option<u32>,
    /// Seconds between later reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_interval_seconds: Option<u32>,
    /// Reminders before escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reminders: Option<u32>,
    /// Reminders sent so far.
    #[serde(default)]
    pub remind_count: u32,
    /// Escalation target (address or role alias).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<String>,
    /// Failed deliveries allowed before FAILED; unset means unlimited (§4.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delivery_attempts: Option<u32>,
    /// Delivery attempts made so far (1 after the first handoff).
    #[serde(default)]
    pub delivery_attempt: u32,
    /// Seconds the agent has to acknowledge a delivery before it is redelivered; unset: the
    /// agent's setting, else [`crate::timer::DEFAULT_LEASE_SECONDS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_seconds: Option<u32>,
    /// When the current delivery's lease runs out; set only while DELIVERED and unacknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<Timestamp>,
    /// The open human task, if any (HumanTaskSpec, §4.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_task: Option<Map<String, Value>>,
    /// Who the intent is waiting on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_with: Option<PendingWith>,
    /// Incremented by every applied controls or policy change; the CAS guard of §4.8.
    #[serde(default)]
    pub policy_generation: u64,
    /// `workflow_control_policy.controls` (§4.8).
    #[serde(default)]
    pub controls: Map<String, Value>,
    /// Policy grants (§4.8).
    #[serde(default)]
    pub grants: Map<String, Value>,
    /// Policy envelope (§4.8).
    #[serde(default)]
    pub envelope: Map<String, Value>,
    /// The result, once COMPLETED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error, once FAILED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// The scenario that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_id: Option<String>,
    /// The compiled workflow of that scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_compile_id: Option<String>,
    /// The current workflow step, when created by a scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// Seconds the current step may take (`step_deadline_seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_deadline_seconds: Option<u32>,
    /// The scenario's workflow, when it has steps to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<crate::workflow::Workflow>,
    /// The `seq` of the last event.
    pub last_seq: u64,
}

/// `Intent` as sent on the wire: every stored field plus the derived ones of §3.3.
#[derive(Serialize)]
struct IntentWire<'a> {
    #[serde(flatten)]
    intent: &'a Intent,
    lifecycle_status: Status,
    legacy_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_at: Option<Timestamp>,
}

impl Intent {
    /// When it finished (its last change, `updated_at`), once its status is terminal; `None`
    /// while it is not finished. Retention counts from here (`crate::retention`).
    pub fn finished_at(&self) -> Option<Timestamp> {
        self.status.is_terminal().then_some(self.updated_at)
    }

    /// The JSON object of contract §3.3, with `lifecycle_status` (= `status`), `legacy_status`
    /// and `due_at` (= `deadline_at`) added.
    pub fn to_wire(&self) -> Value {
        serde_json::to_value(IntentWire {
            intent: self,
            lifecycle_status: self.status,
            legacy_status: self.status.legacy(),
            due_at: self.deadline_at,
        })
        .unwrap_or(Value::Null)
    }

    /// Builds the event that records a change this intent has just undergone, numbered
    /// `last_seq + 1`, and advances `last_seq` and `updated_at`.
    pub fn record(
        &mut self,
        event_type: EventType,
        actor: &str,
        now: Timestamp,
        details: Map<String, Value>,
    ) -> IntentEvent {
        self.last_seq += 1;
        self.updated_at = now;
        IntentEvent {
            intent_id: self.intent_id,
            seq: self.last_seq,
            event_type,
            status: self.status,
            waiting_reason: self.waiting_reason,
            handler: self.to_agent.clone(),
            actor: actor.to_owned(),
            at: now,
            details,
            pending_with: self.pending_with.clone(),
            human_task: if event_type == EventType::HumanTaskAssigned {
                self.human_task.clone()
            } else {
                None
            },
        }
    }
}

/// A validated request to create an intent (from `POST /v1/intents` or a scenario).
#[derive(Clone, Debug, PartialEq)]
pub struct NewIntent {
    /// e.g. `notify.message.v1`.
    pub intent_type: String,
    /// Given or generated.
    pub correlation_id: Uuid,
    /// Normalised target.
    pub to_agent: AgentAddress,
    /// Normalised completion target.
    pub reply_to: Option<AgentAddress>,
    /// The payload object.
    pub payload: Map<String, Value>,
    /// Deadline.
    pub deadline_at: Option<Timestamp>,
    /// Reminder timing (§4.10).
    pub remind_after_seconds: Option<u32>,
    /// Reminder timing (§4.10).
    pub remind_interval_seconds: Option<u32>,
    /// Reminder count before escalation (§4.10).
    pub max_reminders: Option<u32>,
    /// Escalation target.
    pub escalate_to: Option<String>,
    /// Delivery attempts before FAILED.
    pub max_delivery_attempts: Option<u32>,
    /// Lease per delivery, in seconds.
    pub lease_seconds: Option<u32>,
    /// An initial human task: the intent waits for a person instead of being delivered.
    pub human_task: Option<Map<String, Value>>,
    /// Set by scenarios.
    pub scenario_id: Option<String>,
    /// Set by scenarios.
    pub workflow_compile_id: Option<String>,
    /// Set by scenarios: the first step.
    pub step_id: Option<String>,
    /// Set by scenarios: the first step's deadline.
    pub step_deadline_seconds: Option<u32>,
    /// Set by scenarios: the workflow to run.
    pub workflow: Option<crate::workflow::Workflow>,
}

impl NewIntent {
    /// A minimal request: type, target and payload; everything else unset, correlation id new.
    pub fn new(intent_type: impl Into<String>, to_agent: AgentAddress, payload: Map<String, Value>) -> Self {
        Self {
            intent_type: intent_type.into(),
            correlation_id: Uuid::new_v4(),
            to_agent,
            reply_to: None,
            payload,
            deadline_at: None,
            remind_after_seconds: None,
            remind_interval_seconds: None,
            max_reminders: None,
            escalate_to: None,
            max_delivery_attempts: None,
            lease_seconds: None,
            human_task: None,
            scenario_id: None,
            workflow_compile_id: None,
            step_id: None,
            step_deadline_seconds: None,
            workflow: None,
        }
    }

    /// The intent and its first events, all to be committed in one transaction (§4.2):
    /// seq 1 `intent.created` (actor = the sender), seq 2 `intent.submitted` (actor `gateway`),
    /// and with a human task seq 3 `intent.human_task_assigned` (WAITING / WAITING_FOR_HUMAN).
    pub fn into_intent(
        self,
        intent_id: IntentId,
        from_agent: &AgentAddress,
        now: Timestamp,
    ) -> (Intent, Vec<IntentEvent>) {
        let to_agent = self.to_agent.into_string();
        let mut intent = Intent {
            intent_id,
            intent_type: self.intent_type,
            correlation_id: self.correlation_id,
            from_agent: from_agent.as_str().to_owned(),
            pending_with: Some(PendingWith::agent(&to_agent)),
            to_agent,
            reply_to: self.reply_to.map(AgentAddress::into_string),
            payload: self.payload,
            status: Status::Created,
            waiting_reason: None,
            created_at: now,
            updated_at: now,
            deadline_at: self.deadline_at,
            remind_after_seconds: self.remind_after_seconds,
            remind_interval_seconds: self.remind_interval_seconds,
            max_reminders: self.max_reminders,
            remind_count: 0,
            escalate_to: self.escalate_to,
            max_delivery_attempts: self.max_delivery_attempts,
            delivery_attempt: 0,
            lease_seconds: self.lease_seconds,
            lease_expires_at: None,

            human_task: None,
            policy_generation: 0,
            controls: Map::new(),
            grants: Map::new(),
            envelope: Map::new(),
            result: None,
            error: None,
            scenario_id: self.scenario_id,
            workflow_compile_id: self.workflow_compile_id,
            step_id: self.step_id,
            step_deadline_seconds: self.step_deadline_seconds,
            workflow: self.workflow,
            last_seq: 0,
        };
        let mut details = Map::new();
        details.insert("intent_type".into(), Value::String(intent.intent_type.clone()));
        let from = intent.from_agent.clone();
        let mut events = vec![intent.record(EventType::Created, &from, now, details)];
        intent.status = Status::Submitted;
        events.push(intent.record(EventType::Submitted, GATEWAY_ACTOR, now, Map::new()));
        if let Some(task) = self.human_task {
            // Its first reminder is one of the intent's initial timers.
            events.extend(crate::lifecycle::open_human_task(&mut intent, task, now));
        }
        (intent, events)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::address::AddressScope;

    const SCOPE: AddressScope<'static> = AddressScope { org_slug: "o", workspace_slug: "w" };

    #[test]
    fn create_appends_created_then_submitted() {
        let to = AgentAddress::parse("bot", &SCOPE).unwrap();
        let from = AgentAddress::parse("caller", &SCOPE).unwrap();
        let new = NewIntent::new("notify.message.v1", to, Map::new());
        let (intent, events) = new.into_intent(IntentId::new(), &from, Timestamp::from_millis(1));
        assert_eq!(intent.status, Status::Submitted);
        assert_eq!(intent.last_seq, 2);
        assert_eq!(events[0].event_type, EventType::Created);
        assert_eq!(events[0].status, Status::Created);
        assert_eq!(events[0].actor, "agent://o/w/caller");
        assert_eq!(events[1].event_type, EventType::Submitted);
        assert_eq!(events[1].seq, 2);
    }

    #[test]
    fn human_task_waits_for_a_person() {
        let to = AgentAddress::parse("bot", &SCOPE).unwrap();
        let mut new = NewIntent::new("approval.request.v1", to.clone(), Map::new());
        new.human_task = json!({"title": "Approve", "assignees": ["a@b.c"]}).as_object().cloned();
        let (intent, events) = new.into_intent(IntentId::new(), &to, Timestamp::from_millis(1));
        assert_eq!(intent.status, Status::Waiting);
        assert_eq!(intent.waiting_reason, Some(WaitingReason::WaitingForHuman));
        assert_eq!(events.len(), 3);
        assert_eq!(events[2].event_type, EventType::HumanTaskAssigned);
        assert_eq!(events[2].human_task.as_ref().unwrap()["title"], "Approve");
        assert_eq!(intent.pending_with.unwrap().reference, "a@b.c");
    }

    #[test]
    fn wire_form_has_derived_fields() {
        let to = AgentAddress::parse("bot", &SCOPE).unwrap();
        let (intent, _) = NewIntent::new("a.b.v1", to.clone(), Map::new()).into_intent(
            IntentId::new(),
            &to,
            Timestamp::from_millis(0),
        );
        let wire = intent.to_wire();
        assert_eq!(wire["lifecycle_status"], "SUBMITTED");
        assert_eq!(wire["legacy_status"], "accepted");
        assert_eq!(wire["waiting_reason"], Value::Null);
        assert!(wire["payload"].is_object());
    }
}
