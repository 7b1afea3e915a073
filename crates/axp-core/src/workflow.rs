//! Multi-step workflows: the steps of a scenario, carried by the intent they drive (§4.13).
//!
//! One intent runs the whole workflow. Its first agent step is delivered like any intent
//! (SUBMITTED → DELIVERED); every later step puts it in WAITING with the reason of that step
//! (`WAITING_FOR_AGENT` while another agent works, `WAITING_FOR_HUMAN` for a person,
//! `WAITING_FOR_TIME` for a delay) until the step's result moves it back to IN_PROGRESS and on to
//! the next step (`on_success`, else the next in order) or, on failure, to `on_failure` (else
//! FAILED). Internal steps (`notification`, `reminder`, `escalation`, `timeout`) run at once. The
//! transitions themselves live in [`crate::lifecycle`]; this module holds the data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a step is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// Delivered to an agent over its binding; done when the agent resumes with a result.
    Agent {
        /// The agent's address.
        assignee: String,
    },
    /// A person's task (`requires_approval`, `human_approval`, or a step with `human_task`).
    Human {
        /// The HumanTaskSpec (§4.9), `assignees` included.
        task: Map<String, Value>,
    },
    /// Run by the server: `delay`, `timeout`, `reminder`, `escalation`, `notification`.
    Internal {
        /// Which.
        runtime_type: String,
        /// Its settings (`seconds`, `escalate_to`, `event_type`, …).
        config: Map<String, Value>,
    },
}

/// Retries of a failing agent step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepRetry {
    /// Retries after the first failure.
    pub max_retries: u32,
    /// Seconds between a failure and the retry.
    pub retry_delay_seconds: u32,
}

/// Reminder settings of a human step (override the intent's, §4.10).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepReminders {
    /// Seconds until the first reminder.
    pub remind_after_seconds: Option<u32>,
    /// Seconds between reminders.
    pub remind_interval_seconds: Option<u32>,
    /// Reminders before escalating.
    pub max_reminders: Option<u32>,
    /// Escalation target.
    pub escalate_to: Option<String>,
}

/// One step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    /// Unique in the workflow.
    pub step_id: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: StepKind,
    /// The step after success (default: the next in order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<String>,
    /// The step after failure (default: the intent fails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// Seconds the step may take before it counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_deadline_seconds: Option<u32>,
    /// Retries of a failing agent step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<StepRetry>,
    /// Reminders of a human step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<StepReminders>,
}

/// A workflow in progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workflow {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Index of the current step.
    pub current: usize,
    /// Each finished step's result (or error), by step id.
    #[serde(default)]
    pub results: Map<String, Value>,
    /// Retries spent, by step id.
    #[serde(default)]
    pub retries: BTreeMap<String, u32>,
}

impl Workflow {
    /// A workflow about to start at its first step.
    pub fn new(steps: Vec<Step>) -> Self {
        Self { steps, current: 0, results: Map::new(), retries: BTreeMap::new() }
    }

    /// The current step.
    pub fn step(&self) -> Option<&Step> {
        self.steps.get(self.current)
    }

    /// Index of the step with `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.step_id == id)
    }
}

/// A webhook event a `notification` step asks the server to publish to the sender's
/// subscriptions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// Its type (`runtime_config.event_type`, default `workflow.notification`).
    pub event_type: String,
    /// Its data.
    pub payload: Value,
}
