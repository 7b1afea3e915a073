//! The agent mesh (contract §6 "Mesh"; the Python SDK's `axme_sdk/mesh.py`, field shapes from
//! the TypeScript SDK's `mesh.ts`): heartbeats with optional metrics, health derived from the
//! time since the last heartbeat, the kill switch, and the mesh event log.
//!
//! An agent's `address_id` is its service account id: the stable UUID axp already gives every
//! agent address (`GET /v1/agents/{address}` shows it as `service_account_id`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::ServiceAccountId;
use crate::time::Timestamp;

/// Below this many milliseconds since the last heartbeat an agent is `healthy`: twice the
/// SDK's default heartbeat interval of 30 s (contract §6 "Mesh", DECISION).
pub const HEALTHY_MS: i64 = 60_000;

/// Below this many milliseconds since the last heartbeat an agent is `degraded`; past it,
/// `unreachable` (contract §6 "Mesh", DECISION).
pub const DEGRADED_MS: i64 = 5 * 60_000;

/// Mesh event types (`GET /v1/mesh/events`, `event_type`).
pub mod event_types {
    /// An admin turned the kill switch on (details: `null`).
    pub const AGENT_KILLED: &str = "agent.killed";
    /// An admin turned the kill switch off (details: `null`).
    pub const AGENT_RESUMED: &str = "agent.resumed";
    /// A heartbeat arrived from an agent that was not `healthy` (details: `{"from", "to"}`).
    pub const HEALTH_CHANGED: &str = "health.changed";
}

/// An agent's derived health (`health_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Last heartbeat less than 60 s ago.
    Healthy,
    /// Last heartbeat 60 s to 5 min ago.
    Degraded,
    /// Last heartbeat 5 min ago or more.
    Unreachable,
    /// The kill switch is on, whatever its heartbeats.
    Killed,
    /// It never sent a heartbeat.
    Unknown,
}

impl HealthStatus {
    /// The health of an agent whose last heartbeat was at `last_heartbeat` (`None`: never), at
    /// `now`, with the kill switch `killed` (contract §6 "Mesh", DECISION). A heartbeat "from
    /// the future" (clock skew between replicas) counts as just now.
    pub fn derive(now: Timestamp, last_heartbeat: Option<Timestamp>, killed: bool) -> Self {
        if killed {
            return Self::Killed;
        }
        let Some(at) = last_heartbeat else { return Self::Unknown };
        match now.as_millis().saturating_sub(at.as_millis()) {
            age if age < HEALTHY_MS => Self::Healthy,
            age if age < DEGRADED_MS => Self::Degraded,
            _ => Self::Unreachable,
        }
    }

    /// The wire name, e.g. `healthy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unreachable => "unreachable",
            Self::Killed => "killed",
            Self::Unknown => "unknown",
        }
    }

    /// Parses a wire name (the `health` filter); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Healthy, Self::Degraded, Self::Unreachable, Self::Killed, Self::Unknown]
            .into_iter()
            .find(|h| h.as_str() == s)
    }
}

/// The period `intents_period` and `cost_period` cover (`window=day|week|month`): the UTC day
/// of the request and the days before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Window {
    /// Today (UTC).
    #[default]
    Day,
    /// The last 7 UTC days, today included.
    Week,
    /// The last 30 UTC days, today included.
    Month,
}

impl Window {
    /// Parses `day`, `week` or `month`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            _ => None,
        }
    }

    /// The first UTC day (days since 1970-01-01) of the window that ends on day `today`.
    pub fn first_day(self, today: i64) -> i64 {
        today
            - match self {
                Self::Day => 0,
                Self::Week => 6,
                Self::Month => 29,
            }
    }
}

/// What a heartbeat reports (`{"metrics": {…}}`): what the agent observed since its previous
/// report (the SDK buffers observations and sends them with the next heartbeat). Every field is
/// optional; absent counts are 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatMetrics {
    /// Intents handled.
    #[serde(default)]
    pub intents_total: u64,
    /// Of those, succeeded.
    #[serde(default)]
    pub intents_succeeded: u64,
    /// Of those, failed.
    #[serde(default)]
    pub intents_failed: u64,
    /// Their mean latency in milliseconds, if measured.
    #[serde(default)]
    pub avg_latency_ms: Option<f64>,
    /// What they cost, in US dollars.
    #[serde(default)]
    pub cost_usd: f64,
}

/// An agent's metrics accumulated over some UTC days (the sum of its heartbeats' reports).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MetricsTotal {
    /// Intents handled.
    pub intents_total: u64,
    /// Of those, succeeded.
    pub intents_succeeded: u64,
    /// Of those, failed.
    pub intents_failed: u64,
    /// The sum of each report's mean latency times its weight (its `intents_total`, at least 1).
    pub latency_ms_sum: f64,
    /// The sum of the weights of the reports that measured latency.
    pub latency_weight: u64,
    /// US dollars.
    pub cost_usd: f64,
    /// Heartbeats that carried metrics.
    pub reports: u64,
}

impl MetricsTotal {
    /// One heartbeat's report as a total.
    pub fn of(m: &HeartbeatMetrics) -> Self {
        let weight = m.intents_total.max(1);
        let latency = m.avg_latency_ms.filter(|l| l.is_finite() && *l >= 0.0);
        Self {
            intents_total: m.intents_total,
            intents_succeeded: m.intents_succeeded,
            intents_failed: m.intents_failed,
            latency_ms_sum: latency.map_or(0.0, |l| l * weight as f64),
            latency_weight: if latency.is_some() { weight } else { 0 },
            cost_usd: if m.cost_usd.is_finite() { m.cost_usd } else { 0.0 },
            reports: 1,
        }
    }

    /// Adds `other` into this total.
    pub fn add(&mut self, other: &Self) {
        self.intents_total = self.intents_total.saturating_add(other.intents_total);
        self.intents_succeeded = self.intents_succeeded.saturating_add(other.intents_succeeded);
        self.intents_failed = self.intents_failed.saturating_add(other.intents_failed);
        self.latency_ms_sum += other.latency_ms_sum;
        self.latency_weight = self.latency_weight.saturating_add(other.latency_weight);
        self.cost_usd += other.cost_usd;
        self.reports = self.reports.saturating_add(other.reports);
    }

    /// The wire shape (`agent.metrics`): counts, `avg_latency_ms` (weighted by each report's
    /// intents; `null` when none measured it), `cost_usd`, `reports`.
    pub fn to_wire(&self) -> AgentMetrics {
        AgentMetrics {
            intents_total: self.intents_total,
            intents_succeeded: self.intents_succeeded,
            intents_failed: self.intents_failed,
            avg_latency_ms: (self.latency_weight > 0)
                .then(|| self.latency_ms_sum / self.latency_weight as f64),
            cost_usd: self.cost_usd,
            reports: self.reports,
        }
    }
}

/// `agent.metrics` of `GET /v1/mesh/agents/{address_id}`: the agent's reports summed over the
/// requested window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentMetrics {
    /// Intents handled.
    pub intents_total: u64,
    /// Of those, succeeded.
    pub intents_succeeded: u64,
    /// Of those, failed.
    pub intents_failed: u64,
    /// Mean latency in milliseconds; `null` when no report measured it.
    pub avg_latency_ms: Option<f64>,
    /// US dollars.
    pub cost_usd: f64,
    /// Heartbeats that carried metrics.
    pub reports: u64,
}

/// One row of the mesh event log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeshEvent {
    /// Its id (a UUID).
    pub event_id: uuid::Uuid,
    /// The agent address it is about.
    pub address: String,
    /// `agent.killed`, `agent.resumed`, `health.changed` ([`event_types`]).
    pub event_type: String,
    /// Further facts, or `null`.
    pub details: Option<Map<String, Value>>,
    /// Who caused it (the admin's actor id), `null` for the agent's own heartbeat.
    pub actor_id: Option<String>,
    /// When.
    pub created_at: Timestamp,
}

/// `POST /v1/mesh/heartbeat` → `{ok, address_id, health_status, last_heartbeat_at, killed}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    /// Always true.
    pub ok: bool,
    /// The caller's agent (its service account id).
    pub address_id: ServiceAccountId,
    /// Its health after this heartbeat: `healthy`, or `killed`.
    pub health_status: HealthStatus,
    /// This heartbeat's time.
    pub last_heartbeat_at: Timestamp,
    /// Whether its kill switch is on.
    pub killed: bool,
}

/// One agent of `GET /v1/mesh/agents` (and, with `metrics` and `events`, of
/// `GET /v1/mesh/agents/{address_id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeshAgent {
    /// Its service account id.
    pub address_id: ServiceAccountId,
    /// Its agent address.
    pub address: String,
    /// Its display name.
    pub display_name: Option<String>,
    /// Derived health at the time of the request.
    pub health_status: HealthStatus,
    /// Its last heartbeat, `null` if never.
    pub last_heartbeat_at: Option<Timestamp>,
    /// When its kill switch went on, while it is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed_at: Option<Timestamp>,
    /// When the agent was registered.
    pub created_at: Timestamp,
    /// Intents it reported over the window.
    pub intents_period: u64,
    /// Cost it reported over the window, US dollars.
    pub cost_period: f64,
    /// `{"delivery_mode", "description"}` of its service account.
    pub metadata: Option<Map<String, Value>>,
    /// Detail only: the reports summed over the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<AgentMetrics>,
    /// Detail only: its latest mesh events, newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<MeshEvent>>,
}

/// `summary` of `GET /v1/mesh/agents`: counts over the whole workspace (before `health` and
/// `limit` apply). `total` includes agents of unknown health.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeshSummary {
    /// Agents.
    pub total: u64,
    /// Of those, healthy.
    pub healthy: u64,
    /// Degraded.
    pub degraded: u64,
    /// Unreachable.
    pub unreachable: u64,
    /// Killed.
    pub killed: u64,
}

impl MeshSummary {
    /// Counts one agent of health `h`.
    pub fn count(&mut self, h: HealthStatus) {
        self.total += 1;
        match h {
            HealthStatus::Healthy => self.healthy += 1,
            HealthStatus::Degraded => self.degraded += 1,
            HealthStatus::Unreachable => self.unreachable += 1,
            HealthStatus::Killed => self.killed += 1,
            HealthStatus::Unknown => {}
        }
    }
}

/// `GET /v1/mesh/agents` → `{ok, agents, summary}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeshAgentsResponse {
    /// Always true.
    pub ok: bool,
    /// Agents, oldest first.
    pub agents: Vec<MeshAgent>,
    /// Counts by health.
    pub summary: MeshSummary,
}

/// `GET /v1/mesh/agents/{address_id}` → `{ok, agent}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeshAgentResponse {
    /// Always true.
    pub ok: bool,
    /// The agent with `metrics` and `events`.
    pub agent: MeshAgent,
}

/// `POST /v1/mesh/agents/{address_id}/kill|resume` →
/// `{ok, address_id, health_status, killed_at|resumed_at}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KillSwitchResponse {
    /// Always true.
    pub ok: bool,
    /// The agent.
    pub address_id: ServiceAccountId,
    /// `killed` after a kill; after a resume, its derived health (`healthy` when its last
    /// heartbeat is recent).
    pub health_status: HealthStatus,
    /// When the kill switch went on (kill only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed_at: Option<Timestamp>,
    /// When it went off (resume only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<Timestamp>,
}

/// `GET /v1/mesh/events` → `{ok, events}`, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeshEventsResponse {
    /// Always true.
    pub ok: bool,
    /// The events.
    pub events: Vec<MeshEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_time_since_the_last_heartbeat_and_the_kill_switch() {
        let at = Timestamp::from_millis(1_000_000);
        let after = |ms: i64| Timestamp::from_millis(1_000_000 + ms);
        assert_eq!(HealthStatus::derive(after(0), None, false), HealthStatus::Unknown);
        assert_eq!(HealthStatus::derive(after(59_999), Some(at), false), HealthStatus::Healthy);
        assert_eq!(HealthStatus::derive(after(60_000), Some(at), false), HealthStatus::Degraded);
        assert_eq!(HealthStatus::derive(after(299_999), Some(at), false), HealthStatus::Degraded);
        assert_eq!(HealthStatus::derive(after(300_000), Some(at), false), HealthStatus::Unreachable);
        assert_eq!(HealthStatus::derive(after(-5_000), Some(at), false), HealthStatus::Healthy);
        assert_eq!(HealthStatus::derive(after(0), Some(at), true), HealthStatus::Killed);
        assert_eq!(HealthStatus::derive(after(0), None, true), HealthStatus::Killed);
        for h in ["healthy", "degraded", "unreachable", "killed", "unknown"] {
            assert_eq!(HealthStatus::parse(h).map(HealthStatus::as_str), Some(h));
        }
        assert_eq!(HealthStatus::parse("sick"), None);
    }

    #[test]
    fn totals_weight_latency_by_intents_and_windows_count_back_from_today() {
        let mut total = MetricsTotal::of(&HeartbeatMetrics {
            intents_total: 3,
            intents_succeeded: 2,
            intents_failed: 1,
            avg_latency_ms: Some(10.0),
            cost_usd: 0.5,
        });
        total.add(&MetricsTotal::of(&HeartbeatMetrics {
            intents_total: 1,
            avg_latency_ms: Some(50.0),
            cost_usd: 0.25,
            ..HeartbeatMetrics::default()
        }));
        total.add(&MetricsTotal::of(&HeartbeatMetrics { intents_total: 4, ..HeartbeatMetrics::default() }));
        let wire = total.to_wire();
        assert_eq!((wire.intents_total, wire.intents_succeeded, wire.intents_failed), (8, 2, 1));
        assert_eq!(wire.avg_latency_ms, Some(20.0));
        assert_eq!((wire.cost_usd, wire.reports), (0.75, 3));
        assert_eq!(MetricsTotal::default().to_wire().avg_latency_ms, None);
        assert_eq!([Window::Day, Window::Week, Window::Month].map(|w| w.first_day(100)), [100, 94, 71]);
        assert_eq!(Window::parse("year"), None);
    }

    #[test]
    fn the_summary_counts_every_agent_in_total() {
        let mut s = MeshSummary::default();
        for h in [HealthStatus::Healthy, HealthStatus::Unknown, HealthStatus::Killed, HealthStatus::Degraded]
        {
            s.count(h);
        }
        assert_eq!(s, MeshSummary { total: 4, healthy: 1, degraded: 1, unreachable: 0, killed: 1 });
    }
}
