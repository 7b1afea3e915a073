//! Past the connection cap: a raw `429` with the envelope and `Retry-After: 1`, then close
//! (issue 12: "Caps ... each answers 429 with the error envelope and Retry-After when hit, and
//! logs once").

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axp_core::error::{ErrorBody, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Io;

/// How long a refused connection may take to get its answer and close.
const LINGER: Duration = Duration::from_secs(2);

/// How much of a refused request's head is read before the answer.
const MAX_HEAD: usize = 16 * 1024;

/// At most one log line per this interval, however many connections are refused.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Refused connections being answered at once; more are closed without an answer, so a flood
/// past the cap cannot take the descriptors the cap keeps free.
const MAX_ANSWERING: usize = 64;

/// The answer to connections past the cap, and its log line (once a minute at most, with the
/// count refused since the last one).
pub(super) struct Refusals {
    response: Vec<u8>,
    limit: usize,
    refused: AtomicU64,
    logged_at: Mutex<Option<Instant>>,
    answering: Arc<Semaphore>,
}

impl Refusals {
    pub(super) fn new(limit: usize) -> Self {
        let message = format!("the server is at its limit of {limit} open connections; retry shortly");
        let body =
            serde_json::to_vec(&ErrorBody::new(ErrorCode::RateLimitExceeded, message)).unwrap_or_default();
        let mut response = format!(
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        Self {
            response,
            limit,
            refused: AtomicU64::new(0),
            logged_at: Mutex::new(None),
            answering: Arc::new(Semaphore::new(MAX_ANSWERING)),
        }
    }

    /// A connection past the cap: logs (see [`LOG_EVERY`]), and returns a permit to answer it
    /// with [`Refusals::answer`] (`None`: too many are being answered; [`Refusals::answer_now`]).
    pub(super) fn refuse(&self) -> Option<OwnedSemaphorePermit> {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut logged_at) = self.logged_at.try_lock()
            && logged_at.is_none_or(|at| at.elapsed() >= LOG_EVERY)
        {
            *logged_at = Some(Instant::now());
            let refused = self.refused.swap(0, Ordering::Relaxed);
            tracing::warn!(
                limit = self.limit,
                refused,
                "connection limit reached: answering 429 (logged once a minute at most)"
            );
        }
        self.answering.clone().try_acquire_owned().ok()
    }

    /// The answer without waiting, for a plain connection when [`MAX_ANSWERING`] are being
    /// answered already: the 429 into the empty send buffer, the request read off (closing
    /// with it unread would reset the connection), then close. A request not yet arrived may
    /// still cost the client its answer; it then sees a reset, and retries.
    pub(super) fn answer_now(&self, tcp: TcpStream) {
        let Ok(mut tcp) = tcp.into_std() else { return };
        if tcp.set_nonblocking(true).is_err() {
            return;
        }
        let _ = tcp.write_all(&self.response);
        let _ = tcp.shutdown(std::net::Shutdown::Write);
        let mut sink = [0u8; 4096];
        while matches!(tcp.read(&mut sink), Ok(n) if n > 0) {}
    }

    /// Reads the request head (a client such as hyper's treats an answer that comes before
    /// its request as an error), writes the 429, closes the write side, and reads what the
    /// client still sends until it closes too (closing with unread data would reset the
    /// connection and lose the answer); each half within half of [`LINGER`].
    pub(super) async fn answer(&self, mut io: Box<dyn Io>, _permit: OwnedSemaphorePermit) {
        let mut buf = [0u8; 4096];
        let _ = tokio::time::timeout(LINGER / 2, async {
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
                let n = io.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            Ok::<_, std::io::Error>(())
        })
        .await;
        let _ = tokio::time::timeout(LINGER / 2, async {
            io.write_all(&self.response).await?;
            io.shutdown().await?;
            while io.read(&mut buf).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    }
}
