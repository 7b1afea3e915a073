//! Each replica caches agents' records and subscriptions across transactions: a change is seen
//! at once on the replica that made it, and on the others once its notification arrives.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axp_core::AgentAddress;
use axp_core::delivery::Binding;
use axp_engine::{Ledger, Presence};
use axp_store::{Audit, BindingUpdate, NoListener, PushEndpoint, Store};
use axp_store_postgres::testdb::test_database;
use axp_store_postgres::{PgOptions, PgStore};

const T0: axp_core::Timestamp = axp_core::Timestamp::from_millis(1_780_000_000_000);

fn binding(mode: Binding) -> BindingUpdate {
    let push = (mode == Binding::Http)
        .then(|| PushEndpoint { url: "http://127.0.0.1:9/hook".into(), secret: "whsec_c2VjcmV0".into() });
    BindingUpdate { delivery_mode: mode, push, lease_seconds: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_change_reaches_every_replica_cache() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the row cache test");
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
    let admin = p.agent_address.clone();
    let seen_by = |store: &Ledger| {
        let (tenant, admin) = (p.tenant.clone(), admin.clone());
        let store = store.clone();
        async move { store.find_agent(&tenant, &admin).await.expect("find").expect("exists").delivery_mode }
    };
    // Both replicas cache the admin's record (streams by default).
    assert_eq!(seen_by(a).await, Binding::Stream);
    assert_eq!(seen_by(b).await, Binding::Stream);

    // The replica that changes it sees the change at once.
    b.set_agent_binding(&p.tenant, &admin, binding(Binding::Poll), T0, &Audit::server()).await.expect("set");
    assert_eq!(seen_by(b).await, Binding::Poll);
    // The other sees it once the notification arrives (milliseconds; bounded here).
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen_by(a).await != Binding::Poll {
        assert!(Instant::now() < deadline, "replica a still serves the old binding");
        tokio::task::yield_now().await;
    }
    let unknown = AgentAddress::parse("nobody", &p.tenant.scope()).expect("address");
    assert!(a.find_agent(&p.tenant, &unknown).await.expect("find").is_none());
    for (backend, _) in replicas {
        backend.close().await;
    }
}
