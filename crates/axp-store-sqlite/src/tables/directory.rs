//! Principals and aliases.

use async_trait::async_trait;
use axp_core::api::{Alias, DirectoryPrincipal};
use axp_core::ids::{AliasId, PrincipalId};
use axp_core::tenancy::AliasStatus;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl DirectoryTable for SqliteTx<'_> {
    async fn insert_principal(&mut self, p: &DirectoryPrincipal) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO principals (workspace_id, principal_id, org_id, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![
                p.workspace_id.to_string(),
                p.principal_id.to_string(),
                p.org_id.to_string(),
                p.created_at.as_millis(),
                to_json(p)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn principal_by_id(&mut self, id: PrincipalId) -> Result<Option<DirectoryPrincipal>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM principals WHERE principal_id = ?1")
            .map_err(db)?
            .query_row(params![id.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn insert_alias(&mut self, a: &Alias) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO aliases (workspace_id, alias_id, principal_id, alias, status, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(db)?
            .execute(params![
                a.workspace_id.to_string(),
                a.alias_id.to_string(),
                a.principal_id.to_string(),
                a.alias,
                a.status.as_str(),
                a.created_at.as_millis(),
                to_json(a)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn alias(&mut self, id: AliasId, _for_update: bool) -> Result<Option<Alias>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM aliases WHERE alias_id = ?1")
            .map_err(db)?
            .query_row(params![id.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn update_alias(&mut self, a: &Alias) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE aliases SET status = ?3, body = ?4 WHERE workspace_id = ?1 AND alias_id = ?2",
            )
            .map_err(db)?
            .execute(params![
                a.workspace_id.to_string(),
                a.alias_id.to_string(),
                a.status.as_str(),
                to_json(a)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn list_aliases(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<Alias>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT body FROM aliases WHERE workspace_id = ?1 ORDER BY created_at, alias_id LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![ws.to_string(), limit], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    async fn active_alias(&mut self, ws: WorkspaceId, name: &str) -> Result<Option<Alias>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM aliases WHERE workspace_id = ?1 AND alias = ?2 AND status = ?3")
            .map_err(db)?
            .query_row(params![ws.to_string(), name, AliasStatus::Active.as_str()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }
}
