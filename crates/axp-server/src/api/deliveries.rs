//! Push deliveries and dead letters (contract §5.5; issue "Delivery bindings"): every push
//! attempt is recorded, and a dead-lettered delivery can be replayed. Routed deliveries (§5.5's
//! enterprise shape, [`super::routed`]) share the paths: `POST /v1/deliveries` sends one,
//! `GET /v1/deliveries?principal_id=` lists them, and their ids work in get and replay.

use axp_core::api::{DeliveryResponse, ListDeliveriesResponse};
use axp_core::delivery::{Delivery, DeliveryStatus};
use axp_core::{DeliveryId, ErrorCode};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::routed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::state::AppState;

fn delivery_id(raw: &str) -> ApiResult<DeliveryId> {
    raw.parse().map_err(|_| ApiError::not_found("delivery"))
}

/// A delivery id names a push delivery or a routed one.
enum Found {
    Push(Delivery),
    Routed(axp_core::routed::RoutedDelivery),
}

/// The delivery `id`, if the caller may read it; 404 otherwise (an agent-scoped key sees only
/// push deliveries to its own addresses).
async fn visible(state: &AppState, caller: &Caller, id: DeliveryId) -> ApiResult<Found> {
    match state.store.get_delivery(&caller.0.tenant, id).await {
        Ok(d) if caller.reads_for(&d.target) => Ok(Found::Push(d)),
        Ok(_) => Err(ApiError::not_found("delivery")),
        Err(axp_store::Error::NotFound) => Ok(Found::Routed(routed::get(state, caller, id).await?)),
        Err(e) => Err(e.into()),
    }
}

/// `GET /v1/deliveries?status=dead_lettered&limit=`: newest first, `limit` default 50, at most
/// 500. `status` ∈ pending, delivering, delivered, failed, dead_lettered. An agent-scoped key
/// lists only deliveries to its own addresses (a page may then hold fewer than `limit`). With
/// `principal_id` (and `org_id`, `workspace_id`): that principal's routed deliveries instead
/// ([`routed::list`]).
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    if let Some(principal) = query.str("principal_id") {
        return Ok(routed::list(&state, &caller, &query, principal).await?.into_response());
    }
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
    Ok(Json(ListDeliveriesResponse { ok: true, deliveries }).into_response())
}

/// `GET /v1/deliveries/{id}`: the push delivery with every attempt, or the routed delivery.
async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let id = delivery_id(&id)?;
    Ok(match visible(&state, &caller, id).await? {
        Found::Push(delivery) => Json(DeliveryResponse { ok: true, delivery }).into_response(),
        Found::Routed(delivery) => {
            Json(axp_core::api::RoutedDeliveryResponse { ok: true, delivery }).into_response()
        }
    })
}

/// `POST /v1/deliveries`: sends a routed delivery ([`routed::submit`]).
async fn submit_delivery(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<axp_core::api::RoutedDeliveryResponse>> {
    routed::submit(&state, &caller, &headers, &body, None).await
}

/// `POST /v1/deliveries/{id}/replay`: a new delivery of the same body and `webhook-id`, linked by
/// `replay_of_delivery_id`, due now. 409 while the original is still pending or delivering, or
/// when its intent has ended. Only for who acts as the delivery's target (403). A routed
/// delivery is sent again ([`routed::replay`]).
pub(crate) async fn replay_delivery(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let id = delivery_id(&id)?;
    let push = match visible(&state, &caller, id).await? {
        Found::Push(push) => push,
        Found::Routed(original) => {
            return Ok(routed::replay(&state, &caller, &headers, original).await?.into_response());
        }
    };
    caller.require_act_as(&push.target)?;
    let delivery =
        state.store.replay_delivery(&caller.0.tenant, id, state.clock.now()).await.map_err(|e| match e {
            axp_store::Error::NotFound => ApiError::not_found("delivery"),
            axp_store::Error::Conflict { constraint } => {
                ApiError::new(ErrorCode::InvalidStateTransition, constraint)
            }
            other => other.into(),
        })?;
    Ok(Json(DeliveryResponse { ok: true, delivery }).into_response())
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/deliveries", get(list_deliveries).post(submit_delivery))
        .route("/v1/deliveries/{delivery_id}", get(get_delivery))
        .route("/v1/deliveries/{delivery_id}/replay", post(replay_delivery))
}
