//! Organizations, their workspaces and memberships (contract §6 "Organizations"): what an org
//! admin uses to set up a tenant. A new workspace gets its first key through
//! [`Client::create_service_account`] with its `workspace_id`, then [`Client::create_api_key`].

use axp_core::api::{
    AddMemberRequest, CreateOrganizationRequest, CreateWorkspaceRequest, ListMembersResponse,
    ListWorkspacesResponse, Member, MemberResponse, Organization, OrganizationDetail,
    OrganizationDetailResponse, OrganizationResponse, RemovedMember, UpdateMemberRequest,
    UpdateOrganizationRequest, UpdateWorkspaceRequest, Workspace, WorkspaceResponse,
};
use axp_core::ids::{MemberId, OrgId, WorkspaceId};

use crate::client::Client;
use crate::error::Result;

impl Client {
    /// `POST /v1/organizations`: a new organization, owned by this key's service account (its
    /// `org_owner`). Needs `org_admin`/`org_owner` in the key's own organization. Not retried.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client) -> axp_client::Result<()> {
    /// use axp_client::axp_core::api::CreateOrganizationRequest;
    ///
    /// let org = client.create_organization(&CreateOrganizationRequest { name: "Acme".into(), ..Default::default() }).await?;
    /// println!("{} is {}", org.name, org.status);
    /// # Ok(()) }
    /// ```
    pub async fn create_organization(&self, request: &CreateOrganizationRequest) -> Result<Organization> {
        let response: OrganizationResponse =
            self.post_json(self.url(["v1", "organizations"]), request, None).await?;
        Ok(response.organization)
    }

    /// `GET /v1/organizations/{org_id}`: the organization with its workspace and membership
    /// counts. 404 for an organization the key has no membership in.
    pub async fn get_organization(&self, org: OrgId) -> Result<OrganizationDetail> {
        let url = self.url(["v1", "organizations", &org.to_string()]);
        let response: OrganizationDetailResponse = self.get_json(url).await?;
        Ok(response.organization)
    }

    /// `PATCH /v1/organizations/{org_id}`: changes the fields set in `request` (its `org_id` is
    /// filled in from `org`).
    pub async fn update_organization(
        &self,
        org: OrgId,
        request: &UpdateOrganizationRequest,
    ) -> Result<Organization> {
        let body = UpdateOrganizationRequest { org_id: Some(org), ..request.clone() };
        let url = self.url(["v1", "organizations", &org.to_string()]);
        let response: OrganizationResponse = self.patch_json(url, &body).await?;
        Ok(response.organization)
    }

    /// `POST /v1/organizations/{org_id}/workspaces`: a new workspace.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, org: axp_client::axp_core::OrgId) -> axp_client::Result<()> {
    /// use axp_client::axp_core::api::CreateWorkspaceRequest;
    /// use axp_client::axp_core::tenancy::Environment;
    ///
    /// let request = CreateWorkspaceRequest { org_id: None, name: "staging".into(), environment: Environment::Staging, region: None };
    /// let ws = client.create_workspace(org, &request).await?;
    /// // Its first agent and key:
    /// let account = client
    ///     .create_service_account(&axp_client::CreateServiceAccountRequest {
    ///         workspace_id: Some(ws.workspace_id),
    ///         name: "ops".into(),
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// let key = client.create_api_key(account.service_account_id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_workspace(&self, org: OrgId, request: &CreateWorkspaceRequest) -> Result<Workspace> {
        let body = CreateWorkspaceRequest { org_id: Some(org), ..request.clone() };
        let url = self.url(["v1", "organizations", &org.to_string(), "workspaces"]);
        let response: WorkspaceResponse = self.post_json(url, &body, None).await?;
        Ok(response.workspace)
    }

    /// `GET /v1/organizations/{org_id}/workspaces`, oldest first.
    pub async fn list_workspaces(&self, org: OrgId) -> Result<Vec<Workspace>> {
        let url = self.url(["v1", "organizations", &org.to_string(), "workspaces"]);
        let response: ListWorkspacesResponse = self.get_json(url).await?;
        Ok(response.workspaces)
    }

    /// `PATCH /v1/organizations/{org_id}/workspaces/{workspace_id}`.
    pub async fn update_workspace(
        &self,
        org: OrgId,
        workspace: WorkspaceId,
        request: &UpdateWorkspaceRequest,
    ) -> Result<Workspace> {
        let body =
            UpdateWorkspaceRequest { org_id: Some(org), workspace_id: Some(workspace), ..request.clone() };
        let url = self.url(["v1", "organizations", &org.to_string(), "workspaces", &workspace.to_string()]);
        let response: WorkspaceResponse = self.patch_json(url, &body).await?;
        Ok(response.workspace)
    }

    /// `GET /v1/organizations/{org_id}/members[?workspace_id=]`, oldest first; with a
    /// workspace, its memberships and the organization-wide ones.
    pub async fn list_members(&self, org: OrgId, workspace: Option<WorkspaceId>) -> Result<Vec<Member>> {
        let mut url = self.url(["v1", "organizations", &org.to_string(), "members"]);
        if let Some(ws) = workspace {
            url.query_pairs_mut().append_pair("workspace_id", &ws.to_string());
        }
        let response: ListMembersResponse = self.get_json(url).await?;
        Ok(response.members)
    }

    /// `POST /v1/organizations/{org_id}/members`: gives `request.actor_id` a role. 409 when it
    /// already has a membership there.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, org: axp_client::axp_core::OrgId) -> axp_client::Result<()> {
    /// use axp_client::axp_core::access::Role;
    /// use axp_client::axp_core::api::AddMemberRequest;
    ///
    /// let request = AddMemberRequest { org_id: None, workspace_id: None, actor_id: "user-7".into(), role: Role::OrgAdmin, invited_by_actor_id: None };
    /// let member = client.add_member(org, &request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_member(&self, org: OrgId, request: &AddMemberRequest) -> Result<Member> {
        let body = AddMemberRequest { org_id: Some(org), ..request.clone() };
        let url = self.url(["v1", "organizations", &org.to_string(), "members"]);
        let response: MemberResponse = self.post_json(url, &body, None).await?;
        Ok(response.member)
    }

    /// `PATCH /v1/organizations/{org_id}/members/{member_id}`: a new role, status, or both. 409
    /// when it would leave the organization without an active `org_owner`.
    pub async fn update_member(
        &self,
        org: OrgId,
        member: MemberId,
        request: &UpdateMemberRequest,
    ) -> Result<Member> {
        let body = UpdateMemberRequest { org_id: Some(org), member_id: Some(member), ..request.clone() };
        let url = self.url(["v1", "organizations", &org.to_string(), "members", &member.to_string()]);
        let response: MemberResponse = self.patch_json(url, &body).await?;
        Ok(response.member)
    }

    /// `DELETE /v1/organizations/{org_id}/members/{member_id}`. 409 for the last `org_owner`.
    pub async fn remove_member(&self, org: OrgId, member: MemberId) -> Result<RemovedMember> {
        let url = self.url(["v1", "organizations", &org.to_string(), "members", &member.to_string()]);
        self.delete_json(url).await
    }
}
