//! Routed deliveries (contract §5.5 "Deliveries (enterprise)", `api.deliveries.*.v1.json`;
//! `docs/routing.md`): `POST /v1/deliveries` resolves alias → principal → route → transport
//! binding and sends the payload as an intent (type [`INTENT_TYPE`]) to the binding's agent,
//! delivered by that agent's own delivery binding. `GET /v1/deliveries` keeps listing push
//! deliveries; with `principal_id` it lists that principal's routed deliveries. A delivery id
//! names either kind in `GET /v1/deliveries/{id}` and its replay.
//!
//! Sending needs a role that writes, in the target workspace's organization (an agent-scoped
//! key has none: 403); reading needs any role there. Another organization's ids are 404.

use axp_core::api::{ListRoutedDeliveriesResponse, RoutedDeliveryResponse};
use axp_core::ids::{DeliveryId, IntentId, OrgId, PrincipalId, WorkspaceId};
use axp_core::intent::NewIntent;
use axp_core::routed::{INTENT_TYPE, RoutedDelivery, RoutedStatus};
use axp_core::routing::{RouteTarget, binding_for};
use axp_core::validate::{Fields, Invalid};
use axum::Json;
use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::directory::readable_workspace;
use super::intents::claim;
use super::organizations::present;
use super::routing::{check_handle, read_target, resolve};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, QueryMap, idempotency_key};
use crate::state::AppState;

/// What a send asks for, read from its body.
struct Send {
    org: OrgId,
    ws: WorkspaceId,
    target: RouteTarget,
    payload: Map<String, Value>,
    correlation_id: Option<String>,
    idempotency_key: Option<String>,
}

fn read_send(body: &Map<String, Value>) -> ApiResult<Send> {
    let mut f = Fields::new(body);
    let (org, ws, target) = read_target(&mut f);
    if f.get("payload", &[]).is_none() {
        f.fail("payload", "missing", "field required");
    }
    let payload = f.object("payload", &[]);
    let correlation_id = f.bounded_string("correlation_id", &[], false, 3, 255);
    let idempotency_key = f.bounded_string("idempotency_key", &[], false, 4, 255);
    let (org, ws, target, payload) = f.finish((org, ws, target, payload))?;
    Ok(Send {
        org: present(org, "org_id")?,
        ws: present(ws, "workspace_id")?,
        target: present(target, "alias")?,
        payload: present(payload, "payload")?,
        correlation_id,
        idempotency_key,
    })
}

/// `POST /v1/deliveries` `{org_id, workspace_id, payload, alias?|principal_id?,
/// correlation_id?, idempotency_key?}`: the delivery as sent (`status` `submitted`, or
/// `delivered` when a waiting stream took it at once). 404 when the alias, the principal or a
/// selectable route is missing; 422 when the route's transport has no active binding, its
/// agent is gone or not reached by that transport, or an `http`/`webhook` route's
/// `endpoint_url` is not the agent's push URL. The `Idempotency-Key` header (or the body's
/// `idempotency_key`) makes a resend answer the first delivery.
/// `replay_of` links a replay to the delivery it replays.
pub(super) async fn submit(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &Map<String, Value>,
    replay_of: Option<DeliveryId>,
) -> ApiResult<Json<RoutedDeliveryResponse>> {
    caller.require_writer()?;
    let send = read_send(body)?;
    let alias = match &send.target {
        RouteTarget::Alias(name) => Some(name.clone()),
        RouteTarget::Principal(_) => None,
    };
    let (tenant, resolved, route) = resolve(state, caller, send.org, send.ws, send.target).await?;
    let transport = route.transport_type;
    let binding = binding_for(&resolved.bindings, transport).ok_or_else(|| {
        ApiError::from(Invalid::field(
            "principal_id",
            "value_error",
            format!("the principal has no active {transport} transport binding for its selected route"),
        ))
    })?;
    let (to, agent) = check_handle(state, &tenant, transport, &binding.transport_handle).await?;
    let push_url = agent.delivery_config.as_ref().and_then(|c| c.get("url")).and_then(Value::as_str);
    if transport.is_push() && push_url != Some(route.endpoint_url.as_str()) {
        return Err(Invalid::field(
            "endpoint_url",
            "value_error",
            format!(
                "route {} points at {}, which is not the push URL of agent {to}",
                route.route_id, route.endpoint_url
            ),
        )
        .into());
    }
    let key = idempotency_key(headers)?.or_else(|| send.idempotency_key.clone());
    let claim = claim(state, caller, "POST /v1/deliveries", key.clone(), body, None);
    let now = state.clock.now();
    let mut new = NewIntent::new(INTENT_TYPE, to, send.payload.clone());
    if let Some(id) = send.correlation_id.as_deref().and_then(|c| c.parse().ok()) {
        new.correlation_id = id;
    }
    let (intent, events) = new.into_intent(IntentId::new(), &caller.0.agent_address, now);
    let delivery = RoutedDelivery {
        delivery_id: DeliveryId::new(),
        replay_of_delivery_id: replay_of,
        org_id: tenant.org_id,
        workspace_id: tenant.workspace_id,
        principal_id: resolved.principal.principal_id,
        alias,
        transport_type: transport,
        route_id: route.route_id,
        status: RoutedStatus::Submitted,
        correlation_id: send.correlation_id,
        idempotency_key: key,
        payload: send.payload,
        error_detail: None,
        created_at: now,
        updated_at: now,
        intent_id: intent.intent_id,
        to_agent: intent.to_agent.clone(),
    };
    let delivery = state.store.submit_delivery(&tenant, intent, events, delivery, claim).await?;
    Ok(Json(RoutedDeliveryResponse { ok: true, delivery }))
}

/// `GET /v1/deliveries?org_id=&workspace_id=&principal_id=&status=&limit=`: the principal's
/// routed deliveries, newest first (`limit` default 50, at most 500; with `status` ∈ submitted,
/// delivered, failed, pending, dead_lettered a page may hold fewer). Any role in the
/// organization.
pub(super) async fn list(
    state: &AppState,
    caller: &Caller,
    query: &QueryMap,
    principal: &str,
) -> ApiResult<Json<ListRoutedDeliveriesResponse>> {
    let principal: PrincipalId =
        principal.parse().map_err(|_| ApiError::invalid_query("principal_id", "must be a UUID"))?;
    let status = match query.str("status") {
        None => None,
        Some(s) => {
            Some(s.parse::<RoutedStatus>().map_err(|e| ApiError::invalid_query("status", &e.to_string()))?)
        }
    };
    let ws = readable_workspace(state, caller, query).await?;
    let limit = query.bounded("limit", 1, 500)?.unwrap_or(50) as u32;
    let mut deliveries = state.store.list_routed_deliveries(ws, principal, limit).await?;
    deliveries.retain(|d| status.is_none_or(|s| d.status == s));
    Ok(Json(ListRoutedDeliveriesResponse { ok: true, deliveries }))
}

/// The routed delivery `id` of the caller's workspace, for a caller with a role there (an
/// agent-scoped key sees none: 404).
pub(super) async fn get(state: &AppState, caller: &Caller, id: DeliveryId) -> ApiResult<RoutedDelivery> {
    let tenant = &caller.0.tenant;
    let delivery = state
        .store
        .get_routed_delivery(tenant.workspace_id, id)
        .await
        .map_err(ApiError::missing("delivery"))?;
    if caller.0.roles.is_empty() {
        return Err(ApiError::not_found("delivery"));
    }
    Ok(delivery)
}

/// `POST /v1/deliveries/{id}/replay` of a routed delivery: the same payload sent again to the
/// same principal through a fresh resolution, as a new delivery with `replay_of_delivery_id`.
pub(super) async fn replay(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    original: RoutedDelivery,
) -> ApiResult<Json<RoutedDeliveryResponse>> {
    let mut body = Map::new();
    body.insert("org_id".into(), Value::String(original.org_id.to_string()));
    body.insert("workspace_id".into(), Value::String(original.workspace_id.to_string()));
    body.insert("principal_id".into(), Value::String(original.principal_id.to_string()));
    body.insert("payload".into(), Value::Object(original.payload.clone()));
    if let Some(c) = &original.correlation_id {
        body.insert("correlation_id".into(), Value::String(c.clone()));
    }
    submit(state, caller, headers, &body, Some(original.delivery_id)).await
}
