//! Roles and what they allow (contract §6 "Members"; the matrix is `docs/access.md`).
//!
//! A caller acts in one workspace with the roles its memberships give it there: a membership of
//! the whole organization (no `workspace_id`) counts in every workspace of it. A caller with no
//! membership is *agent-scoped*: it acts only as its own agent address and the addresses an
//! admin granted it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Intent, Status, WaitingReason};

/// A member's role, as on the wire (`api.organizations.members.*.v1.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Owns the organization: everything an `org_admin` may do.
    OrgOwner,
    /// Administers the organization: workspaces, members, every workspace's accounts and keys.
    OrgAdmin,
    /// Administers one workspace: accounts, keys, bindings, members of that workspace.
    WorkspaceAdmin,
    /// Acts for any owner in its workspace; administers nothing.
    Member,
    /// Reads usage and billing; reads the workspace without changing anything.
    BillingViewer,
    /// Reads everything, the audit log included, without changing anything.
    SecurityAuditor,
}

impl Role {
    /// Every role, strongest first.
    pub const ALL: [Role; 6] = [
        Role::OrgOwner,
        Role::OrgAdmin,
        Role::WorkspaceAdmin,
        Role::Member,
        Role::BillingViewer,
        Role::SecurityAuditor,
    ];

    /// The wire name, e.g. `org_owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::OrgOwner => "org_owner",
            Role::OrgAdmin => "org_admin",
            Role::WorkspaceAdmin => "workspace_admin",
            Role::Member => "member",
            Role::BillingViewer => "billing_viewer",
            Role::SecurityAuditor => "security_auditor",
        }
    }

    /// Whether the role administers its organization (not only one workspace).
    pub fn is_org_admin(self) -> bool {
        matches!(self, Role::OrgOwner | Role::OrgAdmin)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Role::from_str`]: not one of the six role names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of org_owner, org_admin, workspace_admin, member, billing_viewer, security_auditor")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownRole)
    }
}

/// The roles a caller holds in its workspace: a set, since an account may be a member of the
/// organization and of the workspace at once. Empty: agent-scoped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Roles(u8);

impl Roles {
    /// No role: agent-scoped.
    pub const NONE: Roles = Roles(0);

    /// Just `role`.
    pub fn of(role: Role) -> Self {
        Roles(role.bit())
    }

    /// These roles and `role`.
    #[must_use]
    pub fn with(self, role: Role) -> Self {
        Roles(self.0 | role.bit())
    }

    /// The roles named in `names` (stored `members.role` values). A name this version does not
    /// know gives nothing: a role added by a newer axp grants an older one no access.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        names.into_iter().filter_map(|n| n.as_ref().parse::<Role>().ok()).fold(Self::NONE, Self::with)
    }

    /// Whether `role` is among them.
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Whether there is none (the caller is agent-scoped).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles, strongest first.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// `org_owner` or `org_admin`: administers the organization.
    pub fn administers_org(self) -> bool {
        self.contains(Role::OrgOwner) || self.contains(Role::OrgAdmin)
    }

    /// An org admin, or `workspace_admin`: administers the workspace (accounts, keys, bindings,
    /// other owners' deliveries, bulk cancel).
    pub fn administers_workspace(self) -> bool {
        self.administers_org() || self.contains(Role::WorkspaceAdmin)
    }

    /// An admin or `member`: acts for any owner in the workspace.
    pub fn acts_for_anyone(self) -> bool {
        self.administers_workspace() || self.contains(Role::Member)
    }

    /// Any role at all: reads everything in the workspace.
    pub fn reads_everything(self) -> bool {
        !self.is_empty()
    }

    /// Holds only viewer roles (`security_auditor`, `billing_viewer`): reads, changes nothing.
    pub fn read_only(self) -> bool {
        !self.is_empty() && !self.acts_for_anyone()
    }

    /// Reads the audit log: `org_owner`, `org_admin`, `security_auditor`.
    pub fn reads_audit(self) -> bool {
        self.administers_org() || self.contains(Role::SecurityAuditor)
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        iter.into_iter().fold(Roles::NONE, Roles::with)
    }
}

/// Who asks the server for a change to an intent: the addresses it acts as and its roles
/// (`docs/access.md`). The server's own work (delivery, timers) acts as no one and is always
/// allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acting {
    /// The addresses it acts as, the main one first: the owner it acts for (§1.2) or its own
    /// address, then any granted to it.
    pub addresses: Vec<String>,
    /// Its roles in the workspace (empty: agent-scoped).
    pub roles: Roles,
}

impl Acting {
    /// Acting as `address` alone, with `roles`.
    pub fn new(address: impl Into<String>, roles: Roles) -> Self {
        Self { addresses: vec![address.into()], roles }
    }

    /// The main address: what events record and errors name.
    pub fn address(&self) -> &str {
        self.addresses.first().map_or("", String::as_str)
    }

    fn is(&self, address: &str) -> bool {
        self.addresses.iter().any(|a| a == address)
    }

    /// Whether a policy grant `delegate:<address>` of `intent` allows `action` to one of its
    /// addresses (contract §4.7, §4.8).
    pub fn holds_grant(&self, intent: &Intent, action: &str) -> bool {
        self.addresses.iter().any(|a| {
            intent
                .grants
                .get(&format!("delegate:{a}"))
                .and_then(|g| g.get("allow"))
                .and_then(Value::as_array)
                .is_some_and(|allow| allow.iter().any(|x| x.as_str() == Some(action)))
        })
    }

    /// Whether it may see `intent`: with a role, any intent of its workspace; agent-scoped, those
    /// it sent, received, or replies to.
    pub fn sees(&self, intent: &Intent) -> bool {
        self.roles.reads_everything()
            || self.is(&intent.from_agent)
            || self.is(&intent.to_agent)
            || intent.reply_to.as_deref().is_some_and(|r| self.is(r))
            || self.addresses.iter().any(|a| intent.grants.contains_key(&format!("delegate:{a}")))
    }

    /// Whether it may change `intent` as a party: a `member` or admin acts for anyone; others
    /// must be its sender or target, or hold a grant for `action`.
    pub fn may_change(&self, intent: &Intent, action: &str) -> bool {
        self.roles.acts_for_anyone()
            || self.is(&intent.from_agent)
            || self.is(&intent.to_agent)
            || self.holds_grant(intent, action)
    }

    /// Whether it may answer `intent`'s human task (issue 11, item 3): an admin
    /// (`workspace_admin`, `org_admin`, `org_owner`; the audit log records it), or, acting as an
    /// address other than the requester's (`from_agent`), one of the task's `assignees` (the
    /// intent's `to_agent` when it names none), the one it is `pending_with`, or a delegate
    /// (a `delegate:<address>` grant allowing `resume`).
    pub fn may_decide(&self, intent: &Intent) -> bool {
        if self.roles.administers_workspace() {
            return true;
        }
        let assignees: Vec<&str> = intent
            .human_task
            .as_ref()
            .and_then(|t| t.get("assignees"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let decider = |a: &str| {
            if a == intent.from_agent {
                return false;
            }
            let assigned = if assignees.is_empty() { a == intent.to_agent } else { assignees.contains(&a) };
            assigned
                || intent.pending_with.as_ref().is_some_and(|p| p.reference == a)
                || Acting::new(a, Roles::NONE).holds_grant(intent, "resume")
        };
        self.addresses.iter().any(|a| decider(a))
    }
}

/// Whether `intent` has a human task a decision would answer now (WAITING for a human).
pub fn awaits_decision(intent: &Intent) -> bool {
    intent.human_task.is_some()
        && intent.status == Status::Waiting
        && intent.waiting_reason == Some(WaitingReason::WaitingForHuman)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("admin".parse::<Role>(), Err(UnknownRole));
    }

    #[test]
    fn unknown_role_names_give_nothing() {
        let roles = Roles::from_names(["workspace_admin", "admin", "org_owner"]);
        assert_eq!(roles, Roles::of(Role::WorkspaceAdmin).with(Role::OrgOwner));
        assert!(Roles::from_names(["root"]).is_empty());
    }

    #[test]
    fn what_each_role_allows() {
        let agent = Roles::NONE;
        assert!(!agent.reads_everything() && !agent.acts_for_anyone() && !agent.read_only());
        let member = Roles::of(Role::Member);
        assert!(member.acts_for_anyone() && !member.administers_workspace() && !member.reads_audit());
        let ws_admin = Roles::of(Role::WorkspaceAdmin);
        assert!(ws_admin.administers_workspace() && !ws_admin.administers_org());
        let owner = Roles::of(Role::OrgOwner);
        assert!(owner.administers_org() && owner.reads_audit() && owner.acts_for_anyone());
        let auditor = Roles::of(Role::SecurityAuditor);
        assert!(auditor.read_only() && auditor.reads_audit() && !auditor.acts_for_anyone());
        let billing = Roles::of(Role::BillingViewer);
        assert!(billing.read_only() && !billing.reads_audit());
        assert!(!billing.with(Role::Member).read_only());
    }

    #[test]
    fn iterates_strongest_first() {
        let roles: Roles = [Role::Member, Role::OrgOwner].into_iter().collect();
        assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::OrgOwner, Role::Member]);
    }
}
