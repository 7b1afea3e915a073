//! WAL checkpoints on a thread and connection of their own.
//!
//! This thread runs `PRAGMA wal_checkpoint(PASSIVE)` every [`EVERY`], so commits rarely pay for
//! copying the WAL back into the database file: it copies what no reader still needs and never
//! waits for, or blocks, the writer or readers. Under constant writes it never reaches the WAL's
//! end, so the writer still checkpoints once the WAL passes a few thousand pages (see
//! `schema.rs`), finding little left to copy, and the WAL then starts over. Its connection runs with
//! `synchronous = FULL`, so the database file is fsynced before the WAL may be reused: a
//! checkpoint cut short by `kill -9` or power loss is redone from the WAL on the next open.

use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use axp_store::{Error, Result};
use r2d2_sqlite::rusqlite::{self, Connection};

/// How often the WAL is checkpointed.
pub(crate) const EVERY: Duration = Duration::from_millis(200);

/// Keeps the checkpoint thread running; dropping it stops the thread and waits for it (at most
/// the checkpoint in progress).
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection to the database at `path` (already in WAL mode) and starts the thread.
    ///
    /// Errors: [`Error::Unavailable`] when the connection cannot be opened or the thread started.
    pub(crate) fn start(path: &Path) -> Result<Self> {
        let conn = open(path)
            .map_err(|e| Error::Unavailable(format!("open {} for checkpoints: {e}", path.display())))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name("axp-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &stopped))
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        Ok(Self { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The checkpoint connection: the database file is fsynced before the WAL may be reused.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA synchronous = FULL;")?;
    Ok(conn)
}

/// Copies what it can of the WAL into the database file, waiting for no one.
fn checkpoint(conn: &Connection) {
    // The row is (busy, WAL frames, frames checkpointed); a busy one is simply retried next time.
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "sqlite WAL checkpoint failed");
    }
}

fn run(conn: &Connection, stopped: &mpsc::Receiver<()>) {
    // Nothing is ever sent: the channel only disconnects, when the `Checkpointer` is dropped.
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
        checkpoint(conn);
    }
    tracing::debug!("sqlite checkpoints stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_on_its_own_connection_fills_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x); INSERT INTO t VALUES (1);",
            )
            .unwrap();
        let file_size = || std::fs::metadata(&path).unwrap().len();
        let before = file_size();
        checkpoint(&open(&path).unwrap());
        assert!(file_size() > before, "the table's pages moved from the WAL into the file");
    }

    /// Writes `commits` one-page commits through a writer configured like the store's, running a
    /// checkpoint on the checkpoint connection every `checkpoint_every` commits (never when 0), and
    /// answers the WAL file's size in bytes. Single-threaded, so the result does not depend on how
    /// the machine schedules threads.
    fn wal_after(commits: usize, checkpoint_every: usize) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        crate::schema::configure_writer(&writer).unwrap();
        // Durability is not what this is about: skip the fsyncs to write fast.
        writer.execute_batch("PRAGMA synchronous = OFF; CREATE TABLE t (x BLOB);").unwrap();
        let checkpoints = open(&path).unwrap();
        let page = vec![7u8; 4000];
        for i in 1..=commits {
            writer.execute("INSERT INTO t VALUES (?1)", [&page]).unwrap();
            if checkpoint_every > 0 && i % checkpoint_every == 0 {
                checkpoint(&checkpoints);
            }
        }
        std::fs::metadata(dir.path().join("c.db-wal")).unwrap().len()
    }

    #[test]
    fn the_writer_alone_keeps_the_wal_bounded() {
        // 20,000 commits of a page each push 80 MB through the WAL; the writer's own checkpoint
        // (every 4,096 pages) starts it over, so it stays near 16 MB.
        let wal = wal_after(20_000, 0);
        assert!(wal < 24 << 20, "the WAL grew to {} MB", wal >> 20);
    }

    #[test]
    fn checkpoints_on_their_own_connection_let_the_wal_start_over() {
        // A checkpoint between commits copies everything, so the next commit starts the WAL over
        // and it never holds more than the few frames each of the commits in between wrote.
        let wal = wal_after(20_000, 100);
        assert!(wal < 4 << 20, "the WAL grew to {} KB", wal >> 10);
    }

    #[test]
    fn dropping_stops_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        Connection::open(&path).unwrap().execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        // Drop joins the thread: this returns only once it has stopped.
        drop(Checkpointer::start(&path).unwrap());
    }
}
