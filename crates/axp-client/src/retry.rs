//! When to retry a request, and how long to wait first (contract §1.5).
//!
//! The rules are the Python SDK's, so the server sees the same traffic from every client:
//!
//! - only **idempotent** requests are retried: every `GET`, and a `POST` that carries an
//!   `Idempotency-Key` (the server replays the first response instead of acting twice). A `POST`
//!   without one is never retried: a lost response must not create a second intent;
//! - only on 429, 500, 502, 503 and 504, and on transport failures;
//! - at most `max_retries` times (default 2), waiting 200 ms · 2ⁿ before retry n (0-based), or the
//!   server's integer `Retry-After` seconds when it sent one, capped.

use std::time::Duration;

use reqwest::Method;

/// The first backoff step; retry `n` (0-based) waits `BASE_BACKOFF · 2ⁿ`.
pub const BASE_BACKOFF: Duration = Duration::from_millis(200);

/// The default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// The default cap on a server-requested `Retry-After` wait.
pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(30);

/// The largest backoff exponent; keeps `2ⁿ` from overflowing with large `max_retries`.
const MAX_EXPONENT: u32 = 10;

/// How one attempt ended, as far as the retry decision cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered with this non-2xx status.
    Status(u16),
    /// The request failed before a complete response arrived, in a way that may be transient.
    Transport,
}

/// Whether a request may be sent more than once: GETs always, POSTs (and other writes) only with
/// an `Idempotency-Key`.
pub(crate) fn is_idempotent(method: &Method, has_idempotency_key: bool) -> bool {
    method == Method::GET || method == Method::HEAD || has_idempotency_key
}

/// 429, 500, 502, 503 and 504. Not 501 (it will not start working), nor any 4xx but 429.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// Transport failures worth retrying: everything except a request the client could not even
/// build (a bad header or URL) or a redirect loop.
pub(crate) fn is_retryable_transport(error: &reqwest::Error) -> bool {
    !error.is_builder() && !error.is_redirect()
}

/// Parses `Retry-After` as integer seconds. HTTP-date values and anything else are ignored
/// (`None`), as the Python SDK does.
pub(crate) fn parse_retry_after(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// The wait before retry `attempt` (0-based) when the server did not say: `200 ms · 2^attempt`.
pub(crate) fn backoff(attempt: u32) -> Duration {
    BASE_BACKOFF * 2u32.pow(attempt.min(MAX_EXPONENT))
}

/// What the retry loop knows after a failed attempt.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attempt {
    /// Whether the request may be sent again ([`is_idempotent`]).
    pub idempotent: bool,
    /// How the attempt ended.
    pub outcome: Outcome,
    /// The response's integer `Retry-After`, if any.
    pub retry_after: Option<u64>,
    /// Retries already made (0 after the first attempt).
    pub retries_made: u32,
}

/// The retry policy of one client.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// Retries allowed after the first attempt.
    pub max_retries: u32,
    /// Cap on a server-requested wait.
    pub retry_after_cap: Duration,
}

impl Policy {
    /// `Some(wait)` when the failed attempt should be retried after `wait`; `None` to give up.
    pub(crate) fn decide(&self, attempt: Attempt) -> Option<Duration> {
        if !attempt.idempotent || attempt.retries_made >= self.max_retries {
            return None;
        }
        let retryable = match attempt.outcome {
            Outcome::Status(status) => is_retryable_status(status),
            Outcome::Transport => true,
        };
        if !retryable {
            return None;
        }
        Some(match attempt.retry_after {
            Some(seconds) => Duration::from_secs(seconds).min(self.retry_after_cap),
            None => backoff(attempt.retries_made),
        })
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self { max_retries: DEFAULT_MAX_RETRIES, retry_after_cap: DEFAULT_RETRY_AFTER_CAP }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(idempotent: bool, outcome: Outcome, retries_made: u32) -> Attempt {
        Attempt { idempotent, outcome, retry_after: None, retries_made }
    }

    #[test]
    fn which_requests_are_idempotent() {
        assert!(is_idempotent(&Method::GET, false));
        assert!(is_idempotent(&Method::GET, true));
        assert!(!is_idempotent(&Method::POST, false));
        assert!(is_idempotent(&Method::POST, true));
        assert!(!is_idempotent(&Method::DELETE, false));
        assert!(is_idempotent(&Method::DELETE, true));
        assert!(!is_idempotent(&Method::PATCH, false));
    }

    #[test]
    fn which_statuses_retry() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 405, 409, 413, 422, 501, 505] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn get_retries_on_retryable_status_and_transport() {
        let p = Policy::default();
        assert_eq!(p.decide(attempt(true, Outcome::Status(503), 0)), Some(Duration::from_millis(200)));
        assert_eq!(p.decide(attempt(true, Outcome::Status(429), 1)), Some(Duration::from_millis(400)));
        assert_eq!(p.decide(attempt(true, Outcome::Transport, 0)), Some(Duration::from_millis(200)));
        assert_eq!(p.decide(attempt(true, Outcome::Status(404), 0)), None);
        assert_eq!(p.decide(attempt(true, Outcome::Status(409), 0)), None);
    }

    #[test]
    fn non_idempotent_post_never_retries() {
        let p = Policy::default();
        for outcome in [Outcome::Status(429), Outcome::Status(503), Outcome::Transport] {
            assert_eq!(p.decide(attempt(false, outcome, 0)), None);
        }
    }

    #[test]
    fn retries_stop_at_max() {
        let p = Policy { max_retries: 2, ..Policy::default() };
        assert!(p.decide(attempt(true, Outcome::Status(500), 1)).is_some());
        assert!(p.decide(attempt(true, Outcome::Status(500), 2)).is_none());
        let none = Policy { max_retries: 0, ..Policy::default() };
        assert!(none.decide(attempt(true, Outcome::Status(500), 0)).is_none());
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = Policy::default();
        let with = |s| Attempt { retry_after: Some(s), ..attempt(true, Outcome::Status(429), 1) };
        assert_eq!(p.decide(with(0)), Some(Duration::ZERO));
        assert_eq!(p.decide(with(3)), Some(Duration::from_secs(3)));
        assert_eq!(p.decide(with(3600)), Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after("0"), Some(0));
        assert_eq!(parse_retry_after(" 12 "), Some(12));
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("+1"), None);
        assert_eq!(parse_retry_after(""), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("99999999999999999999999"), None);
    }

    #[test]
    fn backoff_doubles_and_saturates() {
        assert_eq!(backoff(0), Duration::from_millis(200));
        assert_eq!(backoff(1), Duration::from_millis(400));
        assert_eq!(backoff(2), Duration::from_millis(800));
        assert_eq!(backoff(1000), backoff(MAX_EXPONENT));
    }
}
