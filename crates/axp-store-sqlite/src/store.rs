//! [`SqliteStore`]: the [`Store`] implementation.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use axp_core::api::{AgentDelivery, MutationResponse};
use axp_core::delivery::{Delivery, DeliveryKind, DeliveryStatus, EventCounters, Subscription, WebhookEvent};
use axp_core::ids::{ApiKeyId, IntentId, ServiceAccountId, WorkspaceId};
use axp_core::inbox::{Approval, Thread, ThreadAction, ThreadStatus, TimelineEntry};
use axp_core::intent::GATEWAY_ACTOR;
use axp_core::lifecycle::{self, Outcome, Request};
use axp_core::workflow::Notification;
use axp_core::{AgentAddress, Intent, IntentEvent, Status, Timestamp};
use axp_store::{
    ApiKeyRecord, AttemptReport, BindingUpdate, CommitListener, CompletionDelivery, Created, Error, Executed,
    IdempotencyClaim, IntentFilter, KeyHash, NewApiKey, NewServiceAccount, NewSubscription, Principal,
    PrincipalCache, PushJob, Result, ScenarioWrite, ServiceAccountRecord, Store, Tenant, TenantSpec, Topic,
};
use r2d2_sqlite::SqliteConnectionManager;
use r2d2_sqlite::rusqlite::Connection;

use crate::checkpoint::Checkpointer;
use crate::rows::{self, IntentRows, db};
use crate::schema;
use crate::writer::{WriteCtx, Writer};

/// Threads a filtered inbox listing looks through (the most recently changed).
const LIST_SCAN: u32 = 500;

/// Read connections kept open. Reads are short; a few cover many concurrent streams.
const READERS: u32 = 8;

/// SQLite-backed [`Store`]. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// Who each recently seen key stands for; the writer invalidates it.
    principals: Arc<PrincipalCache>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, applies pending migrations and
    /// starts the writer thread. `listener` is told about every commit.
    ///
    /// Errors: [`Error::Unavailable`] when the file cannot be opened or migrated.
    pub fn open(path: &Path, listener: Arc<dyn CommitListener>) -> Result<Self> {
        let mut conn = Connection::open(path)
            .map_err(|e| Error::Unavailable(format!("open {}: {e}", path.display())))?;
        schema::configure_writer(&conn).map_err(db)?;
        schema::migrate(&mut conn).map_err(db)?;
        let checkpointer = Checkpointer::start(path)?;
        let principals = Arc::new(PrincipalCache::default());
        let writer = Writer::spawn(conn, listener, principals.clone(), checkpointer)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let manager = SqliteConnectionManager::file(path).with_init(|c| schema::configure_reader(c));
        let readers = r2d2::Pool::builder()
            .max_size(READERS)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        Ok(Self { writer, readers, principals })
    }

    /// Runs `f` on a read connection on a blocking thread.
    async fn read<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(|e| Error::Unavailable(e.to_string()))?;
            f(&conn)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    }
}

fn create_tenant_in(conn: &Connection, spec: &TenantSpec) -> Result<Principal> {
    let now = spec.admin.created_at;
    let org_id = rows::ensure_org(conn, &spec.org_slug, now)?;
    let workspace_id = rows::insert_workspace(conn, org_id, &spec.workspace_slug, now)?;
    let tenant = Tenant {
        org_id,
        workspace_id,
        org_slug: spec.org_slug.clone(),
        workspace_slug: spec.workspace_slug.clone(),
    };
    rows::insert_service_account(conn, &tenant, &spec.admin)?;
    rows::insert_api_key(conn, &tenant, spec.admin.id, &spec.key)?;
    Ok(Principal {
        tenant,
        service_account_id: spec.admin.id,
        key_id: spec.key.key_id,
        agent_address: spec.admin.agent_address.clone(),
    })
}

/// Writes a new intent with its events and initial timers, queues it for its agent unless it
/// waits for a person, and announces the topics.
/// Returns the intent as it stands after routing.
/// `serialized` holds `intent` and `events` as JSON.
fn insert_new_intent(
    ctx: &mut WriteCtx<'_>,
    tenant: &Tenant,
    intent: &Intent,
    events: &[IntentEvent],
    serialized: &IntentRows,
) -> Result<Intent> {
    let ws = tenant.workspace_id;
    rows::insert_intent(ctx.conn, ws, intent, &serialized.intent)?;
    rows::insert_event_bodies(ctx.conn, ws, events, &serialized.events)?;
    ctx.topics.push(Topic::Intent(intent.intent_id));
    announce(ctx, ws, intent, events, true, intent.created_at)?;
    let timers = lifecycle::initial_timers(intent);
    if !timers.is_empty() {
        rows::schedule(ctx.conn, ws, intent.intent_id, &timers)?;
        ctx.topics.push(Topic::Timers);
    }
    let mut current = intent.clone();
    if current.workflow.is_some() {
        run_internal(
            ctx,
            ws,
            &mut current,
            lifecycle::Command::StartWorkflow,
            &intent.from_agent,
            intent.created_at,
        )?;
    }
    if current.status == Status::Submitted
        && let Some(routed) = route(ctx, ws, &current, "submitted", current.created_at)?
    {
        return Ok(routed);
    }
    Ok(current)
}

/// Routes `intent` to its agent by the agent's binding: an `inbox` agent is a person, so the
/// intent becomes their human task; otherwise a queue item at the agent's next cursor (what
/// streams and poll claims read) and, for the `http` binding, a push delivery of that item's
/// frame, due now.
///
/// A new intent (`reason` "submitted") whose agent has a stream connected right now, and no push
/// binding, is also handed over here, in its create transaction: the stream, woken by the
/// commit, finds the item already handed and sends it straight from a read connection, without
/// a second trip through the writer. Should the stream go away before sending it, the delivery
/// lease runs out and the intent is redelivered, as for any delivery never acknowledged.
/// Returns the intent as routing left it when routing changed it.
fn route(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    intent: &Intent,
    reason: &str,
    now: Timestamp,
) -> Result<Option<Intent>> {
    let agent = rows::agent_by_address(ctx.conn, ws, &intent.to_agent)?;
    if let Some(agent) = agent.as_ref().filter(|a| a.delivery_mode == "inbox") {
        let assign = lifecycle::Command::AssignHumanTask { assignee: agent.agent_address.clone() };
        let mut routed = intent.clone();
        run_internal(ctx, ws, &mut routed, assign, GATEWAY_ACTOR, now)?;
        return Ok(Some(routed));
    }

    let conn = ctx.conn;
    let cursor =
        ctx.counters.cursors.next(ws, &intent.to_agent, || rows::last_cursor(conn, ws, &intent.to_agent))?;
    rows::enqueue(conn, ws, intent, cursor, reason, now)?;
    let topic = Topic::Agent(ws, intent.to_agent.clone());
    let pushed = agent.as_ref().is_some_and(|a| a.delivery_mode == "http");
    if reason == "submitted" && !pushed && ctx.listener.watched(&topic) {
        let lease = agent.as_ref().and_then(|a| a.lease_seconds);
        let mut routed = intent.clone();
        deliver(ctx, ws, &intent.to_agent, &mut routed, cursor, lease, now)?;
        ctx.topics.push(topic);
        return Ok(Some(routed));
    }
    ctx.topics.push(topic);
    let Some(agent) = agent else { return Ok(None) };

    let url = agent.delivery_config.as_ref().and_then(|c| c.get("url")).and_then(serde_json::Value::as_str);
    let (true, Some(url)) = (agent.delivery_mode == "http", url) else { return Ok(None) };
    let mut frame =
        rows::Queued { cursor, queued_at: now, handed: false, intent: intent.clone() }.into_delivery();
    frame.status = Status::Delivered;
    frame.delivery_attempt = intent.delivery_attempt + 1;
    let id = uuid::Uuid::now_v7();
    let delivery = Delivery {
        delivery_id: id,
        replay_of_delivery_id: None,
        org_id: agent.org_id,
        workspace_id: ws,
        kind: DeliveryKind::AgentPush,
        transport_type: "http".into(),
        message_id: format!("msg_{}", id.simple()),
        intent_id: Some(intent.intent_id),
        event_id: None,
        subscription_id: None,
        target: intent.to_agent.clone(),
        url: url.to_owned(),
        status: DeliveryStatus::Pending,
        attempt: 0,
        next_attempt_at: Some(now),
        last_response_code: None,
        error_detail: None,
        attempts: Vec::new(),
        payload: serde_json::to_value(&frame).map_err(|e| Error::Internal(e.to_string()))?,
        created_at: now,
        updated_at: now,
    };
    rows::insert_delivery(ctx.conn, ws, &delivery, &intent.to_agent, Some(now))?;
    ctx.topics.push(Topic::Deliveries);
    Ok(None)
}

/// Queues a delivery of `event` to subscription `sub`.
fn queue_webhook(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    sub: &Subscription,
    event: &WebhookEvent,
    now: Timestamp,
) -> Result<()> {
    let id = uuid::Uuid::now_v7();
    let delivery = Delivery {
        delivery_id: id,
        replay_of_delivery_id: None,
        org_id: rows::org_of(ctx.conn, ws)?,
        workspace_id: ws,
        kind: DeliveryKind::Webhook,
        transport_type: "webhook".into(),
        message_id: format!("msg_{}", event.event_id.simple()),
        intent_id: None,
        event_id: Some(event.event_id),
        subscription_id: Some(sub.subscription_id),
        target: sub.owner_agent.clone(),
        url: sub.callback_url.clone(),
        status: DeliveryStatus::Pending,
        attempt: 0,
        next_attempt_at: Some(now),
        last_response_code: None,
        error_detail: None,
        attempts: Vec::new(),
        payload: serde_json::to_value(event).map_err(|e| Error::Internal(e.to_string()))?,
        created_at: now,
        updated_at: now,
    };
    rows::insert_delivery(ctx.conn, ws, &delivery, &sub.subscription_id.to_string(), Some(now))?;
    rows::set_delivery_event(ctx.conn, ws, id, event.event_id)?;
    ctx.topics.push(Topic::Deliveries);
    Ok(())
}

/// Publishes a workflow `notification` step's event to the sender's subscriptions naming it.
fn notify(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    intent: &Intent,
    n: &Notification,
    now: Timestamp,
) -> Result<()> {
    let event = WebhookEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: n.event_type.clone(),
        source: "axp".into(),
        owner_agent: intent.from_agent.clone(),
        occurred_at: now,
        payload: n.payload.clone(),
    };
    rows::insert_event(ctx.conn, ws, &event)?;
    let subs = rows::active_subscriptions(ctx.conn, ws, &[intent.from_agent.as_str()])?;
    for sub in subs.iter().filter(|s| s.event_types.contains(&event.event_type)) {
        queue_webhook(ctx, ws, sub, &event, now)?;
    }
    Ok(())
}

/// Adds `owner` to `thread` or touches their row, at their next `change_seq`
/// ([`rows::touch_participant`]).
fn touch(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    owner: &str,
    thread: IntentId,
    role: &str,
    unread: bool,
    now: Timestamp,
) -> Result<()> {
    let conn = ctx.conn;
    let change_seq = ctx.counters.change_seqs.next(ws, owner, || rows::last_change_seq(conn, ws, owner))?;
    rows::touch_participant(conn, ws, &rows::Touch { owner, thread, role, unread, change_seq }, now)
}

/// After `intent` changed with `events`: keeps its thread current (sender and target join;
/// every participant's changes feed moves; unread for all but the actor), and sends the
/// lifecycle events and `inbox.thread_created` / `inbox.thread_updated` to the participants'
/// webhook subscriptions that name them.
fn announce(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    intent: &Intent,
    events: &[IntentEvent],
    created: bool,
    now: Timestamp,
) -> Result<()> {
    let Some(last) = events.last() else { return Ok(()) };
    let mut owners: Vec<(String, &str)> = if created {
        Vec::new()
    } else {
        rows::participants(ctx.conn, ws, intent.intent_id)?.into_iter().map(|o| (o, "member")).collect()
    };
    for (owner, role) in [(&intent.from_agent, "sender"), (&intent.to_agent, "recipient")] {
        if !owners.iter().any(|(o, _)| o == owner) {
            owners.push((owner.clone(), role));
        }
    }
    for (owner, role) in &owners {
        touch(ctx, ws, owner, intent.intent_id, role, *owner != last.actor, now)?;
    }
    let names: Vec<&str> = owners.iter().map(|(o, _)| o.as_str()).collect();
    let inbox_event = if created { "inbox.thread_created" } else { "inbox.thread_updated" };
    for sub in rows::active_subscriptions(ctx.conn, ws, &names)? {
        for e in events.iter().filter(|e| sub.event_types.iter().any(|t| t == e.event_type.as_str())) {
            let payload = serde_json::to_value(e).map_err(|err| Error::Internal(err.to_string()))?;
            publish(ctx, ws, &sub, e.event_type.as_str(), payload, e.at, now)?;
        }
        if sub.event_types.iter().any(|t| t == inbox_event) {
            let payload = serde_json::json!({"thread_id": intent.intent_id, "intent_id": intent.intent_id, "status": intent.status});
            publish(ctx, ws, &sub, inbox_event, payload, now, now)?;
        }
    }
    Ok(())
}

/// Records an event for `sub`'s owner and queues its delivery.
fn publish(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    sub: &Subscription,
    event_type: &str,
    payload: serde_json::Value,
    at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    let event = WebhookEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.to_owned(),
        source: "axp".into(),
        owner_agent: sub.owner_agent.clone(),
        occurred_at: at,
        payload,
    };
    rows::insert_event(ctx.conn, ws, &event)?;
    queue_webhook(ctx, ws, sub, &event, now)
}

/// The thread view of `thread` for `owner`, if they can see it.
fn thread_view(
    conn: &Connection,
    ws: WorkspaceId,
    owner: &str,
    thread: IntentId,
) -> Result<Option<(Thread, u64)>> {
    let Some(member) = rows::membership(conn, ws, owner, thread)? else { return Ok(None) };
    let Some(intent) = rows::intent(conn, ws, thread)? else { return Ok(None) };
    let events = rows::events_since(conn, ws, thread, 0, u32::MAX)?;
    let entries: Vec<TimelineEntry> = rows::entries(conn, ws, thread)?
        .into_iter()
        .filter(|e| !member.hidden.contains(&e.event_id.to_string()))
        .collect();
    Ok(Some((
        Thread::build(&intent, owner, &events, entries, member.unread, member.updated_at),
        member.change_seq,
    )))
}

/// Records a thread entry by `owner` and moves every participant's changes feed.
fn thread_entry(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    thread: IntentId,
    owner: &str,
    event_type: &str,
    details: serde_json::Map<String, serde_json::Value>,
    now: Timestamp,
) -> Result<TimelineEntry> {
    let entry = TimelineEntry {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.to_owned(),
        actor: owner.to_owned(),
        at: now,
        details,
    };
    rows::insert_entry(ctx.conn, ws, thread, &entry)?;
    for participant in rows::participants(ctx.conn, ws, thread)? {
        touch(ctx, ws, &participant, thread, "member", participant != owner, now)?;
    }
    Ok(entry)
}

/// Sends an inbox event to `owners`' subscriptions that name it.
fn inbox_event(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    owners: &[&str],
    event_type: &str,
    payload: serde_json::Value,
    now: Timestamp,
) -> Result<()> {
    for sub in rows::active_subscriptions(ctx.conn, ws, owners)? {
        if sub.event_types.iter().any(|t| t == event_type) {
            publish(ctx, ws, &sub, event_type, payload.clone(), now, now)?;
        }
    }
    Ok(())
}

/// An approve/reject answers the intent's open human task, as a `task_result` whose outcome the
/// task's type implies (e.g. `approved`, `confirmed`, `rejected`). Nothing happens when no task
/// is open.
fn answer_task(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    intent: &mut Intent,
    approve: bool,
    comment: Option<String>,
    actor: &str,
    now: Timestamp,
) -> Result<()> {
    let waiting = intent.status == Status::Waiting
        && intent.waiting_reason == Some(axp_core::WaitingReason::WaitingForHuman);
    let Some(task) = intent.human_task.clone().filter(|_| waiting) else { return Ok(()) };
    let mut result = serde_json::Map::new();
    result.insert(
        "outcome".into(),
        serde_json::Value::String(axp_core::human_task::decision_outcome(&task, approve)),
    );
    if let Some(comment) = comment {
        result.insert("comment".into(), serde_json::Value::String(comment));
    }
    let mut body = serde_json::Map::new();
    body.insert("task_result".into(), serde_json::Value::Object(result));
    run_internal(ctx, ws, intent, lifecycle::Command::Resume(body), actor, now)?;
    Ok(())
}

/// Delivers an ended intent's completion to its `reply_to` owner (§4.6): they join the thread
/// (status `done`) and get an `intent_completion_delivered` entry.
fn deliver_completion(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    intent: &Intent,
    reply_to: &str,
    now: Timestamp,
) -> Result<CompletionDelivery> {
    let message_id = uuid::Uuid::now_v7();
    let mut details = serde_json::Map::new();
    details.insert("message_id".into(), serde_json::Value::String(message_id.to_string()));
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
    rows::insert_entry(ctx.conn, ws, intent.intent_id, &entry)?;
    touch(ctx, ws, reply_to, intent.intent_id, "reply_to", true, now)?;
    Ok(CompletionDelivery { reply_to: reply_to.to_owned(), message_id })
}

/// Persists what [`lifecycle::execute`] decided for `intent`: its new state and events, the
/// timers it asked for (all of them dropped once it ended), and a new queue item when its lease
/// ran out unacknowledged. Announces the topics.
fn persist(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    intent: &Intent,
    outcome: &Outcome,
    now: Timestamp,
) -> Result<Option<CompletionDelivery>> {
    if !outcome.applied {
        return Ok(None);
    }
    rows::update_intent(ctx.conn, ws, intent)?;
    rows::insert_events(ctx.conn, ws, &outcome.events)?;
    if !outcome.events.is_empty() {
        ctx.topics.push(Topic::Intent(intent.intent_id));
        announce(ctx, ws, intent, &outcome.events, false, now)?;
    }
    if intent.status.is_terminal() {
        rows::clear_timers(ctx.conn, ws, intent.intent_id)?;
    } else if !outcome.timers.is_empty() {
        rows::schedule(ctx.conn, ws, intent.intent_id, &outcome.timers)?;
        ctx.topics.push(Topic::Timers);
    }
    if outcome.route {
        route(ctx, ws, intent, "redelivery", now)?;
    }
    for notification in &outcome.notifications {
        notify(ctx, ws, intent, notification, now)?;
    }
    let ended = outcome.events.last().is_some_and(IntentEvent::is_terminal);
    match (&intent.reply_to, ended) {
        (Some(reply_to), true) => deliver_completion(ctx, ws, intent, reply_to, now).map(Some),
        _ => Ok(None),
    }
}

/// Runs a command the server itself issues (`caller: None`) and persists its outcome.
fn run_internal(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    intent: &mut Intent,
    command: lifecycle::Command,
    actor: &str,
    now: Timestamp,
) -> Result<Outcome> {
    let request =
        Request { command, caller: None, actor: actor.to_owned(), expected_policy_generation: None };
    let outcome = lifecycle::execute(intent, &request, now)?;
    persist(ctx, ws, intent, &outcome, now)?;
    Ok(outcome)
}

/// Delivers `intent`, queue item `cursor` of `address`, to that agent (SUBMITTED → DELIVERED
/// with a lease, or a redelivery) and marks the item handed.
fn deliver(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    address: &str,
    intent: &mut Intent,
    cursor: u64,
    agent_lease_seconds: Option<u32>,
    now: Timestamp,
) -> Result<()> {
    let command = lifecycle::Command::Deliver { handler: address.to_owned(), agent_lease_seconds };
    run_internal(ctx, ws, intent, command, GATEWAY_ACTOR, now)?;
    rows::mark_handed(ctx.conn, ws, address, cursor, now)
}

/// Hands queue items to `address`: each item not handed before is delivered (SUBMITTED →
/// DELIVERED with a lease, or a redelivery) and marked handed; items handed before are replays.
fn hand_over(
    ctx: &mut WriteCtx<'_>,
    ws: WorkspaceId,
    address: &str,
    items: Vec<rows::Queued>,
    now: Timestamp,
) -> Result<Vec<AgentDelivery>> {
    let agent_lease_seconds = if items.iter().any(|q| !q.handed) {
        rows::agent_by_address(ctx.conn, ws, address)?.and_then(|a| a.lease_seconds)
    } else {
        None
    };
    let mut out = Vec::with_capacity(items.len());
    for mut item in items {
        // An intent that ended is only shown (a stream may ask for terminal statuses).
        if !item.handed && !item.intent.status.is_terminal() {
            deliver(ctx, ws, address, &mut item.intent, item.cursor, agent_lease_seconds, now)?;
        }
        out.push(item.into_delivery());
    }
    Ok(out)
}

#[async_trait]
impl Store for SqliteStore {
    async fn bootstrap(&self, spec: TenantSpec) -> Result<Option<Principal>> {
        self.writer
            .write(move |ctx| {
                if rows::any_org(ctx.conn)? { Ok(None) } else { create_tenant_in(ctx.conn, &spec).map(Some) }
            })
            .await
    }

    async fn create_tenant(&self, spec: TenantSpec) -> Result<Principal> {
        self.writer.write(move |ctx| create_tenant_in(ctx.conn, &spec)).await
    }

    async fn authenticate(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<Principal>> {
        let hash = hash.0;
        if let Some(principal) = self.principals.get(&hash, now) {
            return Ok(Some(principal));
        }
        // Read before the lookup, so an invalidation during it keeps its result out.
        let generation = self.principals.generation();
        let found = self.read(move |conn| rows::principal(conn, &hash, now)).await?;
        Ok(found.map(|(principal, expires_at)| {
            self.principals.insert(hash, &principal, expires_at, generation);
            principal
        }))
    }

    async fn create_service_account(
        &self,
        tenant: &Tenant,
        account: NewServiceAccount,
    ) -> Result<ServiceAccountRecord> {
        let tenant = tenant.clone();
        self.writer.write(move |ctx| rows::insert_service_account(ctx.conn, &tenant, &account)).await
    }

    async fn get_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
    ) -> Result<ServiceAccountRecord> {
        let tenant = tenant.clone();
        self.read(move |conn| rows::service_account(conn, &tenant, id)?.ok_or(Error::NotFound)).await
    }

    async fn find_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
    ) -> Result<Option<ServiceAccountRecord>> {
        let (tenant, address) = (tenant.clone(), address.clone());
        self.read(move |conn| rows::agent_by_address(conn, tenant.workspace_id, address.as_str())).await
    }

    async fn delete_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
        now: Timestamp,
    ) -> Result<ServiceAccountRecord> {
        let tenant = tenant.clone();
        self.writer
            .write(move |ctx| {
                let mut sa = rows::service_account(ctx.conn, &tenant, id)?.ok_or(Error::NotFound)?;
                if sa.status != "deleted" {
                    sa.status = "deleted".into();
                    sa.updated_at = now;
                    let secret = rows::push_secret(ctx.conn, tenant.workspace_id, &sa.agent_address)?;
                    rows::update_agent(ctx.conn, tenant.workspace_id, &sa, secret.as_deref())?;
                    rows::revoke_all_keys(ctx.conn, tenant.workspace_id, id, now)?;
                    ctx.principals_changed = true;
                }
                Ok(sa)
            })
            .await
    }

    async fn create_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: NewApiKey,
    ) -> Result<ApiKeyRecord> {
        let tenant = tenant.clone();
        self.writer
            .write(move |ctx| {
                rows::service_account(ctx.conn, &tenant, account)?.ok_or(Error::NotFound)?;
                rows::insert_api_key(ctx.conn, &tenant, account, &key)
            })
            .await
    }

    async fn revoke_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: ApiKeyId,
        now: Timestamp,
    ) -> Result<ApiKeyRecord> {
        let tenant = tenant.clone();
        self.writer
            .write(move |ctx| {
                let mut record = rows::api_key(ctx.conn, &tenant, account, key)?.ok_or(Error::NotFound)?;
                if record.revoked_at.is_none() {
                    record.revoked_at = Some(now);
                    record.status = "revoked".into();
                    rows::update_api_key(ctx.conn, &tenant, &record)?;
                    ctx.principals_changed = true;
                }
                Ok(record)
            })
            .await
    }

    async fn create_intent(
        &self,
        tenant: &Tenant,
        intent: Intent,
        events: Vec<IntentEvent>,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Created> {
        let tenant = tenant.clone();
        let serialized = IntentRows::new(&intent, &events)?;
        self.writer
            .write(move |ctx| {
                let ws = tenant.workspace_id;
                if let Some(claim) = &idempotency
                    && let Some((intent_id, response_body)) = rows::idempotent_replay(ctx.conn, ws, claim)?
                {
                    return Ok(Created { intent_id, response_body, replayed: true });
                }
                let routed = insert_new_intent(ctx, &tenant, &intent, &events, &serialized)?;
                let response_body = Created::create_response(&routed);

                if let Some(claim) = &idempotency {
                    rows::record_idempotency(ctx.conn, ws, claim, intent.intent_id, &response_body)?;
                }
                Ok(Created { intent_id: intent.intent_id, response_body, replayed: false })
            })
            .await
    }

    async fn apply_scenario(
        &self,
        tenant: &Tenant,
        write: ScenarioWrite,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Created> {
        let tenant = tenant.clone();
        let serialized = IntentRows::new(&write.intent, &write.events)?;
        self.writer
            .write(move |ctx| {
                let ws = tenant.workspace_id;
                if let Some(claim) = &idempotency
                    && let Some((intent_id, body)) = rows::idempotent_replay(ctx.conn, ws, claim)?
                {
                    return Ok(Created { intent_id, response_body: body, replayed: true });
                }
                let mut created = Vec::with_capacity(write.agents.len());
                for agent in &write.agents {
                    let exists =
                        rows::agent_by_address(ctx.conn, ws, agent.planned.address.as_str())?.is_some();
                    if !exists && agent.planned.create_if_missing {
                        rows::insert_service_account(ctx.conn, &tenant, &agent.account)?;
                        rows::insert_api_key(ctx.conn, &tenant, agent.account.id, &agent.key.1)?;
                        created.push(Some(agent.account.id));
                    } else {
                        created.push(None);
                    }
                }
                let mut write = write;
                rows::register_intent_type(ctx.conn, ws, &write.intent.intent_type)?;
                write.intent = insert_new_intent(ctx, &tenant, &write.intent, &write.events, &serialized)?;

                let fresh = rows::to_json(&write.response(&created, true, false))?;
                if let Some(claim) = &idempotency {
                    let replay = rows::to_json(&write.response(&created, false, true))?;
                    rows::record_idempotency(ctx.conn, ws, claim, write.intent.intent_id, &replay)?;
                }
                Ok(Created { intent_id: write.intent.intent_id, response_body: fresh, replayed: false })
            })
            .await
    }

    async fn get_intent(&self, tenant: &Tenant, id: IntentId) -> Result<Intent> {
        let ws = tenant.workspace_id;
        self.read(move |conn| rows::intent(conn, ws, id)?.ok_or(Error::NotFound)).await
    }

    async fn list_intents(&self, tenant: &Tenant, filter: &IntentFilter) -> Result<Vec<Intent>> {
        let (ws, filter) = (tenant.workspace_id, filter.clone());
        self.read(move |conn| rows::list_intents(conn, ws, &filter)).await
    }

    async fn events_since(
        &self,
        tenant: &Tenant,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>> {
        let ws = tenant.workspace_id;
        self.read(move |conn| {
            let events = rows::events_since(conn, ws, id, since, limit)?;
            if events.is_empty() && !rows::intent_exists(conn, ws, id)? {
                return Err(Error::NotFound);
            }
            Ok(events)
        })
        .await
    }

    async fn execute(
        &self,
        tenant: &Tenant,
        id: IntentId,
        request: Request,
        now: Timestamp,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Executed> {
        let ws = tenant.workspace_id;
        self.writer
            .write(move |ctx| {
                let mut intent = rows::intent(ctx.conn, ws, id)?.ok_or(Error::NotFound)?;
                if let Some(claim) = &idempotency
                    && let Some((_, response_body)) = rows::idempotent_replay(ctx.conn, ws, claim)?
                {
                    return Ok(Executed {
                        intent,
                        outcome: Outcome::default(),
                        completion: None,
                        response_body,
                        replayed: true,
                    });
                }
                let outcome = lifecycle::execute(&mut intent, &request, now)?;
                let completion = persist(ctx, ws, &intent, &outcome, now)?;
                let response = MutationResponse::new(
                    &intent,
                    &outcome,
                    &request.command,
                    completion.as_ref().map(|c| (c.reply_to.as_str(), c.message_id)),
                );
                let response_body = rows::to_json(&response)?;
                if let Some(claim) = &idempotency {
                    rows::record_idempotency(ctx.conn, ws, claim, id, &response_body)?;
                }
                Ok(Executed { intent, outcome, completion, response_body, replayed: false })
            })
            .await
    }

    async fn deliver_to_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        since: u64,
        statuses: &[Status],
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<AgentDelivery>> {
        let ws = tenant.workspace_id;
        let (addr, statuses) = (address.to_string(), statuses.to_vec());
        // Most calls find nothing new, or only items handed before: answer those from a reader
        // and go to the writer only when something must be handed over.
        let (addr2, statuses2) = (addr.clone(), statuses.clone());
        let items = self.read(move |conn| rows::queued(conn, ws, &addr2, since, &statuses2, limit)).await?;
        if items.iter().all(|q| q.handed) {
            return Ok(items.into_iter().map(rows::Queued::into_delivery).collect());
        }
        self.writer
            .write(move |ctx| {
                let items = rows::queued(ctx.conn, ws, &addr, since, &statuses, limit)?;
                hand_over(ctx, ws, &addr, items, now)
            })
            .await
    }

    async fn claim_for_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<AgentDelivery>> {
        let ws = tenant.workspace_id;
        let addr = address.to_string();
        self.writer
            .write(move |ctx| {
                let items = rows::unhanded(ctx.conn, ws, &addr, limit)?;
                hand_over(ctx, ws, &addr, items, now)
            })
            .await
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>> {
        self.read(rows::next_due).await
    }

    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> Result<u32> {
        self.writer
            .write(move |ctx| {
                let due = rows::due_timers(ctx.conn, now, limit)?;
                let fired = due.len() as u32;
                for timer in due {
                    let (ws, id) = (timer.workspace_id, timer.intent_id);
                    rows::delete_timer(ctx.conn, ws, id, timer.kind.key())?;
                    let Some(mut intent) = rows::intent(ctx.conn, ws, id)? else { continue };
                    // A timer of an intent that already ended is simply dropped.
                    match run_internal(
                        ctx,
                        ws,
                        &mut intent,
                        lifecycle::Command::Fire(timer.kind),
                        GATEWAY_ACTOR,
                        now,
                    ) {
                        Ok(_) | Err(Error::Lifecycle(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(fired)
            })
            .await
    }

    async fn list_agents(&self, tenant: &Tenant, limit: u32) -> Result<Vec<ServiceAccountRecord>> {
        let ws = tenant.workspace_id;
        self.read(move |conn| rows::list_agents(conn, ws, limit)).await
    }

    async fn set_agent_binding(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        binding: BindingUpdate,
        now: Timestamp,
    ) -> Result<ServiceAccountRecord> {
        let (ws, address) = (tenant.workspace_id, address.to_string());
        self.writer
            .write(move |ctx| {
                let mut sa = rows::agent_by_address(ctx.conn, ws, &address)?.ok_or(Error::NotFound)?;
                sa.delivery_mode = binding.delivery_mode;
                sa.lease_seconds = binding.lease_seconds;
                sa.delivery_config = binding.push.as_ref().map(|p| rows::push_config(&p.url));
                sa.updated_at = now;
                rows::update_agent(ctx.conn, ws, &sa, binding.push.as_ref().map(|p| p.secret.as_str()))?;
                Ok(sa)
            })
            .await
    }

    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        claim_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PushJob>> {
        self.writer
            .write(move |ctx| {
                let mut jobs = Vec::new();
                for (ws, mut d, secret_owner) in rows::due_deliveries(ctx.conn, now, limit)? {
                    let settled = |d: &mut Delivery, why: &str| {
                        d.status = DeliveryStatus::Failed;
                        d.error_detail = Some(why.to_owned());
                        d.next_attempt_at = None;
                        d.updated_at = now;
                    };
                    let secret = match d.kind {
                        DeliveryKind::AgentPush => {
                            let open = match d.intent_id {
                                Some(id) => {
                                    rows::intent(ctx.conn, ws, id)?.is_some_and(|i| !i.status.is_terminal())
                                }
                                None => false,
                            };
                            if !open {
                                settled(&mut d, "the intent ended before this delivery was sent");
                                rows::update_delivery(ctx.conn, ws, &d, None)?;
                                continue;
                            }
                            rows::push_secret(ctx.conn, ws, &secret_owner)?
                        }
                        DeliveryKind::Webhook => match d.subscription_id {
                            Some(id) => rows::subscription(ctx.conn, ws, id)?
                                .filter(|(s, _)| s.active)
                                .map(|(_, secret)| secret),
                            None => None,
                        },
                    };
                    let Some(secret) = secret else {
                        settled(
                            &mut d,
                            "the target has no signing secret (its binding changed or it was revoked)",
                        );
                        rows::update_delivery(ctx.conn, ws, &d, None)?;
                        continue;
                    };
                    d.status = DeliveryStatus::Delivering;
                    d.updated_at = now;
                    rows::update_delivery(ctx.conn, ws, &d, Some(claim_until))?;
                    jobs.push(PushJob {
                        workspace_id: ws,
                        delivery_id: d.delivery_id,
                        kind: d.kind,
                        message_id: d.message_id.clone(),
                        url: d.url.clone(),
                        secret,
                        body: rows::to_json(&d.payload)?,
                        attempt: d.attempt + 1,
                    });
                }
                Ok(jobs)
            })
            .await
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        self.read(rows::next_delivery_due).await
    }

    async fn record_attempt(
        &self,
        ws: WorkspaceId,
        delivery_id: uuid::Uuid,
        report: AttemptReport,
    ) -> Result<()> {
        self.writer
            .write(move |ctx| {
                let (mut d, _) = rows::delivery(ctx.conn, ws, delivery_id)?.ok_or(Error::NotFound)?;
                let now = report.now;
                d.attempt = report.attempt.attempt;
                d.last_response_code = report.attempt.status_code;
                d.error_detail = report.attempt.error.clone();
                d.attempts.push(report.attempt.clone());
                d.updated_at = now;
                let intent = match (d.kind, d.intent_id) {
                    (DeliveryKind::AgentPush, Some(id)) => rows::intent(ctx.conn, ws, id)?,
                    _ => None,
                };
                if report.delivered {
                    d.status = DeliveryStatus::Delivered;
                    d.next_attempt_at = None;
                    rows::update_delivery(ctx.conn, ws, &d, None)?;
                    ctx.topics.push(Topic::Deliveries);

                    if let Some(mut intent) = intent.filter(|i| !i.status.is_terminal()) {
                        let lease =
                            rows::agent_by_address(ctx.conn, ws, &d.target)?.and_then(|a| a.lease_seconds);
                        let deliver = lifecycle::Command::Deliver {
                            handler: d.target.clone(),
                            agent_lease_seconds: lease,
                        };
                        run_internal(ctx, ws, &mut intent, deliver, GATEWAY_ACTOR, now)?;
                        if let Some(cursor) = d.payload.get("seq").and_then(serde_json::Value::as_u64) {
                            rows::mark_handed(ctx.conn, ws, &d.target, cursor, now)?;
                        }
                        if let Some(result) = report.inline_result {
                            let mut body = serde_json::Map::new();
                            body.insert("result".into(), result);
                            // The agent answered with its result: complete as its resume would.
                            match run_internal(
                                ctx,
                                ws,
                                &mut intent,
                                lifecycle::Command::Resume(body),
                                &d.target,
                                now,
                            ) {
                                Ok(_) | Err(Error::Lifecycle(_)) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    return Ok(());
                }
                let mut ended = false;
                if let Some(mut intent) = intent.filter(|i| !i.status.is_terminal()) {
                    let error = serde_json::json!({
                        "code": "delivery_failed",
                        "message": report.attempt.error.clone().unwrap_or_else(|| "push failed".into()),
                        "status_code": report.attempt.status_code,
                    });
                    run_internal(
                        ctx,
                        ws,
                        &mut intent,
                        lifecycle::Command::PushFailed { error },
                        GATEWAY_ACTOR,
                        now,
                    )?;
                    ended = intent.status.is_terminal();
                }
                let (status, due) = match report.retry_at {
                    _ if ended => (DeliveryStatus::Failed, None),
                    Some(at) => (DeliveryStatus::Pending, Some(at)),
                    None => (DeliveryStatus::DeadLettered, None),
                };
                d.status = status;
                d.next_attempt_at = due;
                rows::update_delivery(ctx.conn, ws, &d, due)?;
                ctx.topics.push(Topic::Deliveries);
                Ok(())
            })
            .await
    }

    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let ws = tenant.workspace_id;
        self.read(move |conn| rows::list_deliveries(conn, ws, status, limit)).await
    }

    async fn get_delivery(&self, tenant: &Tenant, id: uuid::Uuid) -> Result<Delivery> {
        let ws = tenant.workspace_id;
        self.read(move |conn| Ok(rows::delivery(conn, ws, id)?.ok_or(Error::NotFound)?.0)).await
    }

    async fn replay_delivery(&self, tenant: &Tenant, id: uuid::Uuid, now: Timestamp) -> Result<Delivery> {
        let ws = tenant.workspace_id;
        self.writer
            .write(move |ctx| {
                let (old, secret_owner) = rows::delivery(ctx.conn, ws, id)?.ok_or(Error::NotFound)?;
                if matches!(old.status, DeliveryStatus::Pending | DeliveryStatus::Delivering) {
                    return Err(Error::Conflict { constraint: "delivery is still pending".into() });
                }
                if let Some(intent_id) = old.intent_id {
                    let open =
                        rows::intent(ctx.conn, ws, intent_id)?.is_some_and(|i| !i.status.is_terminal());
                    if !open {
                        return Err(Error::Conflict { constraint: "the delivery's intent has ended".into() });
                    }
                }
                let replay = Delivery {
                    delivery_id: uuid::Uuid::now_v7(),
                    replay_of_delivery_id: Some(old.delivery_id),
                    status: DeliveryStatus::Pending,
                    attempt: 0,
                    next_attempt_at: Some(now),
                    last_response_code: None,
                    error_detail: None,
                    attempts: Vec::new(),
                    created_at: now,
                    updated_at: now,
                    ..old
                };
                rows::insert_delivery(ctx.conn, ws, &replay, &secret_owner, Some(now))?;
                ctx.topics.push(Topic::Deliveries);
                Ok(replay)
            })
            .await
    }

    async fn upsert_subscription(
        &self,
        tenant: &Tenant,
        new: NewSubscription,
        now: Timestamp,
    ) -> Result<Subscription> {
        let ws = tenant.workspace_id;
        self.writer
            .write(move |ctx| {
                let existing = rows::subscription_by_url(ctx.conn, ws, &new.owner_agent, &new.callback_url)?;
                let (mut sub, old_secret) = match existing {
                    Some((sub, secret)) => (sub, Some(secret)),
                    None => (
                        Subscription {
                            subscription_id: uuid::Uuid::now_v7(),
                            owner_agent: new.owner_agent.clone(),
                            callback_url: new.callback_url.clone(),
                            event_types: Vec::new(),
                            active: true,
                            description: None,
                            created_at: now,
                            updated_at: now,
                            revoked_at: None,
                            secret_hint: None,
                        },
                        None,
                    ),
                };
                let secret = new.secret.or(old_secret).unwrap_or(new.new_secret);
                sub.event_types = new.event_types;
                sub.active = new.active;
                sub.description = new.description;
                sub.updated_at = now;
                if new.active {
                    sub.revoked_at = None;
                }
                sub.secret_hint = Some(format!("****{}", &secret[secret.len().saturating_sub(4)..]));
                rows::put_subscription(ctx.conn, ws, &sub, &secret)?;
                Ok(sub)
            })
            .await
    }

    async fn list_subscriptions(
        &self,
        tenant: &Tenant,
        owner: &str,
        include_inactive: bool,
    ) -> Result<Vec<Subscription>> {
        let (ws, owner) = (tenant.workspace_id, owner.to_owned());
        self.read(move |conn| rows::list_subscriptions(conn, ws, &owner, include_inactive)).await
    }

    async fn revoke_subscription(
        &self,
        tenant: &Tenant,
        owner: &str,
        id: uuid::Uuid,
        now: Timestamp,
    ) -> Result<Subscription> {
        let (ws, owner) = (tenant.workspace_id, owner.to_owned());
        self.writer
            .write(move |ctx| {
                let (mut sub, secret) = rows::subscription(ctx.conn, ws, id)?
                    .filter(|(s, _)| s.owner_agent == owner)
                    .ok_or(Error::NotFound)?;
                if sub.revoked_at.is_none() {
                    sub.active = false;
                    sub.revoked_at = Some(now);
                    sub.updated_at = now;
                    rows::put_subscription(ctx.conn, ws, &sub, &secret)?;
                }
                Ok(sub)
            })
            .await
    }

    async fn publish_event(&self, tenant: &Tenant, event: WebhookEvent) -> Result<EventCounters> {
        let ws = tenant.workspace_id;
        self.writer
            .write(move |ctx| {
                rows::insert_event(ctx.conn, ws, &event)?;
                let subs = rows::active_subscriptions(ctx.conn, ws, &[event.owner_agent.as_str()])?;
                for sub in subs.iter().filter(|s| s.event_types.contains(&event.event_type)) {
                    queue_webhook(ctx, ws, sub, &event, event.occurred_at)?;
                }
                rows::event_counters(ctx.conn, ws, event.event_id)
            })
            .await
    }

    async fn replay_event(
        &self,
        tenant: &Tenant,
        owner: &str,
        id: uuid::Uuid,
        now: Timestamp,
    ) -> Result<(WebhookEvent, EventCounters)> {
        let (ws, owner) = (tenant.workspace_id, owner.to_owned());
        self.writer
            .write(move |ctx| {
                let event = rows::event(ctx.conn, ws, &owner, id)?.ok_or(Error::NotFound)?;
                let subs = rows::active_subscriptions(ctx.conn, ws, &[owner.as_str()])?;
                for sub in subs.iter().filter(|s| s.event_types.contains(&event.event_type)) {
                    queue_webhook(ctx, ws, sub, &event, now)?;
                }
                let counters = rows::event_counters(ctx.conn, ws, id)?;
                Ok((event, counters))
            })
            .await
    }

    async fn list_threads(
        &self,
        tenant: &Tenant,
        owner: &str,
        status: Option<ThreadStatus>,
        limit: u32,
    ) -> Result<Vec<Thread>> {
        let (ws, owner) = (tenant.workspace_id, owner.to_owned());
        self.read(move |conn| {
            // With a status filter, look through the most recently changed threads.
            let scan = if status.is_some() { LIST_SCAN.max(limit) } else { limit };
            let mut out = Vec::new();
            for (id, _) in rows::owner_threads(conn, ws, &owner, None, scan)? {
                if let Some((thread, _)) = thread_view(conn, ws, &owner, id)?
                    && status.is_none_or(|s| s == thread.status)
                {
                    out.push(thread);
                    if out.len() >= limit as usize {
                        break;
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn get_thread(&self, tenant: &Tenant, owner: &str, thread: IntentId) -> Result<Thread> {
        let (ws, owner) = (tenant.workspace_id, owner.to_owned());
        self.read(move |conn| Ok(thread_view(conn, ws, &owner, thread)?.ok_or(Error::NotFound)?.0)).await
    }

    async fn thread_changes(
        &self,
        tenant: &Tenant,
        owner: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<(u64, Thread)>, bool)> {
        let (ws, owner) = (tenant.workspace_id, owner.to_owned());
        self.read(move |conn| {
            let mut page = rows::owner_threads(conn, ws, &owner, Some(after), limit + 1)?;
            let has_more = page.len() > limit as usize;
            page.truncate(limit as usize);
            let mut out = Vec::with_capacity(page.len());
            for (id, seq) in page {
                if let Some((thread, _)) = thread_view(conn, ws, &owner, id)? {
                    out.push((seq, thread));
                }
            }
            Ok((out, has_more))
        })
        .await
    }

    async fn act_on_thread(
        &self,
        tenant: &Tenant,
        owner: &str,
        thread: IntentId,
        action: ThreadAction,
        now: Timestamp,
    ) -> Result<(Thread, Vec<String>)> {
        let (ws, owner) = (tenant.workspace_id, owner.to_owned());
        self.writer
            .write(move |ctx| {
                let member = rows::membership(ctx.conn, ws, &owner, thread)?.ok_or(Error::NotFound)?;
                let mut intent = rows::intent(ctx.conn, ws, thread)?.ok_or(Error::NotFound)?;
                let mut deleted = Vec::new();
                let mut details = serde_json::Map::new();
                match action {
                    ThreadAction::Reply { message } => {
                        let message_id = uuid::Uuid::now_v7();
                        details.insert("message".into(), serde_json::Value::String(message));
                        details.insert("message_id".into(), serde_json::Value::String(message_id.to_string()));
                        let entry = thread_entry(ctx, ws, thread, &owner, "reply", details, now)?;
                        let others: Vec<String> = rows::participants(ctx.conn, ws, thread)?.into_iter().filter(|p| *p != owner).collect();
                        let others: Vec<&str> = others.iter().map(String::as_str).collect();
                        let payload = serde_json::json!({"thread_id": thread, "message_id": entry.event_id, "from": owner});
                        inbox_event(ctx, ws, &others, "inbox.reply_received", payload, now)?;
                    }
                    ThreadAction::Delegate { to, note } => {
                        details.insert("delegate_to".into(), serde_json::Value::String(to.clone()));
                        details.insert("note".into(), note.map_or(serde_json::Value::Null, serde_json::Value::String));
                        touch(ctx, ws, &to, thread, "delegate", true, now)?;
                        thread_entry(ctx, ws, thread, &owner, "delegated", details, now)?;
                        let delegate = lifecycle::Command::Delegate { to };
                        if !intent.status.is_terminal() {
                            run_internal(ctx, ws, &mut intent, delegate, &owner, now)?;
                        }
                    }
                    ThreadAction::Decide { approve, comment } => {
                        details.insert("comment".into(), comment.clone().map_or(serde_json::Value::Null, serde_json::Value::String));
                        let kind = if approve { "approved" } else { "rejected" };
                        thread_entry(ctx, ws, thread, &owner, kind, details, now)?;
                        answer_task(ctx, ws, &mut intent, approve, comment, &owner, now)?;
                    }
                    ThreadAction::Read => {
                        thread_entry(ctx, ws, thread, &owner, "read", details, now)?;
                        rows::set_membership(ctx.conn, ws, &owner, thread, false, &member.hidden)?;
                    }
                    ThreadAction::DeleteMessages { both, message_ids, limit } => {
                        let mut candidates: Vec<TimelineEntry> = rows::entries(ctx.conn, ws, thread)?
                            .into_iter()
                            .filter(|e| e.is_message() && !member.hidden.contains(&e.event_id.to_string()))
                            .filter(|e| message_ids.is_empty() || message_ids.contains(&e.event_id.to_string()))
                            .collect();
                        candidates.reverse();
                        candidates.truncate(limit);
                        deleted = candidates.iter().map(|e| e.event_id.to_string()).collect();
                        if both {
                            for id in &deleted {
                                rows::delete_entry(ctx.conn, ws, thread, id)?;
                            }
                        } else {
                            let mut hidden = member.hidden.clone();
                            hidden.extend(deleted.iter().cloned());
                            rows::set_membership(ctx.conn, ws, &owner, thread, member.unread, &hidden)?;
                        }
                    }
                }
                let (view, _) = thread_view(ctx.conn, ws, &owner, thread)?.ok_or(Error::NotFound)?;
                Ok((view, deleted))
            })
            .await
    }

    async fn decide_approval(
        &self,
        tenant: &Tenant,
        id: uuid::Uuid,
        approve: bool,
        comment: Option<String>,
        actor: &str,
        now: Timestamp,
    ) -> Result<Approval> {
        let (ws, actor) = (tenant.workspace_id, actor.to_owned());
        self.writer
            .write(move |ctx| {
                let decision = if approve { "approve" } else { "reject" };
                if let Some(existing) = rows::approval(ctx.conn, ws, id)? {
                    if existing.decision == decision {
                        return Ok(existing);
                    }
                    return Err(Error::Conflict {
                        constraint: format!("approval already decided: {}", existing.decision),
                    });
                }
                let approval = Approval {
                    approval_id: id,
                    decision: decision.into(),
                    comment: comment.clone(),
                    decided_at: now,
                };
                rows::insert_approval(ctx.conn, ws, &approval)?;
                if let Some(mut intent) = rows::intent(ctx.conn, ws, IntentId(id))? {
                    answer_task(ctx, ws, &mut intent, approve, comment, &actor, now)?;
                }
                Ok(approval)
            })
            .await
    }

    async fn intent_types(&self, tenant: &Tenant) -> Result<Vec<String>> {
        let ws = tenant.workspace_id;
        self.read(move |conn| rows::intent_types(conn, ws)).await
    }
}

#[cfg(test)]
mod tests {
    use axp_store::NoListener;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("axp.db"), Arc::new(NoListener)).unwrap();
        axp_store::conformance::run_all(&store).await;
    }

    fn new_intent(p: &Principal, to: &str) -> (Intent, Vec<IntentEvent>) {
        let to = AgentAddress::parse(to, &p.tenant.scope()).unwrap();
        let payload = serde_json::Map::new();
        axp_core::intent::NewIntent::new("notify.message.v1", to, payload).into_intent(
            IntentId::new(),
            &p.agent_address,
            Timestamp::from_millis(0),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counters_skip_nothing_and_repeat_nothing_after_a_rolled_back_job() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("axp.db"), Arc::new(NoListener)).unwrap();
        let (p, _) = axp_store::conformance::bootstrap(&store).await;
        let ws = p.tenant.workspace_id;
        let (first, events) = new_intent(&p, "worker");
        let worker = first.to_agent.clone();
        let sender = first.from_agent.clone();
        store.create_intent(&p.tenant, first.clone(), events, None).await.unwrap();
        // Jobs queued together share a batch when the writer is busy: one fails in the middle
        // after taking a cursor and a change_seq, the ones around it succeed.
        let failing = store.writer.write(move |ctx| {
            route(ctx, ws, &first, "redelivery", Timestamp::from_millis(0))?;
            touch(ctx, ws, &first.from_agent, first.intent_id, "sender", false, Timestamp::from_millis(0))?;
            Err::<(), _>(Error::Internal("the job fails after writing".into()))
        });
        let (a, a_events) = new_intent(&p, "worker");
        let (b, b_events) = new_intent(&p, "worker");
        let (failed, created_a, created_b) = tokio::join!(
            failing,
            store.create_intent(&p.tenant, a, a_events, None),
            store.create_intent(&p.tenant, b, b_events, None),
        );
        assert!(failed.is_err());
        created_a.unwrap();
        created_b.unwrap();

        let (changes, _) = store.thread_changes(&p.tenant, &sender, 0, 100).await.unwrap();
        assert_eq!(changes.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [1, 2, 3]);
        let agent = AgentAddress::from_trusted(worker);
        let queue =
            store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, Timestamp::from_millis(0));
        assert_eq!(queue.await.unwrap().iter().map(|d| d.seq).collect::<Vec<_>>(), [1, 2, 3]);
    }

    /// Says every agent's stream is connected.
    struct AgentsWatched;

    impl CommitListener for AgentsWatched {
        fn committed(&self, _topics: &[Topic]) {}

        fn watched(&self, topic: &Topic) -> bool {
            matches!(topic, Topic::Agent(..))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_intent_is_handed_to_a_connected_stream_in_its_create_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("axp.db"), Arc::new(AgentsWatched)).unwrap();
        let (p, _) = axp_store::conformance::bootstrap(&store).await;
        let (intent, events) = new_intent(&p, "worker");
        let (id, agent) = (intent.intent_id, AgentAddress::from_trusted(intent.to_agent.clone()));
        let created = store.create_intent(&p.tenant, intent, events, None).await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&created.response_body).unwrap();
        assert_eq!(body["status"], "DELIVERED", "{body}");

        let stored = store.get_intent(&p.tenant, id).await.unwrap();
        assert_eq!((stored.status, stored.delivery_attempt), (Status::Delivered, 1));
        assert!(stored.lease_expires_at.is_some(), "the lease covers a stream that never sends it");
        // What the stream then reads: the item, already handed, once; nothing is delivered twice.
        let now = Timestamp::from_millis(0);
        for _ in 0..2 {
            let got = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, now).await.unwrap();
            assert_eq!(got.iter().map(|d| (d.seq, d.intent_id)).collect::<Vec<_>>(), [(1, id)]);
            assert_eq!(got[0].status, Status::Delivered);
        }
        let events = store.events_since(&p.tenant, id, 0, 100).await.unwrap();
        let delivered = events.iter().filter(|e| e.event_type == axp_core::EventType::Delivered).count();
        assert_eq!(delivered, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("axp.db");
        let principal = {
            let store = SqliteStore::open(&path, Arc::new(NoListener)).unwrap();
            axp_store::conformance::bootstrap(&store).await.0
        };
        let store = SqliteStore::open(&path, Arc::new(NoListener)).unwrap();
        let again = axp_store::conformance::bootstrap_spec();
        assert!(store.bootstrap(again).await.unwrap().is_none(), "bootstrap runs once per database");
        assert!(
            store
                .list_intents(&principal.tenant, &IntentFilter { limit: 10, ..Default::default() })
                .await
                .unwrap()
                .is_empty()
        );
    }
}
