//! The listener: our accept loop over hyper, with what `axum::serve` lacks (issue 12,
//! "Timeouts", "concurrent connections per listener", "Graceful shutdown with a deadline",
//! "TLS and proxies").
//!
//! - `timers`: header read and idle timeouts per connection; `body`: the whole-body deadline
//!   (408) and the in-flight mark;
//! - `service`: the router per request, with the [`ClientAddr`] extension;
//! - `refusal`: 429 past the connection cap; `fd_limit`: `RLIMIT_NOFILE` and the default cap;
//! - `client_addr`: `X-Forwarded-For` from trusted proxies; `tls`: rustls;
//! - `stream_path`: a plain connection that opens with an SSE stream is answered without
//!   hyper's per-connection buffers (hyper takes the connection's later requests).
//!
//! HTTP/1.1 only: every client of the API and its SSE streams speaks it.

mod body;
mod client_addr;
mod fd_limit;
mod refusal;
mod service;
mod stream_path;
mod timers;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use client_addr::{ClientAddr, TrustedProxies};
pub use fd_limit::raise_fd_limit;

use self::refusal::Refusals;
use self::service::{ConnService, Shared};
use self::timers::{ConnClock, Watched};
use crate::config::TransportOptions;

/// After `accept` fails for want of descriptors, the pause before the next try.
const FD_BACKOFF: Duration = Duration::from_millis(100);

/// A connection's byte stream, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The listener's settings, resolved when the server is built (so a bad certificate stops
/// `axp serve` before it says it listens).
pub(crate) struct Transport {
    options: TransportOptions,
    max_connections: usize,
    tls: Option<TlsAcceptor>,
}

impl Transport {
    /// `others`: descriptors the rest of the server may hold (database pool, pushes in flight),
    /// left out of the default connection cap. Errors: unreadable or mismatched TLS files.
    pub(crate) fn new(options: &TransportOptions, others: usize) -> anyhow::Result<Self> {
        let tls = options.tls.as_ref().map(tls::acceptor).transpose()?;
        let max_connections =
            options.max_connections.unwrap_or_else(|| fd_limit::default_max_connections(others));
        Ok(Self { options: options.clone(), max_connections, tls })
    }

    /// `https` with TLS, else `http`.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Serves `router` on `listener` until `shutdown` is cancelled; then stops accepting, asks
    /// every connection to finish its request in flight and close, and drops those still open
    /// after the shutdown grace.
    pub(crate) async fn serve(self, listener: TcpListener, router: Router, shutdown: CancellationToken) {
        let options = &self.options;
        tracing::info!(
            max_connections = self.max_connections,
            header_read_timeout_s = options.header_read_timeout.as_secs(),
            body_read_timeout_s = options.body_read_timeout.as_secs(),
            idle_timeout_s = options.idle_timeout.as_secs(),
            "accepting connections"
        );
        let shared = Arc::new(Shared {
            router,
            proxies: options.trusted_proxies.clone(),
            body_timeout: options.body_read_timeout,
            media_max_bytes: options.media_max_bytes,
        });
        let ctx = Arc::new(Ctx {
            shared,
            tls: self.tls,
            header: options.header_read_timeout,
            idle: options.idle_timeout,
            shutdown: shutdown.clone(),
            kill: CancellationToken::new(),
            refusals: Refusals::new(self.max_connections),
        });
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let tracker = TaskTracker::new();
        let mut out_of_fds = false;
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((tcp, peer)) => {
                    out_of_fds = false;
                    match slots.clone().try_acquire_owned() {
                        Ok(slot) => drop(tracker.spawn(ctx.clone().connection(tcp, peer, slot))),
                        Err(_) => match ctx.refusals.refuse() {
                            Some(permit) => drop(tracker.spawn(ctx.clone().refuse(tcp, permit))),
                            None if ctx.tls.is_none() => ctx.refusals.answer_now(tcp),
                            None => drop(tcp),
                        },
                    }
                }
                Err(e) if fd_limit::is_fd_exhaustion(&e) => {
                    if !out_of_fds {
                        out_of_fds = true;
                        tracing::error!(error = %e, "out of file descriptors: retrying accept every 100 ms");
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(FD_BACKOFF) => {}
                    }
                }
                Err(e) => tracing::debug!(error = %e, "accept failed"),
            }
        }
        drop(listener);
        tracker.close();
        let grace = self.options.shutdown_grace;
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            tracing::warn!(
                open = tracker.len(),
                grace_s = grace.as_secs(),
                "dropping the connections still open at the shutdown deadline"
            );
            ctx.kill.cancel();
            tracker.wait().await;
        }
    }
}

/// What every connection task shares.
struct Ctx {
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    header: Duration,
    idle: Duration,
    /// Finish the request in flight, then close.
    shutdown: CancellationToken,
    /// The shutdown grace is over: close now.
    kill: CancellationToken,
    refusals: Refusals,
}

impl Ctx {
    /// The TLS handshake, when configured.
    async fn establish(&self, tcp: TcpStream) -> std::io::Result<Box<dyn Io>> {
        Ok(match &self.tls {
            Some(acceptor) => Box::new(acceptor.accept(tcp).await?),
            None => Box::new(tcp),
        })
    }

    /// Serves one connection while it holds `_slot` (a place under the connection cap).
    async fn connection(self: Arc<Self>, tcp: TcpStream, peer: SocketAddr, _slot: OwnedSemaphorePermit) {
        let clock = ConnClock::new(self.header, self.idle);
        let _ = tcp.set_nodelay(true);
        // A plain connection that opens with a stream: the first request is served without
        // hyper (`stream_path`), under the same header timeout.
        let tcp = if self.tls.is_some() {
            tcp
        } else {
            let rest = tokio::select! {
                rest = stream_path::serve_first(&self.shared, &clock, &self.shutdown, tcp, peer.ip()) => rest,
                () = clock.expired() => return,
                () = self.kill.cancelled() => return,
            };
            let Some(tcp) = rest else { return };
            tcp
        };
        // The TLS handshake counts against the header read timeout.
        let io = tokio::select! {
            io = self.establish(tcp) => match io {
                Ok(io) => io,
                Err(e) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            },
            () = clock.expired() => return,
            () = self.kill.cancelled() => return,
        };
        let service = ConnService { shared: self.shared.clone(), clock: clock.clone(), peer: peer.ip() };
        let io = TokioIo::new(Watched::new(io, clock.clone()));
        let conn = hyper::server::conn::http1::Builder::new()
            .header_read_timeout(None)
            .serve_connection(io, service);
        tokio::pin!(conn);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = clock.expired() => return,
            () = self.kill.cancelled() => return,
            () = self.shutdown.cancelled() => {}
        }
        // A connection with no request in hand (idle, or a head still arriving) has nothing to
        // finish: close it now rather than let a half-sent request hold the shutdown.
        if clock.no_request() {
            return;
        }
        conn.as_mut().graceful_shutdown();
        tokio::select! {
            _ = conn.as_mut() => {}
            () = clock.expired() => {}
            () = self.kill.cancelled() => {}
        }
    }

    /// Answers a connection past the cap with 429 and closes it.
    async fn refuse(self: Arc<Self>, tcp: TcpStream, permit: OwnedSemaphorePermit) {
        let establish = tokio::time::timeout(self.header, self.establish(tcp));
        if let Ok(Ok(io)) = establish.await {
            self.refusals.answer(io, permit).await;
        }
    }
}
