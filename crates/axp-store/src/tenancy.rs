//! Values passed to the organization, directory and access-request methods of [`crate::Store`]
//! (contract §6), and the names of the rules those methods refuse with [`crate::Error::Conflict`].

use axp_core::access::Role;
use axp_core::ids::{OrgId, WorkspaceId};
use axp_core::tenancy::{
    AccessRequestState, AccessRequestType, AliasType, Environment, OrgStatus, PrincipalType, ReviewDecision,
    WorkspaceStatus,
};
use serde_json::{Map, Value};

/// The [`crate::Error::Conflict`] constraint of removing, demoting or deactivating the last
/// active `org_owner` of an organization (an organization always keeps an owner).
pub const LAST_ORG_OWNER: &str = "members.last_org_owner";

/// The [`crate::Error::Conflict`] constraint of reviewing an access request that was already
/// reviewed (only `pending` and `under_review` ones may be).
pub const ALREADY_REVIEWED: &str = "access_requests.reviewed";

/// A new organization (`POST /v1/organizations`); its slug is derived from `name`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrganization {
    /// Name, 2 to 120 characters.
    pub name: String,
    /// Legal name.
    pub legal_name: Option<String>,
    /// Primary domain.
    pub primary_domain: Option<String>,
    /// Metadata.
    pub metadata: Map<String, Value>,
}

/// A change to an organization: each `Some` field is set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrganizationUpdate {
    /// New name (the slug stays).
    pub name: Option<String>,
    /// New legal name.
    pub legal_name: Option<String>,
    /// New primary domain.
    pub primary_domain: Option<String>,
    /// New status.
    pub status: Option<OrgStatus>,
    /// New metadata.
    pub metadata: Option<Map<String, Value>>,
}

/// A new workspace of an organization; its slug is derived from `name`, unique in the
/// organization.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWorkspace {
    /// Name, 2 to 120 characters.
    pub name: String,
    /// What it is for.
    pub environment: Environment,
    /// Region.
    pub region: Option<String>,
}

/// A change to a workspace: each `Some` field is set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkspaceUpdate {
    /// New name (the slug stays).
    pub name: Option<String>,
    /// New status.
    pub status: Option<WorkspaceStatus>,
    /// New region.
    pub region: Option<String>,
}

/// A new principal of a workspace's directory (`POST /v1/principals`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewPrincipal {
    /// What it stands for.
    pub principal_type: PrincipalType,
    /// Display name.
    pub display_name: Option<String>,
    /// Metadata.
    pub metadata: Map<String, Value>,
}

/// A new alias of a principal (`POST /v1/aliases`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAlias {
    /// The name, 3 to 255 characters.
    pub alias: String,
    /// What it is used for.
    pub alias_type: AliasType,
    /// Metadata.
    pub metadata: Map<String, Value>,
}

/// A new access request (`POST /v1/access-requests`), already validated: `org_id` is set for
/// `join_organization` and `elevated_role`, `workspace_id` only with `org_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccessRequest {
    /// What it asks for.
    pub request_type: AccessRequestType,
    /// Who asks.
    pub requester_actor_id: String,
    /// The organization.
    pub org_id: Option<OrgId>,
    /// The one workspace of it.
    pub workspace_id: Option<WorkspaceId>,
    /// The role asked for.
    pub requested_role: Option<Role>,
    /// The company (for `create_organization`).
    pub company_name: Option<String>,
    /// Why.
    pub justification: Option<String>,
}

/// Which access requests [`crate::Store::list_access_requests`] returns: those matching every
/// set filter, of which only the requester's own (or, with `orgless`, also those naming no
/// organization) when `requester` is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessRequestFilter {
    /// Only this organization's.
    pub org_id: Option<OrgId>,
    /// Only this workspace's.
    pub workspace_id: Option<WorkspaceId>,
    /// Only those in this state.
    pub state: Option<AccessRequestState>,
    /// Only those of this requester (…)
    pub requester: Option<String>,
    /// (…) and, when set, those naming no organization too.
    pub orgless: bool,
    /// At most this many.
    pub limit: u32,
}

/// A reviewer's decision on an access request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// The decision.
    pub decision: ReviewDecision,
    /// Who decided.
    pub reviewer_actor_id: String,
    /// Their comment.
    pub review_comment: Option<String>,
}

/// The membership an approved `join_organization` or `elevated_role` request grants: its
/// `requested_role`, default `member`.
pub fn granted_role(requested: Option<Role>) -> Role {
    requested.unwrap_or(Role::Member)
}
