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

/// `GET /v1/billing/plan`: `{ok, plan: {plan_id: "self_hosted", name, org_id, workspace_id,
/// billing_model: "none", currency: null, price_monthly: 0, status: "active"}}`. Any role (403
/// for an agent key).
async fn get_plan(State(_): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_role()?;
    let t = &caller.0.tenant;
    Ok(Json(json!({"ok": true, "plan": {
        "plan_id": "self_hosted", "name": "Self-hosted", "org_id": t.org_id, "workspace_id": t.workspace_id,
        "billing_model": "none", "currency": null, "price_monthly": 0, "status": "active",
    }})))
}

/// `PATCH /v1/billing/plan`: 403 `policy_denied` for everyone: the self-hosted plan is fixed
/// (limits are quotas: `PATCH /v1/quotas`).
async fn patch_plan(State(_): State<AppState>, _caller: Caller) -> ApiError {
    ApiError::new(
        ErrorCode::PolicyDenied,
        "the self-hosted plan is fixed; change limits with PATCH /v1/quotas",
    )
}

/// `GET /v1/billing/invoices`: `{ok, invoices: [], next_cursor: null}`. Any role.
async fn list_invoices(State(_): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_role()?;
    Ok(Json(json!({"ok": true, "invoices": [], "next_cursor": null})))
}

/// `GET /v1/billing/invoices/{invoice_id}`: 404 (there are none). Any role.
async fn get_invoice(
    State(_): State<AppState>,
    caller: Caller,
    PathParams(_id): PathParams<String>,
) -> ApiResult<Json<Value>> {
    caller.require_role()?;
    Err(ApiError::not_found("invoice"))
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/billing/plan", get(get_plan).patch(patch_plan))
        .route("/v1/billing/invoices", get(list_invoices))
        .route("/v1/billing/invoices/{invoice_id}", get(get_invoice))
}
