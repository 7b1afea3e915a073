//! Past the connection cap: a raw `429` with the envelope and `Retry-After: 1`, then close
//! (issue 12: "Caps ... each answers 429 with the error envelope and Retry-After when hit, and
//! logs once").

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axp_core::error::{ErrorBody, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Io;

/// How long a refused connection may take to get its answer and close.
const LINGER: Duration = Duration::from_secs(2);

/// Refused connections being answered at once; more are closed without an answer, so a flood
/// past the cap cannot take the descriptors the cap keeps free.
const MAX_ANSWERING: usize = 64;

/// The answer to connections past the cap, and the once-per-burst log line.
pub(super) struct Refusals {
    response: Vec<u8>,
    limit: usize,
    in_burst: AtomicBool,
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
            in_burst: AtomicBool::new(false),
            answering: Arc::new(Semaphore::new(MAX_ANSWERING)),
        }
    }

    /// A connection got a slot: the next refusal is logged again.
    pub(super) fn accepting(&self) {
        self.in_burst.store(false, Ordering::Relaxed);
    }

    /// A connection past the cap: logs the first of a burst, and returns a permit to answer it
    /// with [`Refusals::answer`] (`None`: too many are being answered; [`Refusals::answer_now`]).
    pub(super) fn refuse(&self) -> Option<OwnedSemaphorePermit> {
        if !self.in_burst.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                limit = self.limit,
                "connection limit reached: answering 429 until a connection closes"
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

    /// Writes the 429, closes the write side, and reads what the client still sends until it
    /// closes too (closing with unread data would reset the connection and lose the answer);
    /// all within [`LINGER`].
    pub(super) async fn answer(&self, mut io: Box<dyn Io>, _permit: OwnedSemaphorePermit) {
        let _ = tokio::time::timeout(LINGER, async {
            io.write_all(&self.response).await?;
            io.shutdown().await?;
            let mut sink = [0u8; 1024];
            while io.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    }
}
