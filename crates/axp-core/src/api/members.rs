//! Organization members (contract §6 "Members", `api.organizations.members.*.v1.json`).

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::access::Role;
use crate::ids::{MemberId, OrgId, WorkspaceId};

/// A membership: `actor_id` (a service account id or a user id) holds `role` in the
/// organization, or only in `workspace_id` when one is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// Its id.
    pub member_id: MemberId,
    /// The organization.
    pub org_id: OrgId,
    /// The one workspace it applies to; `None`: every workspace of the organization.
    pub workspace_id: Option<WorkspaceId>,
    /// Who: a service account id or a user id.
    pub actor_id: String,
    /// What it may do.
    pub role: Role,
    /// `active`, `invited`, `suspended` or `removed`; only `active` memberships give a role.
    pub status: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// `{"ok": true, "member": {…}}`: the answer to adding or updating a member.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberResponse {
    /// Always `true`.
    #[serde(default)]
    pub ok: bool,
    /// The membership.
    pub member: Member,
}

/// `{"ok": true, "members": […]}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListMembersResponse {
    /// Always `true`.
    #[serde(default)]
    pub ok: bool,
    /// The memberships, oldest first.
    pub members: Vec<Member>,
}
