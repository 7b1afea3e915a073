//! A principal's routes and transport bindings (contract §6 "routing", §5.6), and the
//! deliveries routed through them (§5.5).

use async_trait::async_trait;
use axp_core::ids::{DeliveryId, IntentId, PrincipalId, RouteId, TransportBindingId, WorkspaceId};
use axp_core::routed::RoutedDelivery;
use axp_core::routing::{Route, TransportBinding, TransportType};

use crate::Result;

/// Tables `routes` and `transport_bindings`. Ids are unique across workspaces, so a route or a
/// binding is found by id alone (the server then checks the caller's access to its workspace).
#[async_trait]
pub trait RoutingTable {
    /// Adds a route.
    async fn insert_route(&mut self, route: &Route) -> Result<()>;

    /// One route, by id (locked with `for_update`).
    async fn route(&mut self, id: RouteId, for_update: bool) -> Result<Option<Route>>;

    /// Rewrites a route.
    async fn update_route(&mut self, route: &Route) -> Result<()>;

    /// Deletes a route; whether it existed.
    async fn delete_route(&mut self, ws: WorkspaceId, id: RouteId) -> Result<bool>;

    /// The routes of workspace `ws` (of `principal` only, when given), oldest first, at most
    /// `limit`.
    async fn list_routes(
        &mut self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<Route>>;

    /// Adds a transport binding. Errors: [`crate::Error::Conflict`] when the principal has one
    /// with the same transport type and handle.
    async fn insert_transport_binding(&mut self, binding: &TransportBinding) -> Result<()>;

    /// The binding of `principal` with this transport type and handle (locked with
    /// `for_update`): the upsert key.
    async fn transport_binding_by_key(
        &mut self,
        principal: PrincipalId,
        transport_type: TransportType,
        handle: &str,
        for_update: bool,
    ) -> Result<Option<TransportBinding>>;

    /// One transport binding, by id.
    async fn transport_binding(&mut self, id: TransportBindingId) -> Result<Option<TransportBinding>>;

    /// Rewrites a transport binding (priority, status, metadata, `updated_at`).
    async fn update_transport_binding(&mut self, binding: &TransportBinding) -> Result<()>;

    /// Deletes a transport binding; whether it existed.
    async fn delete_transport_binding(&mut self, ws: WorkspaceId, id: TransportBindingId) -> Result<bool>;

    /// The transport bindings of workspace `ws` (of `principal` only, when given), oldest
    /// first, at most `limit`.
    async fn list_transport_bindings(
        &mut self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<TransportBinding>>;

    /// Adds a routed delivery.
    async fn insert_routed_delivery(&mut self, delivery: &RoutedDelivery) -> Result<()>;

    /// One routed delivery of workspace `ws`.
    async fn routed_delivery(&mut self, ws: WorkspaceId, id: DeliveryId) -> Result<Option<RoutedDelivery>>;

    /// The routed delivery intent `intent` carries, in workspace `ws`.
    async fn routed_delivery_for_intent(
        &mut self,
        ws: WorkspaceId,
        intent: IntentId,
    ) -> Result<Option<RoutedDelivery>>;

    /// The routed deliveries of workspace `ws` to `principal`, newest first, at most `limit`.
    async fn list_routed_deliveries(
        &mut self,
        ws: WorkspaceId,
        principal: PrincipalId,
        limit: u32,
    ) -> Result<Vec<RoutedDelivery>>;
}
