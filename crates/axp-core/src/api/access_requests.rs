//! Access requests (contract §6 "Access requests", `api.access_requests.*.v1.json`): someone
//! asks for an organization, a membership or a stronger role, and an org admin reviews it.

use serde::{Deserialize, Serialize};

use super::yes;
use crate::Timestamp;
use crate::access::Role;
use crate::ids::{AccessRequestId, OrgId, WorkspaceId};
use crate::tenancy::{AccessRequestState, AccessRequestType, ReviewDecision};

/// An access request (`api.access_requests.get.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessRequest {
    /// Its id.
    pub access_request_id: AccessRequestId,
    /// What it asks for.
    pub request_type: AccessRequestType,
    /// Where it stands.
    pub state: AccessRequestState,
    /// Who asks (1 to 255 characters): the actor a granted membership goes to.
    pub requester_actor_id: String,
    /// The organization it concerns (none for `create_organization`).
    pub org_id: Option<OrgId>,
    /// The one workspace of it, if any.
    pub workspace_id: Option<WorkspaceId>,
    /// The role asked for (a granted membership defaults to `member`).
    pub requested_role: Option<Role>,
    /// For `create_organization`: the company, 2 to 255 characters.
    pub company_name: Option<String>,
    /// Why, at most 4000 characters.
    pub justification: Option<String>,
    /// Who reviewed it.
    pub reviewer_actor_id: Option<String>,
    /// The reviewer's comment, at most 4000 characters.
    pub review_comment: Option<String>,
    /// When it was reviewed.
    pub reviewed_at: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// `{"ok": true, "access_request": {…}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessRequestResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The request.
    pub access_request: AccessRequest,
}

/// `{"ok": true, "access_requests": […]}`, newest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListAccessRequestsResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The requests.
    pub access_requests: Vec<AccessRequest>,
}

/// Body of `POST /v1/access-requests` (`api.access_requests.create.request.v1.json`).
///
/// ```
/// use axp_core::api::CreateAccessRequest;
/// use axp_core::tenancy::AccessRequestType;
///
/// let request = CreateAccessRequest::new(AccessRequestType::CreateOrganization, "user-7");
/// assert_eq!(
///     serde_json::to_value(&request)?,
///     serde_json::json!({"request_type": "create_organization", "requester_actor_id": "user-7"})
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateAccessRequest {
    /// What it asks for.
    pub request_type: AccessRequestType,
    /// Who asks.
    pub requester_actor_id: String,
    /// The organization (required for `join_organization` and `elevated_role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    /// Only this workspace of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<WorkspaceId>,
    /// The role asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_role: Option<Role>,
    /// For `create_organization`: the company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

impl CreateAccessRequest {
    /// A request of `request_type` by `requester_actor_id`, with nothing else set.
    pub fn new(request_type: AccessRequestType, requester_actor_id: impl Into<String>) -> Self {
        Self {
            request_type,
            requester_actor_id: requester_actor_id.into(),
            org_id: None,
            workspace_id: None,
            requested_role: None,
            company_name: None,
            justification: None,
        }
    }
}

/// Body of `POST /v1/access-requests/{id}/review` (`api.access_requests.review.request.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewAccessRequest {
    /// The decision.
    pub decision: ReviewDecision,
    /// Who reviews (default: the caller's actor id).
    pub reviewer_actor_id: String,
    /// A comment, at most 4000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_comment: Option<String>,
}
