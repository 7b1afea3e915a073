//! Push delivery: the dispatcher that POSTs due deliveries to `http` agents and webhook
//! subscriptions, signs them, retries them on a schedule and dead-letters what never arrives.
//!
//! It sleeps until the earliest due delivery or until a commit makes one due
//! ([`Topic::Deliveries`]). Each due delivery is claimed in the store (marked delivering until a
//! deadline, so a crashed attempt is retried), sent with bounded concurrency, and its outcome
//! recorded in one transaction with its effect on the intent. Before it is sent, its
//! workspace's `webhook_deliveries_per_day` quota is checked and counted (`quota`): a
//! delivery past it waits for the next UTC day instead.
//!
//! With several replicas on one database ([`Dispatcher::with_fallback_poll`]) it also looks at
//! the store on an interval, and a due delivery another replica is claiming is looked at again
//! shortly instead of in a busy loop.
//!
//! - [`signing`]: both signature schemes of contract §5.4.
//! - [`RetrySchedule`]: when to try again.
//! - `http_client`: the guarded HTTP client.

mod http_client;
mod quota;
mod retry;
pub mod signing;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axp_core::delivery::{DeliveryAttempt, DeliveryKind};
use axp_store::{AttemptReport, PushJob, Store, Topic};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use http_client::RESPONSE_LIMIT;
pub use retry::{RETRY_AFTER_CAP_SECONDS, RetrySchedule};

use crate::clock::Clock;
use crate::outbound::OutboundPolicy;
use crate::scheduler::after_pass;
use crate::usage::UsageMeter;
use crate::wake::{Notifier, Wake, wait_until};
use http_client::{Answer, PushClient};
use quota::{Gate, gate};

/// How the dispatcher behaves.
#[derive(Clone, Debug)]
pub struct DispatcherOptions {
    /// Delays before each attempt (`AXP_PUSH_RETRY_SCHEDULE`).
    pub schedule: RetrySchedule,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Time limit of one attempt (connect + answer), default 15 s (§5.4).
    pub attempt_timeout: Duration,
    /// Which addresses may be called.
    pub policy: OutboundPolicy,
}

impl Default for DispatcherOptions {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            concurrency: 16,
            attempt_timeout: Duration::from_secs(15),
            policy: OutboundPolicy::default(),
        }
    }
}

/// Sends due push deliveries until cancelled.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    notifier: Notifier,
    options: DispatcherOptions,
    client: Arc<PushClient>,
    meter: Arc<UsageMeter>,
    poll: Option<Duration>,
}

impl Dispatcher {
    /// A dispatcher over `store`, counting attempts on `meter` (the replica's usage meter,
    /// which holds each workspace to its `webhook_deliveries_per_day`). Its HTTP client is
    /// built on the first push; if that fails, the attempt fails with the reason and is retried
    /// on the schedule.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        notifier: Notifier,
        options: DispatcherOptions,
        meter: Arc<UsageMeter>,
    ) -> Self {
        let client = Arc::new(PushClient::new(options.policy.clone(), options.attempt_timeout));
        Self { store, clock, notifier, options, client, meter, poll: None }
    }

    /// Also looks at the store every `every` (multi-node stores: a lost cross-replica wake-up
    /// delays a push by at most this). `None` (the default) relies on wake-ups alone.
    pub fn with_fallback_poll(mut self, every: Option<Duration>) -> Self {
        self.poll = every;
        self
    }

    /// The loop. On cancellation it stops claiming and waits for attempts in flight.
    pub async fn run(self, cancel: CancellationToken) {
        let permits = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        let tracker = TaskTracker::new();
        let mut wake = self.notifier.subscribe(Topic::Deliveries);
        loop {
            wake.mark_seen();
            // Claim only what can be sent now, so claimed deliveries never wait for a slot.
            let free = permits.available_permits();
            let claimed = if free == 0 {
                Ok(Vec::new())
            } else {
                let now = self.clock.now();
                let claim_until = now.plus_seconds(self.options.attempt_timeout.as_secs() as i64 + 60);
                self.store.claim_due_deliveries(now, claim_until, free as u32).await
            };
            let jobs = match claimed {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "dispatcher could not claim deliveries; retrying in 1 s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        () = cancel.cancelled() => break,
                    }
                }
            };
            let claimed_none = jobs.is_empty();
            let full = !jobs.is_empty() && jobs.len() == free;
            for job in jobs {
                let Ok(permit) = permits.clone().try_acquire_owned() else { break };
                let (store, clock, client, schedule) = (
                    self.store.clone(),
                    self.clock.clone(),
                    self.client.clone(),
                    self.options.schedule.clone(),
                );
                // Checked and counted here, one job at a time: concurrent attempts of one
                // workspace never pass its quota together.
                let gate = gate(&self.meter, &job, self.clock.now()).await;
                tracker.spawn(async move {
                    match gate {
                        Gate::Send => attempt(store.as_ref(), clock.as_ref(), &client, &schedule, job).await,
                        Gate::Defer { until, why } => {
                            defer(store.as_ref(), clock.as_ref(), job, until, why).await
                        }
                    }
                    drop(permit);
                });
            }
            if full {
                // All slots busy: wait for one to free up (or for news) before claiming again.
                tokio::select! {
                    permit = permits.clone().acquire_owned() => drop(permit),
                    () = cancel.cancelled() => break,
                }
                continue;
            }
            let next = match self.store.next_delivery_due().await {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "dispatcher could not read due deliveries");
                    Some(self.clock.now().plus_seconds(1))
                }
            };
            let (due, fallback) = after_pass(self.clock.as_ref(), claimed_none, next, self.poll);
            let why = wait_until(self.clock.as_ref(), due, wake.changed(), &cancel, fallback).await;
            if why == Wake::Cancelled {
                break;
            }
        }
        tracker.close();
        tracker.wait().await;
    }
}

/// Makes one attempt and records it.
#[tracing::instrument(
    level = "debug",
    name = "delivery.attempt",
    skip_all,
    fields(delivery_id = %job.delivery_id, attempt = job.attempt)
)]
async fn attempt(
    store: &dyn Store,
    clock: &dyn Clock,
    client: &PushClient,
    schedule: &RetrySchedule,
    job: PushJob,
) {
    let at = clock.now();
    let started = Instant::now();
    let answer: Answer = client.push(&job, at.as_millis() / 1000).await;
    let delivered = answer.error.is_none() && answer.status.is_some_and(|s| (200..300).contains(&s));
    let inline_result = match (delivered, job.kind) {
        (true, DeliveryKind::AgentPush) => serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("result").cloned()),
        _ => None,
    };
    let took = started.elapsed();
    crate::metrics::record_push_duration(job.kind, took);
    let now = clock.now();
    let report = AttemptReport {
        attempt: DeliveryAttempt {
            attempt: job.attempt,
            at,
            status_code: answer.status,
            error: answer.error,
            duration_ms: took.as_millis() as u64,
        },
        delivered,
        retry_at: if delivered { None } else { schedule.next(job.attempt, answer.retry_after, now) },
        inline_result,
        now,
    };
    tracing::debug!(delivery = %job.delivery_id, attempt = job.attempt, delivered, status = ?report.attempt.status_code, "push attempt");
    if let Err(e) = store.record_attempt(job.workspace_id, job.delivery_id, report).await {
        // The claim runs out and the attempt is made again: at-least-once.
        tracing::error!(delivery = %job.delivery_id, error = %e, "could not record a push attempt");
    }
}

/// Puts a job its workspace's quota refused back to pending until `until`, without an attempt.
async fn defer(store: &dyn Store, clock: &dyn Clock, job: PushJob, until: axp_core::Timestamp, why: String) {
    tracing::debug!(delivery = %job.delivery_id, until = %until, "push deferred by the workspace quota");
    if let Err(e) = store.defer_delivery(job.workspace_id, job.delivery_id, until, why, clock.now()).await {
        // The claim runs out and the quota is checked again then.
        tracing::error!(delivery = %job.delivery_id, error = %e, "could not defer a push");
    }
}
