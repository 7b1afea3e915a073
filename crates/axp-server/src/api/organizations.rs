//! Organizations and their workspaces (contract §6 "Organizations",
//! `api.organizations.*.v1.json`). Creating an organization is for org admins and makes the
//! caller its owner; changing one or its workspaces needs `org_admin`/`org_owner` there;
//! reading needs any role there (`docs/access.md`, "Tenancy"). Another organization is 404.

use std::str::FromStr;

use axp_core::api::{
    CreateOrganizationRequest, CreateWorkspaceRequest, ListWorkspacesResponse, OrganizationDetailResponse,
    OrganizationResponse, UpdateOrganizationRequest, UpdateWorkspaceRequest, WorkspaceResponse,
};
use axp_core::ids::{OrgId, WorkspaceId};
use axp_core::tenancy::{Environment, OrgStatus, WorkspaceStatus};
use axp_core::validate::Fields;
use axp_store::{NewOrganization, NewWorkspace, OrganizationUpdate, WorkspaceUpdate};
use axum::extract::State;
use axum::routing::{get, patch, post};
use axum::{Json, Router};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams};
use crate::state::AppState;

/// The path's organization id; a string that is not a UUID names none (404).
pub(super) fn org_id(raw: &str) -> ApiResult<OrgId> {
    raw.parse().map_err(|_| ApiError::not_found("organization"))
}

/// The path's workspace id; a string that is not a UUID names none (404).
pub(super) fn workspace_id(raw: &str) -> ApiResult<WorkspaceId> {
    raw.parse().map_err(|_| ApiError::not_found("workspace"))
}

/// A field holding one of a closed set of values (422 naming the allowed ones otherwise).
pub(super) fn wire<T>(f: &mut Fields<'_>, name: &str, required: bool) -> Option<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let raw = f.string(name, &[], required)?;
    match raw.parse() {
        Ok(v) => Some(v),
        Err(e) => {
            f.fail(name, "enum", e.to_string());
            None
        }
    }
}

/// A body field repeating a path id (the SPEC requests repeat `org_id`, `workspace_id`,
/// `member_id`): the path's wins, and a different value is 422.
pub(super) fn same_as_path(f: &mut Fields<'_>, name: &str, path: uuid::Uuid) {
    if let Some(given) = f.uuid(name, &[])
        && given != path
    {
        f.fail(name, "value_error", format!("must be the path's {name} ({path}) when given"));
    }
}

/// A field every valid body has; its absence was reported by `Fields` already.
pub(super) fn present<T>(value: Option<T>, name: &str) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
}

/// `POST /v1/organizations` `{name, legal_name?, primary_domain?, requested_by_actor_id?,
/// metadata?}`: a new active organization whose slug comes from its name (a suffix when
/// taken); the caller becomes its `org_owner`. 403 unless the caller administers its own
/// organization.
#[utoipa::path(
    post,
    path = "/v1/organizations",
    tag = "organizations",
    request_body = CreateOrganizationRequest,
    responses((status = 200, body = OrganizationResponse)),
)]
async fn create_organization(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<OrganizationResponse>> {
    caller.require_own_org_admin()?;
    let mut f = Fields::new(&body);
    let name = f.bounded_string("name", &[], true, 2, 120);
    let legal_name = f.bounded_string("legal_name", &[], false, 2, 255);
    let primary_domain = f.bounded_string("primary_domain", &[], false, 3, 255);
    f.bounded_string("requested_by_actor_id", &[], false, 1, 255);
    let metadata = f.object("metadata", &[]).unwrap_or_default();
    let name = present(f.finish(name)?, "name")?;
    let new = NewOrganization { name, legal_name, primary_domain, metadata };
    let owner = caller.0.actor.id().to_string();
    let organization =
        state.store.create_organization(&owner, new, state.clock.now(), &caller.audit()).await?;
    Ok(Json(OrganizationResponse { ok: true, organization }))
}

/// `GET /v1/organizations/{org_id}`: the organization with `workspaces_count` and
/// `members_count`. Any role there.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}",
    tag = "organizations",
    params(("org_id" = String, Path, description = "The organization's id (UUID)")),
    responses((status = 200, body = OrganizationDetailResponse)),
)]
async fn get_organization(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(org): PathParams<String>,
) -> ApiResult<Json<OrganizationDetailResponse>> {
    let org = org_id(&org)?;
    caller.in_org(&state, org).await?.require_reader()?;
    let organization = state.store.get_organization(org).await.map_err(ApiError::missing("organization"))?;
    Ok(Json(OrganizationDetailResponse { ok: true, organization }))
}

/// `PATCH /v1/organizations/{org_id}` `{org_id?, name?, legal_name?, primary_domain?, status?,
/// metadata?}`: changes what it names (the slug stays). Org admins there.
#[utoipa::path(
    patch,
    path = "/v1/organizations/{org_id}",
    tag = "organizations",
    params(("org_id" = String, Path, description = "The organization's id (UUID)")),
    request_body = UpdateOrganizationRequest,
    responses((status = 200, body = OrganizationResponse)),
)]
async fn update_organization(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(org): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<OrganizationResponse>> {
    let org = org_id(&org)?;
    caller.require_org_admin(&state, org).await?;
    let mut f = Fields::new(&body);
    same_as_path(&mut f, "org_id", org.0);
    let update = OrganizationUpdate {
        name: f.bounded_string("name", &[], false, 2, 120),
        legal_name: f.bounded_string("legal_name", &[], false, 2, 255),
        primary_domain: f.bounded_string("primary_domain", &[], false, 3, 255),
        status: wire::<OrgStatus>(&mut f, "status", false),
        metadata: f.object("metadata", &[]),
    };
    let update = f.finish(update)?;
    let organization = state
        .store
        .update_organization(org, update, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("organization"))?;
    Ok(Json(OrganizationResponse { ok: true, organization }))
}

/// `POST /v1/organizations/{org_id}/workspaces` `{org_id?, name, environment, region?}`: a new
/// active workspace whose slug comes from its name (unique in the organization). Org admins
/// there. Its first key: `POST /v1/service-accounts` with its `workspace_id`, then that
/// account's `POST /v1/service-accounts/{id}/keys`.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/workspaces",
    tag = "organizations",
    params(("org_id" = String, Path, description = "The organization's id (UUID)")),
    request_body = CreateWorkspaceRequest,
    responses((status = 200, body = WorkspaceResponse)),
)]
async fn create_workspace(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(org): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<WorkspaceResponse>> {
    let org = org_id(&org)?;
    caller.require_org_admin(&state, org).await?;
    let mut f = Fields::new(&body);
    same_as_path(&mut f, "org_id", org.0);
    let name = f.bounded_string("name", &[], true, 2, 120);
    let environment = wire::<Environment>(&mut f, "environment", true);
    let region = f.bounded_string("region", &[], false, 2, 64);
    let (name, environment) = f.finish((name, environment))?;
    let new = NewWorkspace {
        name: present(name, "name")?,
        environment: present(environment, "environment")?,
        region,
    };
    let workspace = state
        .store
        .create_workspace(org, new, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("organization"))?;
    Ok(Json(WorkspaceResponse { ok: true, workspace }))
}

/// `GET /v1/organizations/{org_id}/workspaces`: oldest first. Any role there.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/workspaces",
    tag = "organizations",
    params(("org_id" = String, Path, description = "The organization's id (UUID)")),
    responses((status = 200, body = ListWorkspacesResponse)),
)]
async fn list_workspaces(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(org): PathParams<String>,
) -> ApiResult<Json<ListWorkspacesResponse>> {
    let org = org_id(&org)?;
    caller.in_org(&state, org).await?.require_reader()?;
    let workspaces = state.store.list_workspaces(org).await?;
    Ok(Json(ListWorkspacesResponse { ok: true, workspaces }))
}

/// `PATCH /v1/organizations/{org_id}/workspaces/{workspace_id}` `{org_id?, workspace_id?,
/// name?, status?, region?}`. Org admins there; 404 for a workspace of another organization.
#[utoipa::path(
    patch,
    path = "/v1/organizations/{org_id}/workspaces/{workspace_id}",
    tag = "organizations",
    params(
        ("org_id" = String, Path, description = "The organization's id (UUID)"),
        ("workspace_id" = String, Path, description = "The workspace's id (UUID)"),
    ),
    request_body = UpdateWorkspaceRequest,
    responses((status = 200, body = WorkspaceResponse)),
)]
async fn update_workspace(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((org, ws)): PathParams<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<WorkspaceResponse>> {
    let (org, ws) = (org_id(&org)?, workspace_id(&ws)?);
    caller.require_org_admin(&state, org).await?;
    let mut f = Fields::new(&body);
    same_as_path(&mut f, "org_id", org.0);
    same_as_path(&mut f, "workspace_id", ws.0);
    let update = WorkspaceUpdate {
        name: f.bounded_string("name", &[], false, 2, 120),
        status: wire::<WorkspaceStatus>(&mut f, "status", false),
        region: f.bounded_string("region", &[], false, 2, 64),
    };
    let update = f.finish(update)?;
    let workspace = state
        .store
        .update_workspace(org, ws, update, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("workspace"))?;
    Ok(Json(WorkspaceResponse { ok: true, workspace }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_organization,
    get_organization,
    update_organization,
    create_workspace,
    list_workspaces,
    update_workspace
))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations", post(create_organization))
        .route("/v1/organizations/{org_id}", get(get_organization).patch(update_organization))
        .route("/v1/organizations/{org_id}/workspaces", post(create_workspace).get(list_workspaces))
        .route("/v1/organizations/{org_id}/workspaces/{workspace_id}", patch(update_workspace))
}
