//! Principals and aliases.

use async_trait::async_trait;
use axp_core::api::{Alias, DirectoryPrincipal};
use axp_core::ids::{AliasId, PrincipalId};
use axp_core::tenancy::AliasStatus;

use super::*;

#[async_trait]
impl DirectoryTable for PgTx {
    async fn insert_principal(&mut self, p: &DirectoryPrincipal) -> Result<()> {
        q("INSERT INTO principals (workspace_id, principal_id, org_id, created_at, body) VALUES ($1, $2, $3, $4, $5)")
            .bind(p.workspace_id.0)
            .bind(p.principal_id.0)
            .bind(p.org_id.0)
            .bind(p.created_at.as_millis())
            .bind(to_json(p)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn principal_by_id(&mut self, id: PrincipalId) -> Result<Option<DirectoryPrincipal>> {
        body(
            q("SELECT body FROM principals WHERE principal_id = $1")
                .bind(id.0)
                .fetch_optional(self.conn())
                .await
                .map_err(db)?,
        )
    }

    async fn insert_alias(&mut self, a: &Alias) -> Result<()> {
        q("INSERT INTO aliases (workspace_id, alias_id, principal_id, alias, status, created_at, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(a.workspace_id.0)
        .bind(a.alias_id.0)
        .bind(a.principal_id.0)
        .bind(&a.alias)
        .bind(a.status.as_str())
        .bind(a.created_at.as_millis())
        .bind(to_json(a)?)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn alias(&mut self, id: AliasId, for_update: bool) -> Result<Option<Alias>> {
        let sql = if for_update {
            "SELECT body FROM aliases WHERE alias_id = $1 FOR UPDATE"
        } else {
            "SELECT body FROM aliases WHERE alias_id = $1"
        };
        body(q(sql).bind(id.0).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn update_alias(&mut self, a: &Alias) -> Result<()> {
        q("UPDATE aliases SET status = $3, body = $4 WHERE workspace_id = $1 AND alias_id = $2")
            .bind(a.workspace_id.0)
            .bind(a.alias_id.0)
            .bind(a.status.as_str())
            .bind(to_json(a)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_aliases(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<Alias>> {
        bodies(
            q("SELECT body FROM aliases WHERE workspace_id = $1 ORDER BY created_at, alias_id LIMIT $2")
                .bind(ws.0)
                .bind(i64::from(limit))
                .fetch_all(self.conn())
                .await
                .map_err(db)?,
        )
    }

    async fn active_alias(&mut self, ws: WorkspaceId, name: &str) -> Result<Option<Alias>> {
        body(
            q("SELECT body FROM aliases WHERE workspace_id = $1 AND alias = $2 AND status = $3")
                .bind(ws.0)
                .bind(name)
                .bind(AliasStatus::Active.as_str())
                .fetch_optional(self.conn())
                .await
                .map_err(db)?,
        )
    }
}
