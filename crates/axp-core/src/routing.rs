//! Routing a principal's work (contract §6 "Principals, aliases, routing", §5.6; schemas
//! `api.routing.*.v1.json`, `api.transports.bindings.*.v1.json`): its routes (routing
//! endpoints), its transport bindings, and the rules that pick one.
//!
//! A route says *how* a principal is reached (`transport_type`, `endpoint_url`, priority,
//! health, status); a transport binding says *who* receives it: its `transport_handle` is the
//! agent address of a service account of the workspace. Both map onto the agent's existing
//! delivery binding (`docs/routing.md`), never onto a second delivery system:
//!
//! | transport | the agent's delivery binding |
//! |---|---|
//! | `queue` | `stream` or `poll` (its agent queue) |
//! | `http`, `webhook` | `http` (the signed push to its push URL) |
//! | `matrix` | none: refused with 422 |
//!
//! ```
//! use axp_core::delivery::Binding;
//! use axp_core::routing::TransportType;
//!
//! assert!(TransportType::Queue.reaches(Binding::Poll));
//! assert!(TransportType::Webhook.reaches(Binding::Http));
//! assert!(!TransportType::Http.reaches(Binding::Stream));
//! assert!(!TransportType::Matrix.is_supported());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Timestamp;
use crate::api::{Alias, DirectoryPrincipal};
use crate::delivery::Binding;
use crate::ids::{OrgId, PrincipalId, RouteId, TransportBindingId, WorkspaceId};
use crate::tenancy::{UnknownValue, wire_enum};

wire_enum!(
    /// How a route or a transport binding carries work.
    TransportType {
        /// A Matrix room: not deliverable by this server (422 on write).
        Matrix => "matrix",
        /// The agent's signed HTTP push.
        Http => "http",
        /// The agent's queue, read by its stream or its poll claims.
        Queue => "queue",
        /// The agent's signed HTTP push (the same as `http` here).
        Webhook => "webhook",
    }
);

impl TransportType {
    /// Whether this server can deliver over it (every transport but `matrix`).
    pub fn is_supported(self) -> bool {
        self != TransportType::Matrix
    }

    /// Whether an agent with delivery binding `binding` is reached over this transport:
    /// `queue` by `stream` and `poll`, `http` and `webhook` by `http`.
    pub fn reaches(self, binding: Binding) -> bool {
        match self {
            TransportType::Queue => matches!(binding, Binding::Stream | Binding::Poll),
            TransportType::Http | TransportType::Webhook => binding == Binding::Http,
            TransportType::Matrix => false,
        }
    }

    /// Whether the endpoint is a URL the server calls (`http`, `webhook`), so it must pass the
    /// outbound policy.
    pub fn is_push(self) -> bool {
        matches!(self, TransportType::Http | TransportType::Webhook)
    }
}

wire_enum!(
    /// How the route's endpoint authenticates the server (recorded; axp signs every push).
    AuthMode {
        /// Mutual TLS.
        Mtls => "mtls",
        /// A bearer JWT.
        Jwt => "jwt",
        /// A signature with a shared key (the push signatures axp sends).
        SignedKey => "signed_key",
        /// None.
        None => "none",
    }
);

wire_enum!(
    /// Where a route may fail over (recorded).
    FailoverPolicy {
        /// Nowhere (the default).
        None => "none",
        /// To a route of the same region.
        SameRegion => "same_region",
        /// To a route of any region.
        CrossRegion => "cross_region",
    }
);

wire_enum!(
    /// A route's health, as its owner reports it.
    RouteHealth {
        /// Working.
        Healthy => "healthy",
        /// Working, worse.
        Degraded => "degraded",
        /// Not working: never selected.
        Unhealthy => "unhealthy",
        /// Not reported (the default).
        Unknown => "unknown",
    }
);

impl RouteHealth {
    /// Selection order: healthy first, then unknown, then degraded (unhealthy is never picked).
    fn rank(self) -> u8 {
        match self {
            RouteHealth::Healthy => 0,
            RouteHealth::Unknown => 1,
            RouteHealth::Degraded => 2,
            RouteHealth::Unhealthy => 3,
        }
    }
}

wire_enum!(
    /// A route's status: only active routes are candidates.
    RouteStatus {
        /// In use (the default).
        Active => "active",
        /// Switched off.
        Inactive => "inactive",
        /// Taking no new work.
        Draining => "draining",
    }
);

wire_enum!(
    /// A transport binding's status: only active bindings are used.
    TransportBindingStatus {
        /// In use (the default).
        Active => "active",
        /// Switched off.
        Inactive => "inactive",
    }
);

/// A routing endpoint of a principal (`$defs.route` of `api.routing.endpoints.*.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Route {
    /// Its id.
    pub route_id: RouteId,
    /// The principal it reaches.
    pub principal_id: PrincipalId,
    /// The principal's organization.
    pub org_id: OrgId,
    /// The principal's workspace.
    pub workspace_id: WorkspaceId,
    /// How work travels.
    pub transport_type: TransportType,
    /// Where: a push URL (`http`, `webhook`, checked by the outbound policy) or the name of a
    /// queue; 8 to 4096 characters.
    pub endpoint_url: String,
    /// How the endpoint authenticates.
    pub auth_mode: AuthMode,
    /// Region, 2 to 64 characters.
    pub region: Option<String>,
    /// Cluster, 2 to 128 characters.
    pub cluster_id: Option<String>,
    /// Where it may fail over.
    pub failover_policy: FailoverPolicy,
    /// ≥ 1; the lower, the earlier it is tried (default 100).
    pub priority: u32,
    /// Its health.
    pub health_status: RouteHealth,
    /// Its status.
    pub status: RouteStatus,
    /// Free-form metadata (default `{}`).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A route to register (`api.routing.endpoints.register.request.v1.json`), without the ids
/// and times the principal and the clock give it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRoute {
    /// How work travels.
    pub transport_type: TransportType,
    /// Where.
    pub endpoint_url: String,
    /// How the endpoint authenticates.
    pub auth_mode: AuthMode,
    /// Region.
    pub region: Option<String>,
    /// Cluster.
    pub cluster_id: Option<String>,
    /// Default `none`.
    pub failover_policy: FailoverPolicy,
    /// Default 100.
    pub priority: u32,
    /// Default `{}`.
    pub metadata: Map<String, Value>,
}

impl NewRoute {
    /// A route with the schema's defaults: failover `none`, priority 100, no metadata.
    pub fn new(transport_type: TransportType, endpoint_url: impl Into<String>, auth_mode: AuthMode) -> Self {
        Self {
            transport_type,
            endpoint_url: endpoint_url.into(),
            auth_mode,
            region: None,
            cluster_id: None,
            failover_policy: FailoverPolicy::None,
            priority: DEFAULT_PRIORITY,
            metadata: Map::new(),
        }
    }

    /// The route of `principal` registered at `now`: active, health `unknown`.
    pub fn into_route(self, principal: &DirectoryPrincipal, now: Timestamp) -> Route {
        Route {
            route_id: RouteId::new(),
            principal_id: principal.principal_id,
            org_id: principal.org_id,
            workspace_id: principal.workspace_id,
            transport_type: self.transport_type,
            endpoint_url: self.endpoint_url,
            auth_mode: self.auth_mode,
            region: self.region,
            cluster_id: self.cluster_id,
            failover_policy: self.failover_policy,
            priority: self.priority,
            health_status: RouteHealth::Unknown,
            status: RouteStatus::Active,
            metadata: self.metadata,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The priority of a route or a transport binding that names none.
pub const DEFAULT_PRIORITY: u32 = 100;

/// A change to a route (`api.routing.endpoints.update.request.v1.json`): each field present
/// replaces the route's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouteUpdate {
    /// New endpoint.
    pub endpoint_url: Option<String>,
    /// New auth mode.
    pub auth_mode: Option<AuthMode>,
    /// New region.
    pub region: Option<String>,
    /// New cluster.
    pub cluster_id: Option<String>,
    /// New failover policy.
    pub failover_policy: Option<FailoverPolicy>,
    /// New priority.
    pub priority: Option<u32>,
    /// New health.
    pub health_status: Option<RouteHealth>,
    /// New status.
    pub status: Option<RouteStatus>,
    /// New metadata.
    pub metadata: Option<Map<String, Value>>,
}

impl RouteUpdate {
    /// Applies the change to `route` at `now`.
    pub fn apply(self, route: &mut Route, now: Timestamp) {
        if let Some(v) = self.endpoint_url {
            route.endpoint_url = v;
        }
        if let Some(v) = self.auth_mode {
            route.auth_mode = v;
        }
        if let Some(v) = self.region {
            route.region = Some(v);
        }
        if let Some(v) = self.cluster_id {
            route.cluster_id = Some(v);
        }
        if let Some(v) = self.failover_policy {
            route.failover_policy = v;
        }
        if let Some(v) = self.priority {
            route.priority = v;
        }
        if let Some(v) = self.health_status {
            route.health_status = v;
        }
        if let Some(v) = self.status {
            route.status = v;
        }
        if let Some(v) = self.metadata {
            route.metadata = v;
        }
        route.updated_at = now;
    }
}

/// The routes that may carry a principal's work, in the order they are tried: the active
/// ones, healthy before unknown before degraded, then by `priority` (lower first), then oldest
/// first; and the one selected, the first that is not unhealthy (`None` when every candidate
/// is unhealthy or there is none).
///
/// ```
/// # use axp_core::routing::*;
/// # use axp_core::ids::*;
/// # let route = |priority, health_status, status| Route {
/// #     route_id: RouteId::new(), principal_id: PrincipalId::new(), org_id: OrgId::new(),
/// #     workspace_id: WorkspaceId::new(), transport_type: TransportType::Queue,
/// #     endpoint_url: "queue://ops".into(), auth_mode: AuthMode::None, region: None,
/// #     cluster_id: None, failover_policy: FailoverPolicy::None, priority, health_status,
/// #     status, metadata: Default::default(), created_at: axp_core::Timestamp::from_millis(0),
/// #     updated_at: axp_core::Timestamp::from_millis(0) };
/// let routes = vec![
///     route(1, RouteHealth::Unhealthy, RouteStatus::Active),
///     route(5, RouteHealth::Healthy, RouteStatus::Draining),
///     route(20, RouteHealth::Degraded, RouteStatus::Active),
///     route(50, RouteHealth::Healthy, RouteStatus::Active),
/// ];
/// let (candidates, selected) = select_route(routes);
/// let order: Vec<u32> = candidates.iter().map(|r| r.priority).collect();
/// assert_eq!(order, [50, 20, 1]);
/// assert_eq!(selected.map(|r| r.priority), Some(50));
/// ```
pub fn select_route(routes: Vec<Route>) -> (Vec<Route>, Option<Route>) {
    let mut candidates: Vec<Route> = routes.into_iter().filter(|r| r.status == RouteStatus::Active).collect();
    candidates.sort_by_key(|r| (r.health_status.rank(), r.priority, r.created_at, r.route_id));
    let selected = candidates.iter().find(|r| r.health_status != RouteHealth::Unhealthy).cloned();
    (candidates, selected)
}

/// A transport binding of a principal (`$defs.binding` of
/// `api.transports.bindings.*.response.v1.json`). Upserted by (principal, transport type,
/// handle).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransportBinding {
    /// Its id.
    pub binding_id: TransportBindingId,
    /// The principal it serves.
    pub principal_id: PrincipalId,
    /// The principal's organization.
    pub org_id: OrgId,
    /// The principal's workspace.
    pub workspace_id: WorkspaceId,
    /// How work travels.
    pub transport_type: TransportType,
    /// The agent address (as given, 2 to 255 characters) of the service account that receives
    /// the principal's work.
    pub transport_handle: String,
    /// ≥ 1; the lower, the earlier it is used (default 100).
    pub priority: u32,
    /// Its status.
    pub status: TransportBindingStatus,
    /// Free-form metadata (default `{}`).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// When it was first bound.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl TransportBinding {
    /// A new active binding of `principal` at `now` (priority and metadata to set after).
    pub fn new(
        principal: &DirectoryPrincipal,
        transport_type: TransportType,
        transport_handle: impl Into<String>,
        now: Timestamp,
    ) -> Self {
        Self {
            binding_id: TransportBindingId::new(),
            principal_id: principal.principal_id,
            org_id: principal.org_id,
            workspace_id: principal.workspace_id,
            transport_type,
            transport_handle: transport_handle.into(),
            priority: DEFAULT_PRIORITY,
            status: TransportBindingStatus::Active,
            metadata: Map::new(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// The binding that carries work over a route of `transport`: the active bindings whose
/// transport is the route's (`http` and `webhook` count as one), lowest `priority` first, then
/// oldest first.
pub fn binding_for(bindings: &[TransportBinding], transport: TransportType) -> Option<&TransportBinding> {
    let same = |t: TransportType| t == transport || (t.is_push() && transport.is_push());
    bindings
        .iter()
        .filter(|b| b.status == TransportBindingStatus::Active && same(b.transport_type))
        .min_by_key(|b| (b.priority, b.created_at, b.binding_id))
}

/// What a resolution starts from (`api.routing.resolve.request.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// An active alias of the workspace.
    Alias(String),
    /// A principal of the workspace.
    Principal(PrincipalId),
}

/// A principal's routing, read in one go: the alias it was named by, the principal, its
/// candidate routes and the selected one ([`select_route`]), and its transport bindings.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The alias, when resolved by alias.
    pub alias: Option<Alias>,
    /// The principal.
    pub principal: DirectoryPrincipal,
    /// The active routes in the order they are tried.
    pub candidates: Vec<Route>,
    /// The route work takes, if any is not unhealthy.
    pub selected: Option<Route>,
    /// Every transport binding of the principal, oldest first.
    pub bindings: Vec<TransportBinding>,
}

/// The resolver chain every resolution reports (`api.routing.resolve.response.v1.json`).
pub const RESOLVER_CHAIN: [&str; 4] = ["alias", "principal_id", "endpoint_route", "transport_dispatch"];

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(
        transport_type: TransportType,
        priority: u32,
        status: TransportBindingStatus,
    ) -> TransportBinding {
        TransportBinding {
            binding_id: TransportBindingId::new(),
            principal_id: PrincipalId::new(),
            org_id: OrgId::new(),
            workspace_id: WorkspaceId::new(),
            transport_type,
            transport_handle: format!("agent-{priority}"),
            priority,
            status,
            metadata: Map::new(),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn bindings_by_transport_status_and_priority() {
        let bindings = [
            binding(TransportType::Queue, 1, TransportBindingStatus::Inactive),
            binding(TransportType::Queue, 30, TransportBindingStatus::Active),
            binding(TransportType::Queue, 20, TransportBindingStatus::Active),
            binding(TransportType::Webhook, 5, TransportBindingStatus::Active),
        ];
        assert_eq!(binding_for(&bindings, TransportType::Queue).unwrap().priority, 20);
        assert_eq!(binding_for(&bindings, TransportType::Http).unwrap().priority, 5);
        assert!(binding_for(&bindings, TransportType::Matrix).is_none());
    }

    #[test]
    fn no_selection_when_all_unhealthy() {
        let (candidates, selected) = select_route(Vec::new());
        assert!(candidates.is_empty() && selected.is_none());
    }

    #[test]
    fn wire_names() {
        assert_eq!("signed_key".parse::<AuthMode>(), Ok(AuthMode::SignedKey));
        assert_eq!(
            "smtp".parse::<TransportType>().unwrap_err().to_string(),
            "must be one of matrix, http, queue, webhook"
        );
        assert_eq!(serde_json::to_value(RouteStatus::Draining).unwrap(), "draining");
    }
}
