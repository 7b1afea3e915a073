//! The SQLite backend under the engine's [`Ledger`]: the conformance suite, and what only a
//! single writer with in-memory counters can get wrong.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// How many times it ran.
    runs: Arc<AtomicUsize>,
    done: Option<tokio::sync::oneshot::Sender<bool>>,
}

impl FailsAfterWriting {
    /// The job, how many times it ran, and whether its batch committed, once it did.
    fn new(
        intent: &Intent,
        ws: axp_core::WorkspaceId,
    ) -> (Box<Self>, Arc<AtomicUsize>, tokio::sync::oneshot::Receiver<bool>) {
        let (done, committed) = tokio::sync::oneshot::channel();
        let runs = Arc::new(AtomicUsize::new(0));
        let job = Self { intent: intent.clone(), ws, runs: runs.clone(), done: Some(done) };
        (Box::new(job), runs, committed)
    }
}

impl Job for FailsAfterWriting {
    fn run<'a>(&'a mut self, tx: &'a mut dyn Transaction) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            self.runs.fetch_add(1, Ordering::SeqCst);
            let (i, now) = (&self.intent, Timestamp::from_millis(0));
            let item = QueueItem {
                workspace_id: self.ws,
                agent: &i.to_agent,
                intent_id: i.intent_id,
                queued_at: now,
                handed: false,
            };
            tx.enqueue(&item).await.unwrap();
            let who = [Participant { owner: &i.from_agent, unread: false }];
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

/// Holds the writer thread in its batch until the test opens it, so that what the test queues
/// meanwhile makes up the next batch.
struct Gate {
    entered: Option<tokio::sync::oneshot::Sender<()>>,
    open: std::sync::mpsc::Receiver<()>,
}

impl Job for Gate {
    fn run<'a>(&'a mut self, _: &'a mut dyn Transaction) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            if let Some(entered) = self.entered.take() {
                let _ = entered.send(());
            }
            self.open.recv().is_ok()
        })
    }

    fn error(&self) -> Option<&Error> {
        None
    }

    fn reply(self: Box<Self>, _: Result<(), Error>) {}
}

/// Waits until `n` jobs wait for the writer (it is held at a [`Gate`]).
async fn queued(backend: &SqliteStore, n: usize) {
    while backend.writer.queued() < n {
        tokio::task::yield_now().await;
    }
}

/// Creates `intent` in a task of its own (it is answered once its batch committed).
fn spawn_create(store: &Ledger, p: &Principal, (intent, events): (Intent, Vec<IntentEvent>)) -> Spawned {
    let (store, tenant) = (store.clone(), p.tenant.clone());
    tokio::spawn(async move { store.create_intent(&tenant, intent, events, None).await.map(|_| ()) })
}

type Spawned = tokio::task::JoinHandle<axp_store::Result<()>>;

/// The agent cursors of `worker`'s queue and the `change_seq`s of `sender`'s threads, each with
/// its intent.
async fn sequences(store: &Ledger, p: &Principal, worker: &str, sender: &str) -> [Vec<(u64, IntentId)>; 2] {
    let (changes, _) = store.thread_changes(&p.tenant, sender, 0, 100).await.unwrap();
    let agent = AgentAddress::from_trusted(worker.to_owned());
    let queue = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, Timestamp::from_millis(0));
    [
        queue.await.unwrap().iter().map(|d| (d.seq, d.intent_id)).collect(),
        changes.iter().map(|(seq, t)| (*seq, t.intent_id)).collect(),
    ]
}

/// The intents of `seqs`, in order, once checked that the values strictly increase (with gaps:
/// a value a rolled-back job took stays taken, `crate::counters`).
fn in_order(seqs: &[(u64, IntentId)]) -> Vec<IntentId> {
    assert!(seqs.windows(2).all(|w| w[0].0 < w[1].0), "{seqs:?}");
    seqs.iter().map(|s| s.1).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_leaves_no_trace_in_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (backend, store, _) = open(&dir);
    let (p, _) = axp_store::conformance::bootstrap(&store).await;
    let (first, events) = new_intent(&p, "worker");
    let (worker, sender) = (first.to_agent.clone(), first.from_agent.clone());
    store.create_intent(&p.tenant, first.clone(), events, None).await.unwrap();
    let ws = p.tenant.workspace_id;

    // The writer waits at the gate while a create, a job that fails after taking a cursor and a
    // change_seq, and another create queue up: they are its next batch, in that order.
    let (entered, at_gate) = tokio::sync::oneshot::channel();
    let (open_gate, gate) = std::sync::mpsc::channel();
    backend.write(Box::new(Gate { entered: Some(entered), open: gate })).await;
    at_gate.await.unwrap();
    let (a, b) = (new_intent(&p, "worker"), new_intent(&p, "worker"));
    let (a_id, b_id) = (a.0.intent_id, b.0.intent_id);
    let created_a = spawn_create(&store, &p, a);
    queued(&backend, 1).await;
    let (failing, runs, failed) = FailsAfterWriting::new(&first, ws);
    backend.write(failing).await;
    let created_b = spawn_create(&store, &p, b);
    queued(&backend, 3).await;
    open_gate.send(()).unwrap();

    assert!(failed.await.unwrap(), "the batch committed around the failed job");
    assert_eq!(runs.load(Ordering::SeqCst), 2, "run without savepoints, then again with them");
    created_a.await.unwrap().unwrap();
    created_b.await.unwrap().unwrap();

    // The batch right after one with a failed job starts with savepoints: a failing job runs once.
    let (failing, runs, failed) = FailsAfterWriting::new(&first, ws);
    backend.write(failing).await;
    assert!(failed.await.unwrap());
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // The failed jobs' queue items and thread touches are gone, and the creates around them
    // took later values, none repeated. (Delivering is a write with no failure.)
    let expected = vec![first.intent_id, a_id, b_id];
    let [queue, changes] = sequences(&store, &p, &worker, &sender).await;
    assert_eq!((in_order(&queue), in_order(&changes)), (expected.clone(), expected));

    // A batch after one with no failed job runs without savepoints first again.
    let (failing, runs, failed) = FailsAfterWriting::new(&first, ws);
    backend.write(failing).await;
    assert!(failed.await.unwrap());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let c = new_intent(&p, "worker");
    let c_id = c.0.intent_id;
    spawn_create(&store, &p, c).await.unwrap().unwrap();
    // Delivering the first three moved their threads on, in that order, before c's create.
    let expected = vec![first.intent_id, a_id, b_id, c_id];
    let [queue, changes] = sequences(&store, &p, &worker, &sender).await;
    assert_eq!((in_order(&queue), in_order(&changes)), (expected.clone(), expected));
}

#[test]
fn sqlite_is_built_without_memory_statistics() {
    // Set by LIBSQLITE3_FLAGS in .cargo/config.toml: statistics take a global mutex on every
    // allocation.
    let conn = r2d2_sqlite::rusqlite::Connection::open_in_memory().unwrap();
    let mut options = conn.prepare("PRAGMA compile_options").unwrap();
    let options: Vec<String> =
        options.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "compile options: {options:?}");
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

/// A workspace key given in a job that rolls back is gone with it (`keys.rs`): SQLite
/// may give the same number to the next new workspace, and the first must not then read that
/// one's rows, in this process or after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_key_rolled_back_is_not_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let (backend, store, _) = open(&dir);
    let (p, _) = axp_store::conformance::bootstrap(&store).await;
    let (spec, _) = axp_store::conformance::tenant_spec();
    let (first, second) = (p, store.create_tenant(spec).await.unwrap());
    // The first workspace's first keyed rows are written by a job that fails: its key goes.
    let (intent, _) = new_intent(&first, "worker");
    let (failing, _, committed) = FailsAfterWriting::new(&intent, first.tenant.workspace_id);
    backend.write(failing).await;
    assert!(committed.await.unwrap(), "the batch committed without the failed job");
    // The second workspace's first create takes the next key: the number the first had.
    let (other, events) = new_intent(&second, "worker");
    store.create_intent(&second.tenant, other.clone(), events, None).await.unwrap();
    only_its_own(&store, &first, &second, &intent, &other, "before a restart").await;
    drop((backend, store));
    let (_, store, _) = open(&dir);
    only_its_own(&store, &first, &second, &intent, &other, "after a restart").await;
}

/// `first` (whose job writing `failed` rolled back) reads nothing; `second` reads `created`.
async fn only_its_own(
    store: &Ledger,
    first: &Principal,
    second: &Principal,
    failed: &Intent,
    created: &Intent,
    at: &str,
) {
    let all = IntentFilter { limit: 10, ..Default::default() };
    assert!(store.list_intents(&first.tenant, &all).await.unwrap().is_empty(), "{at}");
    let worker = AgentAddress::parse("worker", &first.tenant.scope()).unwrap();
    let queue =
        store.deliver_to_agent(&first.tenant, &worker, 0, &Status::ALL, 10, Timestamp::from_millis(0));
    assert!(queue.await.unwrap().is_empty(), "{at}: the first workspace's queue is empty");
    let (threads, _) = store.thread_changes(&first.tenant, &failed.from_agent, 0, 10).await.unwrap();
    assert!(threads.is_empty(), "{at}: the first workspace's inbox is empty");
    let listed = store.list_intents(&second.tenant, &all).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.intent_id).collect::<Vec<_>>(), [created.intent_id], "{at}");
}

/// Names that already have a key, written to by a fresh process (nothing remembered), keep
/// their keys: `key_to_insert`'s insert finds them and does nothing, and the key is read. A new
/// name gets the next key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_key_not_remembered_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let agent_keys = || {
        let conn = r2d2_sqlite::rusqlite::Connection::open(dir.path().join("axp.db")).unwrap();
        let mut stmt = conn.prepare("SELECT key, agent_address FROM agent_keys ORDER BY key").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).unwrap();
        rows.collect::<Result<Vec<_>, _>>().unwrap()
    };
    let (p, first) = {
        let (_, store, _) = open(&dir);
        let (p, _) = axp_store::conformance::bootstrap(&store).await;
        let (intent, events) = new_intent(&p, "worker");
        store.create_intent(&p.tenant, intent.clone(), events, None).await.unwrap();
        (p, intent)
    };
    let before = agent_keys();
    let worker = AgentAddress::parse("worker", &p.tenant.scope()).unwrap();
    assert!(before.iter().any(|(_, a)| *a == worker.to_string()), "{before:?}");
    let (_, store, _) = open(&dir);
    let (again, events) = new_intent(&p, "worker");
    store.create_intent(&p.tenant, again.clone(), events, None).await.unwrap();
    let (other, events) = new_intent(&p, "other");
    store.create_intent(&p.tenant, other, events, None).await.unwrap();
    let after = agent_keys();
    let next = before.iter().map(|(k, _)| k).max().unwrap() + 1;
    let expected: Vec<_> = before
        .iter()
        .cloned()
        .chain([(next, AgentAddress::parse("other", &p.tenant.scope()).unwrap().to_string())])
        .collect();
    assert_eq!(after, expected, "the stored keys kept, one new key for the new address");
    let queue = store.deliver_to_agent(&p.tenant, &worker, 0, &Status::ALL, 10, Timestamp::from_millis(0));
    let queued: Vec<IntentId> = queue.await.unwrap().iter().map(|d| d.intent_id).collect();
    assert_eq!(
        queued,
        [first.intent_id, again.intent_id],
        "both creates reach the worker's queue under its key"
    );
}
