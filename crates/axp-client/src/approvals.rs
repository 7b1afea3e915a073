//! Approvals (contract §5.2), the caller's open human tasks (§4.9 `GET /v1/me/tasks`) and the
//! server's capabilities (§5.3).

use axp_core::ApprovalId;
use axp_core::api::{ApprovalResponse, Capabilities, Decision, ListTasksResponse, OpenTask};
use axp_core::inbox::Approval;
use serde_json::Value;

use crate::client::Client;
use crate::error::Result;
use crate::request::{strip_empty_query, with_owner};

impl Client {
    /// `POST /v1/approvals/{id}/decision` `{"decision": "approve"|"reject", "comment": …}` (at most
    /// 1000 characters). An upsert: a new id records the decision, and when the id is an intent
    /// waiting for a person, its human task is answered (`approved` or `rejected`). Deciding
    /// again the same way returns the first record; the other way is a 409
    /// ([`Error::is_conflict`](crate::Error::is_conflict)). Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, id: axp_client::ApprovalId) -> axp_client::Result<()> {
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
        id: ApprovalId,
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
        let response: ListTasksResponse = self.get_json(url).await?;
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
