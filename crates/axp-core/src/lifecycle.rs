//! The commands that change an intent, and [`execute`], the one function that decides them.
//!
//! Stores call [`execute`] inside the transaction that persists its outcome, so the decision and
//! its events commit together or not at all. The rules are contract §3.1 (strict graph) with the
//! deviations of §3.1, §4.6, §4.7 and §4.8:
//!
//! - resolve may reach COMPLETED, FAILED or CANCELED from any non-terminal status, and emits the
//!   terminal event directly (the conformance suite resolves a SUBMITTED intent);
//! - a terminal intent is immutable: every command on it fails with [`LifecycleError::Terminal`];
//! - a control-only resume never terminates an intent; an agent's result completes it (through
//!   IN_PROGRESS, so the strict graph holds);
//! - `expected_policy_generation`, when given, must equal the current `policy_generation`;
//! - a delivery starts a lease; if the agent neither acknowledges (`ACKNOWLEDGED`, `IN_PROGRESS`)
//!   nor finishes before it runs out, the intent is delivered again (`delivery_attempt` + 1) or,
//!   once `max_delivery_attempts` is spent, fails with `intent.delivery_failed` (§4.10);
//! - `deadline_at` passing ends a non-terminal intent with `intent.timed_out`.

use serde_json::{Map, Value};

use crate::access::Acting;
use crate::event::{EventType, IntentEvent};
use crate::human_task::{TaskResultError, validate_task_result};
use crate::intent::{GATEWAY_ACTOR, Intent};
use crate::status::{Status, WaitingReason};
use crate::time::Timestamp;
use crate::timer::{DEFAULT_LEASE_SECONDS, Timer, TimerKind};

mod steps;

/// Keys of a resume body that steer the call rather than carry a result (§4.7).
pub const RESUME_CONTROL_KEYS: [&str; 5] =
    ["approve_current_step", "actor", "reason", "expected_policy_generation", "internal_scheduler"];

/// How a resolve ends the intent (§4.6).
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    /// COMPLETED with `details.result`.
    Completed(Value),
    /// FAILED with `details.error`.
    Failed(Value),
    /// CANCELED with `details.reason`.
    Canceled(String),
}

/// A change requested of one intent.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// The intent is being handed to `handler` (agent stream frame, poll claim, successful push).
    /// SUBMITTED → DELIVERED, or a redelivery of a DELIVERED intent whose lease ran out; either
    /// appends `intent.delivered`, counts a delivery attempt and starts a lease. Anything else
    /// (a replayed frame, an intent already in progress) changes nothing.
    Deliver {
        /// The address it is delivered to.
        handler: String,
        /// The agent's lease setting in seconds, used when the intent sets none.
        agent_lease_seconds: Option<u32>,
    },
    /// A due timer fires (the scheduler's command).
    Fire(TimerKind),
    /// An inbox owner handed the thread to `to`: an open human task goes with it (`pending_with`
    /// and its assignees move; `intent.transfer`). Otherwise nothing changes.
    Delegate {
        /// The new owner.
        to: String,
    },
    /// A scenario's intent was just created: enter its workflow's first step (an agent step
    /// keeps it SUBMITTED for delivery; a human, delay or instant step runs now).
    StartWorkflow,
    /// The intent went to an agent with the `inbox` binding, i.e. a person: a SUBMITTED intent
    /// without a human task gets one (`title` = its type, `assignees` = `[assignee]`) and waits
    /// for them (WAITING / WAITING_FOR_HUMAN, `intent.human_task_assigned`).
    AssignHumanTask {
        /// The inbox agent's address.
        assignee: String,
    },
    /// A push to the agent's endpoint failed (non-2xx, timeout, refused). Counts a delivery
    /// attempt; once `max_delivery_attempts` is spent the intent fails with
    /// `intent.delivery_failed` (§4.10). Only SUBMITTED intents are affected.
    PushFailed {
        /// What went wrong, recorded as the failure's `error` when it ends the intent.
        error: Value,
    },
    /// `POST /v1/intents/{id}/resolve`.
    Resolve(Resolution),
    /// `POST /v1/intents/{id}/resume` with its (open) body.
    Resume(Map<String, Value>),
    /// `POST /v1/intents/{id}/controls`: shallow merge into `controls`.
    UpdateControls(Map<String, Value>),
    /// `POST /v1/intents/{id}/policy`.
    UpdatePolicy {
        /// Grant key → grant; a null value removes the grant.
        grants_patch: Map<String, Value>,
        /// Shallow merge into the envelope.
        envelope_patch: Map<String, Value>,
    },
}

/// A command with the caller's identity and optional CAS guard.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// What to do.
    pub command: Command,
    /// Who asks, checked by [`authorize`]; `None` when the server itself acts (delivery,
    /// timers).
    pub caller: Option<Acting>,
    /// Who asks: recorded as the events' `actor` (the body may name a person or system).
    pub actor: String,
    /// When set, the command applies only if it equals the current `policy_generation`.
    pub expected_policy_generation: Option<u64>,
}

/// What [`execute`] did.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Outcome {
    /// False when the command was valid but changed nothing (e.g. a control-only resume of an
    /// intent already IN_PROGRESS, a replayed delivery, a stale timer).
    pub applied: bool,
    /// The events appended, in order; empty when only controls or policy changed.
    pub events: Vec<IntentEvent>,
    /// Timers to schedule (replacing any of the same [`TimerKind::key`]).
    pub timers: Vec<Timer>,
    /// Queue the intent for its (current) agent over the agent's binding: its lease ran out
    /// unacknowledged, or a workflow moved on to another agent's step.
    pub route: bool,
    /// Webhook events to publish to the sender's subscriptions (workflow `notification` steps).
    pub notifications: Vec<crate::workflow::Notification>,
}

impl Outcome {
    fn unchanged() -> Self {
        Self::default()
    }

    fn applied(events: Vec<IntentEvent>) -> Self {
        Self { applied: true, events, ..Self::default() }
    }
}

/// The timers a new intent starts with: its deadline, and the first reminder of a human task
/// it opens with.
pub fn initial_timers(intent: &Intent) -> Vec<Timer> {
    let mut timers: Vec<Timer> =
        intent.deadline_at.map(|due_at| Timer { kind: TimerKind::Deadline, due_at }).into_iter().collect();
    if intent.waiting_reason == Some(WaitingReason::WaitingForHuman) {
        timers.extend(steps::first_reminder(intent, intent.created_at));
    }
    timers
}

/// Why a command was refused. The intent is left unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LifecycleError {
    /// The intent is COMPLETED, FAILED, CANCELED or TIMED_OUT (HTTP 409 `invalid_state_transition`).
    #[error("intent already in terminal state {0}")]
    Terminal(Status),
    /// Not allowed from the current status (HTTP 409 `invalid_state_transition`).
    #[error("cannot go from {from} to {to}")]
    IllegalTransition {
        /// Current status.
        from: Status,
        /// Requested status.
        to: Status,
    },
    /// `expected_policy_generation` differs from the current one (HTTP 409 `stale_policy_generation`).
    #[error("expected policy_generation {expected}, current is {current}")]
    StaleGeneration {
        /// What the caller expected.
        expected: u64,
        /// The intent's current generation.
        current: u64,
    },
    /// A `task_result` was sent but the intent is not waiting for a person (HTTP 409).
    #[error("intent is {0}, not waiting for a human task")]
    NotWaitingForHuman(Status),
    /// The caller is neither the intent's sender nor its target and holds no grant for the
    /// action (HTTP 403 `policy_denied`).
    #[error(
        "{caller} may not {action} this intent: it is neither its sender nor its target and holds no grant"
    )]
    Forbidden {
        /// The calling address.
        caller: String,
        /// The grant that would allow it: `resolve`, `resume`, `update_controls`, `update_policy`.
        action: &'static str,
    },
    /// The caller may not answer this human task: it is neither an assignee, the one the task
    /// is pending with, nor a delegate, or it is the requester, and holds no admin role
    /// (HTTP 403 `policy_denied`).
    #[error("{caller} may not decide this human task: only its assignees, delegates or an admin may")]
    NotADecider {
        /// The calling address.
        caller: String,
    },
    /// The workflow's current step does not take this kind of resume (HTTP 409).
    #[error("the current workflow step does not take {0}")]
    WrongStep(&'static str),
    /// A step the engine cannot run (HTTP 409); scenarios are checked before they start.
    #[error("cannot run workflow step: {0}")]
    UnknownStep(String),
    /// The `task_result` breaks a rule of the open human task (HTTP 422 `task_result_invalid`).
    #[error(transparent)]
    TaskResult(#[from] TaskResultError),
}

impl Command {
    /// The grant a third party needs for this command (§4.7, §4.8), or `None` for commands
    /// only the server issues.
    pub fn grant(&self) -> Option<&'static str> {
        match self {
            Command::Deliver { .. }
            | Command::Fire(_)
            | Command::PushFailed { .. }
            | Command::AssignHumanTask { .. }
            | Command::StartWorkflow
            | Command::Delegate { .. } => None,
            Command::Resolve(_) => Some("resolve"),
            Command::Resume(_) => Some("resume"),
            Command::UpdateControls(_) => Some("update_controls"),
            Command::UpdatePolicy { .. } => Some("update_policy"),
        }
    }
}

/// Whether `caller` may issue `command` on `intent` (`docs/access.md`): an answer to an open
/// human task follows [`Acting::may_decide`]; any other command [`Acting::may_change`] (its
/// sender, its target, a `member` or admin, or a `delegate:<caller>` grant naming the action).
/// A refusal is 403 `policy_denied` even for a caller that cannot read the intent, as contract
/// §4.7 and §4.8 say. The server itself (`caller: None`) always may.
pub fn authorize(intent: &Intent, caller: Option<&Acting>, command: &Command) -> Result<(), LifecycleError> {
    let (Some(caller), Some(action)) = (caller, command.grant()) else {
        return Ok(());
    };
    let answers_task = matches!(command, Command::Resume(body) if body.contains_key("task_result"))
        && crate::access::awaits_decision(intent);
    if answers_task && !caller.may_decide(intent) {
        return Err(LifecycleError::NotADecider { caller: caller.address().to_owned() });
    }
    if answers_task {
        return Ok(());
    }
    if caller.may_change(intent, action) {
        Ok(())
    } else {
        Err(LifecycleError::Forbidden { caller: caller.address().to_owned(), action })
    }
}

/// Decides `request` against `intent`, mutating it and returning the events to append.
///
/// Checks, in order: [`authorize`], terminal status, the CAS guard. On `Err` the intent is
/// untouched (callers may also simply discard it).
pub fn execute(intent: &mut Intent, request: &Request, now: Timestamp) -> Result<Outcome, LifecycleError> {
    authorize(intent, request.caller.as_ref(), &request.command)?;
    if intent.status.is_terminal() {
        return Err(LifecycleError::Terminal(intent.status));
    }
    if let Some(expected) = request.expected_policy_generation
        && expected != intent.policy_generation
    {
        return Err(LifecycleError::StaleGeneration { expected, current: intent.policy_generation });
    }
    let mut draft = intent.clone();
    let outcome = match &request.command {
        Command::Deliver { handler, agent_lease_seconds } => {
            deliver(&mut draft, handler, *agent_lease_seconds, now)
        }
        Command::Fire(kind) => fire(&mut draft, kind, now),
        Command::PushFailed { error } => Ok(push_failed(&mut draft, error, now)),
        Command::AssignHumanTask { assignee } => Ok(assign_human_task(&mut draft, assignee, now)),
        Command::StartWorkflow => start_workflow(&mut draft, &request.actor, now),
        Command::Delegate { to } => Ok(steps::delegate(&mut draft, to, &request.actor, now)),
        Command::Resolve(resolution) => Ok(finish(&mut draft, resolution.clone(), &request.actor, now)),
        Command::Resume(body) => resume(&mut draft, body, &request.actor, now),
        Command::UpdateControls(patch) => {
            for (k, v) in patch {
                draft.controls.insert(k.clone(), v.clone());
            }
            Ok(bump_generation(&mut draft, now))
        }
        Command::UpdatePolicy { grants_patch, envelope_patch } => {
            for (k, v) in grants_patch {
                if v.is_null() {
                    draft.grants.remove(k);
                } else {
                    draft.grants.insert(k.clone(), v.clone());
                }
            }
            for (k, v) in envelope_patch {
                draft.envelope.insert(k.clone(), v.clone());
            }
            Ok(bump_generation(&mut draft, now))
        }
    }?;
    *intent = draft;
    Ok(outcome)
}

fn bump_generation(intent: &mut Intent, now: Timestamp) -> Outcome {
    intent.policy_generation += 1;
    intent.updated_at = now;
    Outcome::applied(Vec::new())
}

/// A handoff to an agent: a first delivery, or a redelivery after a lease ran out.
fn deliver(
    intent: &mut Intent,
    handler: &str,
    agent_lease: Option<u32>,
    now: Timestamp,
) -> Result<Outcome, LifecycleError> {
    let redelivery = match intent.status {
        Status::Submitted => false,
        Status::Delivered if intent.lease_expires_at.is_none() => true,
        Status::Waiting if intent.waiting_reason == Some(WaitingReason::WaitingForAgent) => {
            // A later workflow step reaches its agent: work on it is under way.
            intent.status = Status::InProgress;
            intent.waiting_reason = None;
            let mut details = Map::new();
            details.insert("step_id".into(), intent.step_id.clone().map_or(Value::Null, Value::String));
            let mut event = intent.record(EventType::Delivered, GATEWAY_ACTOR, now, details);
            event.handler = handler.to_owned();
            return Ok(Outcome::applied(vec![event]));
        }
        _ => return Ok(Outcome::unchanged()),
    };
    intent.status = Status::Delivered;
    intent.delivery_attempt += 1;
    let attempt = intent.delivery_attempt;
    let lease = intent.lease_seconds.or(agent_lease).unwrap_or(DEFAULT_LEASE_SECONDS);
    let expires = now.plus_seconds(i64::from(lease));
    intent.lease_expires_at = Some(expires);
    let mut details = Map::new();
    details.insert("delivery_attempt".into(), Value::from(attempt));
    details.insert("lease_expires_at".into(), Value::String(expires.to_string()));
    if redelivery {
        details.insert("redelivery".into(), Value::Bool(true));
    }
    let mut event = intent.record(EventType::Delivered, GATEWAY_ACTOR, now, details);
    event.handler = handler.to_owned();
    Ok(Outcome {
        applied: true,
        events: vec![event],
        timers: vec![Timer { kind: TimerKind::LeaseExpiry { attempt }, due_at: expires }],
        route: false,
        notifications: Vec::new(),
    })
}

/// A due timer. Stale timers (acknowledged lease, moved-on attempt) change nothing.
fn fire(intent: &mut Intent, kind: &TimerKind, now: Timestamp) -> Result<Outcome, LifecycleError> {
    match kind {
        TimerKind::Reminder { n } => Ok(steps::remind(intent, *n, now)),
        TimerKind::StepDeadline { .. } | TimerKind::StepDelay { .. } | TimerKind::StepRetry { .. } => {
            steps::fire_step(intent, kind, now)
        }
        TimerKind::Deadline => {
            let Some(deadline) = intent.deadline_at.filter(|d| *d <= now) else {
                return Ok(Outcome::unchanged());
            };
            intent.status = Status::TimedOut;
            intent.waiting_reason = None;
            intent.pending_with = None;
            intent.lease_expires_at = None;
            let mut details = Map::new();
            details.insert("deadline_at".into(), Value::String(deadline.to_string()));
            Ok(Outcome::applied(vec![intent.record(EventType::TimedOut, GATEWAY_ACTOR, now, details)]))
        }
        TimerKind::LeaseExpiry { attempt } => {
            let current = intent.status == Status::Delivered
                && intent.delivery_attempt == *attempt
                && intent.lease_expires_at.is_some_and(|t| t <= now);
            if !current {
                return Ok(Outcome::unchanged());
            }
            intent.lease_expires_at = None;
            if let Some(max) = intent.max_delivery_attempts.filter(|max| *attempt >= *max) {
                let error = serde_json::json!({
                    "code": "delivery_failed",
                    "message": format!("no acknowledgement after {attempt} delivery attempts"),
                });
                return Ok(delivery_failed(intent, *attempt, max, error, now));
            }
            intent.updated_at = now;
            Ok(Outcome { applied: true, route: true, ..Outcome::default() })
        }
        // Not an intent's timer: the ledger fires it on the upload it names.
        TimerKind::MediaExpiry => Ok(Outcome::unchanged()),
    }
}

/// Ends the intent with `intent.delivery_failed` after `attempt` failed deliveries.
fn delivery_failed(intent: &mut Intent, attempt: u32, max: u32, error: Value, now: Timestamp) -> Outcome {
    intent.status = Status::Failed;
    intent.waiting_reason = None;
    intent.pending_with = None;
    intent.lease_expires_at = None;
    intent.error = Some(error.clone());
    let mut details = Map::new();
    details.insert("delivery_attempt".into(), Value::from(attempt));
    details.insert("max_delivery_attempts".into(), Value::from(max));
    details.insert("error".into(), error);
    Outcome::applied(vec![intent.record(EventType::DeliveryFailed, GATEWAY_ACTOR, now, details)])
}

/// Routes a SUBMITTED intent to a person (an `inbox` agent).
fn assign_human_task(intent: &mut Intent, assignee: &str, now: Timestamp) -> Outcome {
    if intent.status != Status::Submitted || intent.human_task.is_some() {
        return Outcome::unchanged();
    }
    let mut task = Map::new();
    task.insert("title".into(), Value::String(intent.intent_type.clone()));
    task.insert("assignees".into(), Value::Array(vec![Value::String(assignee.to_owned())]));
    let mut out = Outcome { applied: true, ..Outcome::default() };
    steps::wait_for_human(intent, task, Map::new(), now, &mut out);
    out
}

/// Opens a human task on a new intent (WAITING / WAITING_FOR_HUMAN, `intent.human_task_assigned`)
/// and returns its event; the first reminder comes from [`initial_timers`].
pub(crate) fn open_human_task(
    intent: &mut Intent,
    task: Map<String, Value>,
    now: Timestamp,
) -> Vec<IntentEvent> {
    let mut out = Outcome::default();
    steps::wait_for_human(intent, task, Map::new(), now, &mut out);
    out.events
}

/// Enters the first step of a scenario intent's workflow.
fn start_workflow(intent: &mut Intent, actor: &str, now: Timestamp) -> Result<Outcome, LifecycleError> {
    if intent.status != Status::Submitted || intent.workflow.is_none() {
        return Ok(Outcome::unchanged());
    }
    let mut out = Outcome { applied: true, ..Outcome::default() };
    steps::enter(intent, 0, actor, now, &mut out)?;
    Ok(out)
}

/// A failed push attempt of a SUBMITTED intent.
fn push_failed(intent: &mut Intent, error: &Value, now: Timestamp) -> Outcome {
    if intent.status != Status::Submitted {
        return Outcome::unchanged();
    }
    intent.delivery_attempt += 1;
    let attempt = intent.delivery_attempt;
    if let Some(max) = intent.max_delivery_attempts.filter(|max| attempt >= *max) {
        return delivery_failed(intent, attempt, max, error.clone(), now);
    }
    intent.updated_at = now;
    Outcome::applied(Vec::new())
}

/// Moves to a terminal status with its event (any non-terminal status may do this, §3.1).
fn finish(intent: &mut Intent, resolution: Resolution, actor: &str, now: Timestamp) -> Outcome {
    let mut details = Map::new();
    let event_type = match resolution {
        Resolution::Completed(result) => {
            intent.status = Status::Completed;
            details.insert("result".into(), result.clone());
            intent.result = Some(result);
            EventType::Completed
        }
        Resolution::Failed(error) => {
            intent.status = Status::Failed;
            details.insert("error".into(), error.clone());
            intent.error = Some(error);
            EventType::Failed
        }
        Resolution::Canceled(reason) => {
            intent.status = Status::Canceled;
            details.insert("reason".into(), Value::String(reason));
            EventType::Canceled
        }
    };
    intent.waiting_reason = None;
    intent.pending_with = None;
    intent.lease_expires_at = None;
    Outcome::applied(vec![intent.record(event_type, actor, now, details)])
}

/// Enters `to` (IN_PROGRESS or ACKNOWLEDGED) with its event, unless already there. Ends any lease.
fn advance(
    intent: &mut Intent,
    to: Status,
    actor: &str,
    now: Timestamp,
    details: Map<String, Value>,
) -> Result<Option<IntentEvent>, LifecycleError> {
    if intent.status == to {
        return Ok(None);
    }
    if !intent.status.can_become(to) {
        return Err(LifecycleError::IllegalTransition { from: intent.status, to });
    }
    intent.status = to;
    intent.waiting_reason = None;
    intent.lease_expires_at = None;
    let event_type = if to == Status::Acknowledged { EventType::Acknowledged } else { EventType::InProgress };
    Ok(Some(intent.record(event_type, actor, now, details)))
}

fn resume(
    intent: &mut Intent,
    body: &Map<String, Value>,
    actor: &str,
    now: Timestamp,
) -> Result<Outcome, LifecycleError> {
    if let Some(task_result) = body.get("task_result").and_then(Value::as_object) {
        if intent.status != Status::Waiting || intent.waiting_reason != Some(WaitingReason::WaitingForHuman) {
            return Err(LifecycleError::NotWaitingForHuman(intent.status));
        }
        if let Some(task) = &intent.human_task {
            validate_task_result(task, task_result)?;
        }
        if intent.workflow.is_some() {
            return steps::resume_step(intent, Some(task_result), Value::Null, false, actor, now);
        }
        let mut details = Map::new();
        details.insert("task_result".into(), Value::Object(task_result.clone()));
        let mut events: Vec<IntentEvent> =
            advance(intent, Status::InProgress, actor, now, details)?.into_iter().collect();
        let mut result = Map::new();
        result.insert("task_result".into(), Value::Object(task_result.clone()));
        events.extend(finish(intent, Resolution::Completed(Value::Object(result)), actor, now).events);
        return Ok(Outcome::applied(events));
    }

    // `{"action": "acknowledge"}`: the agent confirms receipt; ends the lease (§4.10).
    let control = |k: &String| RESUME_CONTROL_KEYS.contains(&k.as_str());
    if body.get("action").and_then(Value::as_str) == Some("acknowledge")
        && body.keys().all(|k| k == "action" || control(k))
    {
        if intent.status != Status::Delivered {
            return Ok(Outcome::unchanged());
        }
        let events = advance(intent, Status::Acknowledged, actor, now, Map::new())?.into_iter().collect();
        return Ok(Outcome::applied(events));
    }

    if body.keys().all(control) {
        let events = advance(intent, Status::InProgress, actor, now, Map::new())?.into_iter().collect();
        return Ok(Outcome::applied(events));
    }

    // An agent's result: everything but the control keys, or `result` when given.
    let stripped: Map<String, Value> =
        body.iter().filter(|(k, _)| !control(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let failed = body.get("action").and_then(Value::as_str) == Some("fail")
        || matches!(body.get("outcome").and_then(Value::as_str), Some("failed" | "failure"));
    if intent.workflow.is_some() {
        let value = if failed {
            Value::Object(stripped)
        } else {
            body.get("result").cloned().unwrap_or(Value::Object(stripped))
        };
        return steps::resume_step(intent, None, value, failed, actor, now);
    }
    if failed {
        return Ok(finish(intent, Resolution::Failed(Value::Object(stripped)), actor, now));
    }
    let result = match body.get("result") {
        Some(r) => r.clone(),
        None => Value::Object(stripped),
    };
    let mut events: Vec<IntentEvent> =
        advance(intent, Status::InProgress, actor, now, Map::new())?.into_iter().collect();
    events.extend(finish(intent, Resolution::Completed(result), actor, now).events);
    Ok(Outcome::applied(events))
}

#[cfg(test)]
mod tests;
