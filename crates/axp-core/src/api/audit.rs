//! The audit log (`GET /v1/audit`, an axp extension documented in
//! `GET /openapi.json`): every admin and security action, with who did it, to
//! what, when and under which trace id (contract §1.7: the trace id is stored on audit
//! records). An entry is written in the same transaction as its action, so it exists exactly
//! when the action does.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::yes;
use crate::ids::{OrgId, WorkspaceId};
use crate::time::Timestamp;

/// The actions axp records, as `AuditEntry::action`.
pub mod actions {
    /// A service account was created (target: the service account).
    pub const SERVICE_ACCOUNT_CREATED: &str = "service_account.created";
    /// A service account was deleted and its keys revoked (target: the service account).
    pub const SERVICE_ACCOUNT_DELETED: &str = "service_account.deleted";
    /// An API key was minted (target: the key; the token is never recorded).
    pub const API_KEY_CREATED: &str = "api_key.created";
    /// An API key was revoked (target: the key).
    pub const API_KEY_REVOKED: &str = "api_key.revoked";
    /// An agent's delivery binding was set (target: its service account).
    pub const BINDING_CHANGED: &str = "agent.binding_changed";
    /// A service account was granted a further agent address (target: the service account).
    pub const GRANT_ADDED: &str = "address_grant.added";
    /// A grant was withdrawn (target: the service account).
    pub const GRANT_REMOVED: &str = "address_grant.removed";
    /// A membership was added (target: the membership).
    pub const MEMBER_ADDED: &str = "member.added";
    /// A membership's role or status changed (target: the membership).
    pub const MEMBER_UPDATED: &str = "member.updated";
    /// A membership was removed (target: the membership).
    pub const MEMBER_REMOVED: &str = "member.removed";
    /// A human task was answered (target: the intent; details: `outcome`, `via`).
    pub const HUMAN_TASK_DECIDED: &str = "human_task.decided";
    /// An approval was recorded that answered no open task (target: the approval).
    pub const APPROVAL_DECIDED: &str = "approval.decided";
    /// An organization was created; its creator's `org_owner` membership is recorded beside it
    /// (target: the organization).
    pub const ORGANIZATION_CREATED: &str = "organization.created";
    /// An organization's name, status or metadata changed (target: the organization).
    pub const ORGANIZATION_UPDATED: &str = "organization.updated";
    /// A workspace was created (target: the workspace).
    pub const WORKSPACE_CREATED: &str = "workspace.created";
    /// A workspace's name, status or region changed (target: the workspace).
    pub const WORKSPACE_UPDATED: &str = "workspace.updated";
    /// A workspace's quota policy changed (target: the policy; details: the patch applied).
    pub const QUOTA_UPDATED: &str = "quota.updated";
    /// An access request was reviewed (target: the request; details: `decision`); an approval
    /// that grants a role records its membership change beside it.
    pub const ACCESS_REQUEST_REVIEWED: &str = "access_request.reviewed";
    /// An actor token was issued to a person (target: the token; never the token itself).
    pub const ACTOR_TOKEN_ISSUED: &str = "actor_token.issued";
    /// A media upload and its bytes were deleted (target: the upload; details: `owner_agent`).
    pub const MEDIA_DELETED: &str = "media.deleted";
    /// The server's operator took a backup of every workspace's data (`POST /v1/admin/backup`;
    /// target: the server, id `backup`; details: `schema_version`, `media_objects`).
    pub const BACKUP_TAKEN: &str = "backup.taken";
    /// An actor token was revoked (target: the token).
    pub const ACTOR_TOKEN_REVOKED: &str = "actor_token.revoked";
    /// An intent's controls changed (target: the intent; details: `controls_patch`), contract
    /// §4.8: such changes emit no lifecycle event.
    pub const CONTROLS_UPDATED: &str = "intent.controls_updated";
    /// An intent's policy changed (target: the intent; details: `grants_patch`,
    /// `envelope_patch`), contract §4.8.
    pub const POLICY_UPDATED: &str = "intent.policy_updated";
    /// A payload schema was registered or replaced (target: the schema's `semantic_type`;
    /// details: `scope`, `schema_hash`, `compatibility_mode`, `active`, `replaced`).
    pub const SCHEMA_UPSERTED: &str = "schema.upserted";
    /// An agent's kill switch went on (target: its service account; details: `address`),
    /// contract §6 "Mesh".
    pub const AGENT_KILLED: &str = "agent.killed";
    /// An agent's kill switch went off (target: its service account; details: `address`).
    pub const AGENT_RESUMED: &str = "agent.resumed";
    /// A workspace's retention periods changed (target: the workspace; details: the overrides
    /// in force after the change), `docs/retention.md`.
    pub const RETENTION_UPDATED: &str = "retention.updated";
}

/// What kind of actor did an audited action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditActorType {
    /// A service account, by one of its API keys.
    ServiceAccount,
    /// A person, by an actor token.
    User,
    /// The server itself (bootstrap, set-up outside any request).
    Server,
}

impl AuditActorType {
    /// The wire name, e.g. `service_account`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditActorType::ServiceAccount => "service_account",
            AuditActorType::User => "user",
            AuditActorType::Server => "server",
        }
    }

    /// The type with wire name `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [AuditActorType::ServiceAccount, AuditActorType::User, AuditActorType::Server]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Who did an audited action: `{"type": "service_account", "id": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    /// `service_account`, `user` or `server`.
    #[serde(rename = "type")]
    pub kind: AuditActorType,
    /// The service account's or user's id; `axp` for the server.
    pub id: String,
}

impl AuditActor {
    /// The server itself.
    pub fn server() -> Self {
        Self { kind: AuditActorType::Server, id: "axp".into() }
    }
}

/// What an audited action was done to: `{"type": "api_key", "id": "…"}`. Types: `service_account`,
/// `api_key`, `member`, `intent`, `approval`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditTarget {
    /// The kind of object.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: String,
}

impl AuditTarget {
    /// A target of `kind` with `id`.
    pub fn new(kind: &str, id: impl ToString) -> Self {
        Self { kind: kind.to_owned(), id: id.to_string() }
    }
}

/// One entry of the audit log.
///
/// ```
/// let entry: axp_core::api::AuditEntry = serde_json::from_value(serde_json::json!({
///     "audit_id": 7, "org_id": "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e", "workspace_id": null,
///     "actor": {"type": "service_account", "id": "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8f"},
///     "action": "member.added", "target": {"type": "member", "id": "m"},
///     "details": {"role": "member"}, "trace_id": "t-1", "created_at": "2026-12-04T10:00:00Z"
/// }))?;
/// assert_eq!(entry.action, axp_core::api::actions::MEMBER_ADDED);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Increasing in the order entries become visible; the log's cursor (`next_cursor`). Not
    /// gap-free. A JSON number, exact in JavaScript (below 2^53) while PostgreSQL's transaction
    /// ids stay below 2^33.
    pub audit_id: u64,
    /// The organization the action happened in.
    pub org_id: OrgId,
    /// Its workspace; `null` for an organization-wide action (an organization membership).
    pub workspace_id: Option<WorkspaceId>,
    /// Who did it.
    pub actor: AuditActor,
    /// What was done: one of [`actions`], e.g. `api_key.created`.
    pub action: String,
    /// To what.
    pub target: AuditTarget,
    /// What else the action's record needs (a role before and after, an outcome, an address).
    /// Never a secret.
    #[serde(default)]
    pub details: Map<String, Value>,
    /// The request's `x-trace-id` (generated by the server when the request had none); `null`
    /// for the server's own actions.
    pub trace_id: Option<String>,
    /// When it was done.
    pub created_at: Timestamp,
}

/// The query of `GET /v1/audit`: every filter given must match.
///
/// ```
/// let query = axp_core::api::AuditQuery { action: Some("api_key.created".into()), limit: Some(20), ..Default::default() };
/// assert_eq!(query.pairs(), [("action", "api_key.created".to_owned()), ("limit", "20".to_owned())]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this action (see [`actions`]).
    pub action: Option<String>,
    /// Only this actor's entries (a service account or user id).
    pub actor_id: Option<String>,
    /// Only entries about this target id.
    pub target_id: Option<String>,
    /// Only this workspace's entries (an org admin reads every workspace of its organization).
    pub workspace_id: Option<WorkspaceId>,
    /// Only entries created at or after this time.
    pub since: Option<Timestamp>,
    /// Only entries created before this time.
    pub until: Option<Timestamp>,
    /// At most this many (1 to 500; the server's default is 100).
    pub limit: Option<u32>,
    /// A previous page's `next_cursor`: continue with older entries.
    pub cursor: Option<String>,
}

impl AuditQuery {
    /// The query string's pairs, in a fixed order, for the parameters that are set.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let text = |v: &Option<String>| v.clone();
        [
            ("action", text(&self.action)),
            ("actor_id", text(&self.actor_id)),
            ("target_id", text(&self.target_id)),
            ("workspace_id", self.workspace_id.map(|w| w.to_string())),
            ("since", self.since.map(|t| t.to_string())),
            ("until", self.until.map(|t| t.to_string())),
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", text(&self.cursor)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }
}

/// `GET /v1/audit`: `{"ok": true, "entries": […], "next_cursor": "…" | null}`, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListAuditResponse {
    /// Always true.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// Pass it as `cursor` for the next (older) page; `null` when this page is the last.
    pub next_cursor: Option<String>,
}
