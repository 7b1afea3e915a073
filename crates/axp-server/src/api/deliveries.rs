//! Push deliveries and dead letters (contract §5.5; issue "Delivery bindings"): every push
//! attempt is recorded, and a dead-lettered delivery can be replayed. Routed deliveries (§5.5's
//! enterprise shape, [`super::routed`]) share the paths: `POST /v1/deliveries` sends one,
//! `GET /v1/deliveries?principal_id=` lists them, and their ids work in get and replay.

use axp_core::api::{
    DeliveryResponse, ListDeliveriesResponse, ListRoutedDeliveriesResponse, RoutedDeliveryResponse,
};
use axp_core::delivery::{Delivery, DeliveryStatus};
use axp_core::{DeliveryId, ErrorCode};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

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

/// A list of deliveries: push ones, or with `principal_id` a principal's routed ones.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum DeliveryList {
    /// Push deliveries (`GET /v1/deliveries`).
    Push(ListDeliveriesResponse),
    /// Routed deliveries (`GET /v1/deliveries?principal_id=`).
    Routed(ListRoutedDeliveriesResponse),
}

/// One delivery, of the kind its id names.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum OneDelivery {
    /// A push delivery with its attempts.
    Push(DeliveryResponse),
    /// A routed delivery.
    Routed(RoutedDeliveryResponse),
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

/// `GET /v1/deliveries?status=dead_lettered&limit=`: the workspace's push deliveries (or a
/// principal's routed ones), newest first.
///
/// `limit` default 50, at most 500. `status` ∈ pending, delivering, delivered, failed, dead_lettered. An agent-scoped key
/// lists only deliveries to its own addresses (a page may then hold fewer than `limit`). With
/// `principal_id` (and `org_id`, `workspace_id`): that principal's routed deliveries instead
/// ([`routed::list`]).
#[utoipa::path(
    get,
    path = "/v1/deliveries",
    tag = "deliveries",
    params(
        ("status" = Option<String>, Query, description = "Push: pending, delivering, delivered, failed or dead_lettered; routed: submitted, delivered, failed, pending or dead_lettered"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50"),
        ("principal_id" = Option<String>, Query, description = "List this principal's routed deliveries instead of push deliveries (UUID; needs `org_id` and `workspace_id`)"),
        ("org_id" = Option<String>, Query, description = "With `principal_id`: the principal's organization (UUID)"),
        ("workspace_id" = Option<String>, Query, description = "With `principal_id`: the principal's workspace (UUID)"),
    ),
    responses((status = 200, body = DeliveryList)),
)]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<DeliveryList>> {
    if let Some(principal) = query.str("principal_id") {
        let Json(routed) = routed::list(&state, &caller, &query, principal).await?;
        return Ok(Json(DeliveryList::Routed(routed)));
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
    Ok(Json(DeliveryList::Push(ListDeliveriesResponse { ok: true, deliveries })))
}

/// `GET /v1/deliveries/{id}`: the push delivery with every attempt, or the routed delivery.
#[utoipa::path(
    get,
    path = "/v1/deliveries/{delivery_id}",
    tag = "deliveries",
    params(("delivery_id" = String, Path, description = "The delivery's id (UUID): a push or a routed delivery")),
    responses((status = 200, body = OneDelivery)),
)]
async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<OneDelivery>> {
    let id = delivery_id(&id)?;
    Ok(Json(match visible(&state, &caller, id).await? {
        Found::Push(delivery) => OneDelivery::Push(DeliveryResponse { ok: true, delivery }),
        Found::Routed(delivery) => OneDelivery::Routed(RoutedDeliveryResponse { ok: true, delivery }),
    }))
}

/// `POST /v1/deliveries`: sends a routed delivery ([`routed::submit`]).
#[utoipa::path(
    post,
    path = "/v1/deliveries",
    tag = "deliveries",
    params(("Idempotency-Key" = Option<String>, Header, description = "A resend with the same key answers the first delivery (or the body's `idempotency_key`)")),
    request_body(content = Object, description = "`{org_id, workspace_id, payload, alias?|principal_id?, correlation_id?, idempotency_key?}`"),
    responses((status = 200, body = RoutedDeliveryResponse)),
)]
async fn submit_delivery(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<RoutedDeliveryResponse>> {
    routed::submit(&state, &caller, &headers, &body, None).await
}

/// `POST /v1/deliveries/{id}/replay`: a new delivery of the same body and `webhook-id`, linked by
/// `replay_of_delivery_id`, due now. 409 while the original is still pending or delivering, or
/// when its intent has ended. Only for who acts as the delivery's target (403). A routed
/// delivery is sent again ([`routed::replay`]).
#[utoipa::path(
    post,
    path = "/v1/deliveries/{delivery_id}/replay",
    tag = "deliveries",
    params(("delivery_id" = String, Path, description = "The delivery's id (UUID): a push or a routed delivery")),
    responses((status = 200, body = OneDelivery)),
)]
pub(crate) async fn replay_delivery(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<OneDelivery>> {
    let id = delivery_id(&id)?;
    let push = match visible(&state, &caller, id).await? {
        Found::Push(push) => push,
        Found::Routed(original) => {
            let Json(replayed) = routed::replay(&state, &caller, &headers, original).await?;
            return Ok(Json(OneDelivery::Routed(replayed)));
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
    Ok(Json(OneDelivery::Push(DeliveryResponse { ok: true, delivery })))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_deliveries, submit_delivery, get_delivery, replay_delivery))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/deliveries", get(list_deliveries).post(submit_delivery))
        .route("/v1/deliveries/{delivery_id}", get(get_delivery))
        .route("/v1/deliveries/{delivery_id}/replay", post(replay_delivery))
}
