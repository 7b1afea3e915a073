//! Cursors become visible in order under concurrent writers (contract §4.11; the rule of
//! `axp_store::tables::QueueTable`): three replicas' writer lanes create intents for two agents
//! at once while readers follow each agent's queue and the sender's inbox change feed by
//! cursor, each always resuming after the highest cursor it has seen, as the SDKs do. A cursor
//! that committed before a lower one would make a reader step over the lower one for good; at
//! the end every reader must have seen every intent.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axp_core::intent::NewIntent;
use axp_core::{AgentAddress, IntentId, Status, Timestamp};
use axp_engine::{Ledger, Presence};
use axp_store::{NoListener, Principal, Store};
use axp_store_postgres::testdb::test_database;
use axp_store_postgres::{PgOptions, PgStore};

const WRITERS: usize = 12;
const PER_WRITER: usize = 60;
const AGENTS: [&str; 2] = ["left", "right"];
const T0: Timestamp = Timestamp::from_millis(1_780_000_000_000);

async fn create(store: &Ledger, p: &Principal, agent: &str) -> IntentId {
    let to = AgentAddress::parse(agent, &p.tenant.scope()).expect("address");
    let (intent, events) = NewIntent::new("notify.message.v1", to, serde_json::Map::new()).into_intent(
        IntentId::new(),
        &p.agent_address,
        T0,
    );
    store.create_intent(&p.tenant, intent, events, None).await.expect("create").intent_id
}

/// Reads after the writers are done that must find nothing before a reader stops (a read waits
/// for rows held back behind the horizon only so long).
const EMPTY_READS: u32 = 3;

/// Follows `agent`'s queue from cursor 0 until `done` and [`EMPTY_READS`] empty reads after it;
/// returns the intents seen. Panics on a cursor that does not increase.
async fn follow_queue(
    store: Ledger,
    p: Principal,
    agent: &'static str,
    done: Arc<AtomicBool>,
) -> HashSet<IntentId> {
    let address = AgentAddress::parse(agent, &p.tenant.scope()).expect("address");
    let (mut since, mut seen, mut empty) = (0, HashSet::new(), 0);
    loop {
        let finished = done.load(Ordering::Acquire);
        let page =
            store.deliver_to_agent(&p.tenant, &address, since, &Status::ALL, 500, T0).await.expect("read");
        for item in &page {
            assert!(item.seq > since, "cursor {} after {since}", item.seq);
            since = item.seq;
            seen.insert(item.intent_id);
        }
        empty = if finished && page.is_empty() { empty + 1 } else { 0 };
        if empty == EMPTY_READS {
            return seen;
        }
        tokio::task::yield_now().await;
    }
}

/// Follows the sender's inbox change feed as [`follow_queue`] follows a queue.
async fn follow_inbox(store: Ledger, p: Principal, done: Arc<AtomicBool>) -> HashSet<IntentId> {
    let (mut after, mut seen, mut empty) = (0, HashSet::new(), 0);
    loop {
        let finished = done.load(Ordering::Acquire);
        let (page, _) =
            store.thread_changes(&p.tenant, p.agent_address.as_str(), after, 500).await.expect("read");
        for (cursor, thread) in &page {
            assert!(*cursor > after, "change cursor {cursor} after {after}");
            after = *cursor;
            seen.insert(thread.thread_id);
        }
        empty = if finished && page.is_empty() { empty + 1 } else { 0 };
        if empty == EMPTY_READS {
            return seen;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_following_cursors_miss_nothing_under_concurrent_writers() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the cursor visibility test");
        return;
    };
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let backend =
            PgStore::connect(&db.url, PgOptions::default(), Arc::new(NoListener)).await.expect("connect");
        replicas.push((backend.clone(), Ledger::new(Arc::new(backend), Presence::default())));
    }
    let (p, _) = axp_store::conformance::bootstrap(&replicas[0].1).await;
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for (i, agent) in AGENTS.iter().enumerate() {
        let store = replicas[i % 3].1.clone();
        readers.push(tokio::spawn(follow_queue(store, p.clone(), agent, done.clone())));
    }
    let inbox = tokio::spawn(follow_inbox(replicas[2].1.clone(), p.clone(), done.clone()));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, p) = (replicas[w % 3].1.clone(), p.clone());
            tokio::spawn(async move {
                let mut ids = Vec::with_capacity(PER_WRITER);
                for n in 0..PER_WRITER {
                    let agent = AGENTS[(w + n) % AGENTS.len()];
                    ids.push((agent, create(&store, &p, agent).await));
                }
                ids
            })
        })
        .collect();
    let mut created: Vec<(&str, IntentId)> = Vec::new();
    for w in writers {
        created.extend(w.await.expect("writer"));
    }
    done.store(true, Ordering::Release);

    for (agent, reader) in AGENTS.iter().zip(readers) {
        let seen = reader.await.expect("reader");
        let expected: HashSet<IntentId> =
            created.iter().filter(|(a, _)| a == agent).map(|(_, id)| *id).collect();
        let missed = expected.difference(&seen).count();
        assert_eq!(missed, 0, "{agent}'s reader missed {missed} of {} intents", expected.len());
    }
    let seen = inbox.await.expect("inbox reader");
    let missed = created.iter().filter(|(_, id)| !seen.contains(id)).count();
    assert_eq!(missed, 0, "the inbox reader missed {missed} of {} threads", created.len());
    for (backend, _) in replicas {
        backend.close().await;
    }
}
