//! Retention on the SQLite file itself: a removed intent leaves no row behind in any table,
//! the steps that are not an intent's remove what is past them, and a new file gives freed
//! pages back to the file system.

use std::sync::Arc;

use axp_core::lifecycle::{Command, Request, Resolution};
use axp_core::{Status, Timestamp};
use axp_engine::{Ledger, Presence};
use axp_store::{Audit, IdempotencyClaim, NoListener, PruneStep, RetentionStore, Store};
use r2d2_sqlite::rusqlite::Connection;
use serde_json::json;

use crate::SqliteStore;

/// Every table with a column naming an intent, and that column.
const BY_INTENT: [(&str, &str); 9] = [
    ("intents", "intent_id"),
    ("intent_events", "intent_id"),
    ("agent_queue", "intent_id"),
    ("timers", "intent_id"),
    ("thread_participants", "thread_id"),
    ("thread_entries", "thread_id"),
    ("approvals", "approval_id"),
    ("deliveries", "intent_id"),
    ("routed_deliveries", "intent_id"),
];

/// An intent id in both forms the tables store it in: UUID text, and 16 bytes in the tables
/// that grow by rows per intent (migration 0023); an SQL list.
fn stored(id: axp_core::IntentId) -> String {
    format!("('{id}', X'{}')", id.0.simple())
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn open(path: &std::path::Path) -> Ledger {
    let backend = SqliteStore::open(path, Arc::new(NoListener)).unwrap();
    Ledger::new(Arc::new(backend), Presence::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_intent_leaves_no_row_and_the_space_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("axp.db");
    let store = open(&path);
    let (p, _) = axp_store::conformance::bootstrap(&store).await;
    let ws = p.tenant.workspace_id;
    let t0 = Timestamp::from_millis(1_780_000_000_000);
    let mut ids = Vec::new();
    let payload = json!({"text": "x".repeat(2_000)}).as_object().cloned().unwrap();
    for n in 0..300 {
        let to = axp_core::AgentAddress::parse("agent://retained/receiver", &p.tenant.scope()).unwrap();
        let (mut intent, events) = axp_core::intent::NewIntent::new("notify.message.v1", to, payload.clone())
            .into_intent(axp_core::IntentId::new(), &p.agent_address, t0);
        intent.deadline_at = Some(t0.plus_seconds(86_400));
        let id = intent.intent_id;
        let claim = IdempotencyClaim {
            caller: uuid::Uuid::new_v4(),
            route: "POST /v1/intents".into(),
            key: format!("k{n}"),
            fingerprint: "f".into(),
            expires_at: t0.plus_seconds(86_400),
            now: t0,
        };
        store.create_intent(&p.tenant, intent, events, Some(claim)).await.unwrap();
        let done = Command::Resolve(Resolution::Completed(json!({"ok": true})));
        let request = Request {
            command: done,
            caller: None,
            actor: "agent://x/y/z".into(),
            expected_policy_generation: None,
        };
        let out =
            store.execute(&p.tenant, id, request, t0.plus_seconds(1), None, &Audit::server()).await.unwrap();
        assert_eq!(out.intent.status, Status::Completed);
        ids.push(id);
    }
    let conn = Connection::open(&path).unwrap();
    assert_eq!(count(&conn, "PRAGMA auto_vacuum"), 2, "a new file is in incremental auto-vacuum mode");
    for table in ["intents", "intent_events", "agent_queue", "thread_participants"] {
        let column = BY_INTENT.iter().find(|(t, _)| *t == table).unwrap().1;
        let rows =
            count(&conn, &format!("SELECT count(*) FROM {table} WHERE {column} IN {}", stored(ids[0])));
        assert!(rows > 0, "before removal, {table} has rows of the intent");
    }

    let before = std::fs::metadata(&path).unwrap().len()
        + std::fs::metadata(dir.path().join("axp.db-wal")).unwrap().len();
    let removed = store.remove_finished_intents(ws, ids.clone()).await.unwrap();
    assert_eq!(removed, 300);
    for (table, column) in BY_INTENT {
        for id in &ids {
            let left =
                count(&conn, &format!("SELECT count(*) FROM {table} WHERE {column} IN {}", stored(*id)));
            assert_eq!(left, 0, "{table} still has a row of {id}");
        }
    }
    // Idempotency records go once expired (24 h), not with their intent.
    assert_eq!(count(&conn, "SELECT count(*) FROM idempotency"), 300);
    assert_eq!(store.prune(PruneStep::ExpiredIdempotency(t0.plus_seconds(86_399)), 1_000).await.unwrap(), 0);
    assert_eq!(store.prune(PruneStep::ExpiredIdempotency(t0.plus_seconds(86_401)), 100).await.unwrap(), 100);
    assert_eq!(
        store.prune(PruneStep::ExpiredIdempotency(t0.plus_seconds(86_401)), 1_000).await.unwrap(),
        200
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM idempotency"), 0);

    store.reclaim_space(100_000).await.unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let after = std::fs::metadata(&path).unwrap().len();
    assert_eq!(count(&conn, "PRAGMA freelist_count"), 0, "freed pages went back to the file system");
    assert!(after < before / 2, "the file shrank: {before} -> {after} bytes");
}
