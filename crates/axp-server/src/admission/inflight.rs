//! Fairness between workspaces on one replica (`AXP_WORKSPACE_MAX_INFLIGHT`,
//! `AXP_WORKSPACE_MAX_QUEUED`, `AXP_WORKSPACE_QUEUE_TIMEOUT_SECONDS`): each workspace has a
//! fixed number of requests in its handlers at once and a bounded first-come-first-served
//! queue for the rest, so one workspace's flood waits in its own queue instead of filling the
//! store's writer queue ahead of everyone else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axp_core::error::ErrorCode;
use axp_core::ids::WorkspaceId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Refusals;
use crate::config::AdmissionOptions;
use crate::error::ApiError;

/// One workspace's slots and the count of requests waiting for one.
struct Gate {
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
}

/// The gates of every workspace seen on this replica (one small entry per workspace).
pub(super) struct Gates {
    gates: Mutex<HashMap<WorkspaceId, Arc<Gate>>>,
    max_inflight: usize,
    max_queued: usize,
    timeout: Duration,
    refusals: Refusals,
}

/// Takes a place in a gate's queue and gives it back however the wait ends (a slot, a
/// timeout, or the client going away).
struct Queued<'g>(&'g AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gates {
    /// `None` when `options.workspace_max_inflight` is 0 (off).
    pub(super) fn new(options: &AdmissionOptions) -> Option<Self> {
        (options.workspace_max_inflight > 0).then(|| Self {
            gates: Mutex::default(),
            max_inflight: options.workspace_max_inflight,
            max_queued: options.workspace_max_queued,
            timeout: options.queue_timeout,
            refusals: Refusals::new("workspace_inflight"),
        })
    }

    fn gate(&self, ws: WorkspaceId) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        gates
            .entry(ws)
            .or_insert_with(|| {
                Arc::new(Gate {
                    slots: Arc::new(Semaphore::new(self.max_inflight)),
                    queued: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// A slot of workspace `ws`, held until dropped: at once when one is free, else after the
    /// requests queued before this one (tokio's semaphore is fair). 429
    /// `rate_limit_exceeded` with `Retry-After` when the queue is full or the wait passes the
    /// timeout.
    pub(super) async fn enter(&self, ws: WorkspaceId) -> Result<OwnedSemaphorePermit, ApiError> {
        let gate = self.gate(ws);
        if let Ok(slot) = gate.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        if gate.queued.fetch_add(1, Ordering::Relaxed) >= self.max_queued {
            gate.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(self.refuse(ws, "too many requests of this workspace are waiting"));
        }
        let _queued = Queued(&gate.queued);
        match tokio::time::timeout(self.timeout, gate.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(self.refuse(ws, "this workspace's requests waited too long for a slot")),
        }
    }

    fn refuse(&self, ws: WorkspaceId, message: &str) -> ApiError {
        self.refusals.record(&ws);
        ApiError::new(ErrorCode::RateLimitExceeded, message).with_retry_after(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(timeout: Duration) -> Gates {
        let options = AdmissionOptions {
            workspace_max_inflight: 1,
            workspace_max_queued: 1,
            queue_timeout: timeout,
            ..AdmissionOptions::default()
        };
        Gates::new(&options).expect("a cap")
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_a_freed_slot_goes_to_the_queued_request() {
        let gates = Arc::new(gates(Duration::from_secs(30)));
        let (ws, other) = (WorkspaceId(uuid::Uuid::new_v4()), WorkspaceId(uuid::Uuid::new_v4()));
        let held = gates.enter(ws).await.unwrap();
        let waiter = tokio::spawn({
            let gates = gates.clone();
            async move { gates.enter(ws).await.map(drop) }
        });
        // Bounded: the waiter takes its place in the queue.
        for _ in 0..10_000 {
            if gates.gate(ws).queued.load(Ordering::Relaxed) == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(gates.gate(ws).queued.load(Ordering::Relaxed), 1);
        let refused = gates.enter(ws).await.unwrap_err();
        assert!(format!("{refused:?}").contains("RateLimitExceeded"), "{refused:?}");
        // Another workspace is not held up by this one's flood.
        drop(gates.enter(other).await.unwrap());
        drop(held);
        waiter.await.unwrap().unwrap();
        assert_eq!(gates.gate(ws).queued.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_request_that_waits_past_the_timeout_is_refused_and_leaves_the_queue() {
        let gates = gates(Duration::from_millis(20));
        let ws = WorkspaceId(uuid::Uuid::new_v4());
        let _held = gates.enter(ws).await.unwrap();
        assert!(gates.enter(ws).await.is_err());
        assert_eq!(gates.gate(ws).queued.load(Ordering::Relaxed), 0);
    }
}
