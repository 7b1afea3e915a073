//! Durable timers: what is due when, per intent.
//!
//! The lifecycle asks for timers in its [`Outcome`](crate::lifecycle::Outcome); stores persist
//! them in the same transaction as the change that asked, and the scheduler fires them as
//! [`Command::Fire`](crate::lifecycle::Command::Fire) once they are due. A timer that is no longer
//! relevant when it fires (the lease was acknowledged, the intent already ended) changes nothing.
//! At most one timer of each [`TimerKind::key`] exists per intent.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Lease on an intent handed to an agent when neither the intent nor the agent sets one, in
/// seconds (DESIGN.md "Delivery bindings"; contract §4.10 DECISION: 60 s).
pub const DEFAULT_LEASE_SECONDS: u32 = 60;

/// What a timer does when it fires.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// `deadline_at` passed: a non-terminal intent becomes TIMED_OUT.
    Deadline,
    /// The lease of delivery attempt `attempt` ran out: unless the agent acknowledged, the
    /// intent is delivered again, or fails once `max_delivery_attempts` is spent.
    LeaseExpiry {
        /// The attempt whose lease this is; a later attempt makes this timer stale.
        attempt: u32,
    },
    /// Reminder number `n` of the open human task is due (§4.10).
    Reminder {
        /// 1 for the first reminder; stale once `remind_count` moved past `n - 1`.
        n: u32,
    },
    /// A workflow step ran past its `step_deadline_seconds`.
    StepDeadline {
        /// The step; stale once the workflow has left it.
        step_id: String,
    },
    /// A `delay` step is over.
    StepDelay {
        /// The step.
        step_id: String,
    },
    /// A failed agent step is retried.
    StepRetry {
        /// The step.
        step_id: String,
    },
    /// A pending media upload reached its `expires_at`: it becomes `expired` and its bytes are
    /// removed (contract §6 "Media"). Its timer row is keyed by the upload id in place of an
    /// intent id; stale once the upload was finalized or deleted.
    MediaExpiry,
}

impl TimerKind {
    /// The uniqueness key of the timer within its intent (`deadline`, `lease`).
    pub fn key(&self) -> &'static str {
        match self {
            TimerKind::Deadline => "deadline",
            TimerKind::LeaseExpiry { .. } => "lease",
            TimerKind::Reminder { .. } => "reminder",
            TimerKind::StepDeadline { .. } => "step_deadline",
            TimerKind::StepDelay { .. } => "step_delay",
            TimerKind::StepRetry { .. } => "step_retry",
            TimerKind::MediaExpiry => "media_expiry",
        }
    }
}

/// A timer to (re)schedule for an intent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timer {
    /// What it does.
    pub kind: TimerKind,
    /// When it is due.
    pub due_at: Timestamp,
}
