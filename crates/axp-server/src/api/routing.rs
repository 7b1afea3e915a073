//! Routing endpoints, route resolution and transport bindings (contract §6 "routing", §5.6;
//! `api.routing.*.v1.json`, `api.transports.bindings.*.v1.json`; the mapping onto the agents'
//! delivery bindings is in `docs/routing.md`).
//!
//! Writes need `workspace_admin` (or an org admin) for the principal's workspace; reads need any
//! role in its organization (`docs/access.md`, "Routing"). Another organization's objects are
//! 404. `matrix` is refused (422): this server cannot deliver it. An `http`/`webhook` route's
//! `endpoint_url` passes the outbound policy (the check push bindings get); a transport
//! binding's `transport_handle` is the address of an agent of the workspace that the transport
//! reaches (`queue`: a `stream` or `poll` agent; `http`/`webhook`: an `http` agent).

use axp_core::api::{
    DirectoryPrincipal, ListRoutesResponse, ListTransportBindingsResponse, RemoveRouteResponse,
    RemoveTransportBindingResponse, RemovedRoute, RemovedTransportBinding, ResolveRouteResponse,
    RouteResolution, RouteResponse, TransportBindingResponse,
};
use axp_core::ids::{OrgId, PrincipalId, RouteId, TransportBindingId, WorkspaceId};
use axp_core::routing::{
    AuthMode, DEFAULT_PRIORITY, FailoverPolicy, NewRoute, RESOLVER_CHAIN, Resolved, Route, RouteHealth,
    RouteStatus, RouteTarget, RouteUpdate, TransportBinding, TransportBindingStatus, TransportType,
};
use axp_core::validate::{Fields, Invalid};
use axp_core::{AgentAddress, ErrorCode};
use axp_store::{ServiceAccountRecord, Tenant};
use axum::extract::State;
use axum::routing::{delete, patch, post};
use axum::{Json, Router};

use super::directory::{readable_workspace, workspace_in};
use super::organizations::{present, wire};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::state::AppState;

/// The principal `principal_id` names, for a caller that administers its workspace (404 for an
/// unknown principal or one of an organization the caller may not know; 403 without the role).
async fn administered_principal(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> ApiResult<DirectoryPrincipal> {
    let id: PrincipalId = raw.parse().map_err(|_| ApiError::not_found("principal"))?;
    let principal = state.store.get_principal(id).await.map_err(ApiError::missing("principal"))?;
    caller.in_org(state, principal.org_id).await?.require_workspace_admin(principal.workspace_id)?;
    Ok(principal)
}

/// Records a 422 on `field` for the `matrix` transport.
fn refuse_matrix(f: &mut Fields<'_>, field: &str, transport: Option<TransportType>) {
    if transport.is_some_and(|t| !t.is_supported()) {
        f.fail(field, "value_error", "matrix is not deliverable by this server: use http, webhook or queue");
    }
}

/// Checks an `http`/`webhook` endpoint against the outbound policy (422 on `endpoint_url`).
async fn check_endpoint(state: &AppState, f: &mut Fields<'_>, transport: TransportType, url: &str) {
    if transport.is_push()
        && let Err(e) = state.options.dispatcher.policy.check_registration(url).await
    {
        f.fail("endpoint_url", "value_error", e.to_string());
    }
}

/// `POST /v1/routing/endpoints` (`api.routing.endpoints.register.request.v1.json`): a new active
/// route of the principal, health `unknown`.
#[utoipa::path(
    post,
    path = "/v1/routing/endpoints",
    tag = "routing",
    request_body(content = Object, description = "`{principal_id, transport_type: http|webhook|queue, endpoint_url, auth_mode, region?, cluster_id?, failover_policy?, priority?, metadata?}` (`matrix` is 422)"),
    responses((status = 200, body = RouteResponse)),
)]
async fn register_route(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<RouteResponse>> {
    let mut f = Fields::new(&body);
    let principal = f.bounded_string("principal_id", &[], true, 5, 64);
    let transport = wire::<TransportType>(&mut f, "transport_type", true);
    refuse_matrix(&mut f, "transport_type", transport);
    let url = f.bounded_string("endpoint_url", &[], true, 8, 4096);
    let auth_mode = wire::<AuthMode>(&mut f, "auth_mode", true);
    let region = f.bounded_string("region", &[], false, 2, 64);
    let cluster_id = f.bounded_string("cluster_id", &[], false, 2, 128);
    let failover = wire::<FailoverPolicy>(&mut f, "failover_policy", false);
    let priority = f.u32_at_least("priority", &[], 1);
    let metadata = f.object("metadata", &[]).unwrap_or_default();
    if let (Some(t), Some(u)) = (transport, url.as_deref()) {
        check_endpoint(&state, &mut f, t, u).await;
    }
    let (principal, transport, url, auth_mode) = f.finish((principal, transport, url, auth_mode))?;
    let principal = administered_principal(&state, &caller, &present(principal, "principal_id")?).await?;
    let new = NewRoute {
        region,
        cluster_id,
        failover_policy: failover.unwrap_or(FailoverPolicy::None),
        priority: priority.unwrap_or(DEFAULT_PRIORITY),
        metadata,
        ..NewRoute::new(
            present(transport, "transport_type")?,
            present(url, "endpoint_url")?,
            present(auth_mode, "auth_mode")?,
        )
    };
    let route = state
        .store
        .register_route(new.into_route(&principal, state.clock.now()))
        .await
        .map_err(ApiError::missing("principal"))?;
    Ok(Json(RouteResponse { ok: true, route }))
}

/// `GET /v1/routing/endpoints?org_id=&workspace_id=&principal_id=&limit=`: the workspace's
/// routes (one principal's with `principal_id`), oldest first (default 100, at most 1000).
#[utoipa::path(
    get,
    path = "/v1/routing/endpoints",
    tag = "routing",
    params(
        ("org_id" = String, Query, description = "The organization (UUID)"),
        ("workspace_id" = String, Query, description = "The workspace (UUID), one of the organization's"),
        ("principal_id" = Option<String>, Query, description = "Only this principal's routes (UUID)"),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
    ),
    responses((status = 200, body = ListRoutesResponse)),
)]
async fn list_routes(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ListRoutesResponse>> {
    let ws = readable_workspace(&state, &caller, &query).await?;
    let (principal, limit) = principal_and_limit(&query)?;
    let routes = state.store.list_routes(ws, principal, limit).await?;
    Ok(Json(ListRoutesResponse { ok: true, routes }))
}

/// The optional `principal_id` filter (422 when not a UUID) and `limit` of a list.
fn principal_and_limit(query: &QueryMap) -> ApiResult<(Option<PrincipalId>, u32)> {
    let principal = match query.str("principal_id") {
        None => None,
        Some(raw) => {
            Some(raw.parse().map_err(|_| ApiError::invalid_query("principal_id", "must be a UUID"))?)
        }
    };
    let limit = query.bounded("limit", 1, 1000)?.unwrap_or(100) as u32;
    Ok((principal, limit))
}

/// The route `raw` names, for a caller that administers its workspace.
async fn administered_route(state: &AppState, caller: &Caller, raw: &str) -> ApiResult<Route> {
    let id: RouteId = raw.parse().map_err(|_| ApiError::not_found("route"))?;
    let route = state.store.get_route(id).await.map_err(ApiError::missing("route"))?;
    caller.in_org(state, route.org_id).await?.require_workspace_admin(route.workspace_id)?;
    Ok(route)
}

/// `PATCH /v1/routing/endpoints/{route_id}` (`api.routing.endpoints.update.request.v1.json`):
/// each field given replaces the route's; a new `endpoint_url` of an `http`/`webhook` route
/// passes the outbound policy.
#[utoipa::path(
    patch,
    path = "/v1/routing/endpoints/{route_id}",
    tag = "routing",
    params(("route_id" = String, Path, description = "The route's id (UUID)")),
    request_body(content = Object, description = "`{endpoint_url?, auth_mode?, region?, cluster_id?, failover_policy?, priority?, health_status?, status?, metadata?}`: each field given replaces the route's"),
    responses((status = 200, body = RouteResponse)),
)]
async fn update_route(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<RouteResponse>> {
    let route = administered_route(&state, &caller, &id).await?;
    let mut f = Fields::new(&body);
    let endpoint_url = f.bounded_string("endpoint_url", &[], false, 8, 4096);
    if let Some(url) = endpoint_url.as_deref() {
        check_endpoint(&state, &mut f, route.transport_type, url).await;
    }
    let update = RouteUpdate {
        endpoint_url,
        auth_mode: wire::<AuthMode>(&mut f, "auth_mode", false),
        region: f.bounded_string("region", &[], false, 2, 64),
        cluster_id: f.bounded_string("cluster_id", &[], false, 2, 128),
        failover_policy: wire::<FailoverPolicy>(&mut f, "failover_policy", false),
        priority: f.u32_at_least("priority", &[], 1),
        health_status: wire::<RouteHealth>(&mut f, "health_status", false),
        status: wire::<RouteStatus>(&mut f, "status", false),
        metadata: f.object("metadata", &[]),
    };
    let update = f.finish(update)?;
    let route = state
        .store
        .update_route(route.workspace_id, route.route_id, update, state.clock.now())
        .await
        .map_err(ApiError::missing("route"))?;
    Ok(Json(RouteResponse { ok: true, route }))
}

/// `DELETE /v1/routing/endpoints/{route_id}`: the route is gone (404 after).
#[utoipa::path(
    delete,
    path = "/v1/routing/endpoints/{route_id}",
    tag = "routing",
    params(("route_id" = String, Path, description = "The route's id (UUID)")),
    responses((status = 200, body = RemoveRouteResponse)),
)]
async fn remove_route(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<RemoveRouteResponse>> {
    let route = administered_route(&state, &caller, &id).await?;
    state.store.remove_route(route.workspace_id, route.route_id).await.map_err(ApiError::missing("route"))?;
    Ok(Json(RemoveRouteResponse {
        ok: true,
        route: RemovedRoute { route_id: route.route_id, removed: true },
    }))
}

/// `{org_id, workspace_id, alias?|principal_id?}` (`api.routing.resolve.request.v1.json`, also
/// the addressing part of `api.deliveries.submit.request.v1.json`), read into `f`: the workspace
/// and what to resolve. The alias wins when both are given.
pub(super) fn read_target(f: &mut Fields<'_>) -> (Option<OrgId>, Option<WorkspaceId>, Option<RouteTarget>) {
    for name in ["org_id", "workspace_id"] {
        if f.get(name, &[]).is_none() {
            f.fail(name, "missing", "field required");
        }
    }
    let org = f.uuid("org_id", &[]).map(OrgId);
    let ws = f.uuid("workspace_id", &[]).map(WorkspaceId);
    let alias = f.bounded_string("alias", &[], false, 3, 255);
    let principal = f.uuid("principal_id", &[]).map(PrincipalId);
    let target = match (alias, principal) {
        (Some(alias), _) => Some(RouteTarget::Alias(alias)),
        (None, Some(id)) => Some(RouteTarget::Principal(id)),
        (None, None) => {
            f.fail("alias", "missing", "alias or principal_id is required");
            None
        }
    };
    (org, ws, target)
}

/// Resolves `target` in workspace `ws` of `org` for a caller with a role there; 404 for an
/// unknown or revoked alias, an unknown principal, or a principal with no selectable route.
pub(super) async fn resolve(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    ws: WorkspaceId,
    target: RouteTarget,
) -> ApiResult<(Tenant, Resolved, Route)> {
    caller.in_org(state, org).await?.require_reader()?;
    let tenant = workspace_in(state, org, ws).await?;
    let resolved =
        state.store.resolve_route(ws, target).await.map_err(ApiError::missing("alias or principal"))?;
    let selected = resolved.selected.clone().ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, "the principal has no active route that is not unhealthy")
    })?;
    Ok((tenant, resolved, selected))
}

/// `POST /v1/routing/resolve`: alias → principal → route → transport
/// (`api.routing.resolve.response.v1.json`). Any role in the organization.
#[utoipa::path(
    post,
    path = "/v1/routing/resolve",
    tag = "routing",
    request_body(content = Object, description = "`{org_id, workspace_id, alias?|principal_id?}` (the alias wins when both are given)"),
    responses((status = 200, body = ResolveRouteResponse)),
)]
async fn resolve_route(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ResolveRouteResponse>> {
    let mut f = Fields::new(&body);
    let (org, ws, target) = read_target(&mut f);
    let (org, ws, target) = f.finish((org, ws, target))?;
    let (org, ws) = (present(org, "org_id")?, present(ws, "workspace_id")?);
    let (_, resolved, selected_route) = resolve(&state, &caller, org, ws, present(target, "alias")?).await?;
    let resolution = RouteResolution {
        alias: resolved.alias,
        principal: resolved.principal,
        selected_route,
        candidate_routes: resolved.candidates,
        resolver_chain: RESOLVER_CHAIN.iter().map(|s| (*s).to_owned()).collect(),
    };
    Ok(Json(ResolveRouteResponse { ok: true, resolution }))
}

/// `POST /v1/transports/bindings` (`api.transports.bindings.upsert.request.v1.json`): upserts the
/// principal's binding by (transport type, handle). The handle is the address of an agent of
/// the principal's workspace that the transport reaches (422 otherwise).
#[utoipa::path(
    post,
    path = "/v1/transports/bindings",
    tag = "routing",
    request_body(content = Object, description = "`{principal_id, transport_type: http|webhook|queue, transport_handle, priority?, status?, metadata?}`: `transport_handle` is the address of an agent of the principal's workspace that the transport reaches"),
    responses((status = 200, body = TransportBindingResponse)),
)]
async fn upsert_binding(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<TransportBindingResponse>> {
    let mut f = Fields::new(&body);
    let principal = f.bounded_string("principal_id", &[], true, 5, 64);
    let transport = wire::<TransportType>(&mut f, "transport_type", true);
    refuse_matrix(&mut f, "transport_type", transport);
    let handle = f.bounded_string("transport_handle", &[], true, 2, 255);
    let priority = f.u32_at_least("priority", &[], 1);
    let status = wire::<TransportBindingStatus>(&mut f, "status", false);
    let metadata = f.object("metadata", &[]).unwrap_or_default();
    let (principal, transport, handle) = f.finish((principal, transport, handle))?;
    let principal = administered_principal(&state, &caller, &present(principal, "principal_id")?).await?;
    let (transport, handle) = (present(transport, "transport_type")?, present(handle, "transport_handle")?);
    let tenant = workspace_in(&state, principal.org_id, principal.workspace_id).await?;
    check_handle(&state, &tenant, transport, &handle).await?;
    let mut binding = TransportBinding::new(&principal, transport, handle, state.clock.now());
    binding.priority = priority.unwrap_or(DEFAULT_PRIORITY);
    binding.status = status.unwrap_or(TransportBindingStatus::Active);
    binding.metadata = metadata;
    let binding =
        state.store.upsert_transport_binding(binding).await.map_err(ApiError::missing("principal"))?;
    Ok(Json(TransportBindingResponse { ok: true, binding }))
}

/// 422 unless `handle` is the address of an agent of `tenant`'s workspace that `transport`
/// reaches; returns the agent's absolute address and its record.
pub(super) async fn check_handle(
    state: &AppState,
    tenant: &Tenant,
    transport: TransportType,
    handle: &str,
) -> ApiResult<(AgentAddress, ServiceAccountRecord)> {
    let invalid = |msg: String| ApiError::from(Invalid::field("transport_handle", "value_error", msg));
    let address = AgentAddress::parse(handle, &tenant.scope())
        .map_err(|e| invalid(format!("transport_handle must be an agent address: {e}")))?;
    let agent = state
        .store
        .find_agent(tenant, &address)
        .await?
        .ok_or_else(|| invalid(format!("no agent {address} in this workspace")))?;
    if !transport.reaches(agent.delivery_mode) {
        return Err(invalid(format!(
            "agent {address} uses the {} delivery binding, which the {transport} transport does not reach \
             (queue: stream or poll; http and webhook: http)",
            agent.delivery_mode.as_str()
        )));
    }
    Ok((address, agent))
}

/// `GET /v1/transports/bindings?org_id=&workspace_id=&principal_id=&limit=`: oldest first
/// (default 100, at most 1000). Any role in the organization.
#[utoipa::path(
    get,
    path = "/v1/transports/bindings",
    tag = "routing",
    params(
        ("org_id" = String, Query, description = "The organization (UUID)"),
        ("workspace_id" = String, Query, description = "The workspace (UUID), one of the organization's"),
        ("principal_id" = Option<String>, Query, description = "Only this principal's bindings (UUID)"),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
    ),
    responses((status = 200, body = ListTransportBindingsResponse)),
)]
async fn list_bindings(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ListTransportBindingsResponse>> {
    let ws = readable_workspace(&state, &caller, &query).await?;
    let (principal, limit) = principal_and_limit(&query)?;
    let bindings = state.store.list_transport_bindings(ws, principal, limit).await?;
    Ok(Json(ListTransportBindingsResponse { ok: true, bindings }))
}

/// `DELETE /v1/transports/bindings/{binding_id}`: the binding is gone (404 after).
#[utoipa::path(
    delete,
    path = "/v1/transports/bindings/{binding_id}",
    tag = "routing",
    params(("binding_id" = String, Path, description = "The binding's id (UUID)")),
    responses((status = 200, body = RemoveTransportBindingResponse)),
)]
async fn remove_binding(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<RemoveTransportBindingResponse>> {
    let id: TransportBindingId = id.parse().map_err(|_| ApiError::not_found("transport binding"))?;
    let binding =
        state.store.get_transport_binding(id).await.map_err(ApiError::missing("transport binding"))?;
    caller.in_org(&state, binding.org_id).await?.require_workspace_admin(binding.workspace_id)?;
    state
        .store
        .remove_transport_binding(binding.workspace_id, id)
        .await
        .map_err(ApiError::missing("transport binding"))?;
    let binding = RemovedTransportBinding { binding_id: id, removed: true };
    Ok(Json(RemoveTransportBindingResponse { ok: true, binding }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    register_route,
    list_routes,
    update_route,
    remove_route,
    resolve_route,
    upsert_binding,
    list_bindings,
    remove_binding
))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/routing/endpoints", post(register_route).get(list_routes))
        .route("/v1/routing/endpoints/{route_id}", patch(update_route).delete(remove_route))
        .route("/v1/routing/resolve", post(resolve_route))
        .route("/v1/transports/bindings", post(upsert_binding).get(list_bindings))
        .route("/v1/transports/bindings/{binding_id}", delete(remove_binding))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn target_needs_alias_or_principal() {
        let body = json!({"org_id": uuid::Uuid::nil(), "workspace_id": uuid::Uuid::nil()});
        let mut f = Fields::new(body.as_object().unwrap());
        let (_, _, target) = read_target(&mut f);
        assert!(target.is_none());
        assert!(f.finish(()).is_err());
    }

    #[test]
    fn alias_wins_over_principal() {
        let id = PrincipalId::new();
        let body = json!({"org_id": uuid::Uuid::nil(), "workspace_id": uuid::Uuid::nil(), "alias": "ops@acme",
            "principal_id": id});
        let mut f = Fields::new(body.as_object().unwrap());
        let (_, _, target) = read_target(&mut f);
        assert_eq!(target, Some(RouteTarget::Alias("ops@acme".into())));
        assert!(f.finish(()).is_ok());
    }
}
