//! The inbox (contract §5.1), approvals (§5.2) and the caller's open human tasks (§4.9
//! `GET /v1/me/tasks`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::yes;
use crate::ids::IntentId;
use crate::inbox::{Approval, Thread};
use crate::intent::PendingWith;
use crate::status::Status;
use crate::time::Timestamp;

/// Response of `GET /v1/inbox/{id}` and of every thread action but message deletion:
/// `{"ok": true, "thread": {…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The thread as the owner sees it.
    pub thread: Thread,
}

/// Response of `GET /v1/inbox`: `{"ok": true, "threads": [...]}`, most recently changed first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListThreadsResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The owner's threads.
    pub threads: Vec<Thread>,
}

/// One page of `GET /v1/inbox/changes`: the owner's threads that changed after a cursor, oldest
/// change first. A thread appears once, at its latest change.
///
/// ```
/// let page: axp_core::api::InboxChanges = serde_json::from_value(serde_json::json!({
///     "ok": true, "changes": [], "next_cursor": "cur_7", "has_more": false
/// }))?;
/// assert_eq!(page.next_cursor.as_deref(), Some("cur_7"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxChanges {
    /// The changes, oldest first.
    pub changes: Vec<ThreadChange>,
    /// Pass it as the next call's `cursor` to resume after this page: the last change's cursor,
    /// or the cursor asked with when the page is empty (`None` for an empty inbox read from the
    /// start).
    pub next_cursor: Option<String>,
    /// Whether more changes follow this page right now.
    pub has_more: bool,
}

/// One entry of [`InboxChanges`]: a thread as it is now, and the cursor just after its change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadChange {
    /// Opaque; resume after this change with it.
    pub cursor: String,
    /// The thread after the change.
    pub thread: Thread,
}

/// Whose view `POST /v1/inbox/{id}/messages/delete` removes messages from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeleteMode {
    /// `self`: hidden for the owner making the call only.
    #[default]
    #[serde(rename = "self")]
    ForMe,
    /// `both`: deleted for every participant.
    #[serde(rename = "both")]
    ForEveryone,
}

impl DeleteMode {
    /// The wire value: `self` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteMode::ForMe => "self",
            DeleteMode::ForEveryone => "both",
        }
    }
}

/// Body of `POST /v1/inbox/{id}/messages/delete`. Only messages (replies) are ever deleted;
/// lifecycle and system entries stay.
///
/// ```
/// use axp_core::api::{DeleteMessagesRequest, DeleteMode};
///
/// // The newest message, for everyone.
/// let request = DeleteMessagesRequest { mode: DeleteMode::ForEveryone, limit: Some(1), ..Default::default() };
/// assert_eq!(serde_json::to_value(&request)?, serde_json::json!({"mode": "both", "limit": 1}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteMessagesRequest {
    /// For the caller only (default) or for everyone.
    pub mode: DeleteMode,
    /// Which messages (the `message_id`s of reply entries, 1 to 100); empty: the newest `limit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_ids: Vec<String>,
    /// At most this many (1 to 100; server default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Response of `POST /v1/inbox/{id}/messages/delete`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletedMessages {
    /// The thread afterwards, as the owner sees it.
    pub thread: Thread,
    /// The mode applied.
    pub mode: DeleteMode,
    /// How many messages were deleted (may be 0).
    pub deleted_count: u64,
    /// Which.
    pub message_ids: Vec<String>,
}

/// The decision of `POST /v1/approvals/{id}/decision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Response of `POST /v1/approvals/{id}/decision`: `{"ok": true, "approval": {…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The decision recorded (the first one, when the same decision is repeated).
    pub approval: Approval,
}

/// One open human task of `GET /v1/me/tasks`: an intent waiting for a person (status WAITING,
/// waiting reason WAITING_FOR_HUMAN).
///
/// Every field the SDK does not name is kept in `extra`, so it reads servers of other versions.
///
/// ```
/// let task: axp_core::api::OpenTask = serde_json::from_value(serde_json::json!({
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Response of `GET /v1/me/tasks`: `{"ok": true, "tasks": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListTasksResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The open tasks.
    pub tasks: Vec<OpenTask>,
}
