//! The HTTP client that makes push attempts: no proxy, no redirects, SSRF-guarded DNS, a time
//! limit per attempt and a cap on how much of a response it reads.

use std::sync::OnceLock;
use std::time::Duration;

use axp_store::PushJob;
use bytes::BytesMut;
use futures::StreamExt;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::redirect::Policy;

use super::signing;
use crate::outbound::OutboundPolicy;

/// Most bytes of a receiver's response that are read (the rest is dropped).
pub const RESPONSE_LIMIT: usize = 64 * 1024;

/// What one attempt got back.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    /// The HTTP status, if the receiver answered.
    pub(crate) status: Option<u16>,
    /// The first [`RESPONSE_LIMIT`] bytes of the body.
    pub(crate) body: Vec<u8>,
    /// `Retry-After` in seconds, when given as an integer.
    pub(crate) retry_after: Option<u64>,
    /// Why there was no usable answer, or why the answer is a failure.
    pub(crate) error: Option<String>,
}

/// Sends signed pushes.
///
/// The HTTP client (connection pool, rustls configuration, root certificates) is built on the
/// first push, not at start: most servers never push, and building it maps and initialises a
/// large part of the binary that would otherwise stay on disk.
pub(crate) struct PushClient {
    client: OnceLock<reqwest::Client>,
    policy: OutboundPolicy,
    timeout: Duration,
}

impl PushClient {
    /// A client for `policy` whose attempts (connect + answer) last at most `timeout`.
    pub(crate) fn new(policy: OutboundPolicy, timeout: Duration) -> Self {
        Self { client: OnceLock::new(), policy, timeout }
    }

    /// The HTTP client, built on first use. Errors when reqwest cannot build it (its TLS
    /// backend failed to initialise); the next push tries again.
    fn client(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(Policy::none())
            .dns_resolver(self.policy.resolver())
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .user_agent(concat!("axp/", env!("CARGO_PKG_VERSION")))
            .build()?;
        // Two first pushes at once may both build one; the loser's is dropped.
        Ok(self.client.get_or_init(|| client))
    }

    /// POSTs `job`'s body signed at `timestamp` (Unix seconds). 2xx is success; 3xx (never
    /// followed), 4xx, 5xx, timeouts and refused or blocked connections are failures.
    pub(crate) async fn push(&self, job: &PushJob, timestamp: i64) -> Answer {
        if let Err(e) = self.policy.check_url(&job.url) {
            return Answer { error: Some(e.to_string()), ..Answer::default() };
        }
        let client = match self.client() {
            Ok(client) => client,
            Err(e) => {
                return Answer {
                    error: Some(format!("building the HTTP client: {}", chain(&e))),
                    ..Answer::default()
                };
            }
        };
        let sig = signing::sign(&job.secret, &job.message_id, timestamp, job.body.as_bytes());
        let request = client
            .post(&job.url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("x-axme-signature", sig.axme)
            .header("webhook-id", &job.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", sig.standard)
            .header("x-axp-delivery-id", job.delivery_id.to_string())
            .header("x-axp-attempt", job.attempt.to_string())
            .body(job.body.clone());
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() { "timed out" } else { "could not connect" };
                return Answer { error: Some(format!("{what}: {}", chain(&e))), ..Answer::default() };
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => {
                    let room = RESPONSE_LIMIT - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= RESPONSE_LIMIT {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let error = (!status.is_success()).then(|| {
            if status.is_redirection() {
                format!("HTTP {} (redirects are not followed)", status.as_u16())
            } else {
                format!("HTTP {}", status.as_u16())
            }
        });
        Answer { status: Some(status.as_u16()), body: body.to_vec(), retry_after, error }
    }
}

/// An error with its causes, `outer: inner: innermost` (reqwest hides the cause otherwise).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}
