//! A workspace's directory (contract §6 "Principals, aliases"): principals and the aliases
//! that name them.

use axp_core::api::{
    Alias, AliasResolution, AliasResponse, BindAliasRequest, CreatePrincipalRequest, DirectoryPrincipal,
    ListAliasesResponse, PrincipalResponse, ResolveAliasResponse,
};
use axp_core::ids::{AliasId, OrgId, PrincipalId, WorkspaceId};

use crate::client::Client;
use crate::error::Result;

impl Client {
    /// `POST /v1/principals`: a principal in a workspace's directory (needs `workspace_admin`
    /// there, or an org admin).
    pub async fn create_principal(&self, request: &CreatePrincipalRequest) -> Result<DirectoryPrincipal> {
        let response: PrincipalResponse =
            self.post_json(self.url(["v1", "principals"]), request, None).await?;
        Ok(response.principal)
    }

    /// `GET /v1/principals/{principal_id}`.
    pub async fn get_principal(&self, id: PrincipalId) -> Result<DirectoryPrincipal> {
        let response: PrincipalResponse =
            self.get_json(self.url(["v1", "principals", &id.to_string()])).await?;
        Ok(response.principal)
    }

    /// `POST /v1/aliases`: binds an alias in the principal's workspace. 409 when an active
    /// alias there has the name.
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, principal: axp_client::axp_core::PrincipalId) -> axp_client::Result<()> {
    /// use axp_client::axp_core::api::BindAliasRequest;
    /// use axp_client::axp_core::tenancy::AliasType;
    ///
    /// let request = BindAliasRequest { principal_id: principal, alias: "ada@ops".into(), alias_type: AliasType::Communication, metadata: None };
    /// let alias = client.bind_alias(&request).await?;
    /// let found = client.resolve_alias(alias.org_id, alias.workspace_id, "ada@ops").await?;
    /// assert_eq!(found.principal.principal_id, principal);
    /// # Ok(()) }
    /// ```
    pub async fn bind_alias(&self, request: &BindAliasRequest) -> Result<Alias> {
        let response: AliasResponse = self.post_json(self.url(["v1", "aliases"]), request, None).await?;
        Ok(response.alias)
    }

    /// `GET /v1/aliases?org_id=&workspace_id=`: the workspace's aliases, revoked ones included.
    pub async fn list_aliases(&self, org: OrgId, workspace: WorkspaceId) -> Result<Vec<Alias>> {
        let mut url = self.url(["v1", "aliases"]);
        url.query_pairs_mut()
            .append_pair("org_id", &org.to_string())
            .append_pair("workspace_id", &workspace.to_string());
        let response: ListAliasesResponse = self.get_json(url).await?;
        Ok(response.aliases)
    }

    /// `POST /v1/aliases/{alias_id}/revoke`: it stops resolving.
    pub async fn revoke_alias(&self, id: AliasId) -> Result<Alias> {
        let url = self.url(["v1", "aliases", &id.to_string(), "revoke"]);
        let response: AliasResponse = self.post_json(url, &serde_json::json!({}), None).await?;
        Ok(response.alias)
    }

    /// `GET /v1/aliases/resolve?org_id=&workspace_id=&alias=`: the active alias and its
    /// principal; 404 when none (or revoked).
    pub async fn resolve_alias(
        &self,
        org: OrgId,
        workspace: WorkspaceId,
        alias: &str,
    ) -> Result<AliasResolution> {
        let mut url = self.url(["v1", "aliases", "resolve"]);
        url.query_pairs_mut()
            .append_pair("org_id", &org.to_string())
            .append_pair("workspace_id", &workspace.to_string())
            .append_pair("alias", alias);
        let response: ResolveAliasResponse = self.get_json(url).await?;
        Ok(response.resolution)
    }
}
