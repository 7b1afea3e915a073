//! The upgrade fixtures: a database of every older schema, filled, opened by the current store.
//!
//! For each migration step `k` (every entry of the migration list, so a new migration is
//! picked up by itself), a fresh database gets migrations `1..=k`, each followed by its fill
//! (`tests/upgrade/fill/NNNN.sql`: real rows of the current server, shaped as that step's
//! schema; `tests/upgrade/make_fills.py` writes them). The current [`SqliteStore`] then opens
//! it, which migrates the rest in one transaction, and the data must read back through the
//! [`Store`] API: no table loses a row, the fixture's admin key authenticates, and every intent
//! is readable with its events in `seq` order. A migration without a fill file fails here: a
//! schema change comes with the rows that show its migration of existing data works.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axp_engine::{Ledger, Presence};
use axp_store::{NoListener, Store};
use r2d2_sqlite::rusqlite::Connection;

use crate::SqliteStore;
use crate::schema::{migrate_to, schema_version};

/// The admin key of the data dir the fills were taken from (a throwaway test server's).
const FIXTURE_KEY: &str = "axme_sa_01a242d4-da8e-70d9-b92b-72156b5de14d_5d5587839bf776eb0e3bcefc2c1d519f52800ed428d565d1206834a98c60cd68";

/// The step that adds memberships: from it on, the fixture's admin is `org_owner`.
const MEMBERS_STEP: usize = 6;

fn fill(step: usize) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/upgrade/fill/{step:04}.sql"))
}

/// Rows per table of `conn` (sqlite's own tables left out).
fn row_counts(conn: &Connection) -> BTreeMap<String, u64> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
        .into_iter()
        .map(|name| {
            let rows: i64 =
                conn.query_row(&format!("SELECT COUNT(*) FROM \"{name}\""), [], |r| r.get(0)).unwrap();
            (name, rows as u64)
        })
        .collect()
}

/// A database at schema step `k` with the fills of steps `1..=k`; its rows per table.
fn fixture(path: &Path, k: usize) -> BTreeMap<String, u64> {
    let mut conn = Connection::open(path).unwrap();
    for step in 1..=k {
        migrate_to(&mut conn, step).unwrap();
        let sql = std::fs::read_to_string(fill(step)).unwrap_or_else(|e| {
            panic!(
                "migration {step} has no fill {}: {e}; write the rows its tables hold",
                fill(step).display()
            )
        });
        conn.execute_batch(&sql).unwrap_or_else(|e| panic!("fill {step:04}.sql at step {step}: {e}"));
    }
    row_counts(&conn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_every_older_schema_opens_with_its_data() {
    let steps = usize::try_from(schema_version()).unwrap();
    assert!(steps >= 14, "the migration list is read");
    for k in 1..=steps {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("axp.db");
        let before = fixture(&path, k);
        let backend = SqliteStore::open(&path, Arc::new(NoListener))
            .unwrap_or_else(|e| panic!("step {k}: the current store opens the database: {e}"));
        let store = Ledger::new(Arc::new(backend), Presence::default());
        let at = format!("a database of schema step {k}");
        let stats = store.maintenance().stats().await.unwrap();
        assert_eq!(stats.schema_version, schema_version(), "{at}: migrated to the end");
        axp_store::conformance::upgrade::upgraded(&store, FIXTURE_KEY, &before, k >= MEMBERS_STEP, &at).await;
    }
}

/// Migration 18 seeds the database-wide sequences from the rows already written: every
/// agent's and owner's next cursor is above all it has seen.
#[test]
fn the_sequences_start_above_every_cursor_already_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("axp.db");
    let steps = usize::try_from(schema_version()).unwrap();
    fixture(&path, steps);
    let conn = Connection::open(&path).unwrap();
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let (cursor, change) =
        (one("SELECT MAX(cursor) FROM agent_queue"), one("SELECT MAX(change_seq) FROM thread_participants"));
    assert!(cursor > 0 && change > 0, "the fills hold queue items and participants");
    assert_eq!(one("SELECT value FROM sequences WHERE name = 'agent_cursor'"), cursor);
    assert_eq!(one("SELECT value FROM sequences WHERE name = 'change_seq'"), change);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_a_newer_axp_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("axp.db");
    drop(SqliteStore::open(&path, Arc::new(NoListener)).unwrap());
    let newer = schema_version() + 1;
    Connection::open(&path).unwrap().pragma_update(None, "user_version", newer).unwrap();
    let err = SqliteStore::open(&path, Arc::new(NoListener)).err().expect("refused").to_string();
    assert!(err.contains(&format!("schema version {newer}")) && err.contains("newer axp"), "{err}");
    let version: i64 =
        Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, newer);
}

#[test]
fn pending_migrations_run_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("axp.db");
    let mut conn = Connection::open(&path).unwrap();
    migrate_to(&mut conn, 1).unwrap();
    // A table a later migration creates, made here, fails that migration midway.
    conn.execute_batch("CREATE TABLE webhook_subscriptions (x)").unwrap();
    drop(conn);
    assert!(crate::migrate_file(&path).is_err());
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 1, "no migration of the failed run is kept");
    let timers: i64 =
        conn.query_row("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'timers'", [], |r| r.get(0)).unwrap();
    assert_eq!(timers, 0, "migration 2's table was rolled back with the rest");
}
