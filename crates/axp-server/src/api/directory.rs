//! A workspace's directory: principals and their aliases (contract §6 "Principals, aliases",
//! `api.principals.*.v1.json`, `api.aliases.*.v1.json`).
//!
//! Writes need `workspace_admin` (or an org admin) for the workspace concerned; reads need any
//! role in its organization (`docs/access.md`, "Tenancy"). Another organization's objects are
//! 404. An alias is unique among a workspace's active aliases (409); a revoked one no longer
//! resolves (404).

use axp_core::api::{
    AliasResponse, BindAliasRequest, CreatePrincipalRequest, ListAliasesResponse, PrincipalResponse,
    ResolveAliasResponse,
};
use axp_core::ids::{AliasId, OrgId, PrincipalId, WorkspaceId};
use axp_core::tenancy::{AliasType, PrincipalType};
use axp_core::validate::Fields;
use axp_store::{NewAlias, NewPrincipal, Tenant};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::organizations::{present, wire};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::state::AppState;

/// The tenant of workspace `ws` of organization `org`; 404 when `ws` is not one of `org`'s.
pub(super) async fn workspace_in(state: &AppState, org: OrgId, ws: WorkspaceId) -> ApiResult<Tenant> {
    match state.store.workspace_tenant(ws).await {
        Ok(tenant) if tenant.org_id == org => Ok(tenant),
        Ok(_) | Err(axp_store::Error::NotFound) => Err(ApiError::not_found("workspace")),
        Err(e) => Err(e.into()),
    }
}

/// A required UUID query parameter (422 when absent or not a UUID).
fn query_uuid(query: &QueryMap, name: &str) -> ApiResult<uuid::Uuid> {
    let raw = query.str(name).ok_or_else(|| ApiError::invalid_query(name, "field required"))?;
    raw.parse().map_err(|_| ApiError::invalid_query(name, "must be a UUID"))
}

/// `?org_id=&workspace_id=`, checked: the caller has a role in the organization (404 when it
/// may not know it, 403 without a role) and the workspace is the organization's (404).
pub(super) async fn readable_workspace(
    state: &AppState,
    caller: &Caller,
    query: &QueryMap,
) -> ApiResult<WorkspaceId> {
    let org = OrgId(query_uuid(query, "org_id")?);
    let ws = WorkspaceId(query_uuid(query, "workspace_id")?);
    caller.in_org(state, org).await?.require_reader()?;
    workspace_in(state, org, ws).await?;
    Ok(ws)
}

/// `POST /v1/principals` `{org_id, workspace_id, principal_type, display_name?, metadata?}`: a
/// new active principal of that workspace's directory.
#[utoipa::path(
    post,
    path = "/v1/principals",
    tag = "directory",
    request_body = CreatePrincipalRequest,
    responses((status = 200, body = PrincipalResponse)),
)]
async fn create_principal(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<PrincipalResponse>> {
    let mut f = Fields::new(&body);
    if f.get("org_id", &[]).is_none() {
        f.fail("org_id", "missing", "field required");
    }
    if f.get("workspace_id", &[]).is_none() {
        f.fail("workspace_id", "missing", "field required");
    }
    let org = f.uuid("org_id", &[]).map(OrgId);
    let ws = f.uuid("workspace_id", &[]).map(WorkspaceId);
    let principal_type = wire::<PrincipalType>(&mut f, "principal_type", true);
    let display_name = f.bounded_string("display_name", &[], false, 1, 255);
    let metadata = f.object("metadata", &[]).unwrap_or_default();
    let (org, ws, principal_type) = f.finish((org, ws, principal_type))?;
    let (org, ws) = (present(org, "org_id")?, present(ws, "workspace_id")?);
    caller.in_org(&state, org).await?.require_workspace_admin(ws)?;
    let tenant = workspace_in(&state, org, ws).await?;
    let new =
        NewPrincipal { principal_type: present(principal_type, "principal_type")?, display_name, metadata };
    let principal = state.store.create_principal(&tenant, new, state.clock.now()).await?;
    Ok(Json(PrincipalResponse { ok: true, principal }))
}

/// `GET /v1/principals/{principal_id}`: the principal. Any role in its organization.
#[utoipa::path(
    get,
    path = "/v1/principals/{principal_id}",
    tag = "directory",
    params(("principal_id" = String, Path, description = "The principal's id (UUID)")),
    responses((status = 200, body = PrincipalResponse)),
)]
async fn get_principal(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<PrincipalResponse>> {
    let id: PrincipalId = id.parse().map_err(|_| ApiError::not_found("principal"))?;
    let principal = state.store.get_principal(id).await.map_err(ApiError::missing("principal"))?;
    caller.in_org(&state, principal.org_id).await?.require_reader()?;
    Ok(Json(PrincipalResponse { ok: true, principal }))
}

/// `POST /v1/aliases` `{principal_id, alias, alias_type, metadata?}`: binds an active alias in
/// the principal's workspace. 404 for an unknown principal, 409 when an active alias of the
/// workspace has the name.
#[utoipa::path(
    post,
    path = "/v1/aliases",
    tag = "directory",
    request_body = BindAliasRequest,
    responses((status = 200, body = AliasResponse)),
)]
async fn bind_alias(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<AliasResponse>> {
    let mut f = Fields::new(&body);
    let principal = f.bounded_string("principal_id", &[], true, 5, 64);
    let alias = f.bounded_string("alias", &[], true, 3, 255);
    let alias_type = wire::<AliasType>(&mut f, "alias_type", true);
    let metadata = f.object("metadata", &[]).unwrap_or_default();
    let (principal, alias, alias_type) = f.finish((principal, alias, alias_type))?;
    let id: PrincipalId =
        present(principal, "principal_id")?.parse().map_err(|_| ApiError::not_found("principal"))?;
    let principal = state.store.get_principal(id).await.map_err(ApiError::missing("principal"))?;
    let access = caller.in_org(&state, principal.org_id).await?;
    access.require_workspace_admin(principal.workspace_id)?;
    let new = NewAlias {
        alias: present(alias, "alias")?,
        alias_type: present(alias_type, "alias_type")?,
        metadata,
    };
    let alias =
        state.store.bind_alias(id, new, state.clock.now()).await.map_err(ApiError::missing("principal"))?;
    Ok(Json(AliasResponse { ok: true, alias }))
}

/// `GET /v1/aliases?org_id=&workspace_id=&limit=`: the workspace's aliases, revoked ones
/// included, oldest first (default 100, at most 1000). Any role in the organization.
#[utoipa::path(
    get,
    path = "/v1/aliases",
    tag = "directory",
    params(
        ("org_id" = String, Query, description = "The organization (UUID)"),
        ("workspace_id" = String, Query, description = "The workspace (UUID), one of the organization's"),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
    ),
    responses((status = 200, body = ListAliasesResponse)),
)]
async fn list_aliases(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ListAliasesResponse>> {
    let ws = readable_workspace(&state, &caller, &query).await?;
    let limit = query.bounded("limit", 1, 1000)?.unwrap_or(100) as u32;
    let aliases = state.store.list_aliases(ws, limit).await?;
    Ok(Json(ListAliasesResponse { ok: true, aliases }))
}

/// `POST /v1/aliases/{alias_id}/revoke`: the alias stops resolving and its name is free again.
/// Revoking twice answers the first revocation.
#[utoipa::path(
    post,
    path = "/v1/aliases/{alias_id}/revoke",
    tag = "directory",
    params(("alias_id" = String, Path, description = "The alias's id (UUID)")),
    responses((status = 200, body = AliasResponse)),
)]
async fn revoke_alias(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<AliasResponse>> {
    let id: AliasId = id.parse().map_err(|_| ApiError::not_found("alias"))?;
    let alias = state.store.get_alias(id).await.map_err(ApiError::missing("alias"))?;
    let access = caller.in_org(&state, alias.org_id).await?;
    access.require_workspace_admin(alias.workspace_id)?;
    let alias = state.store.revoke_alias(id, state.clock.now()).await.map_err(ApiError::missing("alias"))?;
    Ok(Json(AliasResponse { ok: true, alias }))
}

/// `GET /v1/aliases/resolve?org_id=&workspace_id=&alias=`: the active alias and its principal;
/// 404 for an unknown or revoked alias. Any role in the organization.
#[utoipa::path(
    get,
    path = "/v1/aliases/resolve",
    tag = "directory",
    params(
        ("org_id" = String, Query, description = "The organization (UUID)"),
        ("workspace_id" = String, Query, description = "The workspace (UUID), one of the organization's"),
        ("alias" = String, Query, description = "The alias name"),
    ),
    responses((status = 200, body = ResolveAliasResponse)),
)]
pub(super) async fn resolve_alias(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ResolveAliasResponse>> {
    let ws = readable_workspace(&state, &caller, &query).await?;
    let name = query.str("alias").ok_or_else(|| ApiError::invalid_query("alias", "field required"))?;
    let resolution = state.store.resolve_alias(ws, name).await.map_err(ApiError::missing("alias"))?;
    Ok(Json(ResolveAliasResponse { ok: true, resolution }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_principal, get_principal, bind_alias, list_aliases, revoke_alias, resolve_alias))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/principals", post(create_principal))
        .route("/v1/principals/{principal_id}", get(get_principal))
        .route("/v1/aliases", post(bind_alias).get(list_aliases))
        .route("/v1/aliases/resolve", get(resolve_alias))
        .route("/v1/aliases/{alias_id}/revoke", post(revoke_alias))
}
