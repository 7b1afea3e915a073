//! The inbox (contract §5.1): every intent is a thread its sender, target and the people it
//! reaches can see; each owner has a change feed. Approvals (§5.2) answer human tasks.

use axp_core::access::{Acting, awaits_decision};
use axp_core::api::{AuditTarget, actions};
use axp_core::inbox::{Approval, Thread, ThreadAction, ThreadStatus, TimelineEntry};
use axp_core::lifecycle::{Command, LifecycleError};
use axp_core::{ApprovalId, Intent, IntentEvent, IntentId, Timestamp, WorkspaceId};
use axp_store::{Audit, CompletionDelivery, Error, Participant, Result, Tenant, Transaction};
use serde_json::{Map, Value};

use super::Ledger;
use super::audit::{At, details, record, task_decided};
use super::intents::run_internal;
use super::webhooks::publish;

/// Threads a filtered inbox listing looks through (the most recently changed).
const LIST_SCAN: u32 = 500;

/// After `intent` changed with `events`: keeps its thread current (sender and target join;
/// every participant's change feed moves; unread for all but the actor), and sends the
/// lifecycle events and `inbox.thread_created` / `inbox.thread_updated` to the participants'
/// webhook subscriptions that name them.
pub(super) async fn announce(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    intent: &Intent,
    events: &[IntentEvent],
    created: bool,
    now: Timestamp,
) -> Result<()> {
    let Some(last) = events.last() else { return Ok(()) };
    let mut owners: Vec<String> =
        if created { Vec::new() } else { tx.participants(ws, intent.intent_id).await? };
    for owner in [&intent.from_agent, &intent.to_agent] {
        if !owners.contains(owner) {
            owners.push(owner.clone());
        }
    }
    let who: Vec<Participant<'_>> =
        owners.iter().map(|o| Participant { owner: o, unread: *o != last.actor }).collect();
    tx.touch_participants(ws, intent.intent_id, &who, now).await?;
    let names: Vec<&str> = owners.iter().map(String::as_str).collect();
    let inbox_event = if created { "inbox.thread_created" } else { "inbox.thread_updated" };
    for sub in tx.active_subscriptions(ws, &names).await? {
        for e in events.iter().filter(|e| sub.event_types.iter().any(|t| t == e.event_type.as_str())) {
            let payload = serde_json::to_value(e).map_err(|err| Error::Internal(err.to_string()))?;
            publish(tx, ws, &sub, e.event_type.as_str(), payload, e.at, now).await?;
        }
        if sub.event_types.iter().any(|t| t == inbox_event) {
            let payload = serde_json::json!({"thread_id": intent.intent_id, "intent_id": intent.intent_id, "status": intent.status});
            publish(tx, ws, &sub, inbox_event, payload, now, now).await?;
        }
    }
    Ok(())
}

/// The thread view of `thread` for `owner`, if they can see it.
async fn thread_view(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    owner: &str,
    thread: IntentId,
) -> Result<Option<Thread>> {
    let Some(member) = tx.membership(ws, owner, thread, false).await? else { return Ok(None) };
    let Some(intent) = tx.intent(ws, thread).await? else { return Ok(None) };
    let events = tx.events_since(ws, thread, 0, u32::MAX).await?;
    let entries: Vec<TimelineEntry> = tx
        .entries(ws, thread)
        .await?
        .into_iter()
        .filter(|e| !member.hidden.contains(&e.event_id.to_string()))
        .collect();
    Ok(Some(Thread::build(&intent, owner, &events, entries, member.unread, member.updated_at)))
}

/// Records a thread entry by `owner` and moves every participant's change feed.
async fn thread_entry(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    thread: IntentId,
    owner: &str,
    event_type: &str,
    details: Map<String, Value>,
    now: Timestamp,
) -> Result<TimelineEntry> {
    let entry = TimelineEntry {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.to_owned(),
        actor: owner.to_owned(),
        at: now,
        details,
    };
    tx.insert_entry(ws, thread, &entry).await?;
    let participants = tx.participants(ws, thread).await?;
    let who: Vec<Participant<'_>> =
        participants.iter().map(|p| Participant { owner: p, unread: p != owner }).collect();
    tx.touch_participants(ws, thread, &who, now).await?;
    Ok(entry)
}

/// Sends an inbox event to `owners`' subscriptions that name it.
async fn inbox_event(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    owners: &[&str],
    event_type: &str,
    payload: Value,
    now: Timestamp,
) -> Result<()> {
    for sub in tx.active_subscriptions(ws, owners).await? {
        if sub.event_types.iter().any(|t| t == event_type) {
            publish(tx, ws, &sub, event_type, payload.clone(), now, now).await?;
        }
    }
    Ok(())
}

/// Refuses a decision on `intent`'s open human task by someone who may not answer it
/// ([`Acting::may_decide`]): 403, or 404 when the caller may not even see the intent.
fn may_decide(acting: &Acting, intent: &Intent) -> Result<()> {
    if !awaits_decision(intent) || acting.may_decide(intent) {
        Ok(())
    } else if acting.sees(intent) {
        Err(Error::Lifecycle(LifecycleError::NotADecider { caller: acting.address().to_owned() }))
    } else {
        Err(Error::NotFound)
    }
}

/// Who answers a task: the owner (address) acting, the audit of the request, and the route
/// (`inbox` or `approval`).
struct Decider<'a> {
    owner: &'a str,
    by: &'a Audit,
    via: &'a str,
}

/// An approve/reject answers the intent's open human task, as a `task_result` whose outcome the
/// task's type implies (e.g. `approved`, `confirmed`, `rejected`), audited as
/// `human_task.decided`. Nothing happens when no task is open; returns whether one was.
async fn answer_task(
    tx: &mut dyn Transaction,
    at: At,
    intent: &mut Intent,
    approve: bool,
    comment: Option<String>,
    decider: Decider<'_>,
) -> Result<bool> {
    let Some(task) = intent.human_task.clone().filter(|_| awaits_decision(intent)) else { return Ok(false) };
    let outcome = axp_core::human_task::decision_outcome(&task, approve);
    // Recorded first: if the answer is refused below, the job fails and the entry goes with it.
    task_decided(tx, decider.by, at, intent.intent_id, &outcome, (decider.via, decider.owner)).await?;
    let mut result = Map::new();
    result.insert("outcome".into(), Value::String(outcome));
    if let Some(comment) = comment {
        result.insert("comment".into(), Value::String(comment));
    }
    let mut body = Map::new();
    body.insert("task_result".into(), Value::Object(result));
    let ws = at.ws.ok_or_else(|| Error::Internal("a task is answered in a workspace".into()))?;
    run_internal(tx, ws, intent, Command::Resume(body), decider.owner, at.now).await?;
    Ok(true)
}

/// Delivers an ended intent's completion to its `reply_to` owner (§4.6): they join the thread
/// (status `done`) and get an `intent_completion_delivered` entry.
pub(super) async fn deliver_completion(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    intent: &Intent,
    reply_to: &str,
    now: Timestamp,
) -> Result<CompletionDelivery> {
    let message_id = uuid::Uuid::now_v7();
    let mut details = Map::new();
    details.insert("message_id".into(), Value::String(message_id.to_string()));
    details.insert(
        "completion".into(),
        serde_json::json!({
            "type": format!("intent.{}", intent.status.as_str().to_ascii_lowercase()),
            "intent_id": intent.intent_id,
            "status": intent.status,
        }),
    );
    let entry = TimelineEntry {
        event_id: message_id,
        event_type: "intent_completion_delivered".into(),
        actor: "agent://axme.intent-protocol".into(),
        at: now,
        details,
    };
    tx.insert_entry(ws, intent.intent_id, &entry).await?;
    let who = [Participant { owner: reply_to, unread: true }];
    tx.touch_participants(ws, intent.intent_id, &who, now).await?;
    Ok(CompletionDelivery { reply_to: reply_to.to_owned(), message_id })
}

/// Runs `action` by `acting` (as the owner `acting.address()`) on a thread that owner can see
/// (`member` is their view state), in the workspace and at the time of `at`. Returns the ids of
/// the messages deleted.
async fn act(
    tx: &mut dyn Transaction,
    at: At,
    acting: &Acting,
    intent: &mut Intent,
    action: &ThreadAction,
    by: &Audit,
) -> Result<Vec<String>> {
    let owner = acting.address();
    let (ws, now) = (at.ws.ok_or(Error::NotFound)?, at.now);
    let thread = intent.intent_id;
    // Lock order: the intent (by the caller), then participant rows, as every lifecycle write.
    let member = tx.membership(ws, owner, thread, true).await?.ok_or(Error::NotFound)?;
    let mut details = Map::new();
    match action.clone() {
        ThreadAction::Reply { message } => {
            let message_id = uuid::Uuid::now_v7();
            details.insert("message".into(), Value::String(message));
            details.insert("message_id".into(), Value::String(message_id.to_string()));
            let entry = thread_entry(tx, ws, thread, owner, "reply", details, now).await?;
            let others: Vec<String> =
                tx.participants(ws, thread).await?.into_iter().filter(|p| p != owner).collect();
            let others: Vec<&str> = others.iter().map(String::as_str).collect();
            let payload =
                serde_json::json!({"thread_id": thread, "message_id": entry.event_id, "from": owner});
            inbox_event(tx, ws, &others, "inbox.reply_received", payload, now).await?;
        }
        ThreadAction::Delegate { to, note } => {
            details.insert("delegate_to".into(), Value::String(to.clone()));
            details.insert("note".into(), note.map_or(Value::Null, Value::String));
            let who = [Participant { owner: &to, unread: true }];
            tx.touch_participants(ws, thread, &who, now).await?;
            thread_entry(tx, ws, thread, owner, "delegated", details, now).await?;
            if !intent.status.is_terminal() {
                run_internal(tx, ws, intent, Command::Delegate { to }, owner, now).await?;
            }
        }
        ThreadAction::Decide { approve, comment } => {
            may_decide(acting, intent)?;
            details.insert("comment".into(), comment.clone().map_or(Value::Null, Value::String));
            let kind = if approve { "approved" } else { "rejected" };
            thread_entry(tx, ws, thread, owner, kind, details, now).await?;
            let decider = Decider { owner, by, via: "inbox" };
            answer_task(tx, at, intent, approve, comment, decider).await?;
        }
        ThreadAction::Read => {
            thread_entry(tx, ws, thread, owner, "read", details, now).await?;
            tx.set_membership(ws, owner, thread, false, &member.hidden).await?;
        }
        ThreadAction::DeleteMessages { both, message_ids, limit } => {
            let mut candidates: Vec<TimelineEntry> = tx
                .entries(ws, thread)
                .await?
                .into_iter()
                .filter(|e| e.is_message() && !member.hidden.contains(&e.event_id.to_string()))
                .filter(|e| message_ids.is_empty() || message_ids.contains(&e.event_id.to_string()))
                .collect();
            candidates.reverse();
            candidates.truncate(limit);
            let deleted: Vec<String> = candidates.iter().map(|e| e.event_id.to_string()).collect();
            if both {
                for id in &deleted {
                    tx.delete_entry(ws, thread, id).await?;
                }
            } else {
                let mut hidden = member.hidden.clone();
                hidden.extend(deleted.iter().cloned());
                tx.set_membership(ws, owner, thread, member.unread, &hidden).await?;
            }
            return Ok(deleted);
        }
    }
    Ok(Vec::new())
}

impl Ledger {
    pub(super) async fn list_threads(
        &self,
        tenant: &Tenant,
        owner: &str,
        status: Option<ThreadStatus>,
        limit: u32,
    ) -> Result<Vec<Thread>> {
        self.read((tenant.workspace_id, owner.to_owned(), status, limit), |(ws, owner, status, limit), tx| {
            Box::pin(async move {
                // With a status filter, look through the most recently changed threads.
                let scan = if status.is_some() { LIST_SCAN.max(*limit) } else { *limit };
                let mut out = Vec::new();
                for (id, _) in tx.owner_threads(*ws, owner, None, scan).await? {
                    if let Some(thread) = thread_view(tx, *ws, owner, id).await?
                        && status.is_none_or(|s| s == thread.status)
                    {
                        out.push(thread);
                        if out.len() >= *limit as usize {
                            break;
                        }
                    }
                }
                Ok(out)
            })
        })
        .await
    }

    pub(super) async fn get_thread(&self, tenant: &Tenant, owner: &str, thread: IntentId) -> Result<Thread> {
        self.read((tenant.workspace_id, owner.to_owned(), thread), |(ws, owner, thread), tx| {
            Box::pin(async move { thread_view(tx, *ws, owner, *thread).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    pub(super) async fn thread_changes(
        &self,
        tenant: &Tenant,
        owner: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<(u64, Thread)>, bool)> {
        self.read((tenant.workspace_id, owner.to_owned(), after, limit), |(ws, owner, after, limit), tx| {
            Box::pin(async move {
                let mut page = tx.owner_threads(*ws, owner, Some(*after), limit + 1).await?;
                let has_more = page.len() > *limit as usize;
                page.truncate(*limit as usize);
                let mut out = Vec::with_capacity(page.len());
                for (id, seq) in page {
                    if let Some(thread) = thread_view(tx, *ws, owner, id).await? {
                        out.push((seq, thread));
                    }
                }
                Ok((out, has_more))
            })
        })
        .await
    }

    pub(super) async fn act_on_thread(
        &self,
        tenant: &Tenant,
        acting: &Acting,
        thread: IntentId,
        action: ThreadAction,
        now: Timestamp,
        by: &Audit,
    ) -> Result<(Thread, Vec<String>)> {
        let args = (tenant.clone(), acting.clone(), thread, action, now, by.clone());
        self.write(args, |(tenant, acting, thread, action, now, by), tx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                let mut intent = tx.intent_for_update(ws, *thread).await?.ok_or(Error::NotFound)?;
                let deleted = act(tx, At::tenant(tenant, *now), acting, &mut intent, action, by).await?;
                let view = thread_view(tx, ws, acting.address(), *thread).await?.ok_or(Error::NotFound)?;
                Ok((view, deleted))
            })
        })
        .await
    }

    pub(super) async fn decide_approval(
        &self,
        tenant: &Tenant,
        id: ApprovalId,
        decision: (bool, Option<String>),
        acting: &Acting,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Approval> {
        let args = (tenant.clone(), id, decision, acting.clone(), now, by.clone());
        self.write(args, |(tenant, id, (approve, comment), acting, now, by), tx| {
            Box::pin(async move {
                let ws = &tenant.workspace_id;
                let mut intent = tx.intent_for_update(*ws, IntentId(id.0)).await?;
                if let Some(intent) = &intent {
                    if !acting.sees(intent) {
                        return Err(Error::NotFound);
                    }
                    may_decide(acting, intent)?;
                }
                let decision = if *approve { "approve" } else { "reject" };
                if let Some(existing) = tx.approval(*ws, *id).await? {
                    if existing.decision == decision {
                        return Ok(existing);
                    }
                    let constraint = format!("approval already decided: {}", existing.decision);
                    return Err(Error::Conflict { constraint });
                }
                let approval = Approval {
                    approval_id: *id,
                    decision: decision.into(),
                    comment: comment.clone(),
                    decided_at: *now,
                };
                tx.insert_approval(*ws, &approval).await?;
                let at = At::tenant(tenant, *now);
                let mut answered = false;
                if let Some(intent) = &mut intent {
                    let decider = Decider { owner: acting.address(), by, via: "approval" };
                    answered = answer_task(tx, at, intent, *approve, comment.clone(), decider).await?;
                }
                if !answered {
                    let details = details([
                        ("decision", Value::String(decision.to_owned())),
                        ("as", Value::String(acting.address().to_owned())),
                    ]);
                    let target = AuditTarget::new("approval", id);
                    record(tx, by, at, actions::APPROVAL_DECIDED, target, details).await?;
                }
                Ok(approval)
            })
        })
        .await
    }
}
