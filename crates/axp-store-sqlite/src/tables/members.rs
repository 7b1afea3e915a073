//! Memberships and address grants.

use async_trait::async_trait;
use axp_core::access::Roles;
use axp_core::api::Member;
use axp_core::ids::MemberId;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

/// The `scope` column: the workspace id, or `*` for the whole organization.
fn scope(ws: Option<WorkspaceId>) -> String {
    ws.map_or_else(|| "*".to_owned(), |ws| ws.to_string())
}

#[async_trait]
impl MemberTable for SqliteTx<'_> {
    async fn insert_member(&mut self, m: &Member) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO members (org_id, member_id, actor_id, scope, role, status, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(db)?
            .execute(params![
                m.org_id.to_string(),
                m.member_id.to_string(),
                m.actor_id,
                scope(m.workspace_id),
                m.role.as_str(),
                m.status,
                m.created_at.as_millis(),
                to_json(m)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn member(&mut self, org: OrgId, id: MemberId, _for_update: bool) -> Result<Option<Member>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM members WHERE org_id = ?1 AND member_id = ?2")
            .map_err(db)?
            .query_row(params![org.to_string(), id.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn update_member(&mut self, m: &Member) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE members SET role = ?3, status = ?4, body = ?5 WHERE org_id = ?1 AND member_id = ?2",
            )
            .map_err(db)?
            .execute(params![
                m.org_id.to_string(),
                m.member_id.to_string(),
                m.role.as_str(),
                m.status,
                to_json(m)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn delete_member(&mut self, org: OrgId, id: MemberId) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM members WHERE org_id = ?1 AND member_id = ?2")
            .map_err(db)?
            .execute(params![org.to_string(), id.to_string()])
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn list_members(&mut self, org: OrgId, ws: Option<WorkspaceId>, limit: u32) -> Result<Vec<Member>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT body FROM members WHERE org_id = ?1 AND (?2 IS NULL OR scope = ?2 OR scope = '*')
                  ORDER BY created_at, member_id LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![org.to_string(), ws.map(|w| w.to_string()), limit], |r| r.get::<_, String>(0))
            .map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    async fn roles_of(&mut self, org: OrgId, ws: WorkspaceId, actor_id: &str) -> Result<Roles> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT role FROM members
                  WHERE org_id = ?1 AND actor_id = ?2 AND scope IN (?3, '*') AND status = 'active'",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![org.to_string(), actor_id, ws.to_string()], |r| r.get::<_, String>(0))
            .map_err(db)?;
        Ok(Roles::from_names(rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?))
    }

    async fn insert_grant(
        &mut self,
        ws: WorkspaceId,
        account: ServiceAccountId,
        address: &str,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO address_grants (workspace_id, service_account_id, agent_address) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )
            .map_err(db)?
            .execute(params![ws.to_string(), account.to_string(), address])
            .map_err(db)?;
        Ok(())
    }

    async fn delete_grant(
        &mut self,
        ws: WorkspaceId,
        account: ServiceAccountId,
        address: &str,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "DELETE FROM address_grants WHERE workspace_id = ?1 AND service_account_id = ?2 AND agent_address = ?3",
            )
            .map_err(db)?
            .execute(params![ws.to_string(), account.to_string(), address])
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn grants_of(&mut self, ws: WorkspaceId, account: ServiceAccountId) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT agent_address FROM address_grants WHERE workspace_id = ?1 AND service_account_id = ?2
                  ORDER BY agent_address",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![ws.to_string(), account.to_string()], |r| r.get(0)).map_err(db)?;
        rows.map(|r| r.map_err(db)).collect()
    }
}
