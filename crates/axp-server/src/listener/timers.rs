//! The per-connection clock for the header read and idle timeouts (issue 12, "Timeouts").
//!
//! hyper's own `header_read_timeout` also runs while a keep-alive connection waits for its next
//! request, so it would close idle connections at the header timeout and make the idle timeout
//! meaningless. This clock tells the two apart: a connection with no request in flight is
//! *idle* until a byte arrives (deadline: idle timeout), then *reading a head* (deadline: header
//! timeout from that first byte, not reset by later bytes) until hyper hands the request to the
//! service; while a request is in flight (until its response body is done) no deadline runs
//! here — the body deadline and the handler's own limits apply.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// When one connection must be closed, as requests come and go.
pub(super) struct ConnClock {
    state: Mutex<State>,
    changed: Notify,
    header: Duration,
    idle: Duration,
}

struct State {
    in_flight: usize,
    reading_head: bool,
    deadline: Option<Instant>,
}

impl ConnClock {
    /// A new connection: it must send its first request's headers within `header`.
    pub(super) fn new(header: Duration, idle: Duration) -> Arc<Self> {
        let state = State { in_flight: 0, reading_head: true, deadline: Some(Instant::now() + header) };
        Arc::new(Self { state: Mutex::new(state), changed: Notify::new(), header, idle })
    }

    /// Applies `f`; wakes the waiter in [`ConnClock::expired`] only when the deadline moved
    /// earlier (a later or no deadline is noticed when the old one passes).
    fn update(&self, f: impl FnOnce(&mut State, Instant)) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let before = state.deadline;
        f(&mut state, Instant::now());
        let earlier = match (before, state.deadline) {
            (Some(old), Some(new)) => new < old,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        drop(state);
        if earlier {
            self.changed.notify_waiters();
        }
    }

    /// Bytes arrived: an idle connection starts reading a head.
    fn on_bytes(&self) {
        let starts = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.in_flight == 0 && !state.reading_head
        };
        if starts {
            self.update(|s, now| {
                if s.in_flight == 0 && !s.reading_head {
                    s.reading_head = true;
                    s.deadline = Some(now + self.header);
                }
            });
        }
    }

    /// hyper parsed a request's head: no deadline here until its response is done.
    pub(super) fn request_started(self: &Arc<Self>) -> InFlight {
        self.update(|s, _| {
            s.in_flight += 1;
            s.reading_head = false;
            s.deadline = None;
        });
        InFlight(self.clone())
    }

    /// Whether no request is in flight (the connection is idle or still reading a head).
    pub(super) fn no_request(&self) -> bool {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).in_flight == 0
    }

    /// Resolves when the connection's deadline passes (it may move while this waits).
    pub(super) async fn expired(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let deadline = self.state.lock().unwrap_or_else(PoisonError::into_inner).deadline;
            match deadline {
                None => changed.await,
                Some(at) if at <= Instant::now() => return,
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// A request in flight on a connection; dropped with its response body (so an SSE stream
/// counts until it ends). The last one to go starts the idle timeout.
pub(super) struct InFlight(Arc<ConnClock>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let idle = self.0.idle;
        self.0.update(|s, now| {
            s.in_flight -= 1;
            if s.in_flight == 0 {
                s.deadline = Some(now + idle);
            }
        });
    }
}

/// A connection's stream, telling its [`ConnClock`] when bytes arrive.
pub(super) struct Watched<IO> {
    io: IO,
    clock: Arc<ConnClock>,
}

impl<IO> Watched<IO> {
    pub(super) fn new(io: IO, clock: Arc<ConnClock>) -> Self {
        Self { io, clock }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.on_bytes();
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(20);

    async fn expires_within(clock: &ConnClock, at_most: Duration) -> bool {
        tokio::time::timeout(at_most, clock.expired()).await.is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_new_connection_expires_at_the_header_timeout() {
        let clock = ConnClock::new(HEADER, IDLE);
        assert!(!expires_within(&clock, HEADER - Duration::from_millis(1)).await);
        assert!(expires_within(&clock, Duration::from_millis(2)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_has_no_deadline_then_idle_then_header() {
        let clock = ConnClock::new(HEADER, IDLE);
        let request = clock.request_started();
        assert!(!expires_within(&clock, IDLE * 10).await);
        drop(request);
        // Idle: the longer timeout.
        assert!(!expires_within(&clock, IDLE - Duration::from_secs(1)).await);
        // A byte of the next request: the header timeout from now, not reset by more bytes.
        clock.on_bytes();
        tokio::time::advance(HEADER / 2).await;
        clock.on_bytes();
        assert!(!expires_within(&clock, HEADER / 2 - Duration::from_millis(1)).await);
        assert!(expires_within(&clock, Duration::from_millis(2)).await);
    }
}
