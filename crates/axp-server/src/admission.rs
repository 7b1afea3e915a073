//! Admission: what every API request passes before its handler (README "Rate limits and
//! quotas").
//!
//! The middleware ([`admit`]) authenticates the request once (the [`crate::extract::Caller`]
//! extractor reads the result from the request's extensions), then holds the credential to
//! its rate limit ([`rate`]), the workspace to its quotas ([`quota`]) and to its share of this
//! replica ([`inflight`]).
//! Unauthenticated requests pass untouched: the handler answers them (401, or a public route).
//! Every refusal is a 429 in the contract's envelope with an integer `Retry-After`, and is
//! logged at most once per [`LOG_EVERY`] per limit ([`Refusals`]), never once per request.

mod inflight;
mod quota;
mod rate;

pub(crate) use quota::exceeded;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub(crate) use self::quota::counted;
use crate::config::AdmissionOptions;
use crate::extract::{Authenticated, authenticate};
use crate::state::AppState;
use crate::telemetry::Credential;

/// How often a limit that keeps refusing logs (one line with the count since the last one).
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The limits of one server, shared by every request.
pub(crate) struct Admission {
    rate: Option<rate::KeyRate>,
    inflight: Option<inflight::Gates>,
}

impl Admission {
    /// Limits as `options` say (a rate of 0 or an in-flight cap of 0 turns that limit off).
    pub(crate) fn new(options: &AdmissionOptions) -> Self {
        Self { rate: rate::KeyRate::new(options), inflight: inflight::Gates::new(options) }
    }
}

/// Whether the request is a long-lived one (an SSE stream, a long-poll claim, a media byte
/// upload), which must not hold one of its workspace's in-flight slots for its whole life; the
/// stream caps bound streams and claims, the upload's declared size its time.
fn long_lived(request: &Request) -> bool {
    let path = request.uri().path();
    crate::sse::is_stream(path) || path.ends_with("/intents/claim") || path.starts_with("/v1/media/upload/")
}

/// The admission middleware: authenticate once, then the per-credential rate limit (its
/// `X-RateLimit-*` headers go on the response, §1.6), then the workspace's quotas (a
/// successful create or inbox write is counted after the handler answered), then an
/// in-flight slot of the caller's workspace, held until the handler has answered (a streamed
/// body does not hold it).
pub(crate) async fn admit(
    State((state, admission)): State<(AppState, Arc<Admission>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let auth = authenticate(request.headers(), &state).await;
    let principal = auth.as_ref().ok().cloned();
    request.extensions_mut().insert(Authenticated(auth));
    let Some(principal) = principal else {
        return next.run(request).await;
    };
    let credential = Credential(principal.actor);
    let mut response = admit_authenticated(&state, &admission, principal, request, next).await;
    response.extensions_mut().insert(credential);
    response
}

/// [`admit`] past authentication.
async fn admit_authenticated(
    state: &AppState,
    admission: &Admission,
    principal: axp_store::Principal,
    request: Request,
    next: Next,
) -> Response {
    let headers = match admission.rate.as_ref().map(|r| r.check(&principal.actor)).transpose() {
        Ok(headers) => headers,
        Err(refused) => return refused.into_response(),
    };
    let daily = quota::daily_dimension(&request);
    let marks = match quota::check(state, &principal, daily).await {
        Ok(marks) => marks,
        Err(refused) => return refused.into_response(),
    };
    let slot = match &admission.inflight {
        Some(gates) if !long_lived(&request) => match gates.enter(principal.tenant.workspace_id).await {
            Ok(slot) => Some(slot),
            Err(refused) => return refused.into_response(),
        },
        _ => None,
    };
    let mut response = next.run(request).await;
    drop(slot);
    if let Some(d) = daily.filter(|_| response.status().is_success()) {
        state.meter.record(principal.tenant.workspace_id, d, 1, state.clock.now());
    }
    marks.apply(response.headers_mut());
    if let Some(headers) = headers {
        headers.apply(response.headers_mut());
    }
    response
}

/// Counts one limit's refusals and logs them at most once per [`LOG_EVERY`].
pub(crate) struct Refusals {
    what: &'static str,
    start: Instant,
    /// Milliseconds after `start` of the last log line (`u64::MAX`: never logged).
    logged_at: AtomicU64,
    count: AtomicU64,
}

impl Refusals {
    fn new(what: &'static str) -> Self {
        Self { what, start: Instant::now(), logged_at: AtomicU64::new(u64::MAX), count: AtomicU64::new(0) }
    }

    /// Counts a refusal; logs the count when the last line is [`LOG_EVERY`] old.
    fn record(&self, scope: &dyn std::fmt::Display) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let now = self.start.elapsed().as_millis() as u64;
        let last = self.logged_at.load(Ordering::Relaxed);
        let due = last == u64::MAX || now.saturating_sub(last) >= LOG_EVERY.as_millis() as u64;
        if due && self.logged_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            let refused = self.count.swap(0, Ordering::Relaxed);
            tracing::warn!(limit = self.what, %scope, refused, "requests refused (429) by a limit");
        }
    }
}
