//! A commit on one replica wakes the others: the topics it touched (an intent, an agent's
//! queue, a schema) arrive on every other replica's commit listener through `NOTIFY`, without
//! waiting for a reader's fallback read.

use std::sync::Arc;
use std::time::Duration;

use axp_core::intent::NewIntent;
use axp_core::{AgentAddress, IntentId, Timestamp};
use axp_engine::{Ledger, Presence};
use axp_store::{Audit, CommitListener, NoListener, Store, Topic};
use axp_store_postgres::testdb::test_database;
use axp_store_postgres::{PgOptions, PgStore};
use tokio::sync::mpsc;

const T0: Timestamp = Timestamp::from_millis(1_780_000_000_000);

/// What a replica's listener heard.
#[derive(Debug)]
enum Heard {
    Listening,
    Committed(Topic),
}

struct Recorder(mpsc::UnboundedSender<Heard>);

impl CommitListener for Recorder {
    fn committed(&self, topics: &[Topic]) {
        for topic in topics {
            let _ = self.0.send(Heard::Committed(topic.clone()));
        }
    }

    fn listening(&self, heard: bool) {
        if heard {
            let _ = self.0.send(Heard::Listening);
        }
    }
}

/// What a replica heard so far.
struct Ear {
    rx: mpsc::UnboundedReceiver<Heard>,
    listening: bool,
    topics: Vec<Topic>,
}

impl Ear {
    /// Waits (bounded) until what was heard so far satisfies `want`.
    async fn until(&mut self, what: &str, want: impl Fn(&Ear) -> bool) {
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while !want(self) {
                match self.rx.recv().await {
                    Some(Heard::Listening) => self.listening = true,
                    Some(Heard::Committed(topic)) => self.topics.push(topic),
                    None => panic!("the listener stopped before {what}"),
                }
            }
        });
        found.await.unwrap_or_else(|_| panic!("the other replica never heard {what}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_one_replica_wakes_the_other() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the wake-up test");
        return;
    };
    let a = PgStore::connect(&db.url, PgOptions::default(), Arc::new(NoListener)).await.expect("connect a");
    let (tx, rx) = mpsc::unbounded_channel();
    let b = PgStore::connect(&db.url, PgOptions::default(), Arc::new(Recorder(tx))).await.expect("connect b");
    let mut ear = Ear { rx, listening: false, topics: Vec::new() };
    ear.until("its LISTEN start", |e| e.listening).await;
    let ledger = Ledger::new(Arc::new(a.clone()), Presence::default());
    let (p, _) = axp_store::conformance::bootstrap(&ledger).await;

    // A create on `a`: its intent's and the agent's topics reach `b`.
    let to = AgentAddress::parse("sleeper", &p.tenant.scope()).expect("address");
    let (intent, events) = NewIntent::new("notify.message.v1", to.clone(), serde_json::Map::new())
        .into_intent(IntentId::new(), &p.agent_address, T0);
    let id = ledger.create_intent(&p.tenant, intent, events, None).await.expect("create").intent_id;
    let agent = Topic::Agent(p.tenant.workspace_id, to.as_str().to_owned());
    ear.until("the intent's and the agent's topics", |e| {
        e.topics.contains(&Topic::Intent(id)) && e.topics.contains(&agent)
    })
    .await;

    // A schema upsert on `a` (every replica's schema cache starts over on its topic).
    ear.topics.clear();
    let body = serde_json::json!({
        "semantic_type": "test.wake.thing.v1",
        "schema_json": {"type": "object"},
        "compatibility_mode": "warn",
    });
    let request =
        axp_core::schema::upsert_request(body.as_object().expect("an object")).expect("a valid upsert");
    ledger.upsert_schema(&p.tenant, request, None, T0, &Audit::server()).await.expect("upsert schema");
    ear.until("the schema's topic", |e| e.topics.contains(&Topic::Schemas)).await;
    a.close().await;
    b.close().await;
}
