//! Routed deliveries (contract §5.5 "Deliveries (enterprise)", `api.deliveries.*.v1.json`):
//! work sent to a principal, resolved alias → principal → route → transport binding, and
//! carried by an intent to the binding's agent over the agent's own delivery binding (the
//! existing machinery: queue, stream, poll claims, signed push). The record keeps the §5.5
//! fields; its `status` is the intent's, as [`RoutedStatus::of`] reads it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{DeliveryId, IntentId, OrgId, PrincipalId, RouteId, WorkspaceId};
use crate::routing::TransportType;
use crate::tenancy::{UnknownValue, wire_enum};
use crate::{Status, Timestamp};

use std::fmt;
use std::str::FromStr;

/// The intent type of the intent that carries a routed delivery.
pub const INTENT_TYPE: &str = "delivery.routed.v1";

wire_enum!(
    /// Where a routed delivery stands (`status` of `api.deliveries.*.response.v1.json`).
    RoutedStatus {
        /// Its intent waits for its agent.
        Submitted => "submitted",
        /// Its agent has it (delivered, acknowledged, in progress, waiting or completed).
        Delivered => "delivered",
        /// Its intent failed, was canceled or timed out.
        Failed => "failed",
        /// Not produced: a push waiting for a retry shows as `submitted`.
        Pending => "pending",
        /// Not produced: a dead-lettered push fails its intent (`failed`).
        DeadLettered => "dead_lettered",
    }
);

impl RoutedStatus {
    /// The status of a routed delivery whose intent is in `status`.
    ///
    /// ```
    /// use axp_core::Status;
    /// use axp_core::routed::RoutedStatus;
    ///
    /// assert_eq!(RoutedStatus::of(Status::Submitted), RoutedStatus::Submitted);
    /// assert_eq!(RoutedStatus::of(Status::Completed), RoutedStatus::Delivered);
    /// assert_eq!(RoutedStatus::of(Status::TimedOut), RoutedStatus::Failed);
    /// ```
    pub fn of(status: Status) -> Self {
        match status {
            Status::Created | Status::Submitted => RoutedStatus::Submitted,
            Status::Failed | Status::Canceled | Status::TimedOut => RoutedStatus::Failed,
            _ => RoutedStatus::Delivered,
        }
    }
}

/// A routed delivery (`$defs.delivery` of `api.deliveries.submit.response.v1.json`), plus the
/// intent that carries it and that intent's agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoutedDelivery {
    /// Its id.
    pub delivery_id: DeliveryId,
    /// The delivery it replays.
    pub replay_of_delivery_id: Option<DeliveryId>,
    /// Organization.
    pub org_id: OrgId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// The principal it was sent to.
    pub principal_id: PrincipalId,
    /// The alias it was sent to, if any.
    pub alias: Option<String>,
    /// The selected route's transport.
    pub transport_type: TransportType,
    /// The selected route.
    pub route_id: RouteId,
    /// Where it stands (from its intent when read).
    pub status: RoutedStatus,
    /// The sender's correlation id (also the intent's).
    pub correlation_id: Option<String>,
    /// The idempotency key it was sent with.
    pub idempotency_key: Option<String>,
    /// The work (the intent's payload).
    pub payload: Map<String, Value>,
    /// Why it failed, when it did (the intent's error).
    pub error_detail: Option<String>,
    /// When it was sent.
    pub created_at: Timestamp,
    /// When it last changed (its intent's `updated_at`).
    pub updated_at: Timestamp,
    /// The intent that carries it.
    pub intent_id: IntentId,
    /// The agent that receives it: the transport binding's handle, made absolute.
    pub to_agent: String,
}
