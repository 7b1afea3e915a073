//! Memberships (who holds which role where) and address grants (which further agent addresses a
//! service account acts as).

use async_trait::async_trait;
use axp_core::access::Roles;
use axp_core::api::Member;
use axp_core::ids::{MemberId, OrgId, ServiceAccountId, WorkspaceId};

use crate::Result;

/// Tables `members` and `address_grants`.
#[async_trait]
pub trait MemberTable {
    /// Adds a membership. Errors: [`crate::Error::Conflict`] when the actor already has one
    /// for the same organization and workspace (or the same organization-wide one).
    async fn insert_member(&mut self, member: &Member) -> Result<()>;

    /// One membership of `org` (locked with `for_update`).
    async fn member(&mut self, org: OrgId, id: MemberId, for_update: bool) -> Result<Option<Member>>;

    /// Rewrites a membership (role, status, `updated_at`).
    async fn update_member(&mut self, member: &Member) -> Result<()>;

    /// Removes a membership; `false` when there was none.
    async fn delete_member(&mut self, org: OrgId, id: MemberId) -> Result<bool>;

    /// The memberships of `org`, oldest first, at most `limit`; with `ws`, only that
    /// workspace's and the organization-wide ones.
    async fn list_members(&mut self, org: OrgId, ws: Option<WorkspaceId>, limit: u32) -> Result<Vec<Member>>;

    /// The roles of `actor_id`'s active memberships that apply in workspace `ws` of `org`: the
    /// workspace's own and the organization-wide ones.
    async fn roles_of(&mut self, org: OrgId, ws: WorkspaceId, actor_id: &str) -> Result<Roles>;

    /// Grants service account `account` the agent address `address` (idempotent).
    async fn insert_grant(&mut self, ws: WorkspaceId, account: ServiceAccountId, address: &str)
    -> Result<()>;

    /// Withdraws a grant; `false` when there was none.
    async fn delete_grant(
        &mut self,
        ws: WorkspaceId,
        account: ServiceAccountId,
        address: &str,
    ) -> Result<bool>;

    /// The addresses granted to `account`, sorted.
    async fn grants_of(&mut self, ws: WorkspaceId, account: ServiceAccountId) -> Result<Vec<String>>;
}
