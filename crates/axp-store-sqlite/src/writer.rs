//! The writer thread: group commit over one connection.

use std::sync::Arc;
use std::thread;

use axp_store::{CommitListener, Error, Job, PrincipalCache};
use futures::FutureExt;
use r2d2_sqlite::rusqlite::Connection;
use tokio::sync::mpsc;

use crate::checkpoint::Checkpointer;
use crate::counters::Counters;
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
        checkpointer: Checkpointer,
    ) -> std::io::Result<Self> {
        let counters = Counters::load(&conn).map_err(|e| std::io::Error::other(e.to_string()))?;
        let (jobs, rx) = mpsc::channel(QUEUE_DEPTH);
        thread::Builder::new().name("axp-sqlite-writer".into()).spawn(move || {
            run(conn, counters, rx, listener.as_ref(), &principals);
            drop(checkpointer);
        })?;
        Ok(Self { jobs })
    }

    /// Queues `job` for the next batch. It runs in its own savepoint: if it fails, its changes
    /// are rolled back and the batch goes on. It is answered once the batch has committed; if
    /// the commit fails, every job of the batch gets [`Error::Unavailable`].
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
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut tx = SqliteTx {
            conn: &mut conn,
            counters: Some(&mut counters),
            topics: Vec::new(),
            principals_changed: false,
        };
        let began = std::time::Instant::now();
        let outcome = run_batch(&mut tx, &mut batch);
        if tx.principals_changed {
            principals.invalidate();
        }
        let committed = match outcome {
            Ok(()) => {
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

/// Runs every job of `batch` in one transaction, each in its own savepoint, and commits.
fn run_batch(tx: &mut SqliteTx<'_>, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    let _span = tracing::debug_span!("store.batch", backend = "sqlite", jobs = batch.len()).entered();
    control(tx.conn, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        control(tx.conn, "SAVEPOINT job")?;
        let mark = tx.topics.len();
        // Every storage call here is synchronous, so the job's future is ready at once; one
        // that is not has awaited something else and is refused.
        let ok = job.run(tx).now_or_never().unwrap_or(false);
        if !ok {
            // The rows go back to the savepoint; the cursors the job took stay taken (gaps).
            tx.topics.truncate(mark);
            control(tx.conn, "ROLLBACK TO job")?;
        }
        control(tx.conn, "RELEASE job")?;
    }
    if let Some(counters) = tx.counters.as_deref_mut() {
        counters.save(tx.conn).map_err(|e| e.to_string())?;
    }
    control(tx.conn, "COMMIT")
}
