//! The store conformance suite against PostgreSQL, on a fresh database per run. Skipped (with a
//! note) unless `AXP_TEST_DATABASE_URL` names a server to create it on; with it set, a server
//! that cannot be reached fails these tests.

use std::sync::Arc;

use axp_engine::{Ledger, Presence};
use axp_store::{NoListener, Store};
use axp_store_postgres::testdb::test_database;
use axp_store_postgres::{PgOptions, PgStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the PostgreSQL conformance suite");
        return;
    };
    let backend =
        PgStore::connect(&db.url, PgOptions::default(), Arc::new(NoListener)).await.expect("connect");
    let presence = Presence::default();
    let store = Ledger::new(Arc::new(backend.clone()), presence.clone());
    axp_store::conformance::run_all(&store).await;
    axp_store::conformance::hand_over_in_create(&store, &|ws, agent| Box::new(presence.enter(ws, agent)))
        .await;
    backend.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connects_migrate_and_bootstrap_once() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the concurrent-start test");
        return;
    };
    // Three replicas starting at once on an empty database.
    let stores = futures::future::try_join_all(
        (0..3).map(|_| PgStore::connect(&db.url, PgOptions::default(), Arc::new(NoListener))),
    )
    .await
    .expect("all connect");
    let ledgers: Vec<Ledger> =
        stores.iter().map(|s| Ledger::new(Arc::new(s.clone()), Presence::default())).collect();
    let boots = futures::future::try_join_all(
        ledgers.iter().map(|s| s.bootstrap(axp_store::conformance::bootstrap_spec())),
    )
    .await
    .expect("bootstrap");
    assert_eq!(boots.iter().filter(|b| b.is_some()).count(), 1, "one replica bootstraps");
    for s in &stores {
        s.close().await;
    }
}
