//! The write path: batched transactions on a few connections ("lanes").
//!
//! Callers queue jobs; each lane takes every queued job (up to [`MAX_BATCH`]), runs them one
//! after another in one transaction, and commits once, so one commit (one WAL flush) serves a
//! whole burst of writes. Jobs are re-runnable (`fn(&Args, &mut Ctx)`), which keeps the batch
//! free of savepoints (PostgreSQL pays for subtransactions, above 64 per transaction on every
//! backend): when one job fails, the transaction is rolled back, the failing job is set aside to
//! run alone (and report its own error), and the rest run again. A transaction PostgreSQL
//! aborted to break a deadlock is run again as a whole.
//!
//! Per-agent queue cursors and per-owner inbox change cursors are taken at the end of the
//! batch ([`Ctx::pending`]), from counter rows locked in key order: the locks on those hot rows
//! are held only for the tail of a transaction, and two transactions can never deadlock on
//! them. Because a transaction holds its counter rows until it commits, the cursors of an
//! agent (or owner) become visible in cursor order on every replica: a stream that has read
//! cursor n never later finds a committed item below n.
//!
//! The topics a transaction touched are sent with `pg_notify` inside it (so they are delivered
//! exactly when it commits, to every replica listening) and given to this replica's
//! [`CommitListener`] right after the commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use axp_core::delivery::Delivery;
use axp_core::ids::IntentId;
use axp_core::{Timestamp, WorkspaceId};
use axp_store::{CommitListener, Error, PrincipalCache, Result, Topic};
use futures::future::BoxFuture;
use sqlx_core::pool::{Pool, PoolConnection};
use sqlx_core::query::query;
use sqlx_postgres::{PgConnection, Postgres};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::notify;
use crate::rows::{self, NewQueueItem, db, retryable};

/// Most jobs committed in one transaction.
pub(crate) const MAX_BATCH: usize = 128;

/// How many jobs may wait for a lane before callers are slowed down.
const QUEUE_DEPTH: usize = 8192;

/// Times a batch is run again after PostgreSQL aborted it to break a deadlock.
const RETRIES: u32 = 8;

/// After this many failing jobs in one batch, the rest run one by one.
const MAX_FAILURES: usize = 2;

/// A queue item whose cursor is taken when the transaction ends.
pub(crate) struct PendingItem {
    pub(crate) ws: WorkspaceId,
    pub(crate) agent: String,
    pub(crate) intent_id: IntentId,
    pub(crate) reason: String,
    pub(crate) queued_at: Timestamp,
    /// For the `http` binding: the push of this item's frame (its `seq` is filled in with the
    /// cursor) and the owner of its signing secret.
    pub(crate) push: Option<(Delivery, String)>,
}

/// What a job did that is settled at the end of the transaction.
#[derive(Default)]
pub(crate) struct Pending {
    pub(crate) queue: Vec<PendingItem>,
    /// Participant rows (workspace, owner, thread) whose change cursor moves.
    pub(crate) touches: Vec<(WorkspaceId, String, IntentId)>,
}

/// What a job gets: the connection inside an open transaction, the topics to announce, and the
/// work left for the end of the transaction.
pub(crate) struct Ctx {
    pub(crate) conn: PoolConnection<Postgres>,
    pub(crate) topics: Vec<Topic>,
    pub(crate) pending: Pending,
    /// Set by a job that revoked a key or changed a service account: every replica's cached
    /// principals ([`PrincipalCache`]) are dropped when the transaction commits.
    pub(crate) keys_changed: bool,
}

impl Ctx {
    /// The connection, for the `rows` functions.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// A job: a plain function over its arguments, so it can run again.
pub(crate) type JobFn<A, R> = for<'a> fn(&'a A, &'a mut Ctx) -> BoxFuture<'a, Result<R>>;

enum Ran {
    Ok,
    Failed,
    Retry,
}

trait Job: Send {
    fn run<'a>(&'a mut self, ctx: &'a mut Ctx) -> BoxFuture<'a, Ran>;
    /// Answers the caller: with the job's own result once its transaction committed (or it
    /// failed alone), or with `Err` when the batch could not be committed.
    fn reply(self: Box<Self>, outcome: Result<()>);
}

struct Typed<A, R> {
    args: A,
    f: JobFn<A, R>,
    result: Option<Result<R>>,
    tx: oneshot::Sender<Result<R>>,
}

impl<A: Send + Sync + 'static, R: Send + 'static> Job for Typed<A, R> {
    fn run<'a>(&'a mut self, ctx: &'a mut Ctx) -> BoxFuture<'a, Ran> {
        Box::pin(async move {
            let result = (self.f)(&self.args, ctx).await;
            let ran = match &result {
                Ok(_) => Ran::Ok,
                Err(e) if retryable(e) => Ran::Retry,
                Err(_) => Ran::Failed,
            };
            self.result = Some(result);
            ran
        })
    }

    fn reply(self: Box<Self>, outcome: Result<()>) {
        let result = match outcome {
            Ok(()) => self.result.unwrap_or_else(|| Err(Error::Internal("a job never ran".into()))),
            Err(e) => Err(e),
        };
        let _ = self.tx.send(result);
    }
}

/// Handle to the lanes. Cheap to clone; the lanes stop when every handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts `lanes` lanes on `pool`. `keys` is invalidated after every commit of a job that
    /// set [`Ctx::keys_changed`], before that batch's callers are answered.
    pub(crate) fn spawn(
        pool: Pool<Postgres>,
        lanes: usize,
        listener: Arc<dyn CommitListener>,
        keys: Arc<PrincipalCache>,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE_DEPTH);
        let rx = Arc::new(Mutex::new(rx));
        for lane in 0..lanes.max(1) {
            let (pool, rx, listener, keys) = (pool.clone(), rx.clone(), listener.clone(), keys.clone());
            tokio::spawn(async move {
                run_lane(pool, rx, listener, &keys).await;
                tracing::debug!(lane, "postgres writer lane stopped");
            });
        }
        Self { jobs }
    }

    /// Runs `f(&args, ctx)` in the next batch's transaction and returns its result once the
    /// batch has committed. `f` may run more than once (after a rollback); only the run that
    /// committed counts.
    pub(crate) async fn write<A, R>(&self, args: A, f: JobFn<A, R>) -> Result<R>
    where
        A: Send + Sync + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Typed { args, f, result: None, tx });
        self.jobs.send(job).await.map_err(|_| Error::Unavailable("store writer has stopped".into()))?;
        rx.await.map_err(|_| Error::Unavailable("store writer has stopped".into()))?
    }
}

async fn run_lane(
    pool: Pool<Postgres>,
    rx: Arc<Mutex<mpsc::Receiver<Box<dyn Job>>>>,
    listener: Arc<dyn CommitListener>,
    keys: &PrincipalCache,
) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut batch = Vec::with_capacity(MAX_BATCH);
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        run_batch(&pool, batch, listener.as_ref(), keys).await;
    }
}

enum Tried {
    /// The topics to announce, and whether keys changed.
    Committed(Vec<Topic>, bool),
    JobFailed(usize),
    Retry(Error),
    Broken(Error),
}

async fn run_batch(
    pool: &Pool<Postgres>,
    mut jobs: Vec<Box<dyn Job>>,
    listener: &dyn CommitListener,
    keys: &PrincipalCache,
) {
    let mut alone = Vec::new();
    let mut retries = 0;
    while !jobs.is_empty() {
        if alone.len() >= MAX_FAILURES {
            alone.append(&mut jobs);
            break;
        }
        match try_batch(pool, &mut jobs).await {
            Tried::Committed(topics, keys_changed) => {
                announce(listener, keys, &topics, keys_changed);
                jobs.into_iter().for_each(|j| j.reply(Ok(())));
                jobs = Vec::new();
            }
            // Alone, its result (an error, its writes rolled back) is final.
            Tried::JobFailed(_) if jobs.len() == 1 => jobs.drain(..).for_each(|j| j.reply(Ok(()))),
            Tried::JobFailed(i) => alone.push(jobs.remove(i)),
            Tried::Retry(e) if retries < RETRIES => {
                retries += 1;
                tracing::debug!(error = %e, retries, "postgres batch aborted; running it again");
            }
            Tried::Retry(e) | Tried::Broken(e) => {
                tracing::error!(error = %e, "postgres batch failed to commit");
                let msg = e.to_string();
                jobs.into_iter().for_each(|j| j.reply(Err(Error::Unavailable(msg.clone()))));
                jobs = Vec::new();
            }
        }
    }
    for job in alone {
        let mut one = vec![job];
        let mut retries = 0;
        loop {
            match try_batch(pool, &mut one).await {
                Tried::Committed(topics, keys_changed) => announce(listener, keys, &topics, keys_changed),
                Tried::JobFailed(_) => {}
                Tried::Retry(_) if retries < RETRIES => {
                    retries += 1;
                    continue;
                }
                Tried::Retry(e) | Tried::Broken(e) => {
                    one.pop().into_iter().for_each(|j| j.reply(Err(Error::Unavailable(e.to_string()))));
                    break;
                }
            }
            // Committed, or the job's own error (its writes rolled back): it answers itself.
            one.pop().into_iter().for_each(|j| j.reply(Ok(())));
            break;
        }
    }
}

fn announce(listener: &dyn CommitListener, keys: &PrincipalCache, topics: &[Topic], keys_changed: bool) {
    if keys_changed {
        keys.invalidate();
    }
    if !topics.is_empty() {
        listener.committed(topics);
    }
}

/// Runs `jobs` in one transaction.
async fn try_batch(pool: &Pool<Postgres>, jobs: &mut [Box<dyn Job>]) -> Tried {
    let conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => return Tried::Broken(db(e)),
    };
    let mut ctx = Ctx { conn, topics: Vec::new(), pending: Pending::default(), keys_changed: false };
    if let Err(e) = exec(&mut ctx, "BEGIN").await {
        ctx.conn.close_on_drop();
        return Tried::Broken(e);
    }
    for (i, job) in jobs.iter_mut().enumerate() {
        match job.run(&mut ctx).await {
            Ran::Ok => {}
            Ran::Failed => {
                rollback(&mut ctx).await;
                return Tried::JobFailed(i);
            }
            Ran::Retry => {
                rollback(&mut ctx).await;
                return Tried::Retry(Error::Unavailable("deadlock".into()));
            }
        }
    }
    if let Err(e) = finish(&mut ctx).await {
        rollback(&mut ctx).await;
        return if retryable(&e) { Tried::Retry(e) } else { Tried::Broken(e) };
    }
    match exec(&mut ctx, "COMMIT").await {
        Ok(()) => Tried::Committed(std::mem::take(&mut ctx.topics), ctx.keys_changed),
        Err(e) => {
            // The outcome is unknown (the connection may have dropped after the commit was
            // sent): callers see Unavailable, and retry with their idempotency keys.
            ctx.conn.close_on_drop();
            if retryable(&e) { Tried::Retry(e) } else { Tried::Broken(e) }
        }
    }
}

async fn exec(ctx: &mut Ctx, sql: &'static str) -> Result<()> {
    query::<Postgres>(sql).execute(ctx.conn()).await.map_err(db)?;
    Ok(())
}

async fn rollback(ctx: &mut Ctx) {
    if exec(ctx, "ROLLBACK").await.is_err() {
        ctx.conn.close_on_drop();
    }
}

/// The tail of every transaction: sends the notifications (delivered at commit), then takes
/// the queue cursors and inbox change cursors (counter rows locked in key order: agent cursors
/// first, then owner cursors) and writes the queue items, their pushes and the change cursors.
async fn finish(ctx: &mut Ctx) -> Result<()> {
    // Notifications first: the counter rows below are hot, so they are held only for the last
    // few statements and the commit.
    for payload in notify::payloads(&ctx.topics, ctx.keys_changed) {
        query::<Postgres>("SELECT pg_notify($1, $2)")
            .bind(notify::CHANNEL)
            .bind(payload)
            .execute(ctx.conn())
            .await
            .map_err(db)?;
    }
    let pending = std::mem::take(&mut ctx.pending);
    if !pending.queue.is_empty() {
        let mut counts: BTreeMap<(uuid::Uuid, String), i64> = BTreeMap::new();
        for item in &pending.queue {
            *counts.entry((item.ws.0, item.agent.clone())).or_default() += 1;
        }
        let keys: Vec<(uuid::Uuid, String)> = counts.keys().cloned().collect();
        let n: Vec<i64> = counts.values().copied().collect();
        let lasts = rows::take_agent_cursors(ctx.conn(), &keys, &n).await?;
        // The first cursor of each key: last - count + 1, handed out in queueing order.
        let mut next: BTreeMap<(uuid::Uuid, String), i64> =
            keys.into_iter().zip(lasts.iter().zip(&n)).map(|(k, (last, n))| (k, last - n + 1)).collect();
        let mut items = Vec::with_capacity(pending.queue.len());
        let mut pushes = Vec::new();
        for item in pending.queue {
            let slot = next.get_mut(&(item.ws.0, item.agent.clone())).expect("counted above");
            let cursor = *slot;
            *slot += 1;
            if let Some((mut delivery, secret_owner)) = item.push {
                if let Some(frame) = delivery.payload.as_object_mut() {
                    frame.insert("seq".into(), serde_json::Value::from(cursor));
                }
                pushes.push((item.ws, delivery, secret_owner));
            }
            items.push(NewQueueItem {
                ws: item.ws.0,
                agent: item.agent,
                cursor,
                intent_id: item.intent_id.0,
                reason: item.reason,
                queued_at: item.queued_at.as_millis(),
            });
        }
        rows::insert_queue_items(ctx.conn(), &items).await?;
        for (ws, delivery, secret_owner) in pushes {
            let due = delivery.next_attempt_at;
            rows::insert_delivery(ctx.conn(), ws, &delivery, &secret_owner, due).await?;
        }
    }
    if !pending.touches.is_empty() {
        // One new cursor per distinct (owner, thread): a thread appears once in the feed, at
        // its latest change.
        let mut by_owner: BTreeMap<(uuid::Uuid, String), Vec<uuid::Uuid>> = BTreeMap::new();
        for (ws, owner, thread) in pending.touches {
            let threads = by_owner.entry((ws.0, owner)).or_default();
            if !threads.contains(&thread.0) {
                threads.push(thread.0);
            }
        }
        let keys: Vec<(uuid::Uuid, String)> = by_owner.keys().cloned().collect();
        let n: Vec<i64> = by_owner.values().map(|t| t.len() as i64).collect();
        let lasts = rows::take_owner_seqs(ctx.conn(), &keys, &n).await?;
        let mut seqs = Vec::new();
        for (((ws, owner), threads), last) in by_owner.into_iter().zip(lasts) {
            let first = last - threads.len() as i64 + 1;
            for (i, thread) in threads.into_iter().enumerate() {
                seqs.push((ws, owner.clone(), thread, first + i as i64));
            }
        }
        rows::set_change_seqs(ctx.conn(), &seqs).await?;
    }
    Ok(())
}
