//! Idempotency records (contract §1.8).

use async_trait::async_trait;
use axp_core::ids::{IntentId, WorkspaceId};

use crate::{IdempotencyClaim, Result};

/// Table `idempotency`: one record per (workspace, caller, route, key).
#[async_trait]
pub trait IdempotencyTable {
    /// The stored `(intent, response body)` of a live record for this claim, locked until the
    /// transaction ends (a racing request with the same key waits, then replays):
    /// `Ok(Some(..))` on a fingerprint match, [`crate::Error::IdempotencyConflict`] on a
    /// mismatch, `Ok(None)` when there is none (an expired record is deleted).
    async fn idempotent_replay(
        &mut self,
        ws: WorkspaceId,
        claim: &IdempotencyClaim,
    ) -> Result<Option<(IntentId, String)>>;

    /// Records the response `body` of the write this claim made.
    async fn record_idempotency(
        &mut self,
        ws: WorkspaceId,
        claim: &IdempotencyClaim,
        intent: IntentId,
        body: &str,
    ) -> Result<()>;
}
