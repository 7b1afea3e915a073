//! The scheduler: fires durable timers (deadlines, lease expiry) when they are due.
//!
//! It sleeps until the earliest timer in the store is due, or until a commit schedules a new
//! one ([`Topic::Timers`]), whichever comes first; there is no fixed-interval polling. Each firing
//! is one store transaction that deletes the timer and applies it, so a timer fires once even
//! across restarts, and timers that came due while the server was down fire at start.
//!
//! With several replicas on one database ([`Scheduler::with_fallback_poll`]) it also looks at
//! the store on an interval, in case a wake-up from another replica was lost, and a due timer
//! it could not take (another replica's transaction holds it) is looked at again shortly
//! instead of in a busy loop.

use std::sync::Arc;
use std::time::Duration;

use axp_core::Timestamp;
use axp_store::{Store, Topic};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::wake::{Notifier, Wake, wait_until};

/// Timers fired per transaction.
const BATCH: u32 = 256;

/// How soon to look again at a due timer another replica's transaction holds.
const HELD_BACKOFF: Duration = Duration::from_millis(50);

/// What to wait for after a pass that found `next` as the earliest due time: `(due, fallback)`
/// for [`wait_until`]. If the pass took nothing although `next` is already due, another
/// replica's transaction holds it until it commits: look again after [`HELD_BACKOFF`] (or the
/// fallback `poll`, if sooner) instead of in a busy loop.
pub(crate) fn after_pass(
    clock: &dyn Clock,
    took_none: bool,
    next: Option<Timestamp>,
    poll: Option<Duration>,
) -> (Option<Timestamp>, Option<Duration>) {
    if took_none && next.is_some_and(|t| t <= clock.now()) {
        (None, Some(poll.map_or(HELD_BACKOFF, |p| p.min(HELD_BACKOFF))))
    } else {
        (next, poll)
    }
}

/// Fires due timers until cancelled.
pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    notifier: Notifier,
    poll: Option<Duration>,
}

impl Scheduler {
    /// A scheduler over `store`, reading time from `clock`, woken by `notifier`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, notifier: Notifier) -> Self {
        Self { store, clock, notifier, poll: None }
    }

    /// Also looks at the store every `every` (multi-node stores: a lost cross-replica wake-up
    /// delays a timer by at most this). `None` (the default) relies on wake-ups alone.
    pub fn with_fallback_poll(mut self, every: Option<Duration>) -> Self {
        self.poll = every;
        self
    }

    /// Fires every timer due now, in batches; returns how many fired.
    pub async fn fire_due(&self) -> axp_store::Result<u64> {
        let mut total = 0;
        loop {
            let fired = self.store.fire_due_timers(self.clock.now(), BATCH).await?;
            total += u64::from(fired);
            if fired < BATCH {
                return Ok(total);
            }
        }
    }

    /// The loop: fire what is due, then sleep until the next timer or a new one.
    pub async fn run(self, cancel: CancellationToken) {
        let mut wake = self.notifier.subscribe(Topic::Timers);
        loop {
            wake.mark_seen();
            let next = match self.fire_due().await {
                Ok(fired) => self.store.next_timer_due().await.map(|next| (fired, next)),
                Err(e) => Err(e),
            };
            let (fired, next) = match next {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler could not read timers; retrying in 1 s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        () = cancel.cancelled() => return,
                    }
                }
            };
            let (due, fallback) = after_pass(self.clock.as_ref(), fired == 0, next, self.poll);
            let why = wait_until(self.clock.as_ref(), due, wake.changed(), &cancel, fallback).await;
            if why == Wake::Cancelled {
                return;
            }
        }
    }
}
