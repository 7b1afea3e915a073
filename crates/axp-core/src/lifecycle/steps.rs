//! Human tasks, reminders and workflow steps: the parts of the lifecycle that wait.
//!
//! Everything here mutates a draft intent and appends to an [`Outcome`]; [`super::execute`]
//! commits the draft only if the whole command succeeds.

use serde_json::{Map, Value, json};

use super::{LifecycleError, Outcome, Resolution, advance, finish};
use crate::event::EventType;
use crate::human_task::is_negative_outcome;
use crate::intent::{GATEWAY_ACTOR, Intent, PendingWith};
use crate::status::{Status, WaitingReason};
use crate::time::Timestamp;
use crate::timer::{Timer, TimerKind};
use crate::workflow::{Notification, StepKind};

/// Most steps one command may run through (instant internal steps chain); a workflow that loops
/// on itself fails instead of spinning.
const MAX_INSTANT_STEPS: usize = 64;

/// Who a task is with: an `agent://` address is an agent, anything else a person or role.
fn pending(target: &str, name: Option<&str>) -> PendingWith {
    let mut p = if target.starts_with(crate::address::SCHEME) {
        PendingWith::agent(target)
    } else {
        PendingWith::human(target)
    };
    if let Some(name) = name {
        p.name = name.to_owned();
    }
    p
}

/// The first reminder of a task opened now, if the intent asks for reminders.
pub(super) fn first_reminder(intent: &Intent, now: Timestamp) -> Option<Timer> {
    let after = intent.remind_after_seconds?;
    Some(Timer {
        kind: TimerKind::Reminder { n: intent.remind_count + 1 },
        due_at: now.plus_seconds(i64::from(after)),
    })
}

/// Opens a human task: WAITING / WAITING_FOR_HUMAN with `intent.human_task_assigned`, pending
/// with its first assignee, and its first reminder scheduled.
pub(super) fn wait_for_human(
    intent: &mut Intent,
    task: Map<String, Value>,
    details: Map<String, Value>,
    now: Timestamp,
    out: &mut Outcome,
) {
    let assignee = task
        .get("assignees")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .unwrap_or("human")
        .to_owned();
    let title = task.get("title").and_then(Value::as_str).map(str::to_owned);
    intent.human_task = Some(task);
    intent.status = Status::Waiting;
    intent.waiting_reason = Some(WaitingReason::WaitingForHuman);
    intent.lease_expires_at = None;
    intent.pending_with = Some(pending(&assignee, title.as_deref()));
    intent.remind_count = 0;
    out.events.push(intent.record(EventType::HumanTaskAssigned, GATEWAY_ACTOR, now, details));
    out.timers.extend(first_reminder(intent, now));
}

/// Reminder `n` fires (§4.10): while the task is still open, count it, emit `intent.reminder`,
/// and either schedule the next one or, at `max_reminders`, escalate to `escalate_to`.
pub(super) fn remind(intent: &mut Intent, n: u32, now: Timestamp) -> Outcome {
    let open =
        intent.status == Status::Waiting && intent.waiting_reason == Some(WaitingReason::WaitingForHuman);
    if !open || intent.remind_count + 1 != n {
        return Outcome::unchanged();
    }
    intent.remind_count = n;
    let mut details = Map::new();
    details.insert("remind_count".into(), Value::from(n));
    let mut out = Outcome::applied(vec![intent.record(EventType::Reminder, GATEWAY_ACTOR, now, details)]);
    let last = intent.max_reminders.is_some_and(|max| n >= max);
    if last {
        if let Some(target) = intent.escalate_to.clone() {
            intent.pending_with = Some(pending(&target, None));
            let mut details = Map::new();
            details.insert("escalated_to".into(), Value::String(target));
            out.events.push(intent.record(EventType::Escalated, GATEWAY_ACTOR, now, details));
        }
    } else if let Some(every) = intent.remind_interval_seconds.or(intent.remind_after_seconds) {
        out.timers.push(Timer {
            kind: TimerKind::Reminder { n: n + 1 },
            due_at: now.plus_seconds(i64::from(every)),
        });
    }
    out
}

/// Enters step `index` of the intent's workflow, and runs on through steps that complete at
/// once (internal notification, reminder, escalation, timeout).
pub(super) fn enter(
    intent: &mut Intent,
    mut index: usize,
    actor: &str,
    now: Timestamp,
    out: &mut Outcome,
) -> Result<(), LifecycleError> {
    for _ in 0..MAX_INSTANT_STEPS {
        let Some(workflow) = intent.workflow.as_mut() else { return Ok(()) };
        workflow.current = index;
        let Some(step) = workflow.steps.get(index).cloned() else { return Ok(()) };
        intent.step_id = Some(step.step_id.clone());
        intent.step_deadline_seconds = step.step_deadline_seconds;
        if let Some(secs) = step.step_deadline_seconds {
            let kind = TimerKind::StepDeadline { step_id: step.step_id.clone() };
            out.timers.push(Timer { kind, due_at: now.plus_seconds(i64::from(secs)) });
        }
        let mut details = Map::new();
        details.insert("step_id".into(), Value::String(step.step_id.clone()));
        let instant_result = match &step.kind {
            StepKind::Agent { assignee } => {
                intent.to_agent = assignee.clone();
                intent.pending_with = Some(PendingWith::agent(assignee));
                if intent.status != Status::Submitted {
                    // A later step: the next agent is waited on; routing hands it over.
                    intent.status = Status::Waiting;
                    intent.waiting_reason = Some(WaitingReason::WaitingForAgent);
                    intent.lease_expires_at = None;
                    out.events.push(intent.record(EventType::Waiting, actor, now, details));
                    out.route = true;
                }
                return Ok(());
            }
            StepKind::Human { task } => {
                if let Some(r) = &step.reminders {
                    intent.remind_after_seconds = r.remind_after_seconds.or(intent.remind_after_seconds);
                    intent.remind_interval_seconds =
                        r.remind_interval_seconds.or(intent.remind_interval_seconds);
                    intent.max_reminders = r.max_reminders.or(intent.max_reminders);
                    intent.escalate_to = r.escalate_to.clone().or_else(|| intent.escalate_to.take());
                }
                wait_for_human(intent, task.clone(), details, now, out);
                return Ok(());
            }
            StepKind::Internal { runtime_type, config } => {
                let seconds =
                    config.get("seconds").or_else(|| config.get("delay_seconds")).and_then(Value::as_u64);
                match runtime_type.as_str() {
                    "delay" => {
                        let due_at = now.plus_seconds(seconds.unwrap_or(0) as i64);
                        details.insert("until".into(), Value::String(due_at.to_string()));
                        intent.status = Status::Waiting;
                        intent.waiting_reason = Some(WaitingReason::WaitingForTime);
                        intent.lease_expires_at = None;
                        intent.pending_with = Some(PendingWith {
                            kind: "internal".into(),
                            reference: step.step_id.clone(),
                            name: "delay".into(),
                        });
                        out.events.push(intent.record(EventType::Waiting, actor, now, details));
                        out.timers.push(Timer {
                            kind: TimerKind::StepDelay { step_id: step.step_id.clone() },
                            due_at,
                        });
                        return Ok(());
                    }
                    "human_approval" => {
                        let mut task = config.clone();
                        task.entry("title").or_insert_with(|| Value::String(step.step_id.clone()));
                        task.entry("task_type").or_insert_with(|| Value::String("approval".into()));
                        wait_for_human(intent, task, details, now, out);
                        return Ok(());
                    }
                    "notification" => {
                        let event_type = config
                            .get("event_type")
                            .and_then(Value::as_str)
                            .unwrap_or("workflow.notification")
                            .to_owned();
                        let payload = json!({
                            "intent_id": intent.intent_id,
                            "step_id": step.step_id,
                            "message": config.get("message").cloned().unwrap_or(Value::Null),
                            "status": intent.status,
                        });
                        out.notifications.push(Notification { event_type, payload: payload.clone() });
                        json!({"notified": true})
                    }
                    "reminder" => {
                        details.insert("remind_count".into(), Value::from(intent.remind_count));
                        out.events.push(intent.record(EventType::Reminder, actor, now, details));
                        json!({"reminded": true})
                    }
                    "escalation" => {
                        let target = config
                            .get("escalate_to")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .or_else(|| intent.escalate_to.clone())
                            .unwrap_or_else(|| intent.from_agent.clone());
                        intent.pending_with = Some(pending(&target, None));
                        details.insert("escalated_to".into(), Value::String(target));
                        out.events.push(intent.record(EventType::Escalated, actor, now, details));
                        json!({"escalated": true})
                    }
                    "timeout" => {
                        let deadline = now.plus_seconds(seconds.unwrap_or(0) as i64);
                        intent.deadline_at = Some(deadline);
                        out.timers.push(Timer { kind: TimerKind::Deadline, due_at: deadline });
                        json!({"deadline_at": deadline})
                    }
                    other => return Err(LifecycleError::UnknownStep(other.to_owned())),
                }
            }
        };
        // An instant step is done: record it and go on.
        let Some(next) = next_after(intent, true, instant_result) else {
            let result = last_result(intent);
            ensure_running(intent, actor, now, out)?;
            out.events.extend(finish(intent, Resolution::Completed(result), actor, now).events);
            return Ok(());
        };
        index = next;
    }
    Err(LifecycleError::UnknownStep("the workflow loops through more than 64 instant steps".into()))
}

/// Records the current step's result and returns the step to go to, if any.
fn next_after(intent: &mut Intent, success: bool, value: Value) -> Option<usize> {
    let workflow = intent.workflow.as_mut()?;
    let step = workflow.steps.get(workflow.current)?.clone();
    workflow.results.insert(step.step_id.clone(), value);
    let target = if success { step.on_success } else { step.on_failure };
    match target {
        Some(id) => workflow.index_of(&id),
        None if success => Some(workflow.current + 1).filter(|i| *i < workflow.steps.len()),
        None => None,
    }
}

/// The result the workflow ends with: its last recorded step result.
fn last_result(intent: &Intent) -> Value {
    let Some(w) = &intent.workflow else { return Value::Object(Map::new()) };
    w.steps
        .get(w.current)
        .and_then(|s| w.results.get(&s.step_id))
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()))
}

/// IN_PROGRESS (with its event) unless already there.
fn ensure_running(
    intent: &mut Intent,
    actor: &str,
    now: Timestamp,
    out: &mut Outcome,
) -> Result<(), LifecycleError> {
    out.events.extend(advance(intent, Status::InProgress, actor, now, Map::new())?);
    Ok(())
}

/// The current step finished (`success`) with `value` (its result, or the error): the workflow
/// moves to IN_PROGRESS and on to the next step, or ends. A failed agent step with retries left
/// waits and is retried instead.
pub(super) fn step_finished(
    intent: &mut Intent,
    success: bool,
    value: Value,
    actor: &str,
    now: Timestamp,
    out: &mut Outcome,
) -> Result<(), LifecycleError> {
    if !success && retry(intent, &value, actor, now, out)? {
        return Ok(());
    }
    intent.human_task = None;
    let next = next_after(intent, success, value.clone());
    ensure_running(intent, actor, now, out)?;
    match next {
        Some(index) => enter(intent, index, actor, now, out),
        None if success => {
            let result = last_result(intent);
            out.events.extend(finish(intent, Resolution::Completed(result), actor, now).events);
            Ok(())
        }
        None => {
            out.events.extend(finish(intent, Resolution::Failed(value), actor, now).events);
            Ok(())
        }
    }
}

/// Schedules a retry of a failed agent step if it has retries left.
fn retry(
    intent: &mut Intent,
    error: &Value,
    actor: &str,
    now: Timestamp,
    out: &mut Outcome,
) -> Result<bool, LifecycleError> {
    let Some(workflow) = intent.workflow.as_mut() else { return Ok(false) };
    let Some(step) = workflow.steps.get(workflow.current).cloned() else { return Ok(false) };
    let (StepKind::Agent { .. }, Some(policy)) = (&step.kind, step.retry) else { return Ok(false) };
    let spent = workflow.retries.entry(step.step_id.clone()).or_insert(0);
    if *spent >= policy.max_retries {
        return Ok(false);
    }
    *spent += 1;
    let attempt = *spent;
    ensure_running(intent, actor, now, out)?;
    intent.status = Status::Waiting;
    intent.waiting_reason = Some(WaitingReason::WaitingForAgent);
    let mut details = Map::new();
    details.insert("step_id".into(), Value::String(step.step_id.clone()));
    details.insert("retry".into(), Value::from(attempt));
    details.insert("error".into(), error.clone());
    out.events.push(intent.record(EventType::Waiting, actor, now, details));
    let due_at = now.plus_seconds(i64::from(policy.retry_delay_seconds));
    out.timers.push(Timer { kind: TimerKind::StepRetry { step_id: step.step_id }, due_at });
    Ok(true)
}

/// Whether the workflow is on step `step_id`.
fn on_step(intent: &Intent, step_id: &str) -> bool {
    intent.workflow.as_ref().and_then(|w| w.step()).is_some_and(|s| s.step_id == step_id)
}

/// A step timer fires: a deadline fails the step, a delay completes it, a retry routes it to its
/// agent again. Stale timers (the workflow moved on) change nothing.
pub(super) fn fire_step(
    intent: &mut Intent,
    kind: &TimerKind,
    now: Timestamp,
) -> Result<Outcome, LifecycleError> {
    let mut out = Outcome::default();
    match kind {
        TimerKind::StepDeadline { step_id } if on_step(intent, step_id) => {
            let error = json!({"code": "step_deadline_exceeded", "step_id": step_id});
            step_finished(intent, false, error, GATEWAY_ACTOR, now, &mut out)?;
        }
        TimerKind::StepDelay { step_id }
            if on_step(intent, step_id) && intent.waiting_reason == Some(WaitingReason::WaitingForTime) =>
        {
            step_finished(intent, true, json!({"delayed_until": now}), GATEWAY_ACTOR, now, &mut out)?;
        }
        TimerKind::StepRetry { step_id }
            if on_step(intent, step_id) && intent.waiting_reason == Some(WaitingReason::WaitingForAgent) =>
        {
            intent.updated_at = now;
            out.route = true;
        }
        _ => return Ok(Outcome::unchanged()),
    }
    out.applied = true;
    Ok(out)
}

/// A resume on a workflow intent: a `task_result` answers the current human step; any other
/// result finishes the current agent step (`action: fail` or a failed `outcome` as a failure).
pub(super) fn resume_step(
    intent: &mut Intent,
    task_result: Option<&Map<String, Value>>,
    result: Value,
    failed: bool,
    actor: &str,
    now: Timestamp,
) -> Result<Outcome, LifecycleError> {
    let kind = intent.workflow.as_ref().and_then(|w| w.step()).map(|s| s.kind.clone());
    let mut out = Outcome { applied: true, ..Outcome::default() };
    match (kind, task_result) {
        (Some(StepKind::Human { .. }), Some(task_result))
        | (Some(StepKind::Internal { .. }), Some(task_result)) => {
            let outcome = task_result.get("outcome").and_then(Value::as_str).unwrap_or("");
            let value = json!({"task_result": task_result});
            step_finished(intent, !is_negative_outcome(outcome), value, actor, now, &mut out)?;
        }
        (Some(StepKind::Agent { .. }), None) => step_finished(intent, !failed, result, actor, now, &mut out)?,
        (Some(StepKind::Agent { .. }), Some(_)) => {
            return Err(LifecycleError::WrongStep("an agent's result"));
        }
        _ => return Err(LifecycleError::WrongStep("a task_result")),
    }
    Ok(out)
}

/// An open human task is handed to `to` (inbox delegation): `pending_with` and the task's
/// assignees move, with `intent.transfer`.
pub(super) fn delegate(intent: &mut Intent, to: &str, actor: &str, now: Timestamp) -> Outcome {
    if intent.status != Status::Waiting || intent.waiting_reason != Some(WaitingReason::WaitingForHuman) {
        return Outcome::unchanged();
    }
    if let Some(task) = intent.human_task.as_mut() {
        task.insert("assignees".into(), Value::Array(vec![Value::String(to.to_owned())]));
    }
    intent.pending_with = Some(pending(to, None));
    let mut details = Map::new();
    details.insert("delegated_to".into(), Value::String(to.to_owned()));
    Outcome::applied(vec![intent.record(EventType::Transfer, actor, now, details)])
}
