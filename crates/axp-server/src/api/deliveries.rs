//! Push deliveries and dead letters (contract §5.5; issue "Delivery bindings"): every push
//! attempt is recorded, and a dead-lettered delivery can be replayed.

use axp_core::api::{DeliveryResponse, ListDeliveriesResponse};
use axp_core::delivery::{Delivery, DeliveryStatus};
use axp_core::{DeliveryId, ErrorCode};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, PathParams, QueryMap};
use crate::state::AppState;

fn delivery_id(raw: &str) -> ApiResult<DeliveryId> {
    raw.parse().map_err(|_| ApiError::not_found("delivery"))
}

/// The delivery `id`, if the caller may read its target's deliveries; 404 otherwise (an
/// agent-scoped key sees only deliveries to its own addresses).
async fn visible(state: &AppState, caller: &Caller, id: DeliveryId) -> ApiResult<Delivery> {
    let delivery =
        state.store.get_delivery(&caller.0.tenant, id).await.map_err(ApiError::missing("delivery"))?;
    if caller.reads_for(&delivery.target) { Ok(delivery) } else { Err(ApiError::not_found("delivery")) }
}

/// `GET /v1/deliveries?status=dead_lettered&limit=`: newest first, `limit` default 50, at most
/// 500. `status` ∈ pending, delivering, delivered, failed, dead_lettered. An agent-scoped key
/// lists only deliveries to its own addresses (a page may then hold fewer than `limit`).
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ListDeliveriesResponse>> {
    let status = match query.str("status") {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::invalid_query(
                "status",
                "must be one of pending, delivering, delivered, failed, dead_lettered",
            )
        })?),
    };
    let limit = query.bounded("limit", 1, 500)?.unwrap_or(50) as u32;
    let mut deliveries = state.store.list_deliveries(&caller.0.tenant, status, limit).await?;
    deliveries.retain(|d| caller.reads_for(&d.target));
    Ok(Json(ListDeliveriesResponse { ok: true, deliveries }))
}

/// `GET /v1/deliveries/{id}`: the delivery with every attempt.
async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<DeliveryResponse>> {
    let id = delivery_id(&id)?;
    let delivery = visible(&state, &caller, id).await?;
    Ok(Json(DeliveryResponse { ok: true, delivery }))
}

/// `POST /v1/deliveries/{id}/replay`: a new delivery of the same body and `webhook-id`, linked by
/// `replay_of_delivery_id`, due now. 409 while the original is still pending or delivering, or
/// when its intent has ended. Only for who acts as the delivery's target (403).
async fn replay_delivery(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<DeliveryResponse>> {
    let id = delivery_id(&id)?;
    caller.require_act_as(&visible(&state, &caller, id).await?.target)?;
    let delivery =
        state.store.replay_delivery(&caller.0.tenant, id, state.clock.now()).await.map_err(|e| match e {
            axp_store::Error::NotFound => ApiError::not_found("delivery"),
            axp_store::Error::Conflict { constraint } => {
                ApiError::new(ErrorCode::InvalidStateTransition, constraint)
            }
            other => other.into(),
        })?;
    Ok(Json(DeliveryResponse { ok: true, delivery }))
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/deliveries", get(list_deliveries))
        .route("/v1/deliveries/{delivery_id}", get(get_delivery))
        .route("/v1/deliveries/{delivery_id}/replay", post(replay_delivery))
}
