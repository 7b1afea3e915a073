//! A commit on one replica wakes the others: the topics it touched (an intent, an agent's
//! queue, a schema) arrive on every other replica's commit listener through `NOTIFY`, without
//! waiting for a reader's fallback read.

use std::sync::Arc;
use std::time::Duration;

use axp_core::intent::NewIntent;
use axp_core::{AgentAddress, IntentId, Timestamp};
use axp_engine::{Ledger, Notifier, Presence, Subscription};
use axp_store::{Audit, CommitListener, NoListener, Store, Topic};
use axp_store_postgres::testdb::test_database;
use axp_store_postgres::{PgOptions, PgStore};
use tokio::sync::watch;

const T0: Timestamp = Timestamp::from_millis(1_780_000_000_000);

/// Replica `b`'s commit listener: the engine's [`Notifier`], as the server's, and whether `b`
/// hears other replicas yet (a notification sent before it listens is not for it).
struct Heard {
    notifier: Notifier,
    listening: watch::Sender<bool>,
}

impl CommitListener for Heard {
    fn committed(&self, topics: &[Topic]) {
        self.notifier.committed(topics);
    }

    fn listening(&self, heard: bool) {
        self.listening.send_replace(heard);
    }
}

/// Waits (bounded) until a commit touches `sub`'s topic.
async fn woken(sub: &mut Subscription, what: &str) {
    tokio::time::timeout(Duration::from_secs(10), sub.changed())
        .await
        .unwrap_or_else(|_| panic!("the other replica never heard {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_one_replica_wakes_the_other() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the wake-up test");
        return;
    };
    let a = PgStore::connect(&db.url, PgOptions::default(), Arc::new(NoListener)).await.expect("connect a");
    let (notifier, (listening, mut listens)) = (Notifier::new(), watch::channel(false));
    let heard = Heard { notifier: notifier.clone(), listening };
    let b = PgStore::connect(&db.url, PgOptions::default(), Arc::new(heard)).await.expect("connect b");
    tokio::time::timeout(Duration::from_secs(10), listens.wait_for(|on| *on))
        .await
        .expect("b listens")
        .expect("b's listener is alive");
    let ledger = Ledger::new(Arc::new(a.clone()), Presence::default());
    let (p, _) = axp_store::conformance::bootstrap(&ledger).await;

    // A create on `a`: its intent's and the agent's topics reach `b`.
    let (id, to) = (IntentId::new(), AgentAddress::parse("sleeper", &p.tenant.scope()).expect("address"));
    // Subscribed before the writes: a fresh subscription waits for the next commit.
    let mut intent_sub = notifier.subscribe(Topic::Intent(id));
    let mut agent_sub = notifier.subscribe(Topic::Agent(p.tenant.workspace_id, to.as_str().to_owned()));
    let mut schemas_sub = notifier.subscribe(Topic::Schemas);
    let (intent, events) =
        NewIntent::new("notify.message.v1", to, serde_json::Map::new()).into_intent(id, &p.agent_address, T0);
    ledger.create_intent(&p.tenant, intent, events, None).await.expect("create");
    woken(&mut intent_sub, "the intent's topic").await;
    woken(&mut agent_sub, "the agent's topic").await;

    // A schema upsert on `a` (every replica's schema cache starts over on its topic).
    schemas_sub.mark_seen();
    let body = serde_json::json!({
        "semantic_type": "test.wake.thing.v1",
        "schema_json": {"type": "object"},
        "compatibility_mode": "warn",
    });
    let request =
        axp_core::schema::upsert_request(body.as_object().expect("an object")).expect("a valid upsert");
    ledger.upsert_schema(&p.tenant, request, None, T0, &Audit::server()).await.expect("upsert schema");
    woken(&mut schemas_sub, "the schema's topic").await;
    a.close().await;
    b.close().await;
}
