//! Agents and their identities: service accounts and API keys (contract §6), the agents registry
//! and delivery bindings (§4.12, DESIGN.md "Delivery bindings"), and the frames an agent
//! receives (§4.11).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::yes;
use crate::delivery::Binding;
use crate::ids::{ApiKeyId, IntentId, OrgId, ServiceAccountId, WorkspaceId};
use crate::intent::PendingWith;
use crate::status::Status;
use crate::time::Timestamp;

/// One frame of the agent intent stream and of the poll binding (§4.11).
///
/// `seq` is the **agent's** delivery cursor (monotonic per agent address), not the intent's
/// event seq: reconnecting with `since = max(seq)` resumes without losing deliveries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentDelivery {
    /// The intent delivered.
    pub intent_id: IntentId,
    /// The agent cursor of this delivery.
    pub seq: u64,
    /// Always `intent.delivered`.
    pub event_type: String,
    /// The intent's status when the frame was written (DELIVERED on first delivery).
    pub status: Status,
    /// When the delivery was queued.
    pub at: Timestamp,
    /// The intent's type.
    pub intent_type: String,
    /// Sender.
    pub from_agent: String,
    /// This agent.
    pub to_agent: String,
    /// Correlation id.
    pub correlation_id: Uuid,
    /// The payload.
    pub payload: Map<String, Value>,
    /// The workflow step being delivered, for scenario intents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// Attempts made, 1 on first delivery.
    pub delivery_attempt: u32,
    /// Who the intent waits on.
    pub pending_with: Option<PendingWith>,
}

/// Body of `POST /v1/service-accounts` (§6, with the axp extensions `agent_address` and the
/// delivery binding): a new agent identity and, optionally, how intents reach it (default
/// `stream`). The SDK also calls it `RegisterAgentRequest`.
///
/// ```
/// use axp_core::api::{CreateServiceAccountRequest, DeliveryBinding};
///
/// let request = CreateServiceAccountRequest {
///     name: "billing-worker".into(),
///     binding: Some(DeliveryBinding::poll()),
///     ..Default::default()
/// };
/// assert_eq!(
///     serde_json::to_value(&request)?,
///     serde_json::json!({"name": "billing-worker", "delivery_mode": "poll"})
/// );
/// // Without `delivery_mode` there is no binding.
/// let plain: CreateServiceAccountRequest = serde_json::from_value(serde_json::json!({"name": "bot"}))?;
/// assert_eq!(plain.binding, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateServiceAccountRequest {
    /// The organization of `workspace_id` (optional; checked against it when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    /// The workspace the account (and every key it gets) belongs to; default the caller's. An
    /// org admin may name any workspace of its organization: that is how a new workspace gets
    /// its first key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<WorkspaceId>,
    /// Name, unique in the workspace: `[A-Za-z0-9._@-]`, 1 to 120 characters.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An explicit agent address (any valid `agent://` form); default `agent://{org}/{ws}/{name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_address: Option<String>,
    /// Display name; default the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The delivery binding, its fields at the top level of the body; default `stream`.
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub binding: Option<DeliveryBinding>,
}

/// A service account: an agent identity that owns API keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceAccount {
    /// Its id.
    pub service_account_id: ServiceAccountId,
    /// Its organization.
    pub org_id: OrgId,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// `active`, `suspended` or `revoked`.
    pub status: String,
    /// Who created it (a service account id or `bootstrap`).
    pub created_by_actor_id: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Its agent address: the `from_agent` of every intent its keys create.
    pub agent_address: String,
    /// The same address (the CLI reads either name).
    pub address: String,
    /// Display name.
    pub display_name: String,
    /// The delivery binding.
    pub delivery_mode: Binding,
    /// Seconds this agent has to acknowledge a delivery; unset: 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_seconds: Option<u32>,
    /// For the `http` binding: `{"url": …}`, plus `"secret"` (`whsec_…`) only in the response
    /// that set it. The secret is stored apart and never shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_config: Option<Map<String, Value>>,
}

/// `{"ok": true, "service_account": {…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceAccountResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The account.
    pub service_account: ServiceAccount,
}

/// An API key. `token` is present only in the response that created it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    /// Its id.
    pub key_id: ApiKeyId,
    /// Its owner.
    pub service_account_id: ServiceAccountId,
    /// The last four characters of the secret, e.g. `****a1b2`.
    pub key_hint: String,
    /// `active` or `revoked`.
    pub status: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// The secret `axme_sa_<service_account_id>_<secret>`, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `{"ok": true, "key": {…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The key.
    pub key: ApiKey,
}

/// One agent of the registry (contract §4.12): a service account seen through its address, with
/// its delivery binding (the `http` secret only in the response that set it) and its connection
/// state on the server that answered.
///
/// Every field but `address` is optional and every other field the server sends is kept in
/// `extra`, so the SDK reads servers of other versions.
///
/// ```
/// let agent: axp_core::api::Agent = serde_json::from_value(serde_json::json!({
///     "address": "agent://default/default/report-api-demo",
///     "service_account_id": "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e",
///     "service_account_name": "report-api-demo",
///     "display_name": "Report API Service",
///     "status": "active",
///     "delivery_mode": "stream",
///     "created_at": "2026-02-28T00:00:10.000Z",
///     "updated_at": "2026-02-28T00:00:10.000Z"
/// }))?;
/// assert_eq!(agent.service_account_name.as_deref(), Some("report-api-demo"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    /// The canonical address, e.g. `agent://org/ws/name`.
    pub address: String,
    /// The service account behind the address.
    #[serde(default)]
    pub service_account_id: Option<ServiceAccountId>,
    /// That account's name (the last address segment for accounts created by name).
    #[serde(default)]
    pub service_account_name: Option<String>,
    /// A name for people.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `active`, `suspended` or `deleted`.
    #[serde(default)]
    pub status: Option<String>,
    /// The delivery binding ([`Binding::Unknown`] for one this version does not know).
    #[serde(default)]
    pub delivery_mode: Option<Binding>,
    /// For the `http` binding: `{"url": …}` (the signing secret only in the response that set
    /// it).
    #[serde(default)]
    pub delivery_config: Option<Map<String, Value>>,
    /// Seconds the agent has to acknowledge a delivery before it is redelivered; unset: the
    /// server's default (60).
    #[serde(default)]
    pub lease_seconds: Option<u32>,
    /// Agent streams open on this server right now.
    #[serde(default)]
    pub connected_streams: Option<u32>,
    /// `connected` while a stream is open on this server or the agent's last mesh heartbeat is
    /// under 60 s old (contract §6 "Mesh": a heartbeat counts as presence), else
    /// `disconnected`. The server adds `last_heartbeat_at` and `health_status` beside it.
    #[serde(default)]
    pub connection_state: Option<String>,
    /// When the agent was registered.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When its record last changed.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `GET /v1/agents/{address}` and `PUT /v1/agents/{address}/delivery`:
/// `{"ok": true, "agent": {…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The agent.
    pub agent: Agent,
}

/// Response of `GET /v1/agents`: `{"ok": true, "agents": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListAgentsResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The workspace's agents.
    pub agents: Vec<Agent>,
}

/// Response of `POST /v1/agents/{address}/intents/claim` (the `poll` binding):
/// `{"ok": true, "intents": [<agent stream frame>...]}`, empty when nothing was queued in time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimIntentsResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The intents leased, each as its agent stream frame.
    pub intents: Vec<AgentDelivery>,
}

/// How intents reach an agent (DESIGN.md "Delivery bindings"): the body of
/// `PUT /v1/agents/{address}/delivery`, and the binding part of [`CreateServiceAccountRequest`].
///
/// ```
/// use axp_core::api::DeliveryBinding;
///
/// let binding = DeliveryBinding { lease_seconds: Some(300), ..DeliveryBinding::http("https://agents.example.com/axp") };
/// assert_eq!(
///     serde_json::to_value(&binding)?,
///     serde_json::json!({"delivery_mode": "http", "delivery_config": {"url": "https://agents.example.com/axp"}, "lease_seconds": 300})
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryBinding {
    /// How intents reach the agent.
    pub delivery_mode: Binding,
    /// For `http`: `{"url": …}` and optionally `"secret"` (16 to 128 characters; default a new
    /// `whsec_…` secret, shown once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_config: Option<Map<String, Value>>,
    /// Seconds the agent has to acknowledge a delivery before it is redelivered (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_seconds: Option<u32>,
}

impl DeliveryBinding {
    /// The `stream` binding.
    pub fn stream() -> Self {
        Self { delivery_mode: Binding::Stream, ..Self::default() }
    }

    /// The `poll` binding.
    pub fn poll() -> Self {
        Self { delivery_mode: Binding::Poll, ..Self::default() }
    }

    /// The `http` binding to `url`, with a secret the server generates.
    pub fn http(url: impl Into<String>) -> Self {
        let mut config = Map::new();
        config.insert("url".into(), Value::String(url.into()));
        Self { delivery_mode: Binding::Http, delivery_config: Some(config), lease_seconds: None }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_binding_from_a_newer_server_still_reads() {
        let agent: Agent =
            serde_json::from_value(json!({"address": "agent://o/w/a", "delivery_mode": "mesh"})).unwrap();
        assert_eq!(agent.delivery_mode, Some(Binding::Unknown));
        let known: Agent =
            serde_json::from_value(json!({"address": "agent://o/w/a", "delivery_mode": "poll"})).unwrap();
        assert_eq!(serde_json::to_value(&known).unwrap()["delivery_mode"], "poll");
    }
}
