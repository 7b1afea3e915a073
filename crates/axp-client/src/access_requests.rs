//! Access requests (contract §6 "Access requests"): ask for an organization, a membership or a
//! stronger role; org admins review.

use axp_core::api::{
    AccessRequest, AccessRequestResponse, CreateAccessRequest, ListAccessRequestsResponse,
    ReviewAccessRequest,
};
use axp_core::ids::{AccessRequestId, OrgId, WorkspaceId};
use axp_core::tenancy::AccessRequestState;

use crate::client::Client;
use crate::error::Result;

impl Client {
    /// `POST /v1/access-requests`: a pending request (any key may ask).
    ///
    /// ```no_run
    /// # async fn f(client: axp_client::Client, org: axp_client::axp_core::OrgId) -> axp_client::Result<()> {
    /// use axp_client::axp_core::api::CreateAccessRequest;
    /// use axp_client::axp_core::tenancy::AccessRequestType;
    ///
    /// let me = client.whoami().await?;
    /// let mut request = CreateAccessRequest::new(AccessRequestType::JoinOrganization, me.service_account_id.to_string());
    /// request.org_id = Some(org);
    /// let pending = client.create_access_request(&request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_access_request(&self, request: &CreateAccessRequest) -> Result<AccessRequest> {
        let response: AccessRequestResponse =
            self.post_json(self.url(["v1", "access-requests"]), request, None).await?;
        Ok(response.access_request)
    }

    /// `GET /v1/access-requests?org_id=&workspace_id=&state=`, newest first: an organization's
    /// (for its org admins), otherwise the caller's own.
    pub async fn list_access_requests(
        &self,
        org: Option<OrgId>,
        workspace: Option<WorkspaceId>,
        state: Option<AccessRequestState>,
    ) -> Result<Vec<AccessRequest>> {
        let mut url = self.url(["v1", "access-requests"]);
        {
            let mut query = url.query_pairs_mut();
            if let Some(org) = org {
                query.append_pair("org_id", &org.to_string());
            }
            if let Some(ws) = workspace {
                query.append_pair("workspace_id", &ws.to_string());
            }
            if let Some(state) = state {
                query.append_pair("state", state.as_str());
            }
        }
        crate::request::strip_empty_query(&mut url);
        let response: ListAccessRequestsResponse = self.get_json(url).await?;
        Ok(response.access_requests)
    }

    /// `GET /v1/access-requests/{access_request_id}`.
    pub async fn get_access_request(&self, id: AccessRequestId) -> Result<AccessRequest> {
        let url = self.url(["v1", "access-requests", &id.to_string()]);
        let response: AccessRequestResponse = self.get_json(url).await?;
        Ok(response.access_request)
    }

    /// `POST /v1/access-requests/{access_request_id}/review`: approve, reject or waitlist; 409
    /// when it was reviewed before.
    pub async fn review_access_request(
        &self,
        id: AccessRequestId,
        review: &ReviewAccessRequest,
    ) -> Result<AccessRequest> {
        let url = self.url(["v1", "access-requests", &id.to_string(), "review"]);
        let response: AccessRequestResponse = self.post_json(url, review, None).await?;
        Ok(response.access_request)
    }
}
