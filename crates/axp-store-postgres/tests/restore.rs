//! A database restored into a cluster whose transaction ids are far behind the one it was
//! dumped from (`pg_dump`, then `pg_restore`; README, "Back up PostgreSQL") keeps its cursors in
//! order: the restored queue items and inbox changes read back, and what is written after them
//! comes after them (`cursors.rs`). Simulated on one cluster by moving every cursor far ahead,
//! as another cluster's transaction ids would put them.

use std::sync::Arc;

use axp_core::intent::NewIntent;
use axp_core::{AgentAddress, IntentId, Status, Timestamp};
use axp_engine::{Ledger, Presence};
use axp_store::{NoListener, Principal, Store};
use axp_store_postgres::testdb::test_database;
use axp_store_postgres::{PgOptions, PgStore};
use sqlx_core::pool::PoolOptions;
use sqlx_core::query_scalar::query_scalar;
use sqlx_core::raw_sql::raw_sql;
use sqlx_postgres::Postgres;

const T0: Timestamp = Timestamp::from_millis(1_780_000_000_000);

async fn connect(url: &str) -> (PgStore, Ledger) {
    let backend = PgStore::connect(url, PgOptions::default(), Arc::new(NoListener)).await.expect("connect");
    (backend.clone(), Ledger::new(Arc::new(backend), Presence::default()))
}

async fn create(store: &Ledger, p: &Principal) -> IntentId {
    let to = AgentAddress::parse("worker", &p.tenant.scope()).expect("address");
    let (intent, events) = NewIntent::new("notify.message.v1", to, serde_json::Map::new()).into_intent(
        IntentId::new(),
        &p.agent_address,
        T0,
    );
    store.create_intent(&p.tenant, intent, events, None).await.expect("create").intent_id
}

/// `p`'s worker's queue after `since`: (cursor, intent) in cursor order.
async fn queue(store: &Ledger, p: &Principal, since: u64) -> Vec<(u64, IntentId)> {
    let worker = AgentAddress::parse("worker", &p.tenant.scope()).expect("address");
    let page = store.deliver_to_agent(&p.tenant, &worker, since, &Status::ALL, 100, T0).await.expect("read");
    page.iter().map(|d| (d.seq, d.intent_id)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restored_into_a_younger_cluster_keeps_its_cursors_in_order() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the restore test");
        return;
    };
    let (backend, store) = connect(&db.url).await;
    let (p, _) = axp_store::conformance::bootstrap(&store).await;
    let old = create(&store, &p).await;
    backend.close().await;

    // The older cluster's cursors: 2^40 transactions ahead of this one's.
    let pool = PoolOptions::<Postgres>::new().max_connections(1).connect(&db.url).await.expect("pool");
    raw_sql(
        "UPDATE agent_queue SET cursor = cursor + (1::bigint << 60);
         UPDATE thread_participants SET change_seq = change_seq + (1::bigint << 60);
         UPDATE audit_log SET audit_id = audit_id + (1::bigint << 60);",
    )
    .execute(&pool)
    .await
    .expect("move the cursors ahead");

    let (backend, store) = connect(&db.url).await;
    let restored = queue(&store, &p, 0).await;
    assert_eq!(restored.iter().map(|q| q.1).collect::<Vec<_>>(), [old], "the restored item reads back");
    let old_cursor = restored[0].0;
    assert!(old_cursor > 1 << 60, "{old_cursor}");
    let sender = p.agent_address.as_str();
    let (changes, _) = store.thread_changes(&p.tenant, sender, 0, 100).await.expect("changes");
    assert_eq!(changes.iter().map(|c| c.1.thread_id).collect::<Vec<_>>(), [old], "the restored change");
    let old_change = changes[0].0;

    let new = create(&store, &p).await;
    assert_eq!(queue(&store, &p, old_cursor).await.iter().map(|q| q.1).collect::<Vec<_>>(), [new]);
    let (changes, _) = store.thread_changes(&p.tenant, sender, old_change, 100).await.expect("changes");
    assert_eq!(changes.iter().map(|c| c.1.thread_id).collect::<Vec<_>>(), [new], "a new change after it");
    backend.close().await;

    // Connecting again on the cluster the rows now come from moves nothing.
    let base = || query_scalar::<Postgres, i64>("SELECT xids FROM cursor_base").fetch_one(&pool);
    let before = base().await.expect("base");
    assert!(before > 0, "the base rose");
    let (backend, _) = connect(&db.url).await;
    backend.close().await;
    assert_eq!(base().await.expect("base"), before);
    pool.close().await;
}
