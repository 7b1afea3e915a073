//! Access requests (contract §6 "Access requests").

use async_trait::async_trait;
use axp_core::api::AccessRequest;
use axp_core::ids::AccessRequestId;

use crate::{AccessRequestFilter, Result};

/// Table `access_requests`. A request may name no organization (`create_organization`), so it
/// is keyed by its id alone.
#[async_trait]
pub trait AccessRequestTable {
    /// Records a new request.
    async fn insert_access_request(&mut self, request: &AccessRequest) -> Result<()>;

    /// One request (locked with `for_update`).
    async fn access_request(
        &mut self,
        id: AccessRequestId,
        for_update: bool,
    ) -> Result<Option<AccessRequest>>;

    /// Rewrites a request (its state and review).
    async fn update_access_request(&mut self, request: &AccessRequest) -> Result<()>;

    /// The requests matching `filter`, newest first.
    async fn list_access_requests(&mut self, filter: &AccessRequestFilter) -> Result<Vec<AccessRequest>>;
}
