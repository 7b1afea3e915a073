//! [`PgStore`]: the [`Store`] implementation. Its aggregate logic follows the SQLite store's
//! line for line (same routing, announcing, persisting of lifecycle outcomes); what differs is
//! how rows are locked and claimed so several replicas can share the database.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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
use futures::future::BoxFuture;
use sqlx_core::migrate::{Migration, MigrationType, Migrator};
use sqlx_core::pool::{Pool, PoolConnection, PoolOptions};
use sqlx_postgres::{PgConnectOptions, PgConnection, Postgres};
use tokio_util::sync::CancellationToken;

use crate::notify;
use crate::rows::{self, db};
use crate::writer::{Ctx, PendingItem, Writer};

/// Threads a filtered inbox listing looks through (the most recently changed).
const LIST_SCAN: u32 = 500;

/// How a [`PgStore`] connects and writes.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Connections this replica opens at most (`AXP_DATABASE_POOL`, default 16): the writer
    /// lanes, the `LISTEN` connection and readers share them. Every replica opens its own pool,
    /// so replicas × this must stay below the server's `max_connections` (100 by default),
    /// with room for migrations and administration.
    pub max_connections: u32,
    /// Transactions this replica writes in parallel (default 4). Each commits a batch of
    /// queued writes; more lanes overlap round trips, fewer make bigger batches.
    pub writer_lanes: usize,
    /// Apply pending migrations when connecting (default true). Safe with several replicas
    /// starting at once: the migrator holds an advisory lock while it runs.
    pub migrate: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self { max_connections: 16, writer_lanes: 4, migrate: true }
    }
}

/// PostgreSQL-backed [`Store`] for any number of replicas on one database. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool<Postgres>,
    writer: Writer,
    stop: CancellationToken,
    keys: Arc<PrincipalCache>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The embedded migrations (`migrations/*.sql`), applied in order and recorded in
/// `_sqlx_migrations`. Never edit an applied one; add the next.
fn migrator() -> Migrator {
    let migrations = vec![Migration::new(
        20260801000000,
        Cow::Borrowed("init"),
        MigrationType::Simple,
        Cow::Borrowed(include_str!("../migrations/20260801000000_init.sql")),
        false,
    )];
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

fn connect_options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| Error::Unavailable(format!("invalid database URL: {e}")))
}

async fn pool(url: &str, max_connections: u32) -> Result<Pool<Postgres>> {
    PoolOptions::<Postgres>::new()
        .max_connections(max_connections.max(3))
        .min_connections(1)
        // Every statement is one round trip already; no ping before each use.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(connect_options(url)?)
        .await
        .map_err(|e| Error::Unavailable(format!("connecting to PostgreSQL: {e}")))
}

/// Applies the pending migrations of the database at `url`; returns the versions applied by
/// this call. Safe to run while replicas start (an advisory lock serialises migrators).
pub async fn migrate(url: &str) -> Result<Vec<i64>> {
    let pool = pool(url, 2).await?;
    let result = run_migrations(&pool).await;
    pool.close().await;
    result
}

async fn run_migrations(pool: &Pool<Postgres>) -> Result<Vec<i64>> {
    let before = applied_versions(pool).await?;
    migrator().run(pool).await.map_err(|e| Error::Unavailable(format!("migrating: {e}")))?;
    let after = applied_versions(pool).await?;
    Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
}

async fn applied_versions(pool: &Pool<Postgres>) -> Result<Vec<i64>> {
    let exists: bool = sqlx_core::query_scalar::query_scalar::<Postgres, bool>(
        "SELECT to_regclass('_sqlx_migrations') IS NOT NULL",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx_core::query_scalar::query_scalar::<Postgres, i64>(
        "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .map_err(db)
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`), applies pending
    /// migrations unless `options.migrate` is off (then it checks that none is pending), starts
    /// the writer lanes and the `LISTEN` task. `listener` is told about every commit of this
    /// replica and, through `NOTIFY`, of every other replica.
    ///
    /// Errors: [`Error::Unavailable`] when the database cannot be reached or migrated.
    pub async fn connect(url: &str, options: PgOptions, listener: Arc<dyn CommitListener>) -> Result<Self> {
        let pool = pool(url, options.max_connections).await?;
        if options.migrate {
            let applied = run_migrations(&pool).await?;
            if !applied.is_empty() {
                tracing::info!(?applied, "applied postgres migrations");
            }
        } else {
            let applied = applied_versions(&pool).await?;
            let missing: Vec<i64> =
                migrator().iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect();
            if !missing.is_empty() {
                return Err(Error::Unavailable(format!(
                    "the database lacks migrations {missing:?}: run `axp migrate`"
                )));
            }
        }
        let stop = CancellationToken::new();
        let keys = Arc::new(PrincipalCache::suspended());
        tokio::spawn(notify::listen(pool.clone(), listener.clone(), keys.clone(), stop.clone()));
        let lanes = options.writer_lanes.clamp(1, options.max_connections.saturating_sub(2).max(1) as usize);
        let writer = Writer::spawn(pool.clone(), lanes, listener, keys.clone());
        Ok(Self { inner: Arc::new(Inner { pool, writer, stop, keys }) })
    }

    /// Closes the pool's connections (the writer and listener stop with the last clone).
    pub async fn close(&self) {
        self.inner.stop.cancel();
        self.inner.pool.close().await;
    }

    async fn conn(&self) -> Result<PoolConnection<Postgres>> {
        self.inner.pool.acquire().await.map_err(db)
    }

    async fn write<A, R>(&self, args: A, f: crate::writer::JobFn<A, R>) -> Result<R>
    where
        A: Send + Sync + 'static,
        R: Send + 'static,
    {
        self.inner.writer.write(args, f).await
    }
}

async fn create_tenant_in(ctx: &mut Ctx, spec: &TenantSpec) -> Result<Principal> {
    let now = spec.admin.created_at;
    let org_id = rows::ensure_org(ctx.conn(), &spec.org_slug, now).await?;
    let workspace_id = rows::insert_workspace(ctx.conn(), org_id, &spec.workspace_slug, now).await?;
    let tenant = Tenant {
        org_id,
        workspace_id,
        org_slug: spec.org_slug.clone(),
        workspace_slug: spec.workspace_slug.clone(),
    };
    rows::insert_service_account(ctx.conn(), &tenant, &spec.admin).await?;
    rows::insert_api_key(ctx.conn(), &tenant, spec.admin.id, &spec.key).await?;
    Ok(Principal {
        tenant,
        service_account_id: spec.admin.id,
        key_id: spec.key.key_id,
        agent_address: spec.admin.agent_address.clone(),
    })
}

/// Touches participant rows now; their change cursors move when the transaction ends.
async fn touch(
    ctx: &mut Ctx,
    ws: WorkspaceId,
    thread: IntentId,
    owners: &[(&str, &str, bool)],
    now: Timestamp,
) -> Result<()> {
    rows::touch_participants(ctx.conn(), ws, thread, owners, now).await?;
    for (owner, _, _) in owners {
        ctx.pending.touches.push((ws, (*owner).to_owned(), thread));
    }
    Ok(())
}

/// Writes a new intent with its events and initial timers, queues it for its agent unless it
/// waits for a person, and announces the topics.
/// Returns the intent as it stands after routing.
async fn insert_new_intent(
    ctx: &mut Ctx,
    tenant: &Tenant,
    intent: &Intent,
    events: &[IntentEvent],
) -> Result<Intent> {
    let ws = tenant.workspace_id;
    rows::insert_intent(ctx.conn(), ws, intent).await?;
    rows::insert_events(ctx.conn(), ws, events).await?;
    ctx.topics.push(Topic::Intent(intent.intent_id));
    announce(ctx, ws, intent, events, true, intent.created_at).await?;
    let timers = lifecycle::initial_timers(intent);
    if !timers.is_empty() {
        rows::schedule(ctx.conn(), ws, intent.intent_id, &timers).await?;
        ctx.topics.push(Topic::Timers);
    }
    let mut current = intent.clone();
    if current.workflow.is_some() {
        let from = intent.from_agent.clone();
        run_internal(ctx, ws, &mut current, lifecycle::Command::StartWorkflow, &from, intent.created_at)
            .await?;
    }
    if current.status == Status::Submitted {
        let created_at = current.created_at;
        if let Some(routed) = route(ctx, ws, &current, "submitted", created_at).await? {
            return Ok(routed);
        }
    }
    Ok(current)
}

/// Routes `intent` to its agent by the agent's binding: an `inbox` agent is a person, so the
/// intent becomes their human task; otherwise a queue item at the agent's next cursor (taken
/// when the transaction ends) and, for the `http` binding, a push delivery of that item's
/// frame, due now.
/// Returns the intent as routing left it when routing changed it.
async fn route(
    ctx: &mut Ctx,
    ws: WorkspaceId,
    intent: &Intent,
    reason: &str,
    now: Timestamp,
) -> Result<Option<Intent>> {
    let agent = rows::agent_by_address(ctx.conn(), ws, &intent.to_agent, false).await?;
    if let Some(agent) = agent.as_ref().filter(|a| a.delivery_mode == "inbox") {
        let assign = lifecycle::Command::AssignHumanTask { assignee: agent.agent_address.clone() };
        let mut routed = intent.clone();
        run_internal(ctx, ws, &mut routed, assign, GATEWAY_ACTOR, now).await?;
        return Ok(Some(routed));
    }

    ctx.topics.push(Topic::Agent(ws, intent.to_agent.clone()));
    let mut item = PendingItem {
        ws,
        agent: intent.to_agent.clone(),
        intent_id: intent.intent_id,
        reason: reason.to_owned(),
        queued_at: now,
        push: None,
    };
    let url = agent
        .as_ref()
        .filter(|a| a.delivery_mode == "http")
        .and_then(|a| a.delivery_config.as_ref())
        .and_then(|c| c.get("url"))
        .and_then(serde_json::Value::as_str);
    if let (Some(agent), Some(url)) = (agent.as_ref(), url) {
        // The frame's `seq` (the cursor) is filled in when the cursor is taken.
        let mut frame =
            rows::Queued { cursor: 0, queued_at: now, handed: false, intent: intent.clone() }.into_delivery();
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
        item.push = Some((delivery, intent.to_agent.clone()));
        ctx.topics.push(Topic::Deliveries);
    }
    ctx.pending.queue.push(item);
    Ok(None)
}

/// Queues a delivery of `event` to subscription `sub`.
async fn queue_webhook(
    ctx: &mut Ctx,
    ws: WorkspaceId,
    sub: &Subscription,
    event: &WebhookEvent,
    now: Timestamp,
) -> Result<()> {
    let id = uuid::Uuid::now_v7();
    let org_id = rows::org_of(ctx.conn(), ws).await?;
    let delivery = Delivery {
        delivery_id: id,
        replay_of_delivery_id: None,
        org_id,
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
    rows::insert_delivery(ctx.conn(), ws, &delivery, &sub.subscription_id.to_string(), Some(now)).await?;
    ctx.topics.push(Topic::Deliveries);
    Ok(())
}

/// Publishes a workflow `notification` step's event to the sender's subscriptions naming it.
async fn notify_step(
    ctx: &mut Ctx,
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
    rows::insert_event(ctx.conn(), ws, &event).await?;
    let subs = rows::active_subscriptions(ctx.conn(), ws, &[intent.from_agent.as_str()]).await?;
    for sub in subs.iter().filter(|s| s.event_types.contains(&event.event_type)) {
        queue_webhook(ctx, ws, sub, &event, now).await?;
    }
    Ok(())
}

/// After `intent` changed with `events`: keeps its thread current (sender and target join;
/// every participant's changes feed moves; unread for all but the actor), and sends the
/// lifecycle events and `inbox.thread_created` / `inbox.thread_updated` to the participants'
/// webhook subscriptions that name them.
async fn announce(
    ctx: &mut Ctx,
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
        rows::participants(ctx.conn(), ws, intent.intent_id)
            .await?
            .into_iter()
            .map(|o| (o, "member"))
            .collect()
    };
    for (owner, role) in [(&intent.from_agent, "sender"), (&intent.to_agent, "recipient")] {
        if !owners.iter().any(|(o, _)| o == owner) {
            owners.push((owner.clone(), role));
        }
    }
    let touches: Vec<(&str, &str, bool)> =
        owners.iter().map(|(o, role)| (o.as_str(), *role, *o != last.actor)).collect();
    touch(ctx, ws, intent.intent_id, &touches, now).await?;
    let names: Vec<&str> = owners.iter().map(|(o, _)| o.as_str()).collect();
    let inbox_event = if created { "inbox.thread_created" } else { "inbox.thread_updated" };
    for sub in rows::active_subscriptions(ctx.conn(), ws, &names).await? {
        for e in events.iter().filter(|e| sub.event_types.iter().any(|t| t == e.event_type.as_str())) {
            let payload = serde_json::to_value(e).map_err(|err| Error::Internal(err.to_string()))?;
            publish(ctx, ws, &sub, e.event_type.as_str(), payload, e.at, now).await?;
        }
        if sub.event_types.iter().any(|t| t == inbox_event) {
            let payload = serde_json::json!({"thread_id": intent.intent_id, "intent_id": intent.intent_id, "status": intent.status});
            publish(ctx, ws, &sub, inbox_event, payload, now, now).await?;
        }
    }
    Ok(())
}

/// Records an event for `sub`'s owner and queues its delivery.
async fn publish(
    ctx: &mut Ctx,
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
    rows::insert_event(ctx.conn(), ws, &event).await?;
    queue_webhook(ctx, ws, sub, &event, now).await
}

/// The thread view of `thread` for `owner`, if they can see it.
async fn thread_view(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    owner: &str,
    thread: IntentId,
) -> Result<Option<Thread>> {
    let Some(member) = rows::membership(&mut *conn, ws, owner, thread, false).await? else { return Ok(None) };
    let Some(intent) = rows::intent(&mut *conn, ws, thread).await? else { return Ok(None) };
    let events = rows::events_since(&mut *conn, ws, thread, 0, u32::MAX).await?;
    let entries: Vec<TimelineEntry> = rows::entries(&mut *conn, ws, thread)
        .await?
        .into_iter()
        .filter(|e| !member.hidden.contains(&e.event_id.to_string()))
        .collect();
    Ok(Some(Thread::build(&intent, owner, &events, entries, member.unread, member.updated_at)))
}

/// Records a thread entry by `owner` and moves every participant's changes feed.
async fn thread_entry(
    ctx: &mut Ctx,
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
    rows::insert_entry(ctx.conn(), ws, thread, &entry).await?;
    let participants = rows::participants(ctx.conn(), ws, thread).await?;
    let touches: Vec<(&str, &str, bool)> =
        participants.iter().map(|p| (p.as_str(), "member", p != owner)).collect();
    touch(ctx, ws, thread, &touches, now).await?;
    Ok(entry)
}

/// Sends an inbox event to `owners`' subscriptions that name it.
async fn inbox_event(
    ctx: &mut Ctx,
    ws: WorkspaceId,
    owners: &[&str],
    event_type: &str,
    payload: serde_json::Value,
    now: Timestamp,
) -> Result<()> {
    for sub in rows::active_subscriptions(ctx.conn(), ws, owners).await? {
        if sub.event_types.iter().any(|t| t == event_type) {
            publish(ctx, ws, &sub, event_type, payload.clone(), now, now).await?;
        }
    }
    Ok(())
}

/// An approve/reject answers the intent's open human task, as a `task_result` whose outcome the
/// task's type implies (e.g. `approved`, `confirmed`, `rejected`). Nothing happens when no task
/// is open.
async fn answer_task(
    ctx: &mut Ctx,
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
    run_internal(ctx, ws, intent, lifecycle::Command::Resume(body), actor, now).await?;
    Ok(())
}

/// Delivers an ended intent's completion to its `reply_to` owner (§4.6): they join the thread
/// (status `done`) and get an `intent_completion_delivered` entry.
async fn deliver_completion(
    ctx: &mut Ctx,
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
    rows::insert_entry(ctx.conn(), ws, intent.intent_id, &entry).await?;
    touch(ctx, ws, intent.intent_id, &[(reply_to, "reply_to", true)], now).await?;
    Ok(CompletionDelivery { reply_to: reply_to.to_owned(), message_id })
}

/// Persists what [`lifecycle::execute`] decided for `intent`: its new state and events, the
/// timers it asked for (all of them dropped once it ended), and a new queue item when its lease
/// ran out unacknowledged. Announces the topics.
async fn persist(
    ctx: &mut Ctx,
    ws: WorkspaceId,
    intent: &Intent,
    outcome: &Outcome,
    now: Timestamp,
) -> Result<Option<CompletionDelivery>> {
    if !outcome.applied {
        return Ok(None);
    }
    rows::update_intent(ctx.conn(), ws, intent).await?;
    rows::insert_events(ctx.conn(), ws, &outcome.events).await?;
    if !outcome.events.is_empty() {
        ctx.topics.push(Topic::Intent(intent.intent_id));
        announce(ctx, ws, intent, &outcome.events, false, now).await?;
    }
    if intent.status.is_terminal() {
        rows::clear_timers(ctx.conn(), ws, intent.intent_id).await?;
    } else if !outcome.timers.is_empty() {
        rows::schedule(ctx.conn(), ws, intent.intent_id, &outcome.timers).await?;
        ctx.topics.push(Topic::Timers);
    }
    if outcome.route {
        route(ctx, ws, intent, "redelivery", now).await?;
    }
    for notification in &outcome.notifications {
        notify_step(ctx, ws, intent, notification, now).await?;
    }
    let ended = outcome.events.last().is_some_and(IntentEvent::is_terminal);
    match (&intent.reply_to, ended) {
        (Some(reply_to), true) => deliver_completion(ctx, ws, intent, reply_to, now).await.map(Some),
        _ => Ok(None),
    }
}

/// Runs a command the server itself issues (`caller: None`) and persists its outcome.
fn run_internal<'a>(
    ctx: &'a mut Ctx,
    ws: WorkspaceId,
    intent: &'a mut Intent,
    command: lifecycle::Command,
    actor: &'a str,
    now: Timestamp,
) -> BoxFuture<'a, Result<Outcome>> {
    Box::pin(async move {
        let request =
            Request { command, caller: None, actor: actor.to_owned(), expected_policy_generation: None };
        let outcome = lifecycle::execute(intent, &request, now)?;
        persist(ctx, ws, intent, &outcome, now).await?;
        Ok(outcome)
    })
}

/// Hands queue items (locked by the caller's query) to `address`: each item not handed before
/// is delivered (SUBMITTED → DELIVERED with a lease, or a redelivery) and marked handed; items
/// handed before are replays. Unless the caller read them under their row locks (`fresh`),
/// intents are re-read locked first, so a change another replica committed after the queue was
/// read is not overwritten.
async fn hand_over(
    ctx: &mut Ctx,
    ws: WorkspaceId,
    address: &str,
    items: Vec<rows::Queued>,
    fresh: bool,
    now: Timestamp,
) -> Result<Vec<AgentDelivery>> {
    let agent_lease_seconds = if items.iter().any(|q| !q.handed) {
        rows::agent_by_address(ctx.conn(), ws, address, false).await?.and_then(|a| a.lease_seconds)
    } else {
        None
    };
    let mut out = Vec::with_capacity(items.len());
    for mut item in items {
        if !item.handed {
            if !fresh
                && let Some(intent) = rows::intent_for_update(ctx.conn(), ws, item.intent.intent_id).await?
            {
                item.intent = intent;
            }
            // An intent that ended is only shown (a stream may ask for terminal statuses).
            if !item.intent.status.is_terminal() {
                let deliver =
                    lifecycle::Command::Deliver { handler: address.to_owned(), agent_lease_seconds };
                run_internal(ctx, ws, &mut item.intent, deliver, GATEWAY_ACTOR, now).await?;
                rows::mark_handed(ctx.conn(), ws, address, item.cursor, now).await?;
            }
        }
        out.push(item.into_delivery());
    }
    Ok(out)
}

fn settle(d: &mut Delivery, why: &str, now: Timestamp) {
    d.status = DeliveryStatus::Failed;
    d.error_detail = Some(why.to_owned());
    d.next_attempt_at = None;
    d.updated_at = now;
}

#[async_trait]
impl Store for PgStore {
    async fn bootstrap(&self, spec: TenantSpec) -> Result<Option<Principal>> {
        self.write(spec, |spec, ctx| {
            Box::pin(async move {
                // Replicas starting together: one bootstraps, the others wait and find an org.
                rows::lock_key(ctx.conn(), "bootstrap").await?;
                if rows::any_org(ctx.conn()).await? {
                    Ok(None)
                } else {
                    create_tenant_in(ctx, spec).await.map(Some)
                }
            })
        })
        .await
    }

    async fn create_tenant(&self, spec: TenantSpec) -> Result<Principal> {
        self.write(spec, |spec, ctx| Box::pin(create_tenant_in(ctx, spec))).await
    }

    async fn authenticate(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<Principal>> {
        let keys = &self.inner.keys;
        if let Some(principal) = keys.get(&hash.0, now) {
            return Ok(Some(principal));
        }
        // Read before the lookup, so an invalidation during it keeps its result out.
        let generation = keys.generation();
        let found = rows::principal(&mut *self.conn().await?, &hash.0, now).await?;
        Ok(found.map(|(principal, expires_at)| {
            keys.insert(hash.0, &principal, expires_at, generation);
            principal
        }))
    }

    async fn create_service_account(
        &self,
        tenant: &Tenant,
        account: NewServiceAccount,
    ) -> Result<ServiceAccountRecord> {
        self.write((tenant.clone(), account), |(tenant, account), ctx| {
            Box::pin(rows::insert_service_account(ctx.conn(), tenant, account))
        })
        .await
    }

    async fn get_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
    ) -> Result<ServiceAccountRecord> {
        rows::service_account(&mut *self.conn().await?, tenant, id, false).await?.ok_or(Error::NotFound)
    }

    async fn find_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
    ) -> Result<Option<ServiceAccountRecord>> {
        rows::agent_by_address(&mut *self.conn().await?, tenant.workspace_id, address.as_str(), false).await
    }

    async fn delete_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
        now: Timestamp,
    ) -> Result<ServiceAccountRecord> {
        self.write((tenant.clone(), id, now), |(tenant, id, now), ctx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                let mut sa =
                    rows::service_account(ctx.conn(), tenant, *id, true).await?.ok_or(Error::NotFound)?;
                if sa.status != "deleted" {
                    sa.status = "deleted".into();
                    sa.updated_at = *now;
                    let secret = rows::push_secret(ctx.conn(), ws, &sa.agent_address).await?;
                    rows::update_agent(ctx.conn(), ws, &sa, secret.as_deref()).await?;
                    for mut key in rows::active_keys_for_update(ctx.conn(), ws, *id).await? {
                        key.revoked_at = Some(*now);
                        key.status = "revoked".into();
                        rows::update_api_key(ctx.conn(), ws, &key).await?;
                    }
                    ctx.keys_changed = true;
                }
                Ok(sa)
            })
        })
        .await
    }

    async fn create_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: NewApiKey,
    ) -> Result<ApiKeyRecord> {
        self.write((tenant.clone(), account, key), |(tenant, account, key), ctx| {
            Box::pin(async move {
                rows::service_account(ctx.conn(), tenant, *account, false).await?.ok_or(Error::NotFound)?;
                rows::insert_api_key(ctx.conn(), tenant, *account, key).await
            })
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
        self.write((tenant.clone(), account, key, now), |(tenant, account, key, now), ctx| {
            Box::pin(async move {
                let mut record = rows::api_key_for_update(ctx.conn(), tenant, *account, *key)
                    .await?
                    .ok_or(Error::NotFound)?;
                if record.revoked_at.is_none() {
                    record.revoked_at = Some(*now);
                    record.status = "revoked".into();
                    rows::update_api_key(ctx.conn(), tenant.workspace_id, &record).await?;
                    ctx.keys_changed = true;
                }
                Ok(record)
            })
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
        self.write(
            (tenant.clone(), intent, events, idempotency),
            |(tenant, intent, events, idempotency), ctx| {
                Box::pin(async move {
                    let ws = tenant.workspace_id;
                    if let Some(claim) = idempotency
                        && let Some((intent_id, response_body)) =
                            rows::idempotent_replay(ctx.conn(), ws, claim).await?
                    {
                        return Ok(Created { intent_id, response_body, replayed: true });
                    }
                    let routed = insert_new_intent(ctx, tenant, intent, events).await?;
                    let response_body = Created::create_response(&routed);
                    if let Some(claim) = idempotency {
                        rows::record_idempotency(ctx.conn(), ws, claim, intent.intent_id, &response_body)
                            .await?;
                    }
                    Ok(Created { intent_id: intent.intent_id, response_body, replayed: false })
                })
            },
        )
        .await
    }

    async fn apply_scenario(
        &self,
        tenant: &Tenant,
        write: ScenarioWrite,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Created> {
        self.write((tenant.clone(), write, idempotency), |(tenant, write, idempotency), ctx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                if let Some(claim) = idempotency
                    && let Some((intent_id, body)) = rows::idempotent_replay(ctx.conn(), ws, claim).await?
                {
                    return Ok(Created { intent_id, response_body: body, replayed: true });
                }
                let mut created = Vec::with_capacity(write.agents.len());
                for agent in &write.agents {
                    let exists =
                        rows::agent_by_address(ctx.conn(), ws, agent.planned.address.as_str(), false)
                            .await?
                            .is_some();
                    if !exists && agent.planned.create_if_missing {
                        rows::insert_service_account(ctx.conn(), tenant, &agent.account).await?;
                        rows::insert_api_key(ctx.conn(), tenant, agent.account.id, &agent.key.1).await?;
                        created.push(Some(agent.account.id));
                    } else {
                        created.push(None);
                    }
                }
                let mut write = write.clone();
                rows::register_intent_type(ctx.conn(), ws, &write.intent.intent_type).await?;
                write.intent = insert_new_intent(ctx, tenant, &write.intent, &write.events).await?;

                let fresh = rows::to_json(&write.response(&created, true, false))?;
                if let Some(claim) = idempotency {
                    let replay = rows::to_json(&write.response(&created, false, true))?;
                    rows::record_idempotency(ctx.conn(), ws, claim, write.intent.intent_id, &replay).await?;
                }
                Ok(Created { intent_id: write.intent.intent_id, response_body: fresh, replayed: false })
            })
        })
        .await
    }

    async fn get_intent(&self, tenant: &Tenant, id: IntentId) -> Result<Intent> {
        rows::intent(&mut *self.conn().await?, tenant.workspace_id, id).await?.ok_or(Error::NotFound)
    }

    async fn list_intents(&self, tenant: &Tenant, filter: &IntentFilter) -> Result<Vec<Intent>> {
        rows::list_intents(&mut *self.conn().await?, tenant.workspace_id, filter).await
    }

    async fn events_since(
        &self,
        tenant: &Tenant,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>> {
        let ws = tenant.workspace_id;
        let mut conn = self.conn().await?;
        let events = rows::events_since(&mut conn, ws, id, since, limit).await?;
        if events.is_empty() && !rows::intent_exists(&mut conn, ws, id).await? {
            return Err(Error::NotFound);
        }
        Ok(events)
    }

    async fn execute(
        &self,
        tenant: &Tenant,
        id: IntentId,
        request: Request,
        now: Timestamp,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Executed> {
        let args = (tenant.workspace_id, id, request, now, idempotency);
        self.write(args, |(ws, id, request, now, idempotency), ctx| {
            Box::pin(async move {
                let (ws, id, now) = (*ws, *id, *now);
                let mut intent = rows::intent_for_update(ctx.conn(), ws, id).await?.ok_or(Error::NotFound)?;
                if let Some(claim) = idempotency
                    && let Some((_, response_body)) = rows::idempotent_replay(ctx.conn(), ws, claim).await?
                {
                    return Ok(Executed {
                        intent,
                        outcome: Outcome::default(),
                        completion: None,
                        response_body,
                        replayed: true,
                    });
                }
                let outcome = lifecycle::execute(&mut intent, request, now)?;
                let completion = persist(ctx, ws, &intent, &outcome, now).await?;
                let response = MutationResponse::new(
                    &intent,
                    &outcome,
                    &request.command,
                    completion.as_ref().map(|c| (c.reply_to.as_str(), c.message_id)),
                );
                let response_body = rows::to_json(&response)?;
                if let Some(claim) = idempotency {
                    rows::record_idempotency(ctx.conn(), ws, claim, id, &response_body).await?;
                }
                Ok(Executed { intent, outcome, completion, response_body, replayed: false })
            })
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
        // Most calls find nothing new, or only items handed before: answer those from a pooled
        // connection and go to the writer only when something must be handed over.
        let items =
            rows::queued(&mut *self.conn().await?, ws, address.as_str(), since, statuses, limit, false)
                .await?;
        if items.iter().all(|q| q.handed) {
            return Ok(items.into_iter().map(rows::Queued::into_delivery).collect());
        }
        let args = (ws, address.to_string(), since, statuses.to_vec(), limit, now);
        self.write(args, |(ws, addr, since, statuses, limit, now), ctx| {
            Box::pin(async move {
                let items = rows::queued(ctx.conn(), *ws, addr, *since, statuses, *limit, true).await?;
                hand_over(ctx, *ws, addr, items, false, *now).await
            })
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
        let args = (tenant.workspace_id, address.to_string(), limit, now);
        self.write(args, |(ws, addr, limit, now), ctx| {
            Box::pin(async move {
                let ws = *ws;
                let mut out = Vec::new();
                // Items whose intent can no longer be delivered (ended, or moved on without
                // them) are retired as handed, and the claim looks further, a few times at most.
                for _ in 0..4 {
                    let want = limit.saturating_sub(out.len() as u32);
                    if want == 0 {
                        break;
                    }
                    let picked = rows::claim_unhanded(ctx.conn(), ws, addr, want).await?;
                    if picked.is_empty() {
                        break;
                    }
                    let ids: Vec<IntentId> = picked.iter().map(|p| p.2).collect();
                    let mut intents = rows::intents_for_update(ctx.conn(), ws, &ids).await?;
                    let mut items = Vec::with_capacity(picked.len());
                    let mut retired = false;
                    for (cursor, queued_at, id) in picked {
                        match intents.remove(&id) {
                            Some(intent)
                                if matches!(intent.status, Status::Submitted | Status::Delivered) =>
                            {
                                items.push(rows::Queued { cursor, queued_at, handed: false, intent });
                            }
                            _ => {
                                rows::mark_handed(ctx.conn(), ws, addr, cursor, *now).await?;
                                retired = true;
                            }
                        }
                    }
                    out.extend(hand_over(ctx, ws, addr, items, true, *now).await?);
                    if !retired {
                        break;
                    }
                }
                Ok(out)
            })
        })
        .await
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>> {
        rows::next_due(&mut *self.conn().await?).await
    }

    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> Result<u32> {
        self.write((now, limit), |(now, limit), ctx| {
            Box::pin(async move {
                let now = *now;
                let due = rows::take_due_timers(ctx.conn(), now, *limit).await?;
                let fired = due.len() as u32;
                for timer in due {
                    let (ws, id) = (timer.workspace_id, timer.intent_id);
                    let Some(mut intent) = rows::intent_for_update(ctx.conn(), ws, id).await? else {
                        continue;
                    };
                    // A timer of an intent that already ended is simply dropped.
                    match run_internal(
                        ctx,
                        ws,
                        &mut intent,
                        lifecycle::Command::Fire(timer.kind),
                        GATEWAY_ACTOR,
                        now,
                    )
                    .await
                    {
                        Ok(_) | Err(Error::Lifecycle(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(fired)
            })
        })
        .await
    }

    async fn list_agents(&self, tenant: &Tenant, limit: u32) -> Result<Vec<ServiceAccountRecord>> {
        rows::list_agents(&mut *self.conn().await?, tenant.workspace_id, limit).await
    }

    async fn set_agent_binding(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        binding: BindingUpdate,
        now: Timestamp,
    ) -> Result<ServiceAccountRecord> {
        let args = (tenant.workspace_id, address.to_string(), binding, now);
        self.write(args, |(ws, address, binding, now), ctx| {
            Box::pin(async move {
                let mut sa =
                    rows::agent_by_address(ctx.conn(), *ws, address, true).await?.ok_or(Error::NotFound)?;
                sa.delivery_mode = binding.delivery_mode.clone();
                sa.lease_seconds = binding.lease_seconds;
                sa.delivery_config = binding.push.as_ref().map(|p| rows::push_config(&p.url));
                sa.updated_at = *now;
                rows::update_agent(ctx.conn(), *ws, &sa, binding.push.as_ref().map(|p| p.secret.as_str()))
                    .await?;
                Ok(sa)
            })
        })
        .await
    }

    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        claim_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PushJob>> {
        self.write((now, claim_until, limit), |(now, claim_until, limit), ctx| {
            Box::pin(async move {
                let now = *now;
                let mut jobs = Vec::new();
                for (ws, mut d, secret_owner) in rows::claim_due_deliveries(ctx.conn(), now, *limit).await? {
                    let secret = match d.kind {
                        DeliveryKind::AgentPush => {
                            let open = match d.intent_id {
                                Some(id) => rows::intent(ctx.conn(), ws, id)
                                    .await?
                                    .is_some_and(|i| !i.status.is_terminal()),
                                None => false,
                            };
                            if !open {
                                settle(&mut d, "the intent ended before this delivery was sent", now);
                                rows::update_delivery(ctx.conn(), ws, &d, None).await?;
                                continue;
                            }
                            rows::push_secret(ctx.conn(), ws, &secret_owner).await?
                        }
                        DeliveryKind::Webhook => match d.subscription_id {
                            Some(id) => rows::subscription(ctx.conn(), ws, id, false)
                                .await?
                                .filter(|(s, _)| s.active)
                                .map(|(_, secret)| secret),
                            None => None,
                        },
                    };
                    let Some(secret) = secret else {
                        settle(
                            &mut d,
                            "the target has no signing secret (its binding changed or it was revoked)",
                            now,
                        );
                        rows::update_delivery(ctx.conn(), ws, &d, None).await?;
                        continue;
                    };
                    d.status = DeliveryStatus::Delivering;
                    d.updated_at = now;
                    rows::update_delivery(ctx.conn(), ws, &d, Some(*claim_until)).await?;
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
        })
        .await
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        rows::next_delivery_due(&mut *self.conn().await?).await
    }

    async fn record_attempt(
        &self,
        ws: WorkspaceId,
        delivery_id: uuid::Uuid,
        report: AttemptReport,
    ) -> Result<()> {
        self.write((ws, delivery_id, report), |(ws, delivery_id, report), ctx| {
            Box::pin(async move {
                let ws = *ws;
                let (mut d, _) =
                    rows::delivery(ctx.conn(), ws, *delivery_id, true).await?.ok_or(Error::NotFound)?;
                let now = report.now;
                d.attempt = report.attempt.attempt;
                d.last_response_code = report.attempt.status_code;
                d.error_detail = report.attempt.error.clone();
                d.attempts.push(report.attempt.clone());
                d.updated_at = now;
                let intent = match (d.kind, d.intent_id) {
                    (DeliveryKind::AgentPush, Some(id)) => {
                        rows::intent_for_update(ctx.conn(), ws, id).await?
                    }
                    _ => None,
                };
                if report.delivered {
                    d.status = DeliveryStatus::Delivered;
                    d.next_attempt_at = None;
                    rows::update_delivery(ctx.conn(), ws, &d, None).await?;
                    ctx.topics.push(Topic::Deliveries);

                    if let Some(mut intent) = intent.filter(|i| !i.status.is_terminal()) {
                        let lease = rows::agent_by_address(ctx.conn(), ws, &d.target, false)
                            .await?
                            .and_then(|a| a.lease_seconds);
                        let deliver = lifecycle::Command::Deliver {
                            handler: d.target.clone(),
                            agent_lease_seconds: lease,
                        };
                        run_internal(ctx, ws, &mut intent, deliver, GATEWAY_ACTOR, now).await?;
                        if let Some(cursor) = d.payload.get("seq").and_then(serde_json::Value::as_u64) {
                            rows::mark_handed(ctx.conn(), ws, &d.target, cursor, now).await?;
                        }
                        if let Some(result) = report.inline_result.clone() {
                            let mut body = serde_json::Map::new();
                            body.insert("result".into(), result);
                            // The agent answered with its result: complete as its resume would.
                            let target = d.target.clone();
                            match run_internal(
                                ctx,
                                ws,
                                &mut intent,
                                lifecycle::Command::Resume(body),
                                &target,
                                now,
                            )
                            .await
                            {
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
                    )
                    .await?;
                    ended = intent.status.is_terminal();
                }
                let (status, due) = match report.retry_at {
                    _ if ended => (DeliveryStatus::Failed, None),
                    Some(at) => (DeliveryStatus::Pending, Some(at)),
                    None => (DeliveryStatus::DeadLettered, None),
                };
                d.status = status;
                d.next_attempt_at = due;
                rows::update_delivery(ctx.conn(), ws, &d, due).await?;
                ctx.topics.push(Topic::Deliveries);
                Ok(())
            })
        })
        .await
    }

    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        rows::list_deliveries(&mut *self.conn().await?, tenant.workspace_id, status, limit).await
    }

    async fn get_delivery(&self, tenant: &Tenant, id: uuid::Uuid) -> Result<Delivery> {
        Ok(rows::delivery(&mut *self.conn().await?, tenant.workspace_id, id, false)
            .await?
            .ok_or(Error::NotFound)?
            .0)
    }

    async fn replay_delivery(&self, tenant: &Tenant, id: uuid::Uuid, now: Timestamp) -> Result<Delivery> {
        self.write((tenant.workspace_id, id, now), |(ws, id, now), ctx| {
            Box::pin(async move {
                let (ws, now) = (*ws, *now);
                let (old, secret_owner) =
                    rows::delivery(ctx.conn(), ws, *id, true).await?.ok_or(Error::NotFound)?;
                if matches!(old.status, DeliveryStatus::Pending | DeliveryStatus::Delivering) {
                    return Err(Error::Conflict { constraint: "delivery is still pending".into() });
                }
                if let Some(intent_id) = old.intent_id {
                    let open = rows::intent(ctx.conn(), ws, intent_id)
                        .await?
                        .is_some_and(|i| !i.status.is_terminal());
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
                rows::insert_delivery(ctx.conn(), ws, &replay, &secret_owner, Some(now)).await?;
                ctx.topics.push(Topic::Deliveries);
                Ok(replay)
            })
        })
        .await
    }

    async fn upsert_subscription(
        &self,
        tenant: &Tenant,
        new: NewSubscription,
        now: Timestamp,
    ) -> Result<Subscription> {
        self.write((tenant.workspace_id, new, now), |(ws, new, now), ctx| {
            Box::pin(async move {
                let (ws, now) = (*ws, *now);
                let existing =
                    rows::subscription_by_url_for_update(ctx.conn(), ws, &new.owner_agent, &new.callback_url)
                        .await?;
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
                let secret = new.secret.clone().or(old_secret).unwrap_or_else(|| new.new_secret.clone());
                sub.event_types = new.event_types.clone();
                sub.active = new.active;
                sub.description = new.description.clone();
                sub.updated_at = now;
                if new.active {
                    sub.revoked_at = None;
                }
                sub.secret_hint = Some(format!("****{}", &secret[secret.len().saturating_sub(4)..]));
                rows::put_subscription(ctx.conn(), ws, &sub, &secret).await?;
                Ok(sub)
            })
        })
        .await
    }

    async fn list_subscriptions(
        &self,
        tenant: &Tenant,
        owner: &str,
        include_inactive: bool,
    ) -> Result<Vec<Subscription>> {
        rows::list_subscriptions(&mut *self.conn().await?, tenant.workspace_id, owner, include_inactive).await
    }

    async fn revoke_subscription(
        &self,
        tenant: &Tenant,
        owner: &str,
        id: uuid::Uuid,
        now: Timestamp,
    ) -> Result<Subscription> {
        self.write((tenant.workspace_id, owner.to_owned(), id, now), |(ws, owner, id, now), ctx| {
            Box::pin(async move {
                let (mut sub, secret) = rows::subscription(ctx.conn(), *ws, *id, true)
                    .await?
                    .filter(|(s, _)| s.owner_agent == *owner)
                    .ok_or(Error::NotFound)?;
                if sub.revoked_at.is_none() {
                    sub.active = false;
                    sub.revoked_at = Some(*now);
                    sub.updated_at = *now;
                    rows::put_subscription(ctx.conn(), *ws, &sub, &secret).await?;
                }
                Ok(sub)
            })
        })
        .await
    }

    async fn publish_event(&self, tenant: &Tenant, event: WebhookEvent) -> Result<EventCounters> {
        self.write((tenant.workspace_id, event), |(ws, event), ctx| {
            Box::pin(async move {
                let ws = *ws;
                rows::insert_event(ctx.conn(), ws, event).await?;
                let subs = rows::active_subscriptions(ctx.conn(), ws, &[event.owner_agent.as_str()]).await?;
                for sub in subs.iter().filter(|s| s.event_types.contains(&event.event_type)) {
                    queue_webhook(ctx, ws, sub, event, event.occurred_at).await?;
                }
                rows::event_counters(ctx.conn(), ws, event.event_id).await
            })
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
        self.write((tenant.workspace_id, owner.to_owned(), id, now), |(ws, owner, id, now), ctx| {
            Box::pin(async move {
                let ws = *ws;
                let event = rows::event(ctx.conn(), ws, owner, *id).await?.ok_or(Error::NotFound)?;
                let subs = rows::active_subscriptions(ctx.conn(), ws, &[owner.as_str()]).await?;
                for sub in subs.iter().filter(|s| s.event_types.contains(&event.event_type)) {
                    queue_webhook(ctx, ws, sub, &event, *now).await?;
                }
                let counters = rows::event_counters(ctx.conn(), ws, *id).await?;
                Ok((event, counters))
            })
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
        let ws = tenant.workspace_id;
        let mut conn = self.conn().await?;
        // With a status filter, look through the most recently changed threads.
        let scan = if status.is_some() { LIST_SCAN.max(limit) } else { limit };
        let mut out = Vec::new();
        for (id, _) in rows::owner_threads(&mut conn, ws, owner, None, scan).await? {
            if let Some(thread) = thread_view(&mut conn, ws, owner, id).await?
                && status.is_none_or(|s| s == thread.status)
            {
                out.push(thread);
                if out.len() >= limit as usize {
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn get_thread(&self, tenant: &Tenant, owner: &str, thread: IntentId) -> Result<Thread> {
        thread_view(&mut *self.conn().await?, tenant.workspace_id, owner, thread)
            .await?
            .ok_or(Error::NotFound)
    }

    async fn thread_changes(
        &self,
        tenant: &Tenant,
        owner: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<(u64, Thread)>, bool)> {
        let ws = tenant.workspace_id;
        let mut conn = self.conn().await?;
        let mut page = rows::owner_threads(&mut conn, ws, owner, Some(after), limit + 1).await?;
        let has_more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let mut out = Vec::with_capacity(page.len());
        for (id, seq) in page {
            if let Some(thread) = thread_view(&mut conn, ws, owner, id).await? {
                out.push((seq, thread));
            }
        }
        Ok((out, has_more))
    }

    async fn act_on_thread(
        &self,
        tenant: &Tenant,
        owner: &str,
        thread: IntentId,
        action: ThreadAction,
        now: Timestamp,
    ) -> Result<(Thread, Vec<String>)> {
        let args = (tenant.workspace_id, owner.to_owned(), thread, action, now);
        self.write(args, |(ws, owner, thread, action, now), ctx| {
            Box::pin(async move {
                let (ws, thread, now) = (*ws, *thread, *now);
                let owner = owner.as_str();
                // Lock order: the intent, then participant rows (as every lifecycle write).
                let mut intent = rows::intent_for_update(ctx.conn(), ws, thread).await?.ok_or(Error::NotFound)?;
                let member = rows::membership(ctx.conn(), ws, owner, thread, true).await?.ok_or(Error::NotFound)?;
                let mut deleted = Vec::new();
                let mut details = serde_json::Map::new();
                match action.clone() {
                    ThreadAction::Reply { message } => {
                        let message_id = uuid::Uuid::now_v7();
                        details.insert("message".into(), serde_json::Value::String(message));
                        details.insert("message_id".into(), serde_json::Value::String(message_id.to_string()));
                        let entry = thread_entry(ctx, ws, thread, owner, "reply", details, now).await?;
                        let others: Vec<String> = rows::participants(ctx.conn(), ws, thread)
                            .await?
                            .into_iter()
                            .filter(|p| p != owner)
                            .collect();
                        let others: Vec<&str> = others.iter().map(String::as_str).collect();
                        let payload =
                            serde_json::json!({"thread_id": thread, "message_id": entry.event_id, "from": owner});
                        inbox_event(ctx, ws, &others, "inbox.reply_received", payload, now).await?;
                    }
                    ThreadAction::Delegate { to, note } => {
                        details.insert("delegate_to".into(), serde_json::Value::String(to.clone()));
                        details.insert("note".into(), note.map_or(serde_json::Value::Null, serde_json::Value::String));
                        touch(ctx, ws, thread, &[(to.as_str(), "delegate", true)], now).await?;
                        thread_entry(ctx, ws, thread, owner, "delegated", details, now).await?;
                        let delegate = lifecycle::Command::Delegate { to };
                        if !intent.status.is_terminal() {
                            run_internal(ctx, ws, &mut intent, delegate, owner, now).await?;
                        }
                    }
                    ThreadAction::Decide { approve, comment } => {
                        details.insert(
                            "comment".into(),
                            comment.clone().map_or(serde_json::Value::Null, serde_json::Value::String),
                        );
                        let kind = if approve { "approved" } else { "rejected" };
                        thread_entry(ctx, ws, thread, owner, kind, details, now).await?;
                        answer_task(ctx, ws, &mut intent, approve, comment, owner, now).await?;
                    }
                    ThreadAction::Read => {
                        thread_entry(ctx, ws, thread, owner, "read", details, now).await?;
                        rows::set_membership(ctx.conn(), ws, owner, thread, false, &member.hidden).await?;
                    }
                    ThreadAction::DeleteMessages { both, message_ids, limit } => {
                        let mut candidates: Vec<TimelineEntry> = rows::entries(ctx.conn(), ws, thread)
                            .await?
                            .into_iter()
                            .filter(|e| e.is_message() && !member.hidden.contains(&e.event_id.to_string()))
                            .filter(|e| message_ids.is_empty() || message_ids.contains(&e.event_id.to_string()))
                            .collect();
                        candidates.reverse();
                        candidates.truncate(limit);
                        deleted = candidates.iter().map(|e| e.event_id.to_string()).collect();
                        if both {
                            for id in &deleted {
                                rows::delete_entry(ctx.conn(), ws, thread, id).await?;
                            }
                        } else {
                            let mut hidden = member.hidden.clone();
                            hidden.extend(deleted.iter().cloned());
                            rows::set_membership(ctx.conn(), ws, owner, thread, member.unread, &hidden).await?;
                        }
                    }
                }
                let view = thread_view(ctx.conn(), ws, owner, thread).await?.ok_or(Error::NotFound)?;
                Ok((view, deleted))
            })
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
        let args = (tenant.workspace_id, id, approve, comment, actor.to_owned(), now);
        self.write(args, |(ws, id, approve, comment, actor, now), ctx| {
            Box::pin(async move {
                let (ws, id, approve, now) = (*ws, *id, *approve, *now);
                let decision = if approve { "approve" } else { "reject" };
                if let Some(existing) = rows::approval(ctx.conn(), ws, id).await? {
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
                rows::insert_approval(ctx.conn(), ws, &approval).await?;
                if let Some(mut intent) = rows::intent_for_update(ctx.conn(), ws, IntentId(id)).await? {
                    answer_task(ctx, ws, &mut intent, approve, comment.clone(), actor, now).await?;
                }
                Ok(approval)
            })
        })
        .await
    }

    async fn intent_types(&self, tenant: &Tenant) -> Result<Vec<String>> {
        rows::intent_types(&mut *self.conn().await?, tenant.workspace_id).await
    }
}
