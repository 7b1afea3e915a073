//! Lifecycle statuses, waiting reasons and the legal transition table.
//!
//! Source: `axp-spec/schemas/protocol/intent.lifecycle.v1.json` plus TIMED_OUT, as reconciled in
//! contract §3.1. The deviations the clients need (resolve from any non-terminal status) are
//! applied by [`crate::lifecycle`], not here: this table is the strict graph.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The status of an intent (contract §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Accepted, not yet persisted as submitted (only ever seen as event seq 1).
    Created,
    /// Durably persisted and queued for its target.
    Submitted,
    /// Handed to the target (stream frame written, poll claim, successful push).
    Delivered,
    /// The target acknowledged receipt.
    Acknowledged,
    /// Work is under way.
    InProgress,
    /// Blocked; see [`WaitingReason`].
    Waiting,
    /// Finished successfully. Terminal.
    Completed,
    /// Finished unsuccessfully. Terminal.
    Failed,
    /// Canceled. Terminal.
    Canceled,
    /// `deadline_at` passed. Terminal.
    TimedOut,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 10] = [
        Status::Created,
        Status::Submitted,
        Status::Delivered,
        Status::Acknowledged,
        Status::InProgress,
        Status::Waiting,
        Status::Completed,
        Status::Failed,
        Status::Canceled,
        Status::TimedOut,
    ];

    /// Every non-terminal status: what agent streams show unless told otherwise (§4.11).
    pub const OPEN: [Status; 6] = [
        Status::Created,
        Status::Submitted,
        Status::Delivered,
        Status::Acknowledged,
        Status::InProgress,
        Status::Waiting,
    ];

    /// COMPLETED, FAILED, CANCELED and TIMED_OUT are terminal: nothing changes them again.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Canceled | Status::TimedOut)
    }

    /// The strict transition graph of contract §3.1.
    ///
    /// ```
    /// use axp_core::Status;
    /// assert!(Status::Submitted.can_become(Status::Delivered));
    /// assert!(!Status::Completed.can_become(Status::InProgress));
    /// ```
    pub const fn can_become(self, to: Status) -> bool {
        use Status::*;
        if self.is_terminal() {
            return false;
        }
        if matches!(to, TimedOut) {
            return true;
        }
        match self {
            Created => matches!(to, Submitted),
            Submitted => matches!(to, Delivered | InProgress | Waiting | Failed | Canceled),
            Delivered => matches!(to, Acknowledged | InProgress | Waiting | Failed | Canceled),
            Acknowledged => matches!(to, InProgress | Waiting | Failed | Canceled),
            InProgress => matches!(to, Waiting | Completed | Failed | Canceled),
            Waiting => matches!(to, InProgress | Failed | Canceled),
            Completed | Failed | Canceled | TimedOut => false,
        }
    }

    /// The wire name, e.g. `IN_PROGRESS`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Created => "CREATED",
            Status::Submitted => "SUBMITTED",
            Status::Delivered => "DELIVERED",
            Status::Acknowledged => "ACKNOWLEDGED",
            Status::InProgress => "IN_PROGRESS",
            Status::Waiting => "WAITING",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
            Status::Canceled => "CANCELED",
            Status::TimedOut => "TIMED_OUT",
        }
    }

    /// The legacy projection (contract §3.1): `accepted`, `running`, `blocked`, `done`, `failed`.
    pub const fn legacy(self) -> &'static str {
        match self {
            Status::Created | Status::Submitted | Status::Delivered | Status::Acknowledged => "accepted",
            Status::InProgress => "running",
            Status::Waiting => "blocked",
            Status::Completed => "done",
            Status::Failed | Status::Canceled | Status::TimedOut => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;

    /// Parses a wire name, case-insensitively (`completed` and `COMPLETED` both work).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A string that names no [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status {0:?}; expected one of CREATED, SUBMITTED, DELIVERED, ACKNOWLEDGED, IN_PROGRESS, WAITING, COMPLETED, FAILED, CANCELED, TIMED_OUT"
)]
pub struct UnknownStatus(pub String);

/// Why an intent is WAITING (contract §3.1). Present exactly when the status is WAITING.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WaitingReason {
    /// A person must act (human task).
    WaitingForHuman,
    /// A tool call is outstanding.
    WaitingForTool,
    /// Another agent must act.
    WaitingForAgent,
    /// A timer (delay step) must fire.
    WaitingForTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_go_nowhere() {
        for from in Status::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in Status::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn every_non_terminal_status_can_time_out() {
        for from in Status::ALL.into_iter().filter(|s| !s.is_terminal()) {
            assert!(from.can_become(Status::TimedOut));
        }
    }

    #[test]
    fn parses_case_insensitively() {
        assert_eq!("in_progress".parse::<Status>().unwrap(), Status::InProgress);
        assert!("DONE".parse::<Status>().is_err());
    }
}
