//! The SQLite backend under the engine's [`Ledger`]: the conformance suite, and what only a
//! single writer with in-memory counters can get wrong.

use std::sync::Arc;

use axp_core::{AgentAddress, Intent, IntentEvent, IntentId, Status, Timestamp};
use axp_engine::{Ledger, Presence};
use axp_store::{
    Backend, Error, IntentFilter, Job, NoListener, Participant, Principal, QueueItem, Store, Transaction,
};
use futures::future::BoxFuture;

use crate::SqliteStore;

fn open(dir: &tempfile::TempDir) -> (SqliteStore, Ledger, Presence) {
    let backend = SqliteStore::open(&dir.path().join("axp.db"), Arc::new(NoListener)).unwrap();
    let presence = Presence::default();
    let ledger = Ledger::new(Arc::new(backend.clone()), presence.clone());
    (backend, ledger, presence)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store, presence) = open(&dir);
    axp_store::conformance::run_all(&store).await;
    axp_store::conformance::hand_over_in_create(&store, &|ws, agent| Box::new(presence.enter(ws, agent)))
        .await;
}

fn new_intent(p: &Principal, to: &str) -> (Intent, Vec<IntentEvent>) {
    let to = AgentAddress::parse(to, &p.tenant.scope()).unwrap();
    let payload = serde_json::Map::new();
    axp_core::intent::NewIntent::new("notify.message.v1", to, payload).into_intent(
        IntentId::new(),
        &p.agent_address,
        Timestamp::from_millis(0),
    )
}

/// Queues an item for `intent` and touches its sender's thread, then fails.
struct FailsAfterWriting {
    intent: Intent,
    ws: axp_core::WorkspaceId,
    done: Option<tokio::sync::oneshot::Sender<bool>>,
}

impl Job for FailsAfterWriting {
    fn run<'a>(&'a mut self, tx: &'a mut dyn Transaction) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let (i, now) = (&self.intent, Timestamp::from_millis(0));
            let item = QueueItem {
                workspace_id: self.ws,
                agent: &i.to_agent,
                intent_id: i.intent_id,
                reason: "redelivery",
                queued_at: now,
                handed: false,
            };
            tx.enqueue(&item).await.unwrap();
            let who = [Participant { owner: &i.from_agent, role: "sender", unread: false }];
            tx.touch_participants(self.ws, i.intent_id, &who, now).await.unwrap();
            false
        })
    }

    fn error(&self) -> Option<&Error> {
        None
    }

    fn reply(mut self: Box<Self>, committed: Result<(), Error>) {
        let _ = self.done.take().unwrap().send(committed.is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_skip_nothing_and_repeat_nothing_after_a_rolled_back_job() {
    let dir = tempfile::tempdir().unwrap();
    let (backend, store, _) = open(&dir);
    let (p, _) = axp_store::conformance::bootstrap(&store).await;
    let (first, events) = new_intent(&p, "worker");
    let (worker, sender) = (first.to_agent.clone(), first.from_agent.clone());
    store.create_intent(&p.tenant, first.clone(), events, None).await.unwrap();
    // Jobs queued together share a batch when the writer is busy: one fails in the middle
    // after taking a cursor and a change_seq, the ones around it succeed.
    let (done, failed) = tokio::sync::oneshot::channel();
    let failing = backend.write(Box::new(FailsAfterWriting {
        intent: first,
        ws: p.tenant.workspace_id,
        done: Some(done),
    }));
    let (a, a_events) = new_intent(&p, "worker");
    let (b, b_events) = new_intent(&p, "worker");
    let ((), created_a, created_b) = tokio::join!(
        failing,
        store.create_intent(&p.tenant, a, a_events, None),
        store.create_intent(&p.tenant, b, b_events, None),
    );
    assert!(failed.await.unwrap(), "the batch committed around the failed job");
    created_a.unwrap();
    created_b.unwrap();

    let (changes, _) = store.thread_changes(&p.tenant, &sender, 0, 100).await.unwrap();
    assert_eq!(changes.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [1, 2, 3]);
    let agent = AgentAddress::from_trusted(worker);
    let queue = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, Timestamp::from_millis(0));
    assert_eq!(queue.await.unwrap().iter().map(|d| d.seq).collect::<Vec<_>>(), [1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let principal = {
        let (_, store, _) = open(&dir);
        axp_store::conformance::bootstrap(&store).await.0
    };
    let (_, store, _) = open(&dir);
    let again = axp_store::conformance::bootstrap_spec();
    assert!(store.bootstrap(again).await.unwrap().is_none(), "bootstrap runs once per database");
    let filter = IntentFilter { limit: 10, ..Default::default() };
    assert!(store.list_intents(&principal.tenant, &filter).await.unwrap().is_empty());
}
