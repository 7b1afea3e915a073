//! Server-Sent Events: the framing of contract §4.5 and the loop behind both streams.
//!
//! A stream response replays what the store has after the client's cursor, then waits for
//! commit wake-ups and sends what is new, until `wait_seconds` have passed (then
//! `event: stream.timeout` and close), a terminal event has been sent (close), the client goes
//! away, or the server shuts down. Every frame is read from the store by cursor; wake-ups only
//! say "look again", so a missed wake-up delays a frame and never loses it.

use std::convert::Infallible;
use std::time::Duration;

use axp_core::api::AgentDelivery;
use axp_core::ids::IntentId;
use axp_core::{AgentAddress, IntentEvent, Status};
use axp_engine::Subscription;
use axp_store::Tenant;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::state::AppState;

/// Frames read from the store per round trip.
pub(crate) const BATCH: u32 = 200;

/// Idle time after which a `: keepalive` comment is sent (contract §4.5: at most 10 s).
const KEEPALIVE: Duration = Duration::from_secs(10);

/// One SSE frame: `id: <id>\nevent: <event>\ndata: <one-line JSON>\n\n`.
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
    /// Reads the frames after `cursor`.
    pub(crate) async fn fetch(
        &self,
        state: &AppState,
        tenant: &Tenant,
        cursor: u64,
    ) -> Result<Vec<Frame>, axp_store::Error> {
        match self {
            Source::Intent(id) => {
                let events = state.store.events_since(tenant, *id, cursor, BATCH).await?;
                Ok(events.iter().map(Frame::event).collect())
            }
            Source::Agent { address, statuses } => {
                let now = state.clock.now();
                let deliveries =
                    state.store.deliver_to_agent(tenant, address, cursor, statuses, BATCH, now).await?;
                Ok(deliveries.iter().map(Frame::delivery).collect())
            }
        }
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

/// Sleeps `every`, or forever when `None`.
async fn fallback(every: Option<Duration>) {
    match every {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Starts streaming. `subscription` must have been taken (and marked seen) before `first` was
/// read, so nothing committed in between is missed.
pub(crate) fn stream(
    state: AppState,
    tenant: Tenant,
    source: Source,
    mut subscription: Subscription,
    since: u64,
    wait: Duration,
    first: Vec<Frame>,
) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let deadline = Instant::now() + wait;
    let presence = match &source {
        Source::Agent { address, .. } => Some(state.presence.enter(tenant.workspace_id, address.as_str())),
        Source::Intent(_) => None,
    };
    tokio::spawn(async move {
        let _presence = presence;
        let mut cursor = since;

        let mut pending = first;
        // Multi-node stores: also re-read on this interval, in case a wake-up was lost.
        let poll = state.options.poll_interval;
        let mut last_sent = Instant::now();
        loop {
            let full = pending.len() >= BATCH as usize;
            for frame in pending.drain(..) {
                if tx.send(frame.bytes).await.is_err() {
                    return;
                }
                last_sent = Instant::now();
                cursor = frame.id;
                if frame.terminal {
                    return;
                }
            }
            if !full {
                loop {
                    tokio::select! {
                        () = subscription.changed() => break,
                        () = tokio::time::sleep_until(deadline) => {
                            let _ = tx.send(source.timeout_frame(cursor)).await;
                            return;
                        }
                        () = tokio::time::sleep_until(last_sent + KEEPALIVE) => {
                            if tx.send(Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                                return;
                            }
                            last_sent = Instant::now();
                        }
                        () = fallback(poll) => break,
                        () = state.shutdown.cancelled() => return,
                        () = tx.closed() => return,
                    }
                }
            }
            subscription.mark_seen();
            pending = match source.fetch(&state, &tenant, cursor).await {
                Ok(frames) => frames,
                Err(e) => {
                    tracing::warn!(error = %e, "stream read failed; closing the stream");
                    return;
                }
            };
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
