//! Push deliveries: agent pushes and webhook events, with their attempts.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::delivery::{Delivery, DeliveryStatus};
use axp_core::ids::{DeliveryId, WorkspaceId};

use crate::Result;

/// Table `deliveries`. `due_at` is when the dispatcher takes the delivery next (`None`: never,
/// it is settled); `secret_owner` names whose signing secret signs it (an agent address or a
/// subscription id).
#[async_trait]
pub trait DeliveryTable {
    /// Writes a new delivery (with its `event_id`, if any).
    async fn insert_delivery(
        &mut self,
        ws: WorkspaceId,
        d: &Delivery,
        secret_owner: &str,
        due_at: Option<Timestamp>,
    ) -> Result<()>;

    /// Rewrites a delivery's state.
    async fn update_delivery(
        &mut self,
        ws: WorkspaceId,
        d: &Delivery,
        due_at: Option<Timestamp>,
    ) -> Result<()>;

    /// One delivery and its secret owner (locked with `for_update`).
    async fn delivery(
        &mut self,
        ws: WorkspaceId,
        id: DeliveryId,
        for_update: bool,
    ) -> Result<Option<(Delivery, String)>>;

    /// Up to `limit` deliveries due at `now`, earliest first, across workspaces, locked and
    /// skipped by concurrent claimers: `(workspace, delivery, secret owner)`.
    async fn claim_due_deliveries(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, Delivery, String)>>;

    /// When the earliest pending delivery is due, across workspaces.
    async fn next_delivery_due(&mut self) -> Result<Option<Timestamp>>;

    /// Deliveries of the workspace, newest first, optionally only those in `status`.
    async fn list_deliveries(
        &mut self,
        ws: WorkspaceId,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
}
