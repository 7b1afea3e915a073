//! What the engine reports through the [`metrics`] facade: intents created and finished, push
//! attempts and their outcomes, and how late timers fire. The series are listed, with the
//! server's others, in `docs/metrics.md`; the server's `/metrics` renders them.
//!
//! Labels stay bounded: a status, a delivery kind or outcome, and an `intent_type` only when it
//! is on the operator's allow-list ([`IntentTypeLabels`]); never an intent, key or address.
//!
//! Intents are counted once their transaction committed. A job may run more than once (a
//! PostgreSQL batch rolled back and run again) and a failed job's writes are rolled back, so the
//! ledger does not count where it writes: the write paths [`note`] what they did in a tally kept
//! for the job's run (a task-local around it, see `ledger::Typed`), and the ledger records the
//! tally of the run that committed, after the commit ([`IntentTypeLabels::record`]).

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axp_core::delivery::{DeliveryKind, DeliveryStatus};
use axp_core::{Status, Timestamp};

/// Counter: intents created (scenario applies and routed deliveries included), label
/// `intent_type`.
pub const INTENTS_CREATED: &str = "axp_intents_created_total";

/// Counter: intents that reached a terminal status, labels `status` and `intent_type`.
pub const INTENTS_FINISHED: &str = "axp_intents_finished_total";

/// Counter: push attempts (agent pushes and webhook deliveries) recorded, labels `kind` and
/// `outcome`.
pub const PUSH_ATTEMPTS: &str = "axp_push_attempts_total";

/// Histogram: seconds one push attempt took, from sending the request to its answer (or
/// failure), label `kind`.
pub const PUSH_ATTEMPT_DURATION: &str = "axp_push_attempt_duration_seconds";

/// Histogram: seconds between a timer's due time and the moment it fired.
pub const SCHEDULER_LAG: &str = "axp_scheduler_lag_seconds";

/// The `intent_type` label of anything not on the allow-list.
pub const OTHER: &str = "other";

/// The intent types that get a label value of their own (`AXP_METRICS_INTENT_TYPES`); every
/// other type is counted under [`OTHER`]. Cheap to clone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntentTypeLabels {
    allowed: Arc<HashSet<String>>,
}

impl IntentTypeLabels {
    /// Labels for `types` (each exactly as intents name it).
    pub fn new(types: impl IntoIterator<Item = String>) -> Self {
        Self { allowed: Arc::new(types.into_iter().collect()) }
    }

    /// The label value of `intent_type`: itself when allowed, else [`OTHER`].
    pub fn label(&self, intent_type: &str) -> String {
        if self.allowed.contains(intent_type) { intent_type } else { OTHER }.to_owned()
    }

    /// The allowed types, sorted.
    pub fn types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self.allowed.iter().map(String::as_str).collect();
        types.sort_unstable();
        types
    }

    /// Records what a committed job did.
    pub(crate) fn record(&self, facts: &[Fact]) {
        for fact in facts {
            match fact {
                Fact::Created { intent_type } => {
                    metrics::counter!(INTENTS_CREATED, "intent_type" => self.label(intent_type)).increment(1);
                }
                Fact::Finished { status, intent_type } => {
                    let labels =
                        [("status", status.as_str().to_owned()), ("intent_type", self.label(intent_type))];
                    metrics::counter!(INTENTS_FINISHED, &labels).increment(1);
                }
            }
        }
    }
}

/// What a job's run did that is counted once it commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fact {
    /// An intent of this type was created.
    Created { intent_type: String },
    /// An intent of this type reached this terminal status.
    Finished { status: Status, intent_type: String },
}

tokio::task_local! {
    /// The facts of the job run being polled (see the module doc).
    static TALLY: RefCell<Vec<Fact>>;
}

/// Notes `fact` in the tally of the job run in progress; outside one (a read, a test calling a
/// write path directly) it is dropped.
pub(crate) fn note(fact: Fact) {
    let _ = TALLY.try_with(|tally| tally.borrow_mut().push(fact));
}

/// Runs `run` with a tally of its own; returns its output and what it noted.
pub(crate) async fn tallied<T>(run: impl Future<Output = T>) -> (T, Vec<Fact>) {
    TALLY
        .scope(RefCell::default(), async move {
            let out = run.await;
            (out, TALLY.with(RefCell::take))
        })
        .await
}

/// Records that one push attempt of `push` (label `kind`: `agent_push` or `webhook`) took
/// `took`, from sending the request to its answer or failure.
pub(crate) fn record_push_duration(push: DeliveryKind, took: Duration) {
    metrics::histogram!(PUSH_ATTEMPT_DURATION, "kind" => push.as_str()).record(took.as_secs_f64());
}

/// Records a push attempt of `push` once recorded, by the state it left its delivery in: outcome
/// `delivered`, `retried` (another attempt is scheduled), `dead_lettered` (no attempt left) or
/// `failed` (its intent ended, so it is not tried again).
pub(crate) fn record_push_outcome(push: DeliveryKind, after: DeliveryStatus) {
    let outcome = match after {
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Pending | DeliveryStatus::Delivering => "retried",
        DeliveryStatus::DeadLettered => "dead_lettered",
        DeliveryStatus::Failed => "failed",
    };
    metrics::counter!(PUSH_ATTEMPTS, "kind" => push.as_str(), "outcome" => outcome).increment(1);
}

/// Records that a timer due at `due` fired at `now` (one fired early, which does not happen,
/// counts as on time).
pub(crate) fn record_timer_lag(due: Timestamp, now: Timestamp) {
    let lag = (now.as_millis() - due.as_millis()).max(0) as f64 / 1000.0;
    metrics::histogram!(SCHEDULER_LAG).record(lag);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_types_keep_their_name() {
        let labels = IntentTypeLabels::new(["invoice.pay.v1".to_owned(), "notify.message.v1".to_owned()]);
        assert_eq!(labels.label("invoice.pay.v1"), "invoice.pay.v1");
        assert_eq!(labels.label("notify.message.v1"), "notify.message.v1");
        assert_eq!(labels.label("invoice.pay.v2"), OTHER, "exact names only");
        assert_eq!(labels.label(""), OTHER);
        assert_eq!(IntentTypeLabels::default().label("invoice.pay.v1"), OTHER, "none allowed by default");
        assert_eq!(labels.types(), ["invoice.pay.v1", "notify.message.v1"]);
    }

    #[tokio::test]
    async fn a_tally_keeps_what_its_run_noted_and_nothing_else() {
        note(Fact::Created { intent_type: "outside".into() });
        let created = Fact::Created { intent_type: "a".into() };
        let (out, facts) = tallied(async {
            note(created.clone());
            tokio::task::yield_now().await;
            note(Fact::Finished { status: Status::Completed, intent_type: "a".into() });
            7
        })
        .await;
        assert_eq!(out, 7);
        assert_eq!(facts, [created, Fact::Finished { status: Status::Completed, intent_type: "a".into() }]);
        let (_, again) = tallied(async {}).await;
        assert!(again.is_empty(), "each run starts with an empty tally");
    }
}
