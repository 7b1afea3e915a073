//! Billing (contract §6 "Billing", optional): a self-hosted server bills nothing, so it
//! answers one fixed plan and no invoices.

use axp_core::error::ErrorCode;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, PathParams};
use crate::state::AppState;

/// `GET /v1/billing/plan`: `{ok, billing_plan}` in the shape of
/// `api.billing.plan.get.response.v1.json`: plan code `self_hosted`, nothing committed or
/// charged (amounts in minor units: 0), in force since the workspace was created. Any role (403
/// for an agent key).
#[utoipa::path(
    get,
    path = "/v1/billing/plan",
    tag = "billing",
    responses((status = 200, description = "`{ok, billing_plan: {billing_plan_id, org_id, workspace_id, plan_code: self_hosted, currency, billing_cycle, monthly_commit_minor: 0, seats_included: 0, overage_unit_price_minor: 0, status, updated_by_actor_id, metadata, created_at, updated_at}}`")),
)]
async fn get_plan(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_role()?;
    let t = &caller.0.tenant;
    let workspaces = state.store.list_workspaces(t.org_id).await?;
    let since = workspaces
        .iter()
        .find(|ws| ws.workspace_id == t.workspace_id)
        .map(|ws| ws.created_at)
        .ok_or_else(|| ApiError::not_found("workspace"))?;
    Ok(Json(json!({"ok": true, "billing_plan": {
        "billing_plan_id": format!("bp_{}", t.workspace_id.0.simple()),
        "org_id": t.org_id, "workspace_id": t.workspace_id,
        "plan_code": "self_hosted", "currency": "USD", "billing_cycle": "monthly",
        "monthly_commit_minor": 0, "seats_included": 0, "overage_unit_price_minor": 0,
        "status": "active", "updated_by_actor_id": null,
        "metadata": {"name": "Self-hosted", "billing_model": "none"},
        "created_at": since, "updated_at": since,
    }})))
}

/// `PATCH /v1/billing/plan`: 403 `policy_denied` for everyone: the self-hosted plan is fixed
/// (limits are quotas: `PATCH /v1/quotas`).
#[utoipa::path(
    patch,
    path = "/v1/billing/plan",
    tag = "billing",
    request_body(content = Object, description = "Not read: the self-hosted plan is fixed"),
    responses((status = 200, description = "Never: every call answers 403 `policy_denied` (limits are changed with `PATCH /v1/quotas`)")),
)]
async fn patch_plan(State(_): State<AppState>, _caller: Caller) -> ApiError {
    ApiError::new(
        ErrorCode::PolicyDenied,
        "the self-hosted plan is fixed; change limits with PATCH /v1/quotas",
    )
}

/// `GET /v1/billing/invoices`: `{ok, invoices: [], next_cursor: null}`. Any role.
#[utoipa::path(
    get,
    path = "/v1/billing/invoices",
    tag = "billing",
    responses((status = 200, description = "`{ok, invoices: [], next_cursor: null}`")),
)]
async fn list_invoices(State(_): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_role()?;
    Ok(Json(json!({"ok": true, "invoices": [], "next_cursor": null})))
}

/// `GET /v1/billing/invoices/{invoice_id}`: 404 (there are none). Any role.
#[utoipa::path(
    get,
    path = "/v1/billing/invoices/{invoice_id}",
    tag = "billing",
    params(("invoice_id" = String, Path, description = "The invoice's id")),
    responses((status = 200, description = "Never: there are no invoices (404)")),
)]
async fn get_invoice(
    State(_): State<AppState>,
    caller: Caller,
    PathParams(_id): PathParams<String>,
) -> ApiResult<Json<Value>> {
    caller.require_role()?;
    Err(ApiError::not_found("invoice"))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get_plan, patch_plan, list_invoices, get_invoice))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/billing/plan", get(get_plan).patch(patch_plan))
        .route("/v1/billing/invoices", get(list_invoices))
        .route("/v1/billing/invoices/{invoice_id}", get(get_invoice))
}
