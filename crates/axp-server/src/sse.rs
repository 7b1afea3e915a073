//! Server-Sent Events: the framing of contract §4.5 and the loop behind both streams.
//!
//! A stream response replays what the store has after the client's cursor, then waits for
//! commit wake-ups and sends what is new, until `wait_seconds` have passed (then
//! `event: stream.timeout` and close), a terminal event has been sent (close), the client goes
//! away, or the server shuts down. An agent stream also ends (with `stream.timeout`) as soon as
//! it has sent everything queued for the agent, once it has sent anything (§4.11: the official
//! TypeScript and Go SDKs read the whole body before handing out a frame). Every frame is read from the store by cursor; wake-ups only
//! say "look again", so a missed wake-up delays a frame and never loses it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axp_core::api::AgentDelivery;
use axp_core::ids::{IntentId, WorkspaceId};
use axp_core::{AgentAddress, IntentEvent, Status};
use axp_engine::{Notifier, PresenceGuard, SchemaCache, Subscription, Wake, wait_until};
use axp_store::{CommitListener, Tenant, Topic};
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::state::AppState;
use crate::streams::StreamSlot;

/// Frames read from the store per round trip.
pub(crate) const BATCH: u32 = 200;

/// Whether `path` is one of the SSE streams: `GET /v1/intents/{id}/events/stream` and
/// `GET /v1/agents/{address...}/intents/stream` (contract §4.5, §4.11) both end in `/stream`,
/// and no other route does.
pub(crate) fn is_stream(path: &str) -> bool {
    path.ends_with("/stream")
}

/// Idle time after which a `: keepalive` comment is sent (contract §4.5: at most 10 s).
const KEEPALIVE: Duration = Duration::from_secs(10);

/// One SSE frame: `id: <id>\nevent: <event>\ndata: <one-line JSON>\n\n`.
#[derive(Clone)]
pub(crate) struct Frame {
    id: u64,
    bytes: Bytes,
    terminal: bool,
}

impl Frame {
    fn new(id: u64, event: &str, data: &str, terminal: bool) -> Self {
        let mut s = String::with_capacity(data.len() + event.len() + 32);
        s.push_str("id: ");
        s.push_str(&id.to_string());
        s.push_str("\nevent: ");
        s.push_str(event);
        s.push_str("\ndata: ");
        s.push_str(data);
        s.push_str("\n\n");
        Self { id, bytes: Bytes::from(s), terminal }
    }

    /// A lifecycle event; terminal events end the stream.
    pub(crate) fn event(e: &IntentEvent) -> Self {
        let data = serde_json::to_string(e).unwrap_or_default();
        Self::new(e.seq, e.event_type.as_str(), &data, e.is_terminal())
    }

    /// An agent delivery (`seq` is the agent cursor).
    pub(crate) fn delivery(d: &AgentDelivery) -> Self {
        let data = serde_json::to_string(d).unwrap_or_default();
        Self::new(d.seq, "intent.delivered", &data, false)
    }
}

/// What a stream reads.
pub(crate) enum Source {
    /// An intent's lifecycle events (§4.5); the cursor is the event `seq`.
    Intent(IntentId),
    /// An agent's deliveries (§4.11); the cursor is the agent's delivery cursor.
    Agent { address: AgentAddress, statuses: Vec<Status> },
}

impl Source {
    /// Reads the frames after `cursor`. Call right after marking the subscription's wake-ups
    /// seen: intent events may then come from a read shared with streams woken by the same
    /// commits.
    pub(crate) async fn fetch(
        &self,
        state: &AppState,
        tenant: &Tenant,
        cursor: u64,
    ) -> Result<Vec<Frame>, axp_store::Error> {
        self.read(state, tenant, cursor, false).await
    }

    /// As [`Source::fetch`]; `fresh` asks for a read of its own, never a shared one (after a
    /// fallback poll, which no commit counter stands for).
    async fn read(
        &self,
        state: &AppState,
        tenant: &Tenant,
        cursor: u64,
        fresh: bool,
    ) -> Result<Vec<Frame>, axp_store::Error> {
        match self {
            Source::Intent(id) => {
                let seen = if fresh { u64::MAX } else { state.reads.count(*id) };
                let load = || state.store.events_since(tenant, *id, cursor, BATCH);
                state.reads.frames(tenant.workspace_id, *id, cursor, seen, load).await
            }
            Source::Agent { address, statuses } => {
                let now = state.clock.now();
                let deliveries =
                    state.store.deliver_to_agent(tenant, address, cursor, statuses, BATCH, now).await?;
                Ok(deliveries.iter().map(Frame::delivery).collect())
            }
        }
    }

    /// Whether the stream ends once it has sent what was queued (agent streams, §4.11), rather
    /// than waiting for more until `wait_seconds` (intent streams, §4.5).
    fn ends_once_drained(&self) -> bool {
        matches!(self, Source::Agent { .. })
    }

    /// `event: stream.timeout` with the cursor to resume from (§4.5, §4.11).
    fn timeout_frame(&self, cursor: u64) -> Bytes {
        let field = match self {
            Source::Intent(_) => "next_seq",
            Source::Agent { .. } => "next_since",
        };
        Bytes::from(format!("event: stream.timeout\ndata: {{\"ok\":true,\"{field}\":{cursor}}}\n\n"))
    }
}

/// Starts streaming. `subscription` must have been taken (and marked seen) before `first` was
/// read, so nothing committed in between is missed; `slot` is held until the stream ends.
///
/// The response body is the stream loop itself: it runs inside the connection's task when
/// hyper asks for the next frame, so a stream costs no task or channel of its own, and ends
/// (dropping its subscription) as soon as hyper drops the body.
#[allow(clippy::too_many_arguments)] // one call per stream route; a struct would only rename them
pub(crate) fn stream(
    state: AppState,
    slot: StreamSlot,
    tenant: Tenant,
    source: Source,
    subscription: Subscription,
    since: u64,
    wait: Duration,
    first: Vec<Frame>,
) -> Response {
    let presence = match &source {
        Source::Agent { address, .. } => Some(state.presence.enter(tenant.workspace_id, address.as_str())),
        Source::Intent(_) => None,
    };
    let full = first.len() >= BATCH as usize;
    let streamer = Streamer {
        deadline: Instant::now() + wait,
        last_sent: Instant::now(),
        state,
        tenant,
        source,
        subscription,
        cursor: since,
        pending: first.into_iter(),
        full,
        sent: false,
        done: false,
        _presence: presence,
        _slot: slot,
    };
    let body = Body::from_stream(futures::stream::unfold(streamer, |mut s| async move {
        s.next().await.map(|bytes| (Ok::<_, Infallible>(bytes), s))
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// One stream's position and what it still has to send.
struct Streamer {
    state: AppState,
    tenant: Tenant,
    source: Source,
    subscription: Subscription,
    /// The id of the last frame handed out (or the client's resume cursor).
    cursor: u64,
    /// Read but not yet handed out.
    pending: std::vec::IntoIter<Frame>,
    /// The last read filled a whole batch: read again without waiting for a wake-up.
    full: bool,
    /// A frame went out on this stream.
    sent: bool,
    /// A terminal or timeout frame went out: the stream ends.
    done: bool,
    /// When `wait_seconds` are over (then `stream.timeout`).
    deadline: Instant,
    /// When the last bytes were handed out (for keep-alives).
    last_sent: Instant,
    /// Counts this stream as an open agent stream while it lives.
    _presence: Option<PresenceGuard>,
    /// Counts this stream against its key's and workspace's caps while it lives.
    _slot: StreamSlot,
}

impl Streamer {
    /// The next bytes to send, or `None` when the stream is over.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.done {
                return None;
            }
            if let Some(frame) = self.pending.next() {
                self.cursor = frame.id;
                self.last_sent = Instant::now();
                self.sent = true;
                self.done = frame.terminal;
                return Some(frame.bytes);
            }
            if self.sent && !self.full && self.source.ends_once_drained() {
                // Everything queued went out: resume from here on the next request (§4.11).
                self.done = true;
                return Some(self.source.timeout_frame(self.cursor));
            }
            // `fresh`: woken by the fallback poll, not by a commit; the read must not be shared
            // (a lost wake-up's commit is not counted in the shared reads' versions).
            let fresh = if self.full {
                false
            } else {
                let wake = wait_until(
                    self.state.clock.as_ref(),
                    // The deadline and keep-alive are connection time (tokio's), not wall-clock
                    // instants: they race the wait below instead.
                    None,
                    self.subscription.changed(),
                    &self.state.shutdown,
                    self.state.options.poll_interval,
                );
                tokio::select! {
                    wake = wake => match wake {
                        Wake::Woken | Wake::Due => false,
                        Wake::Fallback => true,
                        // Shutdown: tell the client where to resume (§4.5, §4.11; issue 12).
                        Wake::Cancelled => {
                            self.done = true;
                            return Some(self.source.timeout_frame(self.cursor));
                        }
                    },
                    () = tokio::time::sleep_until(self.deadline) => {
                        self.done = true;
                        return Some(self.source.timeout_frame(self.cursor));
                    }
                    () = tokio::time::sleep_until(self.last_sent + KEEPALIVE) => {
                        self.last_sent = Instant::now();
                        return Some(Bytes::from_static(b": keepalive\n\n"));
                    }
                }
            };
            self.subscription.mark_seen();
            if let Source::Agent { address, .. } = &self.source
                && crate::api::mesh::is_killed(&self.state, &self.tenant, address.as_str()).await
            {
                // The agent was killed (contract §6 "Mesh"): its stream ends; reconnecting is 403.
                self.done = true;
                return Some(self.source.timeout_frame(self.cursor));
            }
            match self.source.read(&self.state, &self.tenant, self.cursor, fresh).await {
                Ok(frames) => {
                    self.full = frames.len() >= BATCH as usize;
                    self.pending = frames.into_iter();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stream read failed; closing the stream");
                    return None;
                }
            }
        }
    }
}

/// Intent event reads shared by the streams that need the same ones.
///
/// When a commit touches an intent with 10k observers, all of them wake at once and would each
/// read the same events from the store. Instead, streams at the same (workspace, intent,
/// cursor) join one read, provided it started after every commit their wake-up stands for:
/// events are append-only, so such a read holds exactly what each of them is missing.
///
/// "Started after" is decided with per-intent commit counters that the store's commit listener
/// ([`Wakeups`]) bumps *before* it wakes the streams: a stream reads the counter right after
/// marking its wake-ups seen (so the count covers every commit it was woken for), and a read
/// records the counter when it is set up, before it asks the store. A read may serve a stream
/// when its count is at least the stream's. Counters live in a fixed array of buckets indexed
/// by intent id, so unrelated intents only rarely share one (which costs a shared read, never
/// a frame). A read is forgotten when its last stream is done with it.
#[derive(Clone, Default)]
pub struct SharedReads {
    inner: Arc<SharedInner>,
}

/// Counter buckets; a power of two.
const BUCKETS: usize = 256;

struct SharedInner {
    commits: [AtomicU64; BUCKETS],
    reads: Mutex<HashMap<ReadKey, Weak<Read>>>,
}

impl Default for SharedInner {
    fn default() -> Self {
        Self { commits: std::array::from_fn(|_| AtomicU64::new(0)), reads: Mutex::default() }
    }
}

type ReadKey = (WorkspaceId, IntentId, u64);

/// One read of an intent's events after a cursor, and the streams that wait for it.
struct Read {
    key: ReadKey,
    /// The intent's commit count when the read was set up.
    count: u64,
    frames: OnceCell<Vec<Frame>>,
    owner: Arc<SharedInner>,
}

impl Drop for Read {
    fn drop(&mut self) {
        let mut reads = self.owner.reads.lock().unwrap_or_else(|e| e.into_inner());
        // A newer read may have taken the key; only our own entry goes.
        if reads.get(&self.key).is_some_and(|w| std::ptr::eq(w.as_ptr(), self)) {
            reads.remove(&self.key);
        }
    }
}

impl SharedReads {
    fn bucket(&self, id: IntentId) -> &AtomicU64 {
        // UUIDv7: the last bytes are random.
        &self.inner.commits[id.as_uuid().as_u128() as usize % BUCKETS]
    }

    /// Counts a commit on every intent topic in `topics`. Called before the wake-ups are sent.
    fn committed(&self, topics: &[Topic]) {
        for topic in topics {
            if let Topic::Intent(id) = topic {
                self.bucket(*id).fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// The commit count of `id` now; read it right after marking wake-ups seen.
    fn count(&self, id: IntentId) -> u64 {
        self.bucket(id).load(Ordering::SeqCst)
    }

    /// The frames after `cursor` of intent `id` in `workspace`, from a read shared with other
    /// streams when one started after the commits counted in `seen`; else `load` (the store
    /// read of at most [`BATCH`] events) runs for this and later callers. Errors: `load`'s; a
    /// failed load is not shared (the next caller loads again).
    async fn frames<F, Fut>(
        &self,
        workspace: WorkspaceId,
        id: IntentId,
        cursor: u64,
        seen: u64,
        load: F,
    ) -> Result<Vec<Frame>, axp_store::Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<IntentEvent>, axp_store::Error>>,
    {
        let read = self.join(workspace, id, cursor, seen);
        let frames = read
            .frames
            .get_or_try_init(|| async {
                Ok::<_, axp_store::Error>(load().await?.iter().map(Frame::event).collect())
            })
            .await?;
        Ok(frames.clone())
    }

    /// The read to wait for: the current one for the key if it is recent enough for `seen`,
    /// else a new one that replaces it.
    fn join(&self, workspace: WorkspaceId, id: IntentId, cursor: u64, seen: u64) -> Arc<Read> {
        let key = (workspace, id, cursor);
        let mut reads = self.inner.reads.lock().unwrap_or_else(|e| e.into_inner());
        let current = reads.get(&key).and_then(Weak::upgrade);
        if let Some(read) = current.as_ref().filter(|r| r.count >= seen) {
            return read.clone();
        }
        let read =
            Arc::new(Read { key, count: self.count(id), frames: OnceCell::new(), owner: self.inner.clone() });
        reads.insert(key, Arc::downgrade(&read));
        drop(reads);
        // Dropping a stale read may run its `Drop`, which takes the lock: only now.
        drop(current);
        read
    }

    /// Reads in the table (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.reads.lock().unwrap().len()
    }
}

/// The store's commit listener: counts intent commits for [`SharedReads`], then wakes the
/// subscribers through the notifier.
pub(crate) struct Wakeups {
    /// Counted before waking.
    pub(crate) reads: SharedReads,
    /// Woken after counting.
    pub(crate) notifier: Notifier,
    /// Dropped on a schema change, suspended while other replicas cannot be heard.
    pub(crate) schemas: Arc<SchemaCache>,
}

impl CommitListener for Wakeups {
    fn committed(&self, topics: &[Topic]) {
        if topics.contains(&Topic::Schemas) {
            self.schemas.invalidate();
        }
        self.reads.committed(topics);
        self.notifier.notify(topics);
    }

    fn listening(&self, heard: bool) {
        if heard {
            self.schemas.resume();
        } else {
            self.schemas.suspend();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: IntentId, seq: u64) -> IntentEvent {
        serde_json::from_value(serde_json::json!({
            "intent_id": id, "seq": seq, "event_type": "intent.submitted", "status": "SUBMITTED",
            "waiting_reason": null, "handler": "agent://a/b/c", "actor": "gateway",
            "at": "2026-01-01T00:00:00.000Z", "pending_with": null,
        }))
        .expect("a valid event")
    }

    type Load<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Vec<IntentEvent>, axp_store::Error>> + 'a>>;

    /// A store read that counts its calls and finishes when `gate` is notified.
    fn loader<'a>(
        calls: &'a AtomicU64,
        gate: &'a tokio::sync::Notify,
        events: Vec<IntentEvent>,
    ) -> impl FnOnce() -> Load<'a> {
        move || {
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                gate.notified().await;
                Ok(events)
            })
        }
    }

    #[tokio::test]
    async fn streams_woken_by_one_commit_share_one_read() {
        let reads = SharedReads::default();
        let (ws, id) = (WorkspaceId::new(), IntentId::new());
        reads.committed(&[Topic::Intent(id)]);
        let (calls, gate) = (AtomicU64::new(0), tokio::sync::Notify::new());
        let seen = reads.count(id);
        let a = reads.frames(ws, id, 0, seen, loader(&calls, &gate, vec![event(id, 1)]));
        let b = reads.frames(ws, id, 0, seen, loader(&calls, &gate, vec![event(id, 1)]));
        let (a, b, ()) = tokio::join!(a, b, async { gate.notify_one() });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(a.unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), [1]);
        assert_eq!(b.unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), [1]);
        assert_eq!(reads.len(), 0, "a read is forgotten once nobody waits for it");
    }

    #[tokio::test]
    async fn a_read_started_before_a_commit_does_not_serve_its_streams() {
        let reads = SharedReads::default();
        let (ws, id) = (WorkspaceId::new(), IntentId::new());
        let (calls, gate) = (AtomicU64::new(0), tokio::sync::Notify::new());
        let early = reads.frames(ws, id, 0, reads.count(id), loader(&calls, &gate, vec![]));
        let mut early = std::pin::pin!(early);
        assert!(futures::poll!(early.as_mut()).is_pending(), "the first read is under way");
        reads.committed(&[Topic::Intent(id)]); // event 1 commits while it runs
        let late = reads.frames(ws, id, 0, reads.count(id), loader(&calls, &gate, vec![event(id, 1)]));
        let (early, late, ()) = tokio::join!(early, late, async { gate.notify_waiters() });
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the late stream read again");
        assert!(early.unwrap().is_empty());
        assert_eq!(late.unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn reads_are_keyed_by_workspace_intent_and_cursor() {
        let reads = SharedReads::default();
        let (ws, id) = (WorkspaceId::new(), IntentId::new());
        let seen = reads.count(id);
        let first = reads.join(ws, id, 3, seen);
        assert!(Arc::ptr_eq(&first, &reads.join(ws, id, 3, seen)));
        assert!(!Arc::ptr_eq(&first, &reads.join(WorkspaceId::new(), id, 3, seen)), "other tenant");
        assert!(!Arc::ptr_eq(&first, &reads.join(ws, IntentId::new(), 3, seen)), "other intent");
        assert!(!Arc::ptr_eq(&first, &reads.join(ws, id, 4, seen)), "other cursor");
        assert!(!Arc::ptr_eq(&first, &reads.join(ws, id, 3, u64::MAX)), "a fresh read is never shared");
    }

    #[test]
    fn a_replaced_read_leaves_its_successor_in_the_table() {
        let reads = SharedReads::default();
        let (ws, id) = (WorkspaceId::new(), IntentId::new());
        let old = reads.join(ws, id, 0, reads.count(id));
        reads.committed(&[Topic::Intent(id)]);
        let new = reads.join(ws, id, 0, reads.count(id));
        assert!(!Arc::ptr_eq(&old, &new));
        drop(old);
        assert_eq!(reads.len(), 1);
        assert!(Arc::ptr_eq(&new, &reads.join(ws, id, 0, reads.count(id))));
        drop(new);
        assert_eq!(reads.len(), 0);
    }

    #[test]
    fn frame_is_one_line_of_data() {
        let f = Frame::new(7, "intent.submitted", r#"{"seq":7}"#, false);
        assert_eq!(&f.bytes[..], b"id: 7\nevent: intent.submitted\ndata: {\"seq\":7}\n\n");
    }

    #[test]
    fn timeout_frames_name_their_cursor() {
        let intent = Source::Intent(IntentId::new());
        assert_eq!(
            &intent.timeout_frame(3)[..],
            b"event: stream.timeout\ndata: {\"ok\":true,\"next_seq\":3}\n\n"
        );
        let agent =
            Source::Agent { address: AgentAddress::from_trusted("agent://a/b/c".into()), statuses: vec![] };
        assert_eq!(
            &agent.timeout_frame(0)[..],
            b"event: stream.timeout\ndata: {\"ok\":true,\"next_since\":0}\n\n"
        );
    }
}
