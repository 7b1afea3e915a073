//! The write path: batched transactions on a few connections ("lanes").
//!
//! Callers queue jobs; each lane takes every queued job (up to [`MAX_BATCH`]), runs them one
//! after another in one transaction, and commits once, so one commit (one WAL flush) serves a
//! whole burst of writes. Jobs are re-runnable ([`axp_store::Job`]), which keeps the batch
//! free of savepoints (PostgreSQL pays for subtransactions, above 64 per transaction on every
//! backend): when one job fails, the transaction is rolled back, the failing job is set aside to
//! run alone (and report its own error), and the rest run again. A transaction PostgreSQL
//! aborted to break a deadlock is run again as a whole.
//!
//! Queue items and participant touches the jobs buffered are written at the end of the batch,
//! one statement each (see `tables`); their cursors come from the transaction's id, so no row
//! is shared by every writer of an agent.
//!
//! The topics a transaction touched are sent with `pg_notify` inside it (so they are delivered
//! exactly when it commits, to every replica listening) and given to this replica's
//! [`CommitListener`] right after the commit.

use std::sync::Arc;

use axp_store::{CommitListener, Error, Job, PrincipalCache, Result, Topic};
use futures::future::BoxFuture;
use sqlx_core::executor::Executor;
use sqlx_core::pool::Pool;
use sqlx_core::query::query;
use sqlx_postgres::{PgConnection, PgRow, Postgres};
use tokio::sync::{Mutex, mpsc};

use crate::notify;
use crate::rowcache::RowCache;

/// The replica's caches a commit may drop: cached principals and cached rows.
type Caches = (Arc<PrincipalCache>, Arc<RowCache>);
use crate::tables::{PgTx, db, retryable};

/// Most jobs committed in one transaction.
pub(crate) const MAX_BATCH: usize = 128;

/// How many jobs may wait for a lane before callers are slowed down.
const QUEUE_DEPTH: usize = 8192;

/// Times a batch is run again after PostgreSQL aborted it to break a deadlock.
const RETRIES: u32 = 8;

/// After this many failing jobs in one batch, the rest run one by one.
const MAX_FAILURES: usize = 2;

/// Handle to the lanes. Cheap to clone; the lanes stop when every handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts `lanes` lanes on `pool`. The caches are dropped after every commit of a job that
    /// changed principals or cached rows, before that batch's callers are answered.
    pub(crate) fn spawn(
        pool: Pool<Postgres>,
        lanes: usize,
        listener: Arc<dyn CommitListener>,
        caches: (Arc<PrincipalCache>, Arc<RowCache>),
    ) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE_DEPTH);
        let rx = Arc::new(Mutex::new(rx));
        for lane in 0..lanes.max(1) {
            let (pool, rx, listener, caches) = (pool.clone(), rx.clone(), listener.clone(), caches.clone());
            tokio::spawn(async move {
                run_lane(pool, rx, listener, &caches).await;
                tracing::debug!(lane, "postgres writer lane stopped");
            });
        }
        Self { jobs }
    }

    /// Queues `job` for the next batch's transaction; it is answered once the batch has
    /// committed. The job may run more than once (after a rollback); only the run that
    /// committed counts.
    pub(crate) async fn write(&self, job: Box<dyn Job>) {
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(job).await {
            job.reply(Err(Error::Unavailable("store writer has stopped".into())));
        }
    }
}

async fn run_lane(
    pool: Pool<Postgres>,
    rx: Arc<Mutex<mpsc::Receiver<Box<dyn Job>>>>,
    listener: Arc<dyn CommitListener>,
    caches: &Caches,
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
        run_batch(&pool, batch, listener.as_ref(), caches).await;
    }
}

enum Tried {
    /// The topics to announce, and whether keys changed.
    Committed(Vec<Topic>, bool),
    JobFailed(usize),
    /// Writing what the jobs buffered failed (say, a key one of them repeated): which job's
    /// write it was shows only when each runs alone.
    FlushFailed(Error),
    Retry(Error),
    Broken(Error),
}

#[tracing::instrument(level = "debug", name = "store.batch", skip_all, fields(backend = "postgres", jobs = jobs.len()))]
async fn run_batch(
    pool: &Pool<Postgres>,
    mut jobs: Vec<Box<dyn Job>>,
    listener: &dyn CommitListener,
    caches: &Caches,
) {
    let mut alone = Vec::new();
    let mut retries = 0;
    while !jobs.is_empty() {
        if alone.len() >= MAX_FAILURES {
            alone.append(&mut jobs);
            break;
        }
        match try_batch(pool, &mut jobs, &caches.1).await {
            Tried::Committed(topics, keys_changed) => {
                announce(listener, caches, &topics, keys_changed);
                jobs.into_iter().for_each(|j| j.reply(Ok(())));
                jobs = Vec::new();
            }
            // Alone, its result (an error, its writes rolled back) is final.
            Tried::JobFailed(_) if jobs.len() == 1 => jobs.drain(..).for_each(|j| j.reply(Ok(()))),
            Tried::JobFailed(i) => alone.push(jobs.remove(i)),
            Tried::FlushFailed(e) if jobs.len() == 1 => {
                if let Some(job) = jobs.pop() {
                    job.reply(Err(e));
                }
            }
            Tried::FlushFailed(_) => alone.append(&mut jobs),
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
            match try_batch(pool, &mut one, &caches.1).await {
                Tried::Committed(topics, keys_changed) => announce(listener, caches, &topics, keys_changed),
                Tried::JobFailed(_) => {}
                Tried::FlushFailed(e) => {
                    if let Some(job) = one.pop() {
                        job.reply(Err(e));
                    }
                    break;
                }
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

fn announce(listener: &dyn CommitListener, (keys, rows): &Caches, topics: &[Topic], keys_changed: bool) {
    if keys_changed {
        keys.invalidate();
        rows.invalidate();
    }
    if !topics.is_empty() {
        listener.committed(topics);
    }
}

/// Runs `jobs` in one transaction.
async fn try_batch(pool: &Pool<Postgres>, jobs: &mut [Box<dyn Job>], rows: &Arc<RowCache>) -> Tried {
    let conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => return Tried::Broken(db(e)),
    };
    let began = std::time::Instant::now();
    let mut tx = PgTx::new(conn, rows.clone());
    if let Err(e) = tx.begin().await {
        tx.into_conn().close_on_drop();
        return Tried::Broken(e);
    }
    for (i, job) in jobs.iter_mut().enumerate() {
        if !job.run(&mut tx).await {
            let retry = job.error().is_some_and(retryable);
            rollback(tx).await;
            return if retry {
                Tried::Retry(Error::Unavailable("deadlock".into()))
            } else {
                Tried::JobFailed(i)
            };
        }
    }
    if let Err(e) = tx.flush().await {
        rollback(tx).await;
        return if retryable(&e) { Tried::Retry(e) } else { Tried::FlushFailed(e) };
    }
    // The notifications (delivered at commit, to every replica) and the commit: one round trip.
    let changed = tx.principals_changed || tx.cached_rows_changed;
    let sql = commit_sql(&tx.topics, changed);
    match run_sql(tx.conn(), &sql).await {
        Ok(_) => {
            axp_store::metrics::record_commit("postgres", jobs.len(), began.elapsed());
            Tried::Committed(std::mem::take(&mut tx.topics), changed)
        }
        Err(e) => {
            // The outcome is unknown (the connection may have dropped after the commit was
            // sent): callers see Unavailable, and retry with their idempotency keys.
            tx.into_conn().close_on_drop();
            if retryable(&e) { Tried::Retry(e) } else { Tried::Broken(e) }
        }
    }
}

/// Runs `sql` (several statements, no parameters) as one simple query.
pub(crate) fn run_sql<'a>(conn: &'a mut PgConnection, sql: &'a str) -> BoxFuture<'a, Result<Vec<PgRow>>> {
    // A query with no arguments goes over PostgreSQL's simple protocol, which takes several
    // statements. Boxed: the future is then `Send` for the spawned lanes.
    Box::pin(async move { conn.fetch_all(sql).await.map_err(db) })
}

/// `SELECT pg_notify(…)` for each notification payload, then `COMMIT`, as one simple query.
/// Payloads are dollar-quoted with a tag that does not occur in them, so nothing in a topic
/// (agent addresses come from users) can end the literal.
fn commit_sql(topics: &[Topic], keys_changed: bool) -> String {
    let mut sql = String::new();
    for payload in notify::payloads(topics, keys_changed) {
        let mut tag = String::from("axp");
        while payload.contains(&format!("${tag}$")) {
            tag.push('x');
        }
        sql.push_str(&format!("SELECT pg_notify('{}', ${tag}${payload}${tag}$); ", notify::CHANNEL));
    }
    sql.push_str("COMMIT");
    sql
}

async fn exec(tx: &mut PgTx, sql: &'static str) -> Result<()> {
    query::<Postgres>(sql).execute(tx.conn()).await.map_err(db)?;
    Ok(())
}

async fn rollback(mut tx: PgTx) {
    if exec(&mut tx, "ROLLBACK").await.is_err() {
        tx.into_conn().close_on_drop();
    }
}

#[cfg(test)]
mod tests {
    use axp_core::WorkspaceId;

    use super::*;

    #[test]
    fn notifications_are_dollar_quoted_past_any_tag_in_them_then_committed() {
        assert_eq!(commit_sql(&[], false), "COMMIT");
        let sneaky = Topic::Agent(WorkspaceId::new(), "agent://o/w/$axp$'); DROP TABLE intents; --".into());
        let sql = commit_sql(&[sneaky], false);
        assert!(sql.starts_with("SELECT pg_notify('axp_topics', $axpx$"), "{sql}");
        assert!(sql.ends_with("$axpx$); COMMIT"), "{sql}");
    }
}
