//! A workspace's directory: principals and the aliases bound to them (contract §6 "Principals,
//! aliases").

use async_trait::async_trait;
use axp_core::api::{Alias, DirectoryPrincipal};
use axp_core::ids::{AliasId, PrincipalId, WorkspaceId};

use crate::Result;

/// Tables `principals` and `aliases`. Ids are unique across workspaces, so a principal or an
/// alias is found by id alone (the server then checks the caller's access to its workspace).
#[async_trait]
pub trait DirectoryTable {
    /// Adds a principal.
    async fn insert_principal(&mut self, principal: &DirectoryPrincipal) -> Result<()>;

    /// One principal, by id.
    async fn principal_by_id(&mut self, id: PrincipalId) -> Result<Option<DirectoryPrincipal>>;

    /// Binds an alias. Errors: [`crate::Error::Conflict`] when an active alias of its workspace
    /// has the same name.
    async fn insert_alias(&mut self, alias: &Alias) -> Result<()>;

    /// One alias, by id (locked with `for_update`).
    async fn alias(&mut self, id: AliasId, for_update: bool) -> Result<Option<Alias>>;

    /// Rewrites an alias (its status, `updated_at`, `revoked_at`).
    async fn update_alias(&mut self, alias: &Alias) -> Result<()>;

    /// The aliases of workspace `ws`, revoked ones included, oldest first, at most `limit`.
    async fn list_aliases(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<Alias>>;

    /// The active alias named `name` in workspace `ws`.
    async fn active_alias(&mut self, ws: WorkspaceId, name: &str) -> Result<Option<Alias>>;
}
