//! Routing endpoints, route resolution and transport bindings (contract §6 "routing", §5.6;
//! `api.routing.*.v1.json`, `api.transports.bindings.*.v1.json`).

use serde::{Deserialize, Serialize};

use super::{DirectoryPrincipal, yes};
use crate::ids::{RouteId, TransportBindingId};
use crate::routing::{Route, TransportBinding};

/// `{"ok": true, "route": {…}}`: the answer to a register or an update.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The route.
    pub route: Route,
}

/// `{"ok": true, "routes": […]}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListRoutesResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The routes, oldest first.
    pub routes: Vec<Route>,
}

/// A removed route or transport binding: `{"route_id"|"binding_id": …, "removed": true}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemovedRoute {
    /// The route removed.
    pub route_id: RouteId,
    /// Always `true`.
    pub removed: bool,
}

/// `{"ok": true, "route": {"route_id", "removed": true}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoveRouteResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// What was removed.
    pub route: RemovedRoute,
}

/// How a principal is reached (`api.routing.resolve.response.v1.json`): the alias it was named
/// by (`null` when resolved by `principal_id`), the principal, the route selected, every
/// candidate in the order they are tried, and the resolver chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteResolution {
    /// The active alias (as `api.aliases.*` shows it), or `null`.
    pub alias: Option<super::Alias>,
    /// The principal.
    pub principal: DirectoryPrincipal,
    /// The route work takes.
    pub selected_route: Route,
    /// The active routes, in the order they are tried ([`crate::routing::select_route`]).
    pub candidate_routes: Vec<Route>,
    /// Always `["alias", "principal_id", "endpoint_route", "transport_dispatch"]`.
    pub resolver_chain: Vec<String>,
}

/// `{"ok": true, "resolution": {…}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveRouteResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The resolution.
    pub resolution: RouteResolution,
}

/// `{"ok": true, "binding": {…}}`: the answer to an upsert.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransportBindingResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The binding.
    pub binding: TransportBinding,
}

/// `{"ok": true, "bindings": […]}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListTransportBindingsResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The bindings, oldest first.
    pub bindings: Vec<TransportBinding>,
}

/// A removed transport binding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemovedTransportBinding {
    /// The binding removed.
    pub binding_id: TransportBindingId,
    /// Always `true`.
    pub removed: bool,
}

/// `{"ok": true, "binding": {"binding_id", "removed": true}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoveTransportBindingResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// What was removed.
    pub binding: RemovedTransportBinding,
}

/// `{"ok": true, "delivery": {…}}`: a routed delivery (`api.deliveries.submit|get|replay.response.v1.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoutedDeliveryResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The delivery.
    pub delivery: crate::routed::RoutedDelivery,
}

/// `{"ok": true, "deliveries": […]}`: routed deliveries (`GET /v1/deliveries?principal_id=`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListRoutedDeliveriesResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The deliveries, newest first.
    pub deliveries: Vec<crate::routed::RoutedDelivery>,
}
