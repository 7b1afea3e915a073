//! Memberships and address grants.

use async_trait::async_trait;
use axp_core::access::Roles;
use axp_core::api::Member;
use axp_core::ids::MemberId;

use super::*;

/// The `scope` column: the workspace id, or `*` for the whole organization.
fn scope(ws: Option<WorkspaceId>) -> String {
    ws.map_or_else(|| "*".to_owned(), |ws| ws.to_string())
}

#[async_trait]
impl MemberTable for PgTx {
    async fn insert_member(&mut self, m: &Member) -> Result<()> {
        q("INSERT INTO members (org_id, member_id, actor_id, scope, role, status, created_at, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(m.org_id.0)
        .bind(m.member_id.0)
        .bind(&m.actor_id)
        .bind(scope(m.workspace_id))
        .bind(m.role.as_str())
        .bind(&m.status)
        .bind(m.created_at.as_millis())
        .bind(to_json(m)?)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn member(&mut self, org: OrgId, id: MemberId, for_update: bool) -> Result<Option<Member>> {
        let sql = if for_update {
            "SELECT body FROM members WHERE org_id = $1 AND member_id = $2 FOR UPDATE"
        } else {
            "SELECT body FROM members WHERE org_id = $1 AND member_id = $2"
        };
        body(q(sql).bind(org.0).bind(id.0).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn update_member(&mut self, m: &Member) -> Result<()> {
        q("UPDATE members SET role = $3, status = $4, body = $5 WHERE org_id = $1 AND member_id = $2")
            .bind(m.org_id.0)
            .bind(m.member_id.0)
            .bind(m.role.as_str())
            .bind(&m.status)
            .bind(to_json(m)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn delete_member(&mut self, org: OrgId, id: MemberId) -> Result<bool> {
        let done = q("DELETE FROM members WHERE org_id = $1 AND member_id = $2")
            .bind(org.0)
            .bind(id.0)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_members(&mut self, org: OrgId, ws: Option<WorkspaceId>, limit: u32) -> Result<Vec<Member>> {
        let rows = q("SELECT body FROM members
                       WHERE org_id = $1 AND ($2::text IS NULL OR scope = $2 OR scope = '*')
                       ORDER BY created_at, member_id LIMIT $3")
        .bind(org.0)
        .bind(ws.map(|w| w.to_string()))
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        bodies(rows)
    }

    async fn roles_of(&mut self, org: OrgId, ws: WorkspaceId, actor_id: &str) -> Result<Roles> {
        let rows = q("SELECT role FROM members
                       WHERE org_id = $1 AND actor_id = $2 AND scope IN ($3, '*') AND status = 'active'")
        .bind(org.0)
        .bind(actor_id)
        .bind(ws.to_string())
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        Ok(Roles::from_names(rows.iter().map(|r| get::<&str>(r, 0)).collect::<Result<Vec<_>>>()?))
    }

    async fn insert_grant(
        &mut self,
        ws: WorkspaceId,
        account: ServiceAccountId,
        address: &str,
    ) -> Result<()> {
        q("INSERT INTO address_grants (workspace_id, service_account_id, agent_address) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING")
        .bind(ws.0)
        .bind(account.0)
        .bind(address)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn delete_grant(
        &mut self,
        ws: WorkspaceId,
        account: ServiceAccountId,
        address: &str,
    ) -> Result<bool> {
        let done = q("DELETE FROM address_grants
                       WHERE workspace_id = $1 AND service_account_id = $2 AND agent_address = $3")
        .bind(ws.0)
        .bind(account.0)
        .bind(address)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn grants_of(&mut self, ws: WorkspaceId, account: ServiceAccountId) -> Result<Vec<String>> {
        let rows = q("SELECT agent_address FROM address_grants
                       WHERE workspace_id = $1 AND service_account_id = $2 ORDER BY agent_address")
        .bind(ws.0)
        .bind(account.0)
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter().map(|r| get(r, 0)).collect()
    }
}
