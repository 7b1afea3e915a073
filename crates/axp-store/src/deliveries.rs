//! What the server asks of storage for push deliveries (contract §5.4, §5.5): claiming the
//! due ones, recording attempts, deferring, listing and replaying. A part of [`crate::Store`]
//! (its supertrait), implemented by `axp_engine::Ledger` like the rest.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::ids::DeliveryId;

use crate::{AttemptReport, PushJob, Result, Tenant};

/// Delivery storage; see [`crate::Store`] for the conventions (every call one transaction or one read).
#[async_trait]
pub trait DeliveryStore {
    /// Takes up to `limit` push deliveries due at `now` (pending and due, or claimed by an
    /// attempt that never reported back before `claim_until` of its claim), marks them
    /// delivering until `claim_until`, and returns what to send. Agent pushes whose intent
    /// ended meanwhile are marked failed instead. Across all workspaces (the dispatcher's).
    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        claim_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PushJob>>;

    /// When the earliest pending delivery is due.
    async fn next_delivery_due(&self) -> Result<Option<Timestamp>>;

    /// Records an attempt and its consequences in one transaction: a delivered agent push
    /// delivers the intent (with a lease; an inline result completes it), a failed one counts a
    /// delivery attempt of the intent (`intent.delivery_failed` once `max_delivery_attempts` is
    /// spent); the delivery is retried at `retry_at` or dead-lettered.
    async fn record_attempt(
        &self,
        workspace: axp_core::WorkspaceId,
        delivery_id: DeliveryId,
        report: AttemptReport,
    ) -> Result<()>;

    /// Puts a claimed delivery back to pending until `until` without an attempt: no attempt is
    /// recorded or counted (on the delivery or its intent), `error_detail` says `why`, and
    /// `next_attempt_at` is `until`. The dispatcher's answer to a spent quota. A delivery that
    /// is not being delivered (settled, or already pending) is left alone. Errors:
    /// [`crate::Error::NotFound`].
    async fn defer_delivery(
        &self,
        workspace: axp_core::WorkspaceId,
        delivery_id: DeliveryId,
        until: Timestamp,
        why: String,
        now: Timestamp,
    ) -> Result<()>;

    /// Deliveries of the workspace, newest first, optionally only those in `status`.
    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        status: Option<axp_core::delivery::DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<axp_core::delivery::Delivery>>;

    /// One delivery. Errors: [`crate::Error::NotFound`].
    async fn get_delivery(&self, tenant: &Tenant, id: DeliveryId) -> Result<axp_core::delivery::Delivery>;

    /// Replays a dead-lettered (or failed) delivery as a new pending delivery linked to it, with
    /// the same body and `message_id`. Errors: [`crate::Error::NotFound`]; [`crate::Error::Conflict`] when it
    /// is still pending or delivering, or its intent has ended.
    async fn replay_delivery(
        &self,
        tenant: &Tenant,
        id: DeliveryId,
        now: Timestamp,
    ) -> Result<axp_core::delivery::Delivery>;
}
