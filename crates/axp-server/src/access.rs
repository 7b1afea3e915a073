//! Who may call what: the checks every handler runs before it reads or writes (the matrix is
//! `docs/access.md`, and `tests/it/access.rs` drives it against the server).
//!
//! A caller holds roles in its workspace ([`axp_core::access::Roles`]) or none (agent-scoped: it
//! acts only as its own address and the addresses granted to it). A denied call is 403
//! `policy_denied` when the caller may know the object exists (its own workspace's routes and
//! owners) and 404 when it may not (another organization, an intent it is no party to). A denied
//! call never changes anything: every check runs before the store is asked to write.
//!
//! Organization administration ([`Caller::require_org_admin`], [`OrgAccess`]) reads the caller's
//! memberships in the organization named, which need not be its own: the creator of an
//! organization owns it through a membership there.

use axp_core::Intent;
use axp_core::access::{Acting, Role, Roles};
use axp_core::error::ErrorCode;
use axp_core::ids::{IntentId, OrgId, WorkspaceId};
use axp_core::tenancy::MemberStatus;
use axum::http::HeaderMap;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, QueryMap, owner_agent};
use crate::state::AppState;

fn denied(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::PolicyDenied, message)
}

impl Caller {
    /// 403 unless the caller may change things: every role but the viewer ones
    /// (`security_auditor`, `billing_viewer`), and agent-scoped callers.
    pub(crate) fn require_writer(&self) -> ApiResult<()> {
        if self.0.roles.read_only() {
            return Err(denied("this role reads without changing anything"));
        }
        Ok(())
    }

    /// 403 unless the caller administers its workspace (`workspace_admin`, `org_admin`,
    /// `org_owner`): service accounts, keys, bindings, bulk cancel.
    pub(crate) fn require_workspace_admin(&self) -> ApiResult<()> {
        if !self.0.roles.administers_workspace() {
            return Err(denied("this needs the workspace_admin, org_admin or org_owner role"));
        }
        Ok(())
    }

    /// 404 for an organization the caller has no membership in (and that is not its own);
    /// 403 unless it administers `org` (`org_admin`, `org_owner`) through an organization-wide
    /// membership there: in its own organization, or one it created or was added to. Returns
    /// what it may do there.
    pub(crate) async fn require_org_admin(&self, state: &AppState, org: OrgId) -> ApiResult<OrgAccess> {
        let access = self.in_org(state, org).await?;
        access.require_admin()?;
        Ok(access)
    }

    /// What the caller may do in `org`, from its active memberships there (any organization:
    /// its own, one it created, one it was added to). Never fails for lack of access; see
    /// [`Caller::in_org`].
    pub(crate) async fn org_access(&self, state: &AppState, org: OrgId) -> ApiResult<OrgAccess> {
        let memberships = state.store.memberships_of(org, &self.0.actor.id().to_string()).await?;
        let memberships = memberships
            .into_iter()
            .filter(|m| m.status == MemberStatus::Active.as_str())
            .map(|m| (m.workspace_id, m.role))
            .collect();
        Ok(OrgAccess { own: org == self.0.tenant.org_id, memberships })
    }

    /// [`Caller::org_access`], 404 for an organization the caller may not know exists: not its
    /// own and no active membership there.
    pub(crate) async fn in_org(&self, state: &AppState, org: OrgId) -> ApiResult<OrgAccess> {
        let access = self.org_access(state, org).await?;
        if !access.known() {
            return Err(ApiError::not_found("organization"));
        }
        Ok(access)
    }

    /// 403 unless the caller administers its own organization: creating organizations is for
    /// org admins (the creator owns the new one).
    pub(crate) fn require_own_org_admin(&self) -> ApiResult<()> {
        if !self.0.roles.administers_org() {
            return Err(denied("creating organizations needs the org_admin or org_owner role"));
        }
        Ok(())
    }

    /// 403 unless the caller reads the whole workspace (any role); agent-scoped callers read
    /// only what concerns their own addresses.
    pub(crate) fn require_role(&self) -> ApiResult<()> {
        if !self.0.roles.reads_everything() {
            return Err(denied("this needs a role in the workspace; an agent key sees only its own"));
        }
        Ok(())
    }

    /// 403 unless the caller is the server's operator: an `org_owner` of the first-start
    /// organization (slug `default`). What concerns every workspace of the server is theirs
    /// alone: core schemas, backups, store stats. `what` names it in the refusal.
    pub(crate) fn require_operator(&self, what: &str) -> ApiResult<()> {
        let principal = &self.0;
        if principal.tenant.org_slug != crate::bootstrap::DEFAULT_SLUG
            || !principal.roles.contains(Role::OrgOwner)
        {
            return Err(denied(format!("{what} only an org_owner of the server's first organization")));
        }
        Ok(())
    }

    /// 403 unless the caller reads the audit log (`org_owner`, `org_admin`, `security_auditor`).
    pub(crate) fn require_auditor(&self) -> ApiResult<()> {
        if !self.0.roles.reads_audit() {
            return Err(denied("the audit log is for org_owner, org_admin and security_auditor"));
        }
        Ok(())
    }

    /// Whether the caller may read `owner`'s things (inbox, webhooks, deliveries): its own
    /// address or a granted one, or any owner with a role.
    pub(crate) fn reads_for(&self, owner: &str) -> bool {
        self.0.roles.reads_everything() || self.0.acts_as(owner)
    }

    /// 403 unless the caller may read `owner`'s inbox, webhooks and deliveries.
    pub(crate) fn require_read_for(&self, owner: &str) -> ApiResult<()> {
        if !self.reads_for(owner) {
            return Err(denied(format!("this key may not read for {owner}")));
        }
        Ok(())
    }

    /// Whether `address` is the caller's own agent address or one granted to it (roles do not
    /// count: acting for another owner is not being it).
    pub(crate) fn is_own_address(&self, address: &str) -> bool {
        self.0.agent_address.as_str() == address || self.0.grants.iter().any(|g| g == address)
    }

    /// 403 unless the caller may act as `owner` (§1.2): its own address or a granted one, or
    /// any owner with the `member` role or an admin one. Viewer roles act as no one.
    pub(crate) fn require_act_as(&self, owner: &str) -> ApiResult<()> {
        self.require_writer()?;
        if !self.0.acts_as(owner) {
            return Err(denied(format!("this key may not act for {owner}")));
        }
        Ok(())
    }

    /// Whether the caller may see `intent` ([`Acting::sees`] as itself).
    pub(crate) fn sees(&self, intent: &Intent) -> bool {
        self.acting(self.0.agent_address.as_str()).sees(intent)
    }

    /// 404 unless the caller may see intent `id` (read first only for agent-scoped callers; a
    /// caller with a role sees every intent of its workspace and the store answers 404 for an
    /// unknown one).
    pub(crate) async fn require_sees_intent(&self, state: &AppState, id: IntentId) -> ApiResult<()> {
        if self.0.roles.reads_everything() {
            return Ok(());
        }
        let intent = state.store.get_intent(&self.0.tenant, id).await.map_err(ApiError::missing("intent"))?;
        if self.sees(&intent) { Ok(()) } else { Err(ApiError::not_found("intent")) }
    }

    /// The caller acting as `owner` (which the caller was checked to act as), then as itself
    /// and its granted addresses, with its roles: what the lifecycle and task decisions check.
    pub(crate) fn acting(&self, owner: &str) -> Acting {
        let mut addresses = vec![owner.to_owned()];
        for a in
            std::iter::once(self.0.agent_address.as_str()).chain(self.0.grants.iter().map(String::as_str))
        {
            if !addresses.iter().any(|x| x == a) {
                addresses.push(a.to_owned());
            }
        }
        Acting { addresses, roles: self.0.roles }
    }

    /// The owner a read is for (§1.2: `owner_agent` or `x-owner-agent`, default the caller's
    /// address), checked with [`Caller::require_read_for`].
    pub(crate) fn reading_owner(&self, headers: &HeaderMap, query: &QueryMap) -> ApiResult<String> {
        let owner = owner_agent(self, headers, query)?;
        self.require_read_for(&owner)?;
        Ok(owner)
    }

    /// The owner a write acts for (§1.2), checked with [`Caller::require_act_as`].
    pub(crate) fn acting_owner(&self, headers: &HeaderMap, query: &QueryMap) -> ApiResult<String> {
        let owner = owner_agent(self, headers, query)?;
        self.require_act_as(&owner)?;
        Ok(owner)
    }
}

/// What a caller may do in one organization (contract §6 "Members"): the roles of its active
/// memberships there, organization-wide or of one workspace.
pub(crate) struct OrgAccess {
    /// Whether it is the caller's own organization (which it knows exists).
    own: bool,
    /// Each active membership's workspace (`None`: the whole organization) and role.
    memberships: Vec<(Option<WorkspaceId>, Role)>,
}

impl OrgAccess {
    /// Whether the caller may know the organization exists: its own, or one it holds a
    /// membership in.
    pub(crate) fn known(&self) -> bool {
        self.own || !self.memberships.is_empty()
    }

    /// The roles that apply in workspace `ws` (the organization-wide ones and `ws`'s own), or
    /// with `None` the organization-wide ones only.
    pub(crate) fn roles_in(&self, ws: Option<WorkspaceId>) -> Roles {
        self.memberships
            .iter()
            .filter(|(scope, _)| scope.is_none() || *scope == ws)
            .map(|(_, r)| *r)
            .collect()
    }

    /// Whether it administers the organization (`org_owner`, `org_admin` organization-wide).
    pub(crate) fn is_admin(&self) -> bool {
        self.roles_in(None).administers_org()
    }

    /// Whether it administers workspace `ws`: as an org admin, or its `workspace_admin`.
    pub(crate) fn administers(&self, ws: WorkspaceId) -> bool {
        self.roles_in(Some(ws)).administers_workspace()
    }

    /// 403 unless it administers the organization.
    pub(crate) fn require_admin(&self) -> ApiResult<()> {
        if !self.is_admin() {
            return Err(denied("this needs the org_admin or org_owner role in the organization"));
        }
        Ok(())
    }

    /// 403 unless it owns the organization: granting, removing or taking away `org_owner`.
    pub(crate) fn require_owner(&self) -> ApiResult<()> {
        if !self.roles_in(None).contains(Role::OrgOwner) {
            return Err(denied("only an org_owner may grant or take away org_owner"));
        }
        Ok(())
    }

    /// 403 unless it administers workspace `ws` of the organization.
    pub(crate) fn require_workspace_admin(&self, ws: WorkspaceId) -> ApiResult<()> {
        if !self.administers(ws) {
            return Err(denied("this needs the workspace_admin, org_admin or org_owner role there"));
        }
        Ok(())
    }

    /// 403 unless it holds any role in the organization: reading organizations, workspaces,
    /// members and the directory. Agent-scoped keys read none of it.
    pub(crate) fn require_reader(&self) -> ApiResult<()> {
        if self.memberships.is_empty() {
            return Err(denied("this needs a role in the organization; an agent key sees only its own"));
        }
        Ok(())
    }
}
