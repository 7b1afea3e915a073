//! Connection settings and embedded migrations.
//!
//! Migrations are numbered SQL files compiled into the binary and tracked with SQLite's
//! `user_version`: each runs once, in order; the pending ones of a start run in one transaction,
//! so an older database is either fully upgraded or left as it was. A database whose
//! `user_version` is past the last migration this binary knows was written by a newer axp and
//! is refused. Never edit an applied one; add the next, with a fill of its tables in
//! `tests/upgrade/fill/` (the upgrade fixtures, `src/upgrade.rs`).

use axp_store::Error;
use r2d2_sqlite::rusqlite::{Connection, Result};

use crate::tables::db;

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
    include_str!("../migrations/0016_intents_by_created.sql"),
    include_str!("../migrations/0017_ui_sessions.sql"),
    include_str!("../migrations/0018_sequences.sql"),
    include_str!("../migrations/0019_participants_by_thread.sql"),
    include_str!("../migrations/0020_idempotency_appended.sql"),
    include_str!("../migrations/0021_event_bodies_compressed.sql"),
    include_str!("../migrations/0022_intent_bodies_compressed.sql"),
    include_str!("../migrations/0023_compact_keys.sql"),
    include_str!("../migrations/0024_compact_columns.sql"),
    include_str!("../migrations/0025_idempotency_keyed.sql"),
    include_str!("../migrations/0026_bodies_v2_dictionaries.sql"),
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

/// The schema version this binary writes: how many migrations it knows.
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The schema version (`user_version`) of the database on `conn`.
pub(crate) fn version_of(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Refuses a database written by a newer axp: its `user_version` is past [`schema_version`].
/// Errors: what to do, naming both versions.
pub(crate) fn check_not_newer(version: i64) -> std::result::Result<(), String> {
    let known = schema_version();
    if version > known {
        return Err(format!(
            "the database has schema version {version}, but this axp knows versions up to {known}: \
             it was written by a newer axp. Run that version (or newer), or restore a backup taken \
             with this one"
        ));
    }
    Ok(())
}

/// The schema version of the database file at `path` (opened read-only). Errors: the file
/// cannot be read as a database, or it was written by a newer axp (the message names both
/// versions).
pub fn database_version(path: &std::path::Path) -> std::result::Result<i64, String> {
    let conn = Connection::open_with_flags(path, r2d2_sqlite::rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    let version = version_of(&conn).map_err(|e| format!("read {}: {e}", path.display()))?;
    check_not_newer(version)?;
    Ok(version)
}

/// Migrates the database file at `path` (`axp migrate --data-dir`; its server must be
/// stopped) and returns its schema versions before and after. Errors: as [`migrate`]'s.
pub fn migrate_file(path: &std::path::Path) -> axp_store::Result<(i64, i64)> {
    let mut conn =
        Connection::open(path).map_err(|e| Error::Unavailable(format!("open {}: {e}", path.display())))?;
    configure_writer(&conn).map_err(db)?;
    let before = version_of(&conn).map_err(db)?;
    migrate(&mut conn)?;
    Ok((before, version_of(&conn).map_err(db)?))
}

/// Runs the migrations this database has not seen yet, all in one transaction. Errors:
/// [`Error::Unavailable`] for a database of a newer axp (nothing is changed), or the failure of
/// a migration (everything is rolled back).
pub(crate) fn migrate(conn: &mut Connection) -> axp_store::Result<()> {
    let applied = version_of(conn).map_err(db)?;
    check_not_newer(applied).map_err(Error::Unavailable)?;
    let applied = usize::try_from(applied).unwrap_or(0);
    if applied == MIGRATIONS.len() {
        return Ok(());
    }
    apply(conn, applied, MIGRATIONS.len()).map_err(db)?;
    tracing::info!(from = applied, to = MIGRATIONS.len(), "applied sqlite migrations");
    Ok(())
}

/// Applies migrations `from + 1 ..= to` (1-based) in one transaction and sets `user_version`
/// to `to`.
fn apply(conn: &mut Connection, from: usize, to: usize) -> Result<()> {
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[from..to] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", to as i64)?;
    tx.commit()
}

/// Applies only the first `to` migrations to a new database: an older axp's schema, for the
/// upgrade fixtures.
#[cfg(test)]
pub(crate) fn migrate_to(conn: &mut Connection, to: usize) -> Result<()> {
    let from = usize::try_from(version_of(conn)?).unwrap_or(0);
    apply(conn, from, to)
}
