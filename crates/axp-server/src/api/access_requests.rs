//! Access requests (contract §6 "Access requests", `api.access_requests.*.v1.json`).
//!
//! Anyone authenticated may ask. A request's reviewers are the org admins of its organization
//! (for a `create_organization` request, which names none: the org admins of their own
//! organization); reviewers and the requester (the caller whose actor id is
//! `requester_actor_id`) read it, others get 403 in an organization they belong to and 404
//! elsewhere (`docs/access.md`, "Tenancy"). A request is reviewed once (409 after).
//! Approving a `join_organization` or `elevated_role` request grants the membership asked for;
//! granting `org_owner` needs an owner.

use axp_core::access::Role;
use axp_core::api::{
    AccessRequest, AccessRequestResponse, CreateAccessRequest, ListAccessRequestsResponse,
    ReviewAccessRequest,
};
use axp_core::error::ErrorCode;
use axp_core::ids::{AccessRequestId, OrgId, WorkspaceId};
use axp_core::tenancy::{AccessRequestState, AccessRequestType, ReviewDecision};
use axp_core::validate::Fields;
use axp_store::{ALREADY_REVIEWED, AccessRequestFilter, NewAccessRequest, Review, granted_role};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::organizations::{present, wire};
use crate::access::OrgAccess;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::state::AppState;

/// How the caller stands to one request.
struct Standing {
    /// It may review it: an org admin of its organization.
    reviewer: bool,
    /// What it may do in the request's organization, if the request names one.
    access: Option<OrgAccess>,
}

/// The caller's standing towards `request`.
async fn standing(state: &AppState, caller: &Caller, request: &AccessRequest) -> ApiResult<Standing> {
    match request.org_id {
        Some(org) => {
            let access = caller.org_access(state, org).await?;
            Ok(Standing { reviewer: access.is_admin(), access: Some(access) })
        }
        None => Ok(Standing { reviewer: caller.0.roles.administers_org(), access: None }),
    }
}

/// The request `raw` as the caller may see it: a reviewer or the requester. Others get 403 in
/// an organization they belong to (or their own), 404 elsewhere.
async fn visible(state: &AppState, caller: &Caller, raw: &str) -> ApiResult<(AccessRequest, Standing)> {
    let id: AccessRequestId = raw.parse().map_err(|_| ApiError::not_found("access request"))?;
    let request = state.store.get_access_request(id).await.map_err(ApiError::missing("access request"))?;
    let standing = standing(state, caller, &request).await?;
    let requester = request.requester_actor_id == caller.0.actor.id().to_string();
    if standing.reviewer || requester {
        return Ok((request, standing));
    }
    if standing.access.as_ref().is_some_and(OrgAccess::known) {
        Err(ApiError::new(
            ErrorCode::PolicyDenied,
            "only the organization's admins and the requester read it",
        ))
    } else {
        Err(ApiError::not_found("access request"))
    }
}

/// `POST /v1/access-requests` `{request_type, requester_actor_id?, org_id?, workspace_id?,
/// requested_role?, company_name?, justification?}`: a pending request. `requester_actor_id`
/// defaults to the caller's actor id; `join_organization` and `elevated_role` need `org_id`
/// (404 when unknown). Anyone authenticated.
#[utoipa::path(
    post,
    path = "/v1/access-requests",
    tag = "access-requests",
    request_body = CreateAccessRequest,
    responses((status = 200, body = AccessRequestResponse)),
)]
async fn create_access_request(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<AccessRequestResponse>> {
    let mut f = Fields::new(&body);
    let request_type = wire::<AccessRequestType>(&mut f, "request_type", true);
    let requester = f.bounded_string("requester_actor_id", &[], false, 1, 255);
    let org = f.uuid("org_id", &[]).map(OrgId);
    let ws = f.uuid("workspace_id", &[]).map(WorkspaceId);
    let requested_role = wire::<Role>(&mut f, "requested_role", false);
    let company_name = f.bounded_string("company_name", &[], false, 2, 255);
    let justification = f.bounded_string("justification", &[], false, 0, 4000);
    let membership =
        matches!(request_type, Some(AccessRequestType::JoinOrganization | AccessRequestType::ElevatedRole));
    if membership && org.is_none() {
        f.fail("org_id", "missing", "join_organization and elevated_role name the organization");
    }
    if ws.is_some() && org.is_none() {
        f.fail("workspace_id", "value_error", "a workspace is named with its org_id");
    }
    if ws.is_some() && requested_role.is_some_and(Role::is_org_admin) {
        f.fail(
            "requested_role",
            "value_error",
            "org_owner and org_admin are organization-wide (no workspace_id)",
        );
    }
    let request_type = present(f.finish(request_type)?, "request_type")?;
    let request = NewAccessRequest {
        request_type,
        requester_actor_id: requester.unwrap_or_else(|| caller.0.actor.id().to_string()),
        org_id: org,
        workspace_id: ws,
        requested_role,
        company_name,
        justification,
    };
    let access_request = state
        .store
        .create_access_request(request, state.clock.now())
        .await
        .map_err(ApiError::missing("organization or workspace"))?;
    Ok(Json(AccessRequestResponse { ok: true, access_request }))
}

/// `GET /v1/access-requests?org_id=&workspace_id=&state=&limit=`, newest first (default 100,
/// at most 1000). With `org_id`, an org admin there sees all of its requests; everyone else
/// sees their own only. Without it: the caller's own, and for an org admin (of its own
/// organization) also those naming no organization, which it reviews.
#[utoipa::path(
    get,
    path = "/v1/access-requests",
    tag = "access-requests",
    params(
        ("org_id" = Option<String>, Query, description = "The organization (UUID): all of its requests for its org admins"),
        ("workspace_id" = Option<String>, Query, description = "Only requests naming this workspace (UUID)"),
        ("state" = Option<String>, Query, description = "pending, under_review, approved, rejected, waitlisted or expired"),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
    ),
    responses((status = 200, body = ListAccessRequestsResponse)),
)]
async fn list_access_requests(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ListAccessRequestsResponse>> {
    let uuid = |name: &str| -> ApiResult<Option<uuid::Uuid>> {
        query
            .str(name)
            .map(|raw| raw.parse().map_err(|_| ApiError::invalid_query(name, "must be a UUID")))
            .transpose()
    };
    let org = uuid("org_id")?.map(OrgId);
    let ws = uuid("workspace_id")?.map(WorkspaceId);
    let wanted = query
        .str("state")
        .map(|raw| {
            raw.parse::<AccessRequestState>().map_err(|e| ApiError::invalid_query("state", &e.to_string()))
        })
        .transpose()?;
    let limit = query.bounded("limit", 1, 1000)?.unwrap_or(100) as u32;
    let me = caller.0.actor.id().to_string();
    let (requester, orgless) = match org {
        Some(org) if caller.org_access(&state, org).await?.is_admin() => (None, false),
        Some(_) => (Some(me), false),
        None => (Some(me), caller.0.roles.administers_org()),
    };
    let filter =
        AccessRequestFilter { org_id: org, workspace_id: ws, state: wanted, requester, orgless, limit };
    let access_requests = state.store.list_access_requests(filter).await?;
    Ok(Json(ListAccessRequestsResponse { ok: true, access_requests }))
}

/// `GET /v1/access-requests/{access_request_id}`: one request, for its reviewers and its requester.
#[utoipa::path(
    get,
    path = "/v1/access-requests/{access_request_id}",
    tag = "access-requests",
    params(("access_request_id" = String, Path, description = "The access request's id (UUID)")),
    responses((status = 200, body = AccessRequestResponse)),
)]
async fn get_access_request(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<AccessRequestResponse>> {
    let (access_request, _) = visible(&state, &caller, &id).await?;
    Ok(Json(AccessRequestResponse { ok: true, access_request }))
}

/// `POST /v1/access-requests/{access_request_id}/review` `{decision: approve|reject|waitlist,
/// reviewer_actor_id?, review_comment?}` → `approved|rejected|waitlisted`. Reviewers only (the
/// requester may not review its own: 403); 409 when it was reviewed before.
#[utoipa::path(
    post,
    path = "/v1/access-requests/{access_request_id}/review",
    tag = "access-requests",
    params(("access_request_id" = String, Path, description = "The access request's id (UUID)")),
    request_body = ReviewAccessRequest,
    responses((status = 200, body = AccessRequestResponse)),
)]
async fn review_access_request(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<AccessRequestResponse>> {
    let (request, standing) = visible(&state, &caller, &id).await?;
    if !standing.reviewer {
        return Err(ApiError::new(
            ErrorCode::PolicyDenied,
            "reviewing needs the org_admin or org_owner role",
        ));
    }
    let mut f = Fields::new(&body);
    let decision = wire::<ReviewDecision>(&mut f, "decision", true);
    let reviewer = f.bounded_string("reviewer_actor_id", &[], false, 1, 255);
    let review_comment = f.bounded_string("review_comment", &[], false, 0, 4000);
    let decision = present(f.finish(decision)?, "decision")?;
    let grants_owner = request.request_type != AccessRequestType::CreateOrganization
        && granted_role(request.requested_role) == Role::OrgOwner;
    if decision == ReviewDecision::Approve
        && grants_owner
        && let Some(access) = &standing.access
    {
        access.require_owner()?;
    }
    let review = Review {
        decision,
        reviewer_actor_id: reviewer.unwrap_or_else(|| caller.0.actor.id().to_string()),
        review_comment,
    };
    let access_request = state
        .store
        .review_access_request(request.access_request_id, review, state.clock.now(), &caller.audit())
        .await
        .map_err(|e| match e {
            axp_store::Error::Conflict { constraint } if constraint == ALREADY_REVIEWED => {
                ApiError::new(ErrorCode::InvalidStateTransition, "the access request was already reviewed")
            }
            other => ApiError::missing("access request")(other),
        })?;
    Ok(Json(AccessRequestResponse { ok: true, access_request }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_access_request, list_access_requests, get_access_request, review_access_request))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/access-requests", post(create_access_request).get(list_access_requests))
        .route("/v1/access-requests/{access_request_id}", get(get_access_request))
        .route("/v1/access-requests/{access_request_id}/review", post(review_access_request))
}
