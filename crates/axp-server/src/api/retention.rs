//! Retention settings (an axp extension, `docs/retention.md`): `GET|PATCH
//! /v1/settings/retention`. The model and its validation are `axp_core::retention`; the
//! removal is the engine's pruner.

use axp_core::retention::{RetentionDefaults, RetentionOverrides};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::Success;
use super::quotas::own_workspace;
use crate::error::ApiResult;
use crate::extract::{Caller, JsonObject, QueryMap};
use crate::state::AppState;

/// The answer of both routes, periods in days: `overrides` are the workspace's own (`null`:
/// the server default), `effective` what the pruner applies, `defaults` the server's.
#[derive(Serialize, utoipa::ToSchema)]
struct RetentionBody {
    /// The caller's workspace (UUID).
    workspace_id: String,
    /// The workspace's own periods (`null`: the server default).
    overrides: RetentionOverrides,
    /// What the pruner applies.
    effective: RetentionDefaults,
    /// The server's defaults.
    defaults: RetentionDefaults,
}

fn answer(state: &AppState, caller: &Caller, overrides: RetentionOverrides) -> Json<Success<RetentionBody>> {
    let defaults = state.options.retention.defaults;
    Json(Success::new(RetentionBody {
        workspace_id: caller.0.tenant.workspace_id.to_string(),
        overrides,
        effective: overrides.effective(&defaults),
        defaults,
    }))
}

/// `GET /v1/settings/retention?workspace_id=`: `{ok, workspace_id, overrides, effective,
/// defaults}` of the caller's workspace. Workspace admins only (403); 404 for another
/// workspace.
#[utoipa::path(
    get,
    path = "/v1/settings/retention",
    tag = "retention",
    params(
        ("org_id" = Option<String>, Query, description = "The caller's organization (UUID); another one is 404"),
        ("workspace_id" = Option<String>, Query, description = "The caller's workspace (UUID); another one is 404"),
    ),
    responses((status = 200, body = Success<RetentionBody>)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn get_retention(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<Success<RetentionBody>>> {
    caller.require_workspace_admin()?;
    own_workspace(&caller, query.str("org_id"), query.str("workspace_id"))?;
    let overrides = state.store.retention_overrides(&caller.0.tenant).await?;
    Ok(answer(&state, &caller, overrides))
}

/// `PATCH /v1/settings/retention` `{intent_days?, dead_letter_days?, webhook_event_days?}`
/// (whole days from 1 to 36,500, or `null` for the server default): the settings after the
/// change, which is audited (`retention.updated`) and applies from the pruner's next pass.
/// Workspace admins only (403); 404 for another workspace; 422 for an invalid or unknown field
/// (nothing changes). The audit log's period is the operator's (`AXP_AUDIT_RETENTION_DAYS`).
#[utoipa::path(
    patch,
    path = "/v1/settings/retention",
    tag = "retention",
    params(
        ("org_id" = Option<String>, Query, description = "The caller's organization (UUID); another one is 404"),
        ("workspace_id" = Option<String>, Query, description = "The caller's workspace (UUID); another one is 404"),
    ),
    request_body(content = Object, description = "`{intent_days?, dead_letter_days?, webhook_event_days?}`: whole days from 1 to 36500, or `null` for the server default; an unknown field is 422"),
    responses((status = 200, body = Success<RetentionBody>)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn patch_retention(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Success<RetentionBody>>> {
    caller.require_workspace_admin()?;
    own_workspace(&caller, query.str("org_id"), query.str("workspace_id"))?;
    let tenant = &caller.0.tenant;
    state.store.retention_overrides(tenant).await?.patched(&body)?;
    let overrides = state.store.update_retention(tenant, body, state.clock.now(), &caller.audit()).await?;
    Ok(answer(&state, &caller, overrides))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get_retention, patch_retention))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/settings/retention", get(get_retention).patch(patch_retention))
}
