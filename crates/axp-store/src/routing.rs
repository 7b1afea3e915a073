//! What the server asks of storage for routing (contract §6 "routing", §5.5, §5.6): a
//! principal's routes and transport bindings, their resolution, and routed deliveries. A part
//! of [`crate::Store`] (its supertrait), implemented by `axp_engine::Ledger` like the rest.

use async_trait::async_trait;
use axp_core::ids::{DeliveryId, PrincipalId, RouteId, TransportBindingId, WorkspaceId};
use axp_core::routed::RoutedDelivery;
use axp_core::routing::{Resolved, Route, RouteTarget, RouteUpdate, TransportBinding};
use axp_core::{Intent, IntentEvent, Timestamp};

use crate::{IdempotencyClaim, Result, Tenant};

/// Routing storage; see [`crate::Store`] for the conventions (every call one transaction or one read).
#[async_trait]
pub trait RoutingStore {
    /// Registers a route of its principal (contract §6 "routing"). Errors:
    /// [`crate::Error::NotFound`] when the principal is not in the route's workspace.
    async fn register_route(&self, route: Route) -> Result<Route>;

    /// One route, whichever workspace it is in. Errors: [`crate::Error::NotFound`].
    async fn get_route(&self, id: RouteId) -> Result<Route>;

    /// Changes a route of workspace `ws` at `now`. Errors: [`crate::Error::NotFound`].
    async fn update_route(
        &self,
        ws: WorkspaceId,
        id: RouteId,
        update: RouteUpdate,
        now: Timestamp,
    ) -> Result<Route>;

    /// Deletes a route of workspace `ws`. Errors: [`crate::Error::NotFound`].
    async fn remove_route(&self, ws: WorkspaceId, id: RouteId) -> Result<()>;

    /// The routes of workspace `ws` (of `principal` only, when given), oldest first.
    async fn list_routes(
        &self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<Route>>;

    /// Resolves alias → principal → routes → transport bindings in workspace `ws`
    /// ([`axp_core::routing::select_route`]). Errors: [`crate::Error::NotFound`] for an unknown or
    /// revoked alias, or a principal of another workspace.
    async fn resolve_route(&self, ws: WorkspaceId, target: RouteTarget) -> Result<Resolved>;

    /// Upserts a transport binding by (principal, transport type, handle): a new one is
    /// stored as given; an existing one takes the given priority, status and metadata and
    /// keeps its id and `created_at` (contract §5.6). Errors: [`crate::Error::NotFound`] when the
    /// principal is not in the binding's workspace.
    async fn upsert_transport_binding(&self, binding: TransportBinding) -> Result<TransportBinding>;

    /// One transport binding, whichever workspace it is in. Errors: [`crate::Error::NotFound`].
    async fn get_transport_binding(&self, id: TransportBindingId) -> Result<TransportBinding>;

    /// Deletes a transport binding of workspace `ws`. Errors: [`crate::Error::NotFound`].
    async fn remove_transport_binding(&self, ws: WorkspaceId, id: TransportBindingId) -> Result<()>;

    /// The transport bindings of workspace `ws` (of `principal` only, when given), oldest
    /// first.
    async fn list_transport_bindings(
        &self,
        ws: WorkspaceId,
        principal: Option<PrincipalId>,
        limit: u32,
    ) -> Result<Vec<TransportBinding>>;

    /// Sends a routed delivery (contract §5.5): creates `intent` (to the delivery's agent, with
    /// `events`, routed by the agent's delivery binding as [`crate::Store::create_intent`] does) and
    /// the `delivery` record, in one transaction; the answer's status is the intent's. With
    /// `idempotency`, a live record for the same key and fingerprint answers the first
    /// delivery as it stands now (nothing written); another fingerprint is
    /// [`crate::Error::IdempotencyConflict`].
    async fn submit_delivery(
        &self,
        tenant: &Tenant,
        intent: Intent,
        events: Vec<IntentEvent>,
        delivery: RoutedDelivery,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<RoutedDelivery>;

    /// One routed delivery of workspace `ws`, its status read from its intent. Errors:
    /// [`crate::Error::NotFound`].
    async fn get_routed_delivery(&self, ws: WorkspaceId, id: DeliveryId) -> Result<RoutedDelivery>;

    /// The routed deliveries of workspace `ws` to `principal`, newest first, at most `limit`.
    async fn list_routed_deliveries(
        &self,
        ws: WorkspaceId,
        principal: PrincipalId,
        limit: u32,
    ) -> Result<Vec<RoutedDelivery>>;
}
