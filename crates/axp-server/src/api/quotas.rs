//! Workspace quotas (contract §6 "Quotas"): `GET|PATCH /v1/quotas`. The policy model and its
//! validation are `axp_core::quota`; enforcement is the admission middleware's.

use axp_core::quota::QuotaPolicy;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Success;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, QueryMap};
use crate::state::AppState;

/// The body of `GET|PATCH /v1/quotas` beside `ok`.
#[derive(Serialize, utoipa::ToSchema)]
struct PolicyBody {
    /// The workspace's policy (the default one until it is changed).
    quota_policy: QuotaPolicy,
}

/// 404 unless `org_id` and `workspace_id` (each optional, from the query or the body) name
/// the caller's own organization and workspace: a workspace's quotas and usage are its own
/// (another workspace's are not found, never shown or changed).
pub(super) fn own_workspace(
    caller: &Caller,
    org_id: Option<&str>,
    workspace_id: Option<&str>,
) -> ApiResult<()> {
    let tenant = &caller.0.tenant;
    let other_org = org_id.is_some_and(|o| o != tenant.org_id.to_string());
    let other_ws = workspace_id.is_some_and(|w| w != tenant.workspace_id.to_string());
    if other_org || other_ws {
        return Err(ApiError::not_found("workspace"));
    }
    Ok(())
}

fn body_str<'b>(body: &'b Map<String, Value>, name: &str) -> Option<&'b str> {
    body.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `GET /v1/quotas?org_id=&workspace_id=`: `{ok, quota_policy}` of the caller's workspace
/// (the default one until it is changed). Any role in the workspace (403 for an agent key);
/// 404 for another workspace.
#[utoipa::path(
    get,
    path = "/v1/quotas",
    tag = "quotas",
    params(
        ("org_id" = Option<String>, Query, description = "The caller's organization (UUID); another one is 404"),
        ("workspace_id" = Option<String>, Query, description = "The caller's workspace (UUID); another one is 404"),
    ),
    responses((status = 200, body = Success<PolicyBody>)),
)]
async fn get_quotas(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<Success<PolicyBody>>> {
    caller.require_role()?;
    own_workspace(&caller, query.str("org_id"), query.str("workspace_id"))?;
    let quota_policy = state.store.get_quota_policy(&caller.0.tenant).await?;
    Ok(Json(Success::new(PolicyBody { quota_policy })))
}

/// `PATCH /v1/quotas` `{org_id?, workspace_id?, dimensions?: {<dimension>: int}, soft_threshold_percent?,
/// hard_enforcement?, overage_mode?}`: `{ok, quota_policy}` after the change, which is audited
/// (`quota.updated`) and applies on this replica at once (on others within one usage flush).
/// Workspace admins only (403); 404 for another workspace; 422 for an invalid field (nothing
/// changes).
#[utoipa::path(
    patch,
    path = "/v1/quotas",
    tag = "quotas",
    params(
        ("org_id" = Option<String>, Query, description = "The caller's organization (UUID); another one is 404"),
        ("workspace_id" = Option<String>, Query, description = "The caller's workspace (UUID); another one is 404"),
    ),
    request_body(content = Object, description = "`{org_id?, workspace_id?, dimensions?: {<dimension>: int}, soft_threshold_percent?, hard_enforcement?, overage_mode?}`: the ids must be the caller's own (404 otherwise); other fields are ignored"),
    responses((status = 200, body = Success<PolicyBody>)),
)]
async fn patch_quotas(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Success<PolicyBody>>> {
    caller.require_workspace_admin()?;
    own_workspace(&caller, query.str("org_id"), query.str("workspace_id"))?;
    own_workspace(&caller, body_str(&body, "org_id"), body_str(&body, "workspace_id"))?;
    let tenant = &caller.0.tenant;
    state.store.get_quota_policy(tenant).await?.patched(&body)?;
    let mut patch = body;
    patch.retain(|k, _| {
        matches!(k.as_str(), "dimensions" | "soft_threshold_percent" | "hard_enforcement" | "overage_mode")
    });
    let quota_policy =
        state.store.update_quota_policy(tenant, patch, state.clock.now(), &caller.audit()).await?;
    state.meter.set_policy(quota_policy.clone());
    Ok(Json(Success::new(PolicyBody { quota_policy })))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get_quotas, patch_quotas))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/quotas", get(get_quotas).patch(patch_quotas))
}
