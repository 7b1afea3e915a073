//! An organization's memberships (contract §6 "Members", `api.organizations.members.*.v1.json`).
//!
//! Who may change them (`docs/access.md`, "Tenancy"): an org admin any membership of its
//! organization; a `workspace_admin` only memberships of a workspace it administers, and never
//! with `org_owner` or `org_admin`; only an `org_owner` grants, takes away or removes
//! `org_owner`. Those two roles are organization-wide: with a `workspace_id` they are 422. The
//! last active owner cannot be removed, demoted or deactivated (409). Reading needs any role
//! in the organization.

use axp_core::access::Role;
use axp_core::api::{
    AddMemberRequest, ListMembersResponse, Member, MemberResponse, RemovedMember, UpdateMemberRequest,
};
use axp_core::error::ErrorCode;
use axp_core::ids::{MemberId, OrgId, WorkspaceId};
use axp_core::tenancy::MemberStatus;
use axp_core::validate::Fields;
use axp_store::{LAST_ORG_OWNER, MemberUpdate};
use axum::extract::State;
use axum::routing::{get, patch};
use axum::{Json, Router};

use super::organizations::{org_id, present, same_as_path, wire};
use crate::access::OrgAccess;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::state::AppState;

fn member_id(raw: &str) -> ApiResult<MemberId> {
    raw.parse().map_err(|_| ApiError::not_found("member"))
}

/// Maps a store error of a membership change: the last owner kept is 409.
fn member_error(e: axp_store::Error) -> ApiError {
    match e {
        axp_store::Error::Conflict { constraint } if constraint == LAST_ORG_OWNER => ApiError::new(
            ErrorCode::InvalidStateTransition,
            "the organization's last active org_owner cannot be removed, demoted or deactivated",
        ),
        axp_store::Error::NotFound => ApiError::not_found("member"),
        other => other.into(),
    }
}

/// 403 unless `access` may manage a membership with `role` in `scope` (the whole organization
/// when `None`): an org admin may, a `workspace_admin` only in its workspace and below the org
/// roles; `org_owner` needs an owner.
fn require_manage(access: &OrgAccess, scope: Option<WorkspaceId>, role: Role) -> ApiResult<()> {
    if role == Role::OrgOwner {
        return access.require_owner();
    }
    if access.is_admin() {
        return Ok(());
    }
    match scope {
        Some(ws) if !role.is_org_admin() => access.require_workspace_admin(ws),
        _ => access.require_admin(),
    }
}

/// 422 when an organization-wide role (`org_owner`, `org_admin`) is given for one workspace.
fn check_scope(f: &mut Fields<'_>, scope: Option<WorkspaceId>, role: Option<Role>) {
    if scope.is_some() && role.is_some_and(Role::is_org_admin) {
        f.fail("role", "value_error", "org_owner and org_admin are organization-wide (no workspace_id)");
    }
}

/// The membership `id` of `org`, for a change by `access`: 404 when unknown, 403 when it may
/// not manage it.
async fn manageable(state: &AppState, access: &OrgAccess, org: OrgId, id: MemberId) -> ApiResult<Member> {
    let member = state.store.get_member(org, id).await.map_err(member_error)?;
    require_manage(access, member.workspace_id, member.role)?;
    Ok(member)
}

/// `GET /v1/organizations/{org_id}/members?workspace_id=&limit=`: oldest first (default 100, at
/// most 1000); with `workspace_id`, that workspace's and the organization-wide ones. Any role
/// there.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/members",
    tag = "members",
    params(
        ("org_id" = String, Path, description = "The organization's id (UUID)"),
        ("workspace_id" = Option<String>, Query, description = "That workspace's memberships and the organization-wide ones (UUID)"),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
    ),
    responses((status = 200, body = ListMembersResponse)),
)]
async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(org): PathParams<String>,
    query: QueryMap,
) -> ApiResult<Json<ListMembersResponse>> {
    let org = org_id(&org)?;
    caller.in_org(&state, org).await?.require_reader()?;
    let ws = match query.str("workspace_id") {
        Some(raw) => {
            Some(raw.parse().map_err(|_| ApiError::invalid_query("workspace_id", "must be a UUID"))?)
        }
        None => None,
    };
    let limit = query.bounded("limit", 1, 1000)?.unwrap_or(100) as u32;
    let members = state.store.list_members(org, ws, limit).await?;
    Ok(Json(ListMembersResponse { ok: true, members }))
}

/// `POST /v1/organizations/{org_id}/members` `{org_id?, workspace_id?, actor_id, role,
/// invited_by_actor_id?}`: an active membership; `actor_id` is a service account id, a user id
/// or another actor string. 404 for a workspace of another organization, 409 when the actor
/// already has a membership there.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/members",
    tag = "members",
    params(("org_id" = String, Path, description = "The organization's id (UUID)")),
    request_body = AddMemberRequest,
    responses((status = 200, body = MemberResponse)),
)]
async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(org): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<MemberResponse>> {
    let org = org_id(&org)?;
    let access = caller.in_org(&state, org).await?;
    let mut f = Fields::new(&body);
    same_as_path(&mut f, "org_id", org.0);
    let ws = f.uuid("workspace_id", &[]).map(WorkspaceId);
    let actor_id = f.bounded_string("actor_id", &[], true, 1, 255);
    let role = wire::<Role>(&mut f, "role", true);
    f.bounded_string("invited_by_actor_id", &[], false, 1, 255);
    check_scope(&mut f, ws, role);
    let (actor_id, role) = f.finish((actor_id, role))?;
    let (actor_id, role) = (present(actor_id, "actor_id")?, present(role, "role")?);
    require_manage(&access, ws, role)?;
    if let Some(ws) = ws {
        super::directory::workspace_in(&state, org, ws).await?;
    }
    let member = state
        .store
        .add_member(org, ws, &actor_id, role, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("workspace"))?;
    Ok(Json(MemberResponse { ok: true, member }))
}

/// `PATCH /v1/organizations/{org_id}/members/{member_id}` `{org_id?, member_id?, workspace_id?,
/// role?, status?}`: a new role, a new status, or both; a membership keeps its workspace (a
/// different `workspace_id` is 422).
#[utoipa::path(
    patch,
    path = "/v1/organizations/{org_id}/members/{member_id}",
    tag = "members",
    params(
        ("org_id" = String, Path, description = "The organization's id (UUID)"),
        ("member_id" = String, Path, description = "The membership's id (UUID)"),
    ),
    request_body = UpdateMemberRequest,
    responses((status = 200, body = MemberResponse)),
)]
async fn update_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((org, id)): PathParams<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<MemberResponse>> {
    let (org, id) = (org_id(&org)?, member_id(&id)?);
    let access = caller.in_org(&state, org).await?;
    let current = manageable(&state, &access, org, id).await?;
    let mut f = Fields::new(&body);
    same_as_path(&mut f, "org_id", org.0);
    same_as_path(&mut f, "member_id", id.0);
    if let Some(ws) = f.uuid("workspace_id", &[])
        && Some(WorkspaceId(ws)) != current.workspace_id
    {
        f.fail("workspace_id", "value_error", "a membership keeps its workspace");
    }
    let role = wire::<Role>(&mut f, "role", false);
    let status = wire::<MemberStatus>(&mut f, "status", false);
    check_scope(&mut f, current.workspace_id, role);
    let (role, status) = f.finish((role, status))?;
    if let Some(role) = role {
        require_manage(&access, current.workspace_id, role)?;
    }
    let update = MemberUpdate { role, status: status.map(|s| s.as_str().to_owned()) };
    let member = state
        .store
        .update_member(org, id, update, state.clock.now(), &caller.audit())
        .await
        .map_err(member_error)?;
    Ok(Json(MemberResponse { ok: true, member }))
}

/// `DELETE /v1/organizations/{org_id}/members/{member_id}`: `{ok, removed: true, org_id,
/// member_id, removed_at}`.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{org_id}/members/{member_id}",
    tag = "members",
    params(
        ("org_id" = String, Path, description = "The organization's id (UUID)"),
        ("member_id" = String, Path, description = "The membership's id (UUID)"),
    ),
    responses((status = 200, body = RemovedMember)),
)]
async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((org, id)): PathParams<(String, String)>,
) -> ApiResult<Json<RemovedMember>> {
    let (org, id) = (org_id(&org)?, member_id(&id)?);
    let access = caller.in_org(&state, org).await?;
    manageable(&state, &access, org, id).await?;
    let removed_at = state.clock.now();
    state.store.remove_member(org, id, removed_at, &caller.audit()).await.map_err(member_error)?;
    Ok(Json(RemovedMember { ok: true, removed: true, org_id: org, member_id: id, removed_at }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_members, add_member, update_member, remove_member))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations/{org_id}/members", get(list_members).post(add_member))
        .route("/v1/organizations/{org_id}/members/{member_id}", patch(update_member).delete(remove_member))
}
