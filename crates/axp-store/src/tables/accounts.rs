//! Organizations, workspaces, service accounts (agents) and their API keys.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::ids::{ApiKeyId, OrgId, ServiceAccountId, WorkspaceId};

use crate::{ApiKeyRecord, NewApiKey, NewServiceAccount, Principal, Result, ServiceAccountRecord, Tenant};

/// Tables `orgs`, `workspaces`, `service_accounts`, `api_keys`.
#[async_trait]
pub trait AccountTable {
    /// Serialises first starts: held until the transaction ends, so replicas bootstrapping
    /// together create one organization (a no-op with a single writer).
    async fn lock_bootstrap(&mut self) -> Result<()>;

    /// Whether any organization exists.
    async fn any_org(&mut self) -> Result<bool>;

    /// The organization with `slug`, created at `now` if missing.
    async fn ensure_org(&mut self, slug: &str, now: Timestamp) -> Result<OrgId>;

    /// The organization a workspace belongs to. Errors: [`crate::Error::NotFound`].
    async fn org_of(&mut self, ws: WorkspaceId) -> Result<OrgId>;

    /// Creates workspace `slug` in `org`. Errors: [`crate::Error::Conflict`] when it exists.
    async fn insert_workspace(&mut self, org: OrgId, slug: &str, now: Timestamp) -> Result<WorkspaceId>;

    /// Creates a service account; returns its record. Errors: [`crate::Error::Conflict`] when
    /// its name or agent address is taken in the workspace.
    async fn insert_service_account(
        &mut self,
        tenant: &Tenant,
        sa: &NewServiceAccount,
    ) -> Result<ServiceAccountRecord>;

    /// One service account of the workspace (locked with `for_update`).
    async fn service_account(
        &mut self,
        tenant: &Tenant,
        id: ServiceAccountId,
        for_update: bool,
    ) -> Result<Option<ServiceAccountRecord>>;

    /// The service account whose agent address is `address` (locked with `for_update`).
    async fn agent_by_address(
        &mut self,
        ws: WorkspaceId,
        address: &str,
        for_update: bool,
    ) -> Result<Option<ServiceAccountRecord>>;

    /// The agents of a workspace, oldest first, at most `limit`.
    async fn list_agents(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<ServiceAccountRecord>>;

    /// Rewrites an agent's record and its push signing secret (`None` clears it).
    async fn update_agent(
        &mut self,
        ws: WorkspaceId,
        sa: &ServiceAccountRecord,
        secret: Option<&str>,
    ) -> Result<()>;

    /// The push signing secret of the agent at `address`, if it has one.
    async fn push_secret(&mut self, ws: WorkspaceId, address: &str) -> Result<Option<String>>;

    /// Adds a key to service account `account`; returns its record (no token).
    async fn insert_api_key(
        &mut self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: &NewApiKey,
    ) -> Result<ApiKeyRecord>;

    /// One key of `account`, locked until the transaction ends.
    async fn api_key_for_update(
        &mut self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: ApiKeyId,
    ) -> Result<Option<ApiKeyRecord>>;

    /// Rewrites a key's record (its `revoked_at` included).
    async fn update_api_key(&mut self, ws: WorkspaceId, record: &ApiKeyRecord) -> Result<()>;

    /// The active keys of `account`, locked until the transaction ends.
    async fn active_keys_for_update(
        &mut self,
        ws: WorkspaceId,
        account: ServiceAccountId,
    ) -> Result<Vec<ApiKeyRecord>>;

    /// The principal owning an active, unexpired key with SHA-256 `hash` at `now`, with the
    /// key's expiry; across workspaces.
    async fn principal(
        &mut self,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(Principal, Option<Timestamp>)>>;
}
