//! Response bodies that `axp-core` does not model (yet): the SDK reads them here, keeping every
//! field it does not name in `extra` so nothing the server sends is lost.

use axp_core::{IntentId, ServiceAccountId, Status, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One agent of the registry (contract §4.12): a service account seen through its address.
///
/// ```
/// let agent: axp_client::Agent = serde_json::from_value(serde_json::json!({
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
    /// The delivery binding: `stream`, `poll`, `http`, `inbox` or `internal`.
    #[serde(default)]
    pub delivery_mode: Option<String>,
    /// For the `http` binding: `{"url": …}` (the signing secret is never shown here).
    #[serde(default)]
    pub delivery_config: Option<Map<String, Value>>,
    /// Seconds the agent has to acknowledge a delivery before it is redelivered; unset: the
    /// server's default (60).
    #[serde(default)]
    pub lease_seconds: Option<u32>,
    /// Agent streams open on this server right now.
    #[serde(default)]
    pub connected_streams: Option<u32>,
    /// `connected` while a stream is open, else `disconnected`.
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

/// `{"ok": true, "agent": {…}}`.
#[derive(Deserialize)]
pub(crate) struct AgentResponse {
    pub agent: Agent,
}

/// How intents reach an agent (DESIGN.md "Delivery bindings"): the body of
/// `PUT /v1/agents/{address}/delivery`, and the binding part of [`RegisterAgentRequest`].
///
/// ```
/// use axp_client::DeliveryBinding;
///
/// let binding = DeliveryBinding { lease_seconds: Some(300), ..DeliveryBinding::http("https://agents.example.com/axp") };
/// assert_eq!(
///     serde_json::to_value(&binding)?,
///     serde_json::json!({"delivery_mode": "http", "delivery_config": {"url": "https://agents.example.com/axp"}, "lease_seconds": 300})
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryBinding {
    /// `stream` (the agent holds an SSE stream), `poll` (it claims work), `http` (the server
    /// POSTs to it), `inbox` (a person) or `internal`.
    pub delivery_mode: String,
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
        Self { delivery_mode: "stream".into(), ..Self::default() }
    }

    /// The `poll` binding.
    pub fn poll() -> Self {
        Self { delivery_mode: "poll".into(), ..Self::default() }
    }

    /// The `http` binding to `url`, with a secret the server generates.
    pub fn http(url: impl Into<String>) -> Self {
        let mut config = Map::new();
        config.insert("url".into(), Value::String(url.into()));
        Self { delivery_mode: "http".into(), delivery_config: Some(config), lease_seconds: None }
    }
}

/// Body of `POST /v1/service-accounts` for a new agent: its identity and, optionally, how intents
/// reach it (default `stream`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterAgentRequest {
    /// Name, unique in the workspace: `[A-Za-z0-9._@-]`, 1 to 120 characters.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An explicit agent address (any valid `agent://` form); default `agent://{org}/{ws}/{name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_address: Option<String>,
    /// A name for people; default the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The delivery binding; default `stream`.
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub binding: Option<DeliveryBinding>,
}

/// Body of `POST /v1/intents/bulk-cancel` (contract §5.8).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkCancelRequest {
    /// Only intents created at least this many hours ago (0: any age).
    pub older_than_hours: u64,
    /// Only list what would be canceled.
    #[serde(default)]
    pub dry_run: bool,
    /// Recorded on each `intent.canceled` event; default `bulk_cancel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// At most this many (server default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only intents in these (non-terminal) statuses; empty: every non-terminal status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_filter: Vec<Status>,
}

/// Response of `POST /v1/intents/bulk-cancel`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BulkCancelResponse {
    /// Always true.
    pub ok: bool,
    /// Whether this was only a preview.
    pub dry_run: bool,
    /// How many intents matched (and were allowed to be canceled).
    pub would_cancel: u64,
    /// How many were canceled (0 on a dry run).
    pub canceled: u64,
    /// The matching intents.
    pub intent_ids: Vec<IntentId>,
}
