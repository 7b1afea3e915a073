//! The per-credential request rate (`AXP_RATE_LIMIT_PER_KEY`, `AXP_RATE_LIMIT_BURST`): a GCRA
//! token bucket per API key or actor token, from `governor`, kept in memory per replica.

use std::num::NonZeroU32;

use axp_core::error::ErrorCode;
use axp_store::Actor;
use axum::http::{HeaderMap, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::Refusals;
use crate::config::AdmissionOptions;
use crate::error::ApiError;

type Limiter =
    RateLimiter<uuid::Uuid, DefaultKeyedStateStore<uuid::Uuid>, DefaultClock, StateInformationMiddleware>;

/// Buckets keyed by the credential's id (the API key's or the actor token's; the ids are
/// UUIDs, so the two kinds never collide). Only authenticated credentials get a bucket, so
/// there are at most as many as valid credentials.
pub(super) struct KeyRate {
    limiter: Limiter,
    refusals: Refusals,
}

/// The `X-RateLimit-*` headers of an admitted request (contract §1.6): the bucket's size, the
/// requests left in it, and the seconds until it is full again.
pub(super) struct RateHeaders {
    limit: u32,
    remaining: u32,
    reset_seconds: u64,
}

impl RateHeaders {
    fn of(snapshot: &StateSnapshot) -> Self {
        let quota = snapshot.quota();
        let limit = quota.burst_size().get();
        let remaining = snapshot.remaining_burst_capacity().min(limit);
        let missing = u64::from(limit - remaining);
        let per_cell = quota.replenish_interval();
        let reset_seconds = (per_cell * missing as u32).as_secs_f64().ceil() as u64;
        Self { limit, remaining, reset_seconds }
    }

    /// Sets the three headers on a response.
    pub(super) fn apply(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_seconds));
    }
}

impl KeyRate {
    /// `None` when `options.rate_per_key` is 0 (off).
    pub(super) fn new(options: &AdmissionOptions) -> Option<Self> {
        let rate = NonZeroU32::new(options.rate_per_key)?;
        let burst = NonZeroU32::new(options.burst).unwrap_or(rate);
        let quota = Quota::per_second(rate).allow_burst(burst);
        Some(Self { limiter: RateLimiter::keyed(quota).with_middleware(), refusals: Refusals::new("rate") })
    }

    /// Takes one request from `actor`'s credential's bucket: its headers, or 429
    /// `rate_limit_exceeded` with `Retry-After` (whole seconds until the next request fits).
    pub(super) fn check(&self, actor: &Actor) -> Result<RateHeaders, ApiError> {
        let key = match actor {
            Actor::ServiceAccount { key_id, .. } => key_id.0,
            Actor::User { token_id, .. } => token_id.0,
        };
        match self.limiter.check_key(&key) {
            Ok(snapshot) => Ok(RateHeaders::of(&snapshot)),
            Err(not_until) => {
                self.refusals.record(&key);
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                let limit = not_until.quota().burst_size().get();
                let mut err = ApiError::new(ErrorCode::RateLimitExceeded, "too many requests for this key")
                    .with_retry_after(wait.as_secs_f64().ceil() as u64);
                err = err.with_details(serde_json::json!({"limit": limit}));
                Err(err)
            }
        }
    }
}
