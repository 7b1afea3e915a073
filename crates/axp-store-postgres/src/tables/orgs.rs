//! Organizations and workspaces as described on the wire, and memberships read per actor.

use async_trait::async_trait;
use axp_core::api::{Member, Organization, Workspace};
use axp_core::ids::MemberId;
use serde_json::{Map, Value};

use super::*;

const ORG_COLUMNS: &str =
    "org_id, name, legal_name, primary_domain, status, metadata, created_at, updated_at FROM orgs";
const WORKSPACE_COLUMNS: &str =
    "workspace_id, org_id, name, environment, status, region, created_at, updated_at FROM workspaces";

/// A column holding one of a closed set of wire values.
fn wire<T: std::str::FromStr>(row: &PgRow, i: usize) -> Result<T> {
    let s: String = get(row, i)?;
    s.parse().map_err(|_| Error::Internal(format!("corrupt row: unknown value {s:?}")))
}

/// An `orgs` row, as read by [`ORG_COLUMNS`].
fn organization(r: &PgRow) -> Result<Organization> {
    Ok(Organization {
        org_id: OrgId(get(r, 0)?),
        name: get(r, 1)?,
        legal_name: get(r, 2)?,
        primary_domain: get(r, 3)?,
        status: wire(r, 4)?,
        metadata: from_json::<Map<String, Value>>(&get::<String>(r, 5)?)?,
        created_at: Timestamp::from_millis(get(r, 6)?),
        updated_at: Timestamp::from_millis(get(r, 7)?),
    })
}

/// A `workspaces` row, as read by [`WORKSPACE_COLUMNS`].
fn workspace(r: &PgRow) -> Result<Workspace> {
    Ok(Workspace {
        workspace_id: WorkspaceId(get(r, 0)?),
        org_id: OrgId(get(r, 1)?),
        name: get(r, 2)?,
        environment: wire(r, 3)?,
        status: wire(r, 4)?,
        region: get(r, 5)?,
        created_at: Timestamp::from_millis(get(r, 6)?),
        updated_at: Timestamp::from_millis(get(r, 7)?),
    })
}

#[async_trait]
impl OrgTable for PgTx {
    async fn org_slug_taken(&mut self, slug: &str) -> Result<bool> {
        let row = q("SELECT EXISTS (SELECT 1 FROM orgs WHERE slug = $1)")
            .bind(slug)
            .fetch_one(self.conn())
            .await
            .map_err(db)?;
        get(&row, 0)
    }

    async fn insert_org(&mut self, org: &Organization, slug: &str) -> Result<()> {
        q("INSERT INTO orgs (org_id, slug, created_at, name, legal_name, primary_domain, status, metadata, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(org.org_id.0)
        .bind(slug)
        .bind(org.created_at.as_millis())
        .bind(&org.name)
        .bind(&org.legal_name)
        .bind(&org.primary_domain)
        .bind(org.status.as_str())
        .bind(to_json(&org.metadata)?)
        .bind(org.updated_at.as_millis())
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn org(&mut self, id: OrgId, for_update: bool) -> Result<Option<Organization>> {
        let lock = if for_update { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {ORG_COLUMNS} WHERE org_id = $1{lock}");
        let row = q(&sql).bind(id.0).fetch_optional(self.conn()).await.map_err(db)?;
        row.as_ref().map(organization).transpose()
    }

    async fn update_org(&mut self, org: &Organization) -> Result<()> {
        q("UPDATE orgs SET name = $2, legal_name = $3, primary_domain = $4, status = $5, metadata = $6, updated_at = $7
            WHERE org_id = $1")
        .bind(org.org_id.0)
        .bind(&org.name)
        .bind(&org.legal_name)
        .bind(&org.primary_domain)
        .bind(org.status.as_str())
        .bind(to_json(&org.metadata)?)
        .bind(org.updated_at.as_millis())
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn org_counts(&mut self, org: OrgId) -> Result<(u64, u64)> {
        let row = q("SELECT (SELECT COUNT(*) FROM workspaces WHERE org_id = $1),
                            (SELECT COUNT(*) FROM members WHERE org_id = $1)")
        .bind(org.0)
        .fetch_one(self.conn())
        .await
        .map_err(db)?;
        Ok((get::<i64>(&row, 0)? as u64, get::<i64>(&row, 1)? as u64))
    }

    async fn workspace_slug_taken(&mut self, org: OrgId, slug: &str) -> Result<bool> {
        let row = q("SELECT EXISTS (SELECT 1 FROM workspaces WHERE org_id = $1 AND slug = $2)")
            .bind(org.0)
            .bind(slug)
            .fetch_one(self.conn())
            .await
            .map_err(db)?;
        get(&row, 0)
    }

    async fn create_workspace(&mut self, ws: &Workspace, slug: &str) -> Result<()> {
        q("INSERT INTO workspaces (workspace_id, org_id, slug, created_at, name, environment, region, status, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(ws.workspace_id.0)
        .bind(ws.org_id.0)
        .bind(slug)
        .bind(ws.created_at.as_millis())
        .bind(&ws.name)
        .bind(ws.environment.as_str())
        .bind(&ws.region)
        .bind(ws.status.as_str())
        .bind(ws.updated_at.as_millis())
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn workspace(
        &mut self,
        org: OrgId,
        ws: WorkspaceId,
        for_update: bool,
    ) -> Result<Option<Workspace>> {
        let lock = if for_update { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {WORKSPACE_COLUMNS} WHERE org_id = $1 AND workspace_id = $2{lock}");
        let row = q(&sql).bind(org.0).bind(ws.0).fetch_optional(self.conn()).await.map_err(db)?;
        row.as_ref().map(workspace).transpose()
    }

    async fn list_workspaces(&mut self, org: OrgId) -> Result<Vec<Workspace>> {
        let sql = format!("SELECT {WORKSPACE_COLUMNS} WHERE org_id = $1 ORDER BY created_at, workspace_id");
        let rows = q(&sql).bind(org.0).fetch_all(self.conn()).await.map_err(db)?;
        rows.iter().map(workspace).collect()
    }

    async fn update_workspace(&mut self, ws: &Workspace) -> Result<()> {
        q("UPDATE workspaces SET name = $3, status = $4, region = $5, updated_at = $6
            WHERE org_id = $1 AND workspace_id = $2")
        .bind(ws.org_id.0)
        .bind(ws.workspace_id.0)
        .bind(&ws.name)
        .bind(ws.status.as_str())
        .bind(&ws.region)
        .bind(ws.updated_at.as_millis())
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn tenant_of(&mut self, ws: WorkspaceId) -> Result<Option<Tenant>> {
        let row = q("SELECT w.org_id, w.workspace_id, o.slug, w.slug
                       FROM workspaces w JOIN orgs o ON o.org_id = w.org_id
                      WHERE w.workspace_id = $1")
        .bind(ws.0)
        .fetch_optional(self.conn())
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(Tenant {
                org_id: OrgId(get(&r, 0)?),
                workspace_id: WorkspaceId(get(&r, 1)?),
                org_slug: get(&r, 2)?,
                workspace_slug: get(&r, 3)?,
            })
        })
        .transpose()
    }

    async fn workspace_of_service_account(&mut self, id: ServiceAccountId) -> Result<Option<WorkspaceId>> {
        let row = q("SELECT workspace_id FROM service_accounts WHERE service_account_id = $1")
            .bind(id.0)
            .fetch_optional(self.conn())
            .await
            .map_err(db)?;
        row.map(|r| Ok(WorkspaceId(get(&r, 0)?))).transpose()
    }

    async fn memberships_of(&mut self, org: OrgId, actor_id: &str) -> Result<Vec<Member>> {
        let rows =
            q("SELECT body FROM members WHERE org_id = $1 AND actor_id = $2 ORDER BY created_at, member_id")
                .bind(org.0)
                .bind(actor_id)
                .fetch_all(self.conn())
                .await
                .map_err(db)?;
        bodies(rows)
    }

    async fn active_owners_for_update(&mut self, org: OrgId) -> Result<Vec<MemberId>> {
        let rows = q("SELECT member_id FROM members
                       WHERE org_id = $1 AND scope = '*' AND role = 'org_owner' AND status = 'active'
                       ORDER BY member_id FOR UPDATE")
        .bind(org.0)
        .fetch_all(self.conn())
        .await
        .map_err(db)?;
        rows.iter().map(|r| Ok(MemberId(get(r, 0)?))).collect()
    }
}
