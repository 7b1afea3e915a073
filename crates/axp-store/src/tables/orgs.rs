//! Organizations and workspaces as described on the wire (contract §6 "Organizations"), and the
//! organization-level reads of memberships that access checks and the last-owner rule need.

use async_trait::async_trait;
use axp_core::api::{Member, Organization, Workspace};
use axp_core::ids::{MemberId, OrgId, ServiceAccountId, WorkspaceId};

use crate::{Result, Tenant};

/// Tables `orgs` and `workspaces` (their descriptive columns), which workspace holds a service
/// account, and `members` read per actor.
#[async_trait]
pub trait OrgTable {
    /// Whether an organization has slug `slug`.
    async fn org_slug_taken(&mut self, slug: &str) -> Result<bool>;

    /// Creates an organization with `slug`. Errors: [`crate::Error::Conflict`] when the slug is
    /// taken.
    async fn insert_org(&mut self, org: &Organization, slug: &str) -> Result<()>;

    /// One organization (locked with `for_update`).
    async fn org(&mut self, id: OrgId, for_update: bool) -> Result<Option<Organization>>;

    /// Rewrites an organization's descriptive columns (name, legal name, domain, status,
    /// metadata, `updated_at`); its slug stays.
    async fn update_org(&mut self, org: &Organization) -> Result<()>;

    /// How many workspaces and memberships (of any status) `org` has.
    async fn org_counts(&mut self, org: OrgId) -> Result<(u64, u64)>;

    /// Whether a workspace of `org` has slug `slug`.
    async fn workspace_slug_taken(&mut self, org: OrgId, slug: &str) -> Result<bool>;

    /// Creates a workspace with `slug`. Errors: [`crate::Error::Conflict`] when the slug is
    /// taken in its organization.
    async fn create_workspace(&mut self, ws: &Workspace, slug: &str) -> Result<()>;

    /// One workspace of `org` (locked with `for_update`).
    async fn workspace(&mut self, org: OrgId, ws: WorkspaceId, for_update: bool)
    -> Result<Option<Workspace>>;

    /// The workspaces of `org`, oldest first.
    async fn list_workspaces(&mut self, org: OrgId) -> Result<Vec<Workspace>>;

    /// Rewrites a workspace's descriptive columns (name, status, region, `updated_at`).
    async fn update_workspace(&mut self, ws: &Workspace) -> Result<()>;

    /// The tenant (ids and slugs) of workspace `ws`, across organizations.
    async fn tenant_of(&mut self, ws: WorkspaceId) -> Result<Option<Tenant>>;

    /// The workspace service account `id` belongs to, across organizations.
    async fn workspace_of_service_account(&mut self, id: ServiceAccountId) -> Result<Option<WorkspaceId>>;

    /// Every membership of `actor_id` in `org`, of any status and scope, oldest first.
    async fn memberships_of(&mut self, org: OrgId, actor_id: &str) -> Result<Vec<Member>>;

    /// The active organization-wide `org_owner` memberships of `org`, locked until the
    /// transaction ends (so two removals of owners cannot both see the other one).
    async fn active_owners_for_update(&mut self, org: OrgId) -> Result<Vec<MemberId>>;
}
