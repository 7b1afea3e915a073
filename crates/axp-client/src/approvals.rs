//! Approvals (contract §5.2), the caller's open human tasks (§4.9 `GET /v1/me/tasks`) and the
//! server's capabilities (§5.3).

use axp_core::inbox::Approval;
use axp_core::{IntentId, PendingWith, Status, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::client::{Client, strip_empty_query, with_owner};
use crate::error::Result;

/// The decision of `POST /v1/approvals/{id}/decision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// `approve`.
    Approve,
    /// `reject`.
    Reject,
}

impl Decision {
    /// The wire value: `approve` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// One open human task of `GET /v1/me/tasks`: an intent waiting for a person (status WAITING,
/// waiting reason WAITING_FOR_HUMAN).
///
/// ```
/// let task: axp_client::OpenTask = serde_json::from_value(serde_json::json!({
///     "intent_id": "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e",
///     "intent_type": "expense.approve.v1",
///     "status": "WAITING",
///     "from_agent": "agent://acme/main/billing",
///     "assigned_at": "2026-02-28T00:00:10.000Z",
///     "due_at": null,
///     "human_task": {"title": "Approve 120 EUR", "task_type": "approval"},
///     "pending_with": {"type": "human", "ref": "boss@example.com", "name": "boss@example.com"},
///     "step_id": null
/// }))?;
/// assert_eq!(task.title(), Some("Approve 120 EUR"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenTask {
    /// The intent waiting (answer it with its id).
    pub intent_id: IntentId,
    /// Its type.
    pub intent_type: String,
    /// WAITING.
    pub status: Status,
    /// Who sent it.
    pub from_agent: String,
    /// When the intent last changed (the task was assigned at or before this).
    #[serde(default)]
    pub assigned_at: Option<Timestamp>,
    /// The intent's deadline, if any.
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    /// The human task: `title`, `task_type`, `assignees`, `allowed_outcomes`, `form_schema`, …
    #[serde(default)]
    pub human_task: Option<Map<String, Value>>,
    /// Who it waits on.
    #[serde(default)]
    pub pending_with: Option<PendingWith>,
    /// The workflow step that opened it, for scenario intents.
    #[serde(default)]
    pub step_id: Option<String>,
    /// Every other field the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OpenTask {
    /// A string field of the human task (`title`, `task_type`, `description`, …).
    pub fn task_field(&self, key: &str) -> Option<&str> {
        self.human_task.as_ref()?.get(key)?.as_str()
    }

    /// The task's title.
    pub fn title(&self) -> Option<&str> {
        self.task_field("title")
    }
}

/// Response of `GET /v1/capabilities`: what the server supports.
///
/// ```
/// let caps: axp_client::Capabilities = serde_json::from_value(serde_json::json!({
///     "ok": true, "capabilities": ["intents", "inbox"], "supported_intent_types": ["intent.ask.v1"]
/// }))?;
/// assert!(caps.supports("inbox"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Feature families: `intents`, `inbox`, `approvals`, `webhooks`, `scenarios`, `agents`, …
    pub capabilities: Vec<String>,
    /// Intent types the server knows (built-in, and those registered by applied scenarios), each
    /// `intent.<…>.v1`.
    pub supported_intent_types: Vec<String>,
}

impl Capabilities {
    /// Whether `capability` is listed.
    pub fn supports(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

#[derive(Deserialize)]
struct ApprovalResponse {
    approval: Approval,
}

#[derive(Deserialize)]
struct TasksResponse {
    tasks: Vec<OpenTask>,
}

impl Client {
    /// `POST /v1/approvals/{id}/decision` `{"decision": "approve"|"reject", "comment": …}` (at most
    /// 1000 characters). An upsert: a new id records the decision, and when the id is an intent
    /// waiting for a person, its human task is answered (`approved` or `rejected`). Deciding
    /// again the same way returns the first record; the other way is a 409
    /// ([`Error::is_conflict`](crate::Error::is_conflict)). Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: uuid::Uuid) -> axp_client::Result<()> {
    /// use axp_client::Decision;
    ///
    /// match client.decide_approval(id, Decision::Approve, Some("within budget")).await {
    ///     Ok(approval) => println!("{} at {}", approval.decision, approval.decided_at),
    ///     Err(e) if e.is_conflict() => println!("already decided the other way"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn decide_approval(
        &self,
        id: Uuid,
        decision: Decision,
        comment: Option<&str>,
    ) -> Result<Approval> {
        let url = self.url(["v1", "approvals", &id.to_string(), "decision"]);
        let mut body = serde_json::json!({"decision": decision});
        if let Some(comment) = comment {
            body["comment"] = Value::String(comment.to_owned());
        }
        let response: ApprovalResponse = self.post_json(url, &body, None).await?;
        Ok(response.approval)
    }

    /// `GET /v1/me/tasks?limit=…`: the open human tasks of the owner (default: the key's own
    /// agent): those whose assignees or `pending_with` name it, and those it sent. Server default
    /// limit 100, at most 500.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// for task in client.list_my_tasks(None, None).await? {
    ///     println!("{} {}", task.intent_id, task.title().unwrap_or("(untitled)"));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_my_tasks(&self, limit: Option<u32>, owner: Option<&str>) -> Result<Vec<OpenTask>> {
        let mut url = with_owner(self.url(["v1", "me", "tasks"]), owner);
        if let Some(limit) = limit {
            url.query_pairs_mut().append_pair("limit", &limit.to_string());
        }
        strip_empty_query(&mut url);
        let response: TasksResponse = self.get_json(url).await?;
        Ok(response.tasks)
    }

    /// `GET /v1/capabilities`: the server's feature families and known intent types.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// let caps = client.capabilities().await?;
    /// if caps.supports("inbox") {
    ///     println!("{} intent types", caps.supported_intent_types.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn capabilities(&self) -> Result<Capabilities> {
        self.get_json(self.url(["v1", "capabilities"])).await
    }
}
