//! Scenario bundles: apply and validate (contract §4.13).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::delivery::Binding;
use crate::ids::{IntentId, ServiceAccountId};
use crate::status::Status;
use crate::time::Timestamp;

/// One agent of `apply`'s response (§4.13).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvisionedAgent {
    /// The bundle's role.
    pub role: String,
    /// The normalised address.
    pub address: String,
    /// True when `apply` created the service account.
    pub created: bool,
    /// The created account's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_id: Option<ServiceAccountId>,
    /// A key for a newly created agent, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The agent's delivery binding.
    pub delivery_mode: Binding,
    /// A newly created `http` agent's `{url, secret}`, shown once (replays carry no secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_config: Option<Map<String, Value>>,
}

/// Response of `POST /v1/scenarios/apply` (§4.13).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplyScenarioResponse {
    /// Always true.
    pub ok: bool,
    /// The intent created.
    pub intent_id: IntentId,
    /// The bundle's scenario id (or a generated `scenario_<uuid>`).
    pub scenario_id: String,
    /// The intent's status after apply.
    pub status: Status,
    /// The compiled workflow's id.
    pub compile_id: String,
    /// The same id, under the SPEC's name.
    pub workflow_compile_id: String,
    /// Agents resolved or created.
    pub agents: Vec<ProvisionedAgent>,
    /// The same list (the SDK and CLI read this name).
    pub agents_provisioned: Vec<ProvisionedAgent>,
    /// The first step's assignee address.
    pub pending_with: String,
    /// The intent's deadline.
    pub deadline_at: Option<Timestamp>,
    /// When the intent was created.
    pub created_at: Timestamp,
    /// True on an idempotent replay.
    pub idempotent: bool,
}

/// Response of `POST /v1/scenarios/validate` (§4.13): never 4xx for bundle problems.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidateScenarioResponse {
    /// Always true.
    pub ok: bool,
    /// True when `errors` is empty.
    pub valid: bool,
    /// What prevents `apply`.
    pub errors: Vec<String>,
    /// What `apply` would fix or default.
    pub warnings: Vec<String>,
}
