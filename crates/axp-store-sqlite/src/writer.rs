//! The writer thread: group commit over one connection.

use std::sync::Arc;
use std::thread;

use axp_store::{CommitListener, Error, Job, PrincipalCache};
use futures::FutureExt;
use r2d2_sqlite::rusqlite::Connection;
use tokio::sync::mpsc;

use crate::checkpoint::Checkpointer;
use crate::counters::Counters;
use crate::keys::Keys;
use crate::tables::SqliteTx;

/// Most jobs committed in one transaction. Large enough to amortise the fsync across a burst
/// of concurrent clients, small enough to keep the first caller's wait short.
pub(crate) const MAX_BATCH: usize = 256;

/// How many jobs may wait for the writer before callers are slowed down.
const QUEUE_DEPTH: usize = 8192;

/// Handle to the writer thread. Cheap to clone; the thread stops when every handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn` (already configured and migrated). The thread owns
    /// `checkpointer`, so checkpoints stop when it does.
    pub(crate) fn spawn(
        conn: Connection,
        listener: Arc<dyn CommitListener>,
        principals: Arc<PrincipalCache>,
        keys: Arc<Keys>,
        checkpointer: Checkpointer,
    ) -> std::io::Result<Self> {
        let counters = Counters::load(&conn).map_err(|e| std::io::Error::other(e.to_string()))?;
        let (jobs, rx) = mpsc::channel(QUEUE_DEPTH);
        thread::Builder::new().name("axp-sqlite-writer".into()).spawn(move || {
            run(conn, counters, rx, listener.as_ref(), &principals, &keys);
            drop(checkpointer);
        })?;
        Ok(Self { jobs })
    }

    /// How many jobs wait for the writer (not counting the batch it is running).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// Queues `job` for the next batch. The batch runs first with no savepoints; if a job
    /// fails, the whole batch is rolled back and runs again with a savepoint per job, so `job`
    /// may run twice (see [`Job`]), and a failed job leaves no trace while the others commit.
    /// It is answered once the batch has committed; if the commit fails, every job of the batch
    /// gets [`Error::Unavailable`].
    pub(crate) async fn write(&self, job: Box<dyn Job>) {
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(job).await {
            job.reply(Err(Error::Unavailable("store writer has stopped".into())));
        }
    }
}

/// Runs a transaction-control statement through the statement cache (no parsing per batch).
fn control(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(|_| ()).map_err(|e| e.to_string())
}

fn run(
    mut conn: Connection,
    mut counters: Counters,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    listener: &dyn CommitListener,
    principals: &PrincipalCache,
    keys: &Keys,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    // Whether the last batch had a failed job: the next one then starts with savepoints (a
    // failing client tends to send the same request again).
    let mut careful = false;
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut tx = SqliteTx::writer(&mut conn, &mut counters, keys);
        let began = std::time::Instant::now();
        let outcome = run_batch(&mut tx, &mut batch, careful);
        if tx.principals_changed {
            principals.invalidate();
        }
        let committed = match outcome {
            Ok(failed) => {
                careful = failed;
                keys.learn(tx.new_keys.drain());
                axp_store::metrics::record_commit("sqlite", batch.len(), began.elapsed());
                if !tx.topics.is_empty() {
                    listener.committed(&tx.topics);
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "sqlite batch failed to commit; rolling back");
                let _ = tx.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        };
        for job in batch.drain(..) {
            job.reply(committed.clone().map_err(Error::Unavailable));
        }
    }
    tracing::debug!("sqlite writer stopped");
}

/// Runs every job of `batch` in one transaction and commits it; returns whether a job failed.
///
/// The batch first runs with no savepoints ([`run_fast`]); if a job fails, it is rolled back
/// whole and runs again with a savepoint per job ([`run_careful`]), so the failed job leaves no
/// trace and the others still commit. When `careful` (the last batch had a failed job), the
/// first run is skipped.
///
/// Errors: the message of a transaction-control statement that failed (the batch is then
/// left to the caller to roll back).
fn run_batch(tx: &mut SqliteTx<'_>, batch: &mut [Box<dyn Job>], careful: bool) -> Result<bool, String> {
    let _span =
        tracing::debug_span!("store.batch", backend = "sqlite", jobs = batch.len(), careful).entered();
    if !careful {
        if run_fast(tx, batch)? {
            return Ok(false);
        }
        tracing::debug!("a job failed: running the batch again with a savepoint per job");
    }
    run_careful(tx, batch)
}

/// Runs `job` in `tx`; whether it succeeded. Every storage call here is synchronous, so the
/// job's future is ready at once; one that is not has awaited something else and is refused.
fn run_job(tx: &mut SqliteTx<'_>, job: &mut Box<dyn Job>) -> bool {
    job.run(tx).now_or_never().unwrap_or(false)
}

/// Runs every job of `batch` in one transaction with no savepoint, and commits. Returns false
/// at the first job that fails: the transaction is then rolled back, and `tx` is as it was
/// before (no topics, no principal change; the cursors the jobs took stay taken), ready for
/// [`run_careful`] to run the same batch again.
fn run_fast(tx: &mut SqliteTx<'_>, batch: &mut [Box<dyn Job>]) -> Result<bool, String> {
    control(tx.conn, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        if !run_job(tx, job) {
            // An error may have ended the transaction already (SQLite rolls back by itself on
            // some, e.g. a full disk).
            if !tx.conn.is_autocommit() {
                control(tx.conn, "ROLLBACK")?;
            }
            tx.topics.clear();
            tx.principals_changed = false;
            tx.new_keys.clear();
            return Ok(false);
        }
    }
    commit(tx)?;
    Ok(true)
}

/// Runs every job of `batch` in one transaction, each in its own savepoint, and commits: a job
/// that fails is rolled back to its savepoint and the batch goes on. Returns whether a job
/// failed.
fn run_careful(tx: &mut SqliteTx<'_>, batch: &mut [Box<dyn Job>]) -> Result<bool, String> {
    let mut failed = false;
    control(tx.conn, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        control(tx.conn, "SAVEPOINT job")?;
        let mark = tx.topics.len();
        if !run_job(tx, job) {
            failed = true;
            // The rows go back to the savepoint; the cursors the job took stay taken (gaps).
            // The keys the batch gave so far may be gone with them: read again when needed.
            tx.topics.truncate(mark);
            tx.new_keys.clear();
            control(tx.conn, "ROLLBACK TO job")?;
        }
        control(tx.conn, "RELEASE job")?;
    }
    commit(tx)?;
    Ok(failed)
}

/// Records the cursors the batch took ([`Counters::save`]) and commits: the rows and the
/// sequences' high-water marks commit together.
fn commit(tx: &mut SqliteTx<'_>) -> Result<(), String> {
    if let Some(counters) = tx.counters.as_deref_mut() {
        counters.save(tx.conn).map_err(|e| e.to_string())?;
    }
    control(tx.conn, "COMMIT")
}
