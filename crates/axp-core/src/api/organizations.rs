//! Organizations and their workspaces (contract §6 "Organizations",
//! `api.organizations.*.v1.json`); memberships are in `members.rs`.
//!
//! Each object has exactly the fields of its schema: slugs (the first two segments of agent
//! addresses) are not among them, a service account's `agent_address` shows them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::yes;
use crate::Timestamp;
use crate::access::Role;
use crate::ids::{MemberId, OrgId, WorkspaceId};
use crate::tenancy::{Environment, MemberStatus, OrgStatus, WorkspaceStatus};

/// An organization (`api.organizations.create.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    /// Its id.
    pub org_id: OrgId,
    /// Its name, 2 to 120 characters.
    pub name: String,
    /// Its legal name, 2 to 255 characters.
    #[serde(default)]
    pub legal_name: Option<String>,
    /// Its primary domain, 3 to 255 characters.
    #[serde(default)]
    pub primary_domain: Option<String>,
    /// Where it stands.
    pub status: OrgStatus,
    /// Free-form metadata (default `{}`).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// An organization with its counts (`api.organizations.get.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationDetail {
    /// The organization.
    #[serde(flatten)]
    pub organization: Organization,
    /// How many workspaces it has.
    pub workspaces_count: u64,
    /// How many memberships it has (of any status, organization-wide or of one workspace).
    pub members_count: u64,
}

/// `{"ok": true, "organization": {…}}`: the answer to a create or an update.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The organization.
    pub organization: Organization,
}

/// `{"ok": true, "organization": {…, "workspaces_count", "members_count"}}`: the answer to a get.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationDetailResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The organization with its counts.
    pub organization: OrganizationDetail,
}

/// Body of `POST /v1/organizations` (`api.organizations.create.request.v1.json`). The caller
/// becomes the new organization's `org_owner`.
///
/// ```
/// use axp_core::api::CreateOrganizationRequest;
///
/// let request = CreateOrganizationRequest { name: "Acme".into(), ..Default::default() };
/// assert_eq!(serde_json::to_value(&request)?, serde_json::json!({"name": "Acme"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateOrganizationRequest {
    /// Name, 2 to 120 characters; the organization's slug is derived from it.
    pub name: String,
    /// Legal name, 2 to 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    /// Primary domain, 3 to 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_domain: Option<String>,
    /// Who asks for it (default: the caller's actor id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by_actor_id: Option<String>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// Body of `PATCH /v1/organizations/{org_id}` (`api.organizations.update.request.v1.json`): the
/// fields to change. `org_id` repeats the path's (a different one is 422).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateOrganizationRequest {
    /// The organization (filled from the path by the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    /// New name (the slug stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New legal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    /// New primary domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_domain: Option<String>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrgStatus>,
    /// New metadata (replaces the old).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// A workspace (`api.organizations.workspaces.create.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workspace {
    /// Its id.
    pub workspace_id: WorkspaceId,
    /// Its organization.
    pub org_id: OrgId,
    /// Its name, 2 to 120 characters.
    pub name: String,
    /// What it is for.
    pub environment: Environment,
    /// Where it stands.
    pub status: WorkspaceStatus,
    /// Its region, 2 to 64 characters.
    #[serde(default)]
    pub region: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// `{"ok": true, "workspace": {…}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The workspace.
    pub workspace: Workspace,
}

/// `{"ok": true, "workspaces": […]}`, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListWorkspacesResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The workspaces.
    pub workspaces: Vec<Workspace>,
}

/// Body of `POST /v1/organizations/{org_id}/workspaces`
/// (`api.organizations.workspaces.create.request.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateWorkspaceRequest {
    /// The organization (filled from the path by the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    /// Name, 2 to 120 characters; the workspace's slug is derived from it.
    pub name: String,
    /// What it is for.
    pub environment: Environment,
    /// Region, 2 to 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Body of `PATCH /v1/organizations/{org_id}/workspaces/{workspace_id}`
/// (`api.organizations.workspaces.update.request.v1.json`): the fields to change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateWorkspaceRequest {
    /// The organization (filled from the path by the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    /// The workspace (filled from the path by the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<WorkspaceId>,
    /// New name (the slug stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WorkspaceStatus>,
    /// New region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Body of `POST /v1/organizations/{org_id}/members`
/// (`api.organizations.members.add.request.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddMemberRequest {
    /// The organization (filled from the path by the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    /// Only this workspace of it; absent: the whole organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<WorkspaceId>,
    /// Who: a service account id, a user id, or another actor string (1 to 255 characters).
    pub actor_id: String,
    /// The role given.
    pub role: Role,
    /// Who invited them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by_actor_id: Option<String>,
}

/// Body of `PATCH /v1/organizations/{org_id}/members/{member_id}`
/// (`api.organizations.members.update.request.v1.json`): a new role, a new status, or both.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateMemberRequest {
    /// The organization (filled from the path by the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    /// The membership (filled from the path by the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<MemberId>,
    /// New role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MemberStatus>,
}

/// `DELETE /v1/organizations/{org_id}/members/{member_id}`
/// (`api.organizations.members.remove.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemovedMember {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// Always `true`.
    pub removed: bool,
    /// The organization.
    pub org_id: OrgId,
    /// The membership removed.
    pub member_id: MemberId,
    /// When.
    pub removed_at: Timestamp,
}
