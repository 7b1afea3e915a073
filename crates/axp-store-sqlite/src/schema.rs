//! Connection settings and embedded migrations.
//!
//! Migrations are numbered SQL files compiled into the binary and tracked with SQLite's
//! `user_version`: each runs once, in order, in its own transaction. Never edit an applied one;
//! add the next.

use r2d2_sqlite::rusqlite::{Connection, Result};

/// Every migration, in order; `user_version` = how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_timers_and_leases.sql"),
    include_str!("../migrations/0003_push_deliveries.sql"),
    include_str!("../migrations/0004_webhooks.sql"),
    include_str!("../migrations/0005_inbox.sql"),
    include_str!("../migrations/0006_members.sql"),
    include_str!("../migrations/0007_tenancy.sql"),
    include_str!("../migrations/0008_people.sql"),
    include_str!("../migrations/0009_audit.sql"),
    include_str!("../migrations/0010_quotas.sql"),
    include_str!("../migrations/0011_schemas.sql"),
    include_str!("../migrations/0012_media.sql"),
    include_str!("../migrations/0013_mesh.sql"),
    include_str!("../migrations/0014_routing.sql"),
    include_str!("../migrations/0015_retention.sql"),
];

/// Prepared statements each connection keeps (every statement the writer runs, with room).
const STATEMENT_CACHE: usize = 128;

/// WAL pages after which a commit of the writer checkpoints too (SQLite's default is 1000).
///
/// Checkpoints run on their own thread (`checkpoint.rs`), so this one finds most pages already
/// copied. It is still needed: a checkpoint running beside a busy writer never catches up with
/// the WAL's end, and only a completed checkpoint lets the next write start the WAL over. Without
/// it the WAL grows for as long as writes keep coming (118 MB over a 12 MB database after 2.5 s
/// of load, measured), and so does recovery after a crash.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 4096;

/// Settings for the write connection: incremental auto-vacuum, WAL, fsync on every commit
/// (`synchronous=FULL`), a busy timeout so a checkpoint never fails a write outright, and
/// checkpoints mostly off the commit path (see [`WAL_AUTOCHECKPOINT_PAGES`]).
///
/// Auto-vacuum comes first: only a file not yet written (before WAL mode writes its first page)
/// takes it. Then the pages retention frees go back to the file system when the pruner runs
/// `PRAGMA incremental_vacuum`; a file from before keeps reusing its free pages instead
/// (docs/retention.md), and the pragma changes nothing there.
pub(crate) fn configure_writer(conn: &Connection) -> Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(&format!(
        "PRAGMA auto_vacuum = INCREMENTAL;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;",
    ))
}

/// Settings for read connections: read-only, so a bug can never write around the writer.
pub(crate) fn configure_reader(conn: &Connection) -> Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(
        "PRAGMA query_only = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;",
    )
}

/// Runs the migrations this database has not seen yet.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied sqlite migration");
    }
    Ok(())
}
