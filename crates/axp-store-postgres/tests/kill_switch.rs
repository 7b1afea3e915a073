//! The mesh kill switch is checked on every create from a per-replica cache of killed agents:
//! a kill or resume is seen at once on the replica that made it and on the others once its
//! notification arrives; until something changes, a replica answers from its cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axp_engine::{Ledger, Presence};
use axp_store::{Audit, MeshStore, NoListener, Tenant};
use axp_store_postgres::testdb::test_database;
use axp_store_postgres::{PgOptions, PgStore};

const T0: axp_core::Timestamp = axp_core::Timestamp::from_millis(1_780_000_000_000);

async fn killed(store: &Ledger, tenant: &Tenant, address: &str) -> bool {
    store.killed_agents(tenant).await.expect("killed agents").contains(address)
}

/// Waits (bounded) until replica `store` sees `address` as `want`.
async fn until_seen(store: &Ledger, tenant: &Tenant, address: &str, want: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while killed(store, tenant, address).await != want {
        assert!(Instant::now() < deadline, "the other replica still has the old kill switch");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_and_a_resume_reach_every_replica_cache() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the kill switch test");
        return;
    };
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let backend =
            PgStore::connect(&db.url, PgOptions::default(), Arc::new(NoListener)).await.expect("connect");
        replicas.push((backend.clone(), Ledger::new(Arc::new(backend), Presence::default())));
    }
    let (a, b) = (&replicas[0].1, &replicas[1].1);
    let (p, _) = axp_store::conformance::bootstrap(a).await;
    let admin = p.agent_address.as_str().to_owned();
    let sa = p.actor.service_account().expect("a key's principal");
    // Wait until both replicas listen (their caches serve once they do), then: both cache
    // "nobody is killed", and a second look is the same cached set (no database read).
    until_seen(a, &p.tenant, &admin, false).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (first, second) =
            (b.killed_agents(&p.tenant).await.unwrap(), b.killed_agents(&p.tenant).await.unwrap());
        if Arc::ptr_eq(&first, &second) {
            break;
        }
        assert!(Instant::now() < deadline, "replica b never caches the killed set");
        tokio::task::yield_now().await;
    }

    b.set_agent_killed(&p.tenant, sa, true, T0, &Audit::server()).await.expect("kill");
    assert!(killed(b, &p.tenant, &admin).await, "the killing replica sees it at once");
    until_seen(a, &p.tenant, &admin, true).await;

    a.set_agent_killed(&p.tenant, sa, false, T0, &Audit::server()).await.expect("resume");
    assert!(!killed(a, &p.tenant, &admin).await);
    until_seen(b, &p.tenant, &admin, false).await;
    for (backend, _) in replicas {
        backend.close().await;
    }
}
