//! The writer thread: group commit over one connection.

use std::sync::Arc;
use std::thread;

use axp_store::{CommitListener, Error, PrincipalCache, Result, Topic};
use r2d2_sqlite::rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::Checkpointer;
use crate::counters::Counters;

/// Most jobs committed in one transaction. Large enough to amortise the fsync across a burst
/// of concurrent clients, small enough to keep the first caller's wait short.
pub(crate) const MAX_BATCH: usize = 256;

/// How many jobs may wait for the writer before callers are slowed down.
const QUEUE_DEPTH: usize = 8192;

/// What a job gets: the connection inside an open transaction, and the topics to announce.
pub(crate) struct WriteCtx<'c> {
    pub(crate) conn: &'c Connection,
    pub(crate) topics: Vec<Topic>,
    /// Told about the batch once it commits; asked whether anyone waits on a topic.
    pub(crate) listener: &'c dyn CommitListener,
    /// Agent cursors and thread `change_seq`s handed out from memory.
    pub(crate) counters: &'c mut Counters,
    /// Set by a job that revoked a key or changed a service account: the principal cache is
    /// invalidated once the batch is over, before any of its callers is answered.
    pub(crate) principals_changed: bool,
}

/// Called once the batch's fate is known, with the commit's result.
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued closure: runs in the transaction, says whether it succeeded, returns its reply.
type Job = Box<dyn FnOnce(&mut WriteCtx<'_>) -> (bool, Reply) + Send>;

/// Handle to the writer thread. Cheap to clone; the thread stops when every handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
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
        let (jobs, rx) = mpsc::channel(QUEUE_DEPTH);
        thread::Builder::new().name("axp-sqlite-writer".into()).spawn(move || {
            run(conn, rx, listener.as_ref(), &principals);
            drop(checkpointer);
        })?;
        Ok(Self { jobs })
    }

    /// Runs `f` in the next batch's transaction and returns its result once the batch has
    /// committed. If `f` fails, its changes are rolled back and the batch goes on. If the commit
    /// fails, every job of the batch gets [`Error::Unavailable`].
    pub(crate) async fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |ctx| {
            let result = f(ctx);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |commit: Result<(), String>| {
                let _ = tx.send(commit.map_err(Error::Unavailable).and(result));
            });
            (ok, reply)
        });
        self.jobs.send(job).await.map_err(|_| Error::Unavailable("store writer has stopped".into()))?;
        rx.await.map_err(|_| Error::Unavailable("store writer has stopped".into()))?
    }
}

/// Runs a transaction-control statement through the statement cache (no parsing per batch).
fn control(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(|_| ()).map_err(|e| e.to_string())
}

fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    listener: &dyn CommitListener,
    principals: &PrincipalCache,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut counters = Counters::default();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut ctx = WriteCtx {
            conn: &conn,
            topics: Vec::new(),
            listener,
            counters: &mut counters,
            principals_changed: false,
        };
        let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
        let outcome = (|| -> Result<(), String> {
            control(&conn, "BEGIN IMMEDIATE")?;
            for job in batch.drain(..) {
                control(&conn, "SAVEPOINT job")?;
                let mark = ctx.topics.len();
                let (ok, reply) = job(&mut ctx);
                replies.push(reply);
                if !ok {
                    ctx.topics.truncate(mark);
                    // The rows go back to the savepoint; the counters the job moved must too.
                    ctx.counters.clear();
                    control(&conn, "ROLLBACK TO job")?;
                }
                control(&conn, "RELEASE job")?;
            }
            control(&conn, "COMMIT")
        })();
        if ctx.principals_changed {
            principals.invalidate();
        }
        match outcome {
            Ok(()) => {
                if !ctx.topics.is_empty() {
                    listener.committed(&ctx.topics);
                }
                for reply in replies {
                    reply(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "sqlite batch failed to commit; rolling back");
                let _ = conn.execute_batch("ROLLBACK");
                ctx.counters.clear();
                for reply in replies {
                    reply(Err(e.clone()));
                }
                // Jobs never reached because BEGIN or a savepoint failed are answered by
                // dropping them: their callers see the writer as unavailable.
                batch.clear();
            }
        }
    }
    tracing::debug!("sqlite writer stopped");
}
