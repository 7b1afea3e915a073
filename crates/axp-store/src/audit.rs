//! What the audit log needs from a caller ([`Audit`]) and how it is read ([`AuditFilter`]).

use axp_core::Timestamp;
use axp_core::api::{AuditActor, AuditActorType};
use axp_core::ids::{OrgId, WorkspaceId};

use crate::Actor;

/// Who does an audited action and under which request: every admin and security method of
/// [`crate::Store`] takes one and records it with the action, in the same transaction (the
/// entry's time is the action's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    /// The caller (or the server itself).
    pub actor: AuditActor,
    /// The request's `x-trace-id` (contract §1.7); `None` outside a request.
    pub trace_id: Option<String>,
}

impl Audit {
    /// `actor` acting in a request with `trace_id`.
    pub fn new(actor: &Actor, trace_id: Option<String>) -> Self {
        Self { actor: actor.audit_actor(), trace_id }
    }

    /// The server acting on its own (set-up outside any request, tests).
    pub fn server() -> Self {
        Self { actor: AuditActor::server(), trace_id: None }
    }
}

impl Actor {
    /// The actor as the audit log names it: `{type: service_account|user, id}`.
    pub fn audit_actor(&self) -> AuditActor {
        let kind = match self {
            Actor::ServiceAccount { .. } => AuditActorType::ServiceAccount,
            Actor::User { .. } => AuditActorType::User,
        };
        AuditActor { kind, id: self.id().to_string() }
    }
}

/// Which entries of an organization's audit log to read (`GET /v1/audit`). Every filter given
/// must match; entries come newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditFilter {
    /// The organization: a read never crosses it.
    pub org_id: OrgId,
    /// Only this workspace's entries (and, with `org_wide`, the organization-wide ones, which
    /// have no workspace); `None`: every workspace's and the organization-wide ones.
    pub workspace_id: Option<WorkspaceId>,
    /// With `workspace_id`: also the entries of no workspace.
    pub org_wide: bool,
    /// Only this action, e.g. `api_key.created`.
    pub action: Option<String>,
    /// Only this actor's (a service account or user id).
    pub actor_id: Option<String>,
    /// Only those about this target id.
    pub target_id: Option<String>,
    /// Only entries created at or after this time.
    pub since: Option<Timestamp>,
    /// Only entries created before this time.
    pub until: Option<Timestamp>,
    /// The cursor: only entries with a smaller id (older than the page it ended).
    pub before: Option<u64>,
    /// At most this many.
    pub limit: u32,
}

impl AuditFilter {
    /// Every entry of `org`, newest first, at most `limit`.
    pub fn org(org: OrgId, limit: u32) -> Self {
        Self {
            org_id: org,
            workspace_id: None,
            org_wide: false,
            action: None,
            actor_id: None,
            target_id: None,
            since: None,
            until: None,
            before: None,
            limit,
        }
    }
}
