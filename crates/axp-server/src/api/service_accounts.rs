//! Service accounts and their API keys (contract §6 "Service accounts"): enough for each agent
//! to have its own identity. Keys are shown once and stored as SHA-256 hashes. A key belongs to
//! exactly one workspace: its account's. An org admin may create accounts in (and mint keys
//! for) any workspace of its organization; the routes on one account act in the account's
//! workspace. Creating, deleting and minting or revoking keys is for workspace admins; reading
//! needs a role, except an account reading itself (`docs/access.md`).

use axp_core::AgentAddress;
use axp_core::api::{
    ApiKey, ApiKeyResponse, CreateServiceAccountRequest, ServiceAccount, ServiceAccountResponse,
};
use axp_core::ids::{ApiKeyId, OrgId, ServiceAccountId, WorkspaceId};
use axp_core::validate::{Fields, Invalid};
use axp_store::{NewServiceAccount, Tenant, generate_api_key};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use super::binding;
use crate::error::{ApiError, ApiResult};

use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::state::AppState;

/// `GET /v1/service-accounts`: `{"ok": true, "service_accounts": [...]}`, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ServiceAccountList {
    /// Always true.
    ok: bool,
    /// The workspace's service accounts.
    pub(crate) service_accounts: Vec<ServiceAccount>,
}

/// The grants routes' answer: the account's granted agent addresses after the change.
#[derive(Serialize, utoipa::ToSchema)]
struct Grants {
    /// Always true.
    ok: bool,
    /// The account.
    service_account_id: ServiceAccountId,
    /// Every agent address it may act as besides its own.
    grants: Vec<String>,
}

fn account_id(raw: &str) -> ApiResult<ServiceAccountId> {
    raw.parse().map_err(|_| ApiError::not_found("service account"))
}

/// The workspace a service account is created in (or listed from): the caller's, or the
/// `workspace_id` named (of `org_id`, when given) for an org admin of its organization: that is
/// how a new workspace gets its first account and key. 404 for a workspace the caller may not
/// know, 403 without `org_admin`/`org_owner` there, 422 for another organization without a
/// workspace.
async fn target_tenant(
    state: &AppState,
    caller: &Caller,
    org: Option<OrgId>,
    ws: Option<WorkspaceId>,
) -> ApiResult<Tenant> {
    let own = &caller.0.tenant;
    let elsewhere = |org_of_ws: OrgId| org.is_some_and(|o| o != org_of_ws);
    let Some(ws) = ws else {
        if elsewhere(own.org_id) {
            let msg = "workspace_id is required for another organization";
            return Err(Invalid::field("workspace_id", "missing", msg).into());
        }
        return Ok(own.clone());
    };
    if ws == own.workspace_id {
        return if elsewhere(own.org_id) { Err(ApiError::not_found("workspace")) } else { Ok(own.clone()) };
    }
    let tenant = state.store.workspace_tenant(ws).await.map_err(ApiError::missing("workspace"))?;
    if elsewhere(tenant.org_id) {
        return Err(ApiError::not_found("workspace"));
    }
    caller.require_org_admin(state, tenant.org_id).await?;
    Ok(tenant)
}

/// The workspace of service account `id`, for the routes on one account: the caller's own, or,
/// for an org admin of its organization, the account's (another workspace of it). 404 for an
/// account the caller may not know.
async fn account_tenant(state: &AppState, caller: &Caller, id: ServiceAccountId) -> ApiResult<Tenant> {
    let account = state.store.find_service_account(id).await.map_err(ApiError::missing("service account"))?;
    let own = &caller.0.tenant;
    if account.workspace_id == own.workspace_id {
        return Ok(own.clone());
    }
    caller.require_org_admin(state, account.org_id).await?;
    state.store.workspace_tenant(account.workspace_id).await.map_err(ApiError::missing("service account"))
}

/// `POST /v1/service-accounts` `{org_id?, workspace_id?, name, agent_address?, display_name?,
/// description?, delivery_mode?, delivery_config?, lease_seconds?}`, in the caller's workspace
/// or, for an org admin, the `workspace_id` named (see `target_tenant`). The agent address
/// defaults to `agent://{org}/{ws}/{name}` of that workspace; any valid `agent://` form may be
/// given (e.g. `agent://conformance/owner`). The delivery binding defaults to `stream`; `http` needs
/// `delivery_config.url`, and its signing secret (given or generated `whsec_…`) appears in this
/// response only. 409 `already_exists` when the name or address is taken; 422 for a blocked URL.
#[utoipa::path(
    post,
    path = "/v1/service-accounts",
    tag = "service-accounts",
    request_body = CreateServiceAccountRequest,
    responses((status = 200, body = ServiceAccountResponse)),
)]
pub(crate) async fn create_service_account(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ServiceAccountResponse>> {
    let mut f = Fields::new(&body);
    let org = f.uuid("org_id", &[]).map(OrgId);
    let ws = f.uuid("workspace_id", &[]).map(WorkspaceId);
    let tenant = target_tenant(&state, &caller, org, ws).await?;
    caller.require_workspace_admin()?;
    let scope = tenant.scope();
    let name = f.bounded_string("name", &[], true, 1, 120);
    if let Some(n) = &name
        && !n.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
    {
        f.fail("name", "pattern", "must match [A-Za-z0-9._@-]+");
    }
    let address = f.address("agent_address", &["address"], false, &scope);
    let display_name = f.bounded_string("display_name", &[], false, 1, 255);
    let description = f.bounded_string("description", &[], false, 0, 2000);
    let binding = binding::read(&mut f, &body, &state.options.dispatcher.policy).await;
    let name = f.finish(name)?.ok_or_else(|| ApiError::bad_request("name is required"))?;
    let agent_address = match address {
        Some(a) => a,
        None => AgentAddress::for_service_account(&scope, &name)
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    let account = NewServiceAccount {
        id: ServiceAccountId::new(),
        display_name: display_name.unwrap_or_else(|| name.clone()),
        name,
        description,
        agent_address,
        delivery_mode: binding.update.delivery_mode,
        lease_seconds: binding.update.lease_seconds,
        push: binding.update.push,
        created_by: caller.0.actor.id().to_string(),
        created_at: state.clock.now(),
    };
    let mut service_account = state.store.create_service_account(&tenant, account, &caller.audit()).await?;
    binding::reveal(&mut service_account.delivery_config, binding.shown_secret);
    Ok(Json(ServiceAccountResponse { ok: true, service_account }))
}

/// `GET /v1/service-accounts/{id}`: one service account (an agent-scoped key reads its own;
/// anyone else needs a role).
#[utoipa::path(
    get,
    path = "/v1/service-accounts/{service_account_id}",
    tag = "service-accounts",
    operation_id = "get_service_account",
    params(("service_account_id" = String, Path, description = "The service account's id (UUID)")),
    responses((status = 200, body = ServiceAccountResponse)),
)]
async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<ServiceAccountResponse>> {
    let id = account_id(&id)?;
    let tenant = account_tenant(&state, &caller, id).await?;
    if caller.0.actor.service_account() != Some(id) {
        caller.require_role()?;
    }
    let service_account =
        state.store.get_service_account(&tenant, id).await.map_err(ApiError::missing("service account"))?;
    Ok(Json(ServiceAccountResponse { ok: true, service_account }))
}

/// `POST /v1/service-accounts/{id}/keys` `{expires_at?}`: a new key; `key.token` is shown once.
#[utoipa::path(
    post,
    path = "/v1/service-accounts/{service_account_id}/keys",
    tag = "service-accounts",
    params(("service_account_id" = String, Path, description = "The service account's id (UUID)")),
    request_body(content = Object, description = "`{expires_at?}`: an RFC 3339 time; without it the key never expires"),
    responses((status = 200, body = ApiKeyResponse)),
)]
pub(crate) async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ApiKeyResponse>> {
    let id = account_id(&id)?;
    let tenant = account_tenant(&state, &caller, id).await?;
    caller.require_workspace_admin()?;
    let mut f = Fields::new(&body);
    let expires_at = f.timestamp("expires_at", &[]);
    f.finish(())?;
    let (token, key) = generate_api_key(id, state.clock.now(), expires_at);
    let record = state
        .store
        .create_api_key(&tenant, id, key, &caller.audit())
        .await
        .map_err(ApiError::missing("service account"))?;
    Ok(Json(ApiKeyResponse { ok: true, key: ApiKey { token: Some(token), ..record } }))
}

/// `POST /v1/service-accounts/{id}/keys/{key_id}/revoke`: the key stops working at once.
#[utoipa::path(
    post,
    path = "/v1/service-accounts/{service_account_id}/keys/{key_id}/revoke",
    tag = "service-accounts",
    params(("service_account_id" = String, Path, description = "The service account's id (UUID)"), ("key_id" = String, Path, description = "The key's id (UUID)")),
    responses((status = 200, body = ApiKeyResponse)),
)]
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, key_id)): PathParams<(String, String)>,
) -> ApiResult<Json<ApiKeyResponse>> {
    let id = account_id(&id)?;
    let key_id: ApiKeyId = key_id.parse().map_err(|_| ApiError::not_found("key"))?;
    let tenant = account_tenant(&state, &caller, id).await?;
    caller.require_workspace_admin()?;
    let key = state
        .store
        .revoke_api_key(&tenant, id, key_id, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("key"))?;
    Ok(Json(ApiKeyResponse { ok: true, key }))
}

/// `GET /v1/service-accounts?org_id=&workspace_id=&limit=`: `{ok, service_accounts}` of the
/// caller's workspace or (for an org admin) the one named, oldest first (default 100, at most
/// 1000).
#[utoipa::path(
    get,
    path = "/v1/service-accounts",
    tag = "service-accounts",
    params(
        ("org_id" = Option<String>, Query, description = "The organization of `workspace_id` (checked against it when given)"),
        ("workspace_id" = Option<String>, Query, description = "Default the caller's; an org admin may name any workspace of its organization"),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
    ),
    responses((status = 200, body = ServiceAccountList)),
)]
pub(crate) async fn list_service_accounts(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ServiceAccountList>> {
    caller.require_role()?;
    let uuid = |name: &str| -> ApiResult<Option<uuid::Uuid>> {
        let parse = |raw: &str| raw.parse().map_err(|_| ApiError::invalid_query(name, "must be a UUID"));
        query.str(name).map(parse).transpose()
    };
    let (org, ws) = (uuid("org_id")?.map(OrgId), uuid("workspace_id")?.map(WorkspaceId));
    let tenant = target_tenant(&state, &caller, org, ws).await?;
    let limit = query.bounded("limit", 1, 1000)?.unwrap_or(100) as u32;
    let service_accounts = state.store.list_agents(&tenant, limit).await?;
    Ok(Json(ServiceAccountList { ok: true, service_accounts }))
}

/// `DELETE /v1/service-accounts/{id}`: marks it `deleted` and revokes every key it has. A key
/// cannot delete its own service account (403): that would lock the caller out.
#[utoipa::path(
    delete,
    path = "/v1/service-accounts/{service_account_id}",
    tag = "service-accounts",
    operation_id = "delete_service_account",
    params(("service_account_id" = String, Path, description = "The service account's id (UUID)")),
    responses((status = 200, body = ServiceAccountResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(crate) async fn delete_account(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<ServiceAccountResponse>> {
    let id = account_id(&id)?;
    let tenant = account_tenant(&state, &caller, id).await?;
    caller.require_workspace_admin()?;
    if caller.0.actor.service_account() == Some(id) {
        return Err(ApiError::new(
            axp_core::ErrorCode::PolicyDenied,
            "a key cannot delete its own service account",
        ));
    }
    let service_account = state
        .store
        .delete_service_account(&tenant, id, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("service account"))?;
    Ok(Json(ServiceAccountResponse { ok: true, service_account }))
}

/// `POST /v1/service-accounts/{id}/grants` `{agent_address}` (and `…/grants/revoke`): lets the
/// account act as a further agent address (a dispatcher serving several agents: claim and
/// stream their queues, read and change their intents, read their inbox) or withdraws that.
/// Workspace admins only. `{ok, service_account_id, grants: [address…]}`, the account's grants
/// after the change; 404 for an unknown account; 422 for an invalid address.
async fn change_grant(
    state: &AppState,
    caller: &Caller,
    id: &str,
    body: &serde_json::Map<String, Value>,
    granted: bool,
) -> ApiResult<Json<Grants>> {
    caller.require_workspace_admin()?;
    let id = account_id(id)?;
    let mut f = Fields::new(body);
    let address = f.address("agent_address", &["address"], true, &caller.0.tenant.scope());
    let address = f.finish(address)?.ok_or_else(|| ApiError::bad_request("agent_address is required"))?;
    let grants = state
        .store
        .set_grant(&caller.0.tenant, id, address.as_str(), granted, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("service account"))?;
    Ok(Json(Grants { ok: true, service_account_id: id, grants }))
}

/// `POST /v1/service-accounts/{id}/grants` `{agent_address}`: lets the account act as a further
/// agent address (see `change_grant`). Workspace admins only.
#[utoipa::path(
    post,
    path = "/v1/service-accounts/{service_account_id}/grants",
    tag = "service-accounts",
    params(("service_account_id" = String, Path, description = "The service account's id (UUID)")),
    request_body(content = Object, description = "`{agent_address}` (alias `address`): an agent address of the workspace"),
    responses((status = 200, body = Grants)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Grants>> {
    change_grant(&state, &caller, &id, &body, true).await
}

/// `POST /v1/service-accounts/{id}/grants/revoke` `{agent_address}`: withdraws a grant (see
/// `change_grant`). Workspace admins only.
#[utoipa::path(
    post,
    path = "/v1/service-accounts/{service_account_id}/grants/revoke",
    tag = "service-accounts",
    params(("service_account_id" = String, Path, description = "The service account's id (UUID)")),
    request_body(content = Object, description = "`{agent_address}` (alias `address`): an agent address of the workspace"),
    responses((status = 200, body = Grants)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Grants>> {
    change_grant(&state, &caller, &id, &body, false).await
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_service_account,
    list_service_accounts,
    get_account,
    delete_account,
    create_key,
    revoke_key,
    grant,
    revoke_grant
))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/service-accounts", post(create_service_account).get(list_service_accounts))
        .route("/v1/service-accounts/{service_account_id}", get(get_account).delete(delete_account))
        .route("/v1/service-accounts/{service_account_id}/keys", post(create_key))
        .route("/v1/service-accounts/{service_account_id}/keys/{key_id}/revoke", post(revoke_key))
        .route("/v1/service-accounts/{service_account_id}/grants", post(grant))
        .route("/v1/service-accounts/{service_account_id}/grants/revoke", post(revoke_grant))
}
