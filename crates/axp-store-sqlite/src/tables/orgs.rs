//! Organizations and workspaces as described on the wire, and memberships read per actor.

use async_trait::async_trait;
use axp_core::api::{Member, Organization, Workspace};
use axp_core::ids::MemberId;
use r2d2_sqlite::rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::*;

const ORG_COLUMNS: &str =
    "org_id, name, legal_name, primary_domain, status, metadata, created_at, updated_at FROM orgs";
const WORKSPACE_COLUMNS: &str =
    "workspace_id, org_id, name, environment, status, region, created_at, updated_at FROM workspaces";

/// A column holding one of a closed set of wire values.
fn wire<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse().map_err(|_| Error::Internal(format!("corrupt row: unknown value {s:?}")))
}

/// An `orgs` row, as read by [`ORG_COLUMNS`].
type OrgRow = (String, String, Option<String>, Option<String>, String, String, i64, i64);

fn org_row(r: &Row<'_>) -> rusqlite::Result<OrgRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

fn organization(row: OrgRow) -> Result<Organization> {
    let (id, name, legal_name, primary_domain, status, metadata, created_at, updated_at) = row;
    Ok(Organization {
        org_id: OrgId(uuid_of(&id)?),
        name,
        legal_name,
        primary_domain,
        status: wire(&status)?,
        metadata: from_json::<Map<String, Value>>(&metadata)?,
        created_at: Timestamp::from_millis(created_at),
        updated_at: Timestamp::from_millis(updated_at),
    })
}

/// A `workspaces` row, as read by [`WORKSPACE_COLUMNS`].
type WorkspaceRow = (String, String, String, String, String, Option<String>, i64, i64);

fn workspace_row(r: &Row<'_>) -> rusqlite::Result<WorkspaceRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

fn workspace(row: WorkspaceRow) -> Result<Workspace> {
    let (id, org, name, environment, status, region, created_at, updated_at) = row;
    Ok(Workspace {
        workspace_id: WorkspaceId(uuid_of(&id)?),
        org_id: OrgId(uuid_of(&org)?),
        name,
        environment: wire(&environment)?,
        status: wire(&status)?,
        region,
        created_at: Timestamp::from_millis(created_at),
        updated_at: Timestamp::from_millis(updated_at),
    })
}

fn exists(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
    conn.prepare_cached(sql).map_err(db)?.query_row(params, |r| r.get(0)).map_err(db)
}

#[async_trait]
impl OrgTable for SqliteTx<'_> {
    async fn org_slug_taken(&mut self, slug: &str) -> Result<bool> {
        exists(self.conn, "SELECT EXISTS (SELECT 1 FROM orgs WHERE slug = ?1)", params![slug])
    }

    async fn insert_org(&mut self, org: &Organization, slug: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO orgs (org_id, slug, created_at, name, legal_name, primary_domain, status, metadata, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(db)?
            .execute(params![
                org.org_id.to_string(),
                slug,
                org.created_at.as_millis(),
                org.name,
                org.legal_name,
                org.primary_domain,
                org.status.as_str(),
                to_json(&org.metadata)?,
                org.updated_at.as_millis()
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn org(&mut self, id: OrgId, _for_update: bool) -> Result<Option<Organization>> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {ORG_COLUMNS} WHERE org_id = ?1"))
            .map_err(db)?
            .query_row(params![id.to_string()], org_row)
            .optional()
            .map_err(db)?;
        row.map(organization).transpose()
    }

    async fn update_org(&mut self, org: &Organization) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE orgs SET name = ?2, legal_name = ?3, primary_domain = ?4, status = ?5, metadata = ?6,
                        updated_at = ?7
                  WHERE org_id = ?1",
            )
            .map_err(db)?
            .execute(params![
                org.org_id.to_string(),
                org.name,
                org.legal_name,
                org.primary_domain,
                org.status.as_str(),
                to_json(&org.metadata)?,
                org.updated_at.as_millis()
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn org_counts(&mut self, org: OrgId) -> Result<(u64, u64)> {
        self.conn
            .prepare_cached(
                "SELECT (SELECT COUNT(*) FROM workspaces WHERE org_id = ?1),
                        (SELECT COUNT(*) FROM members WHERE org_id = ?1)",
            )
            .map_err(db)?
            .query_row(params![org.to_string()], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .map_err(db)
    }

    async fn workspace_slug_taken(&mut self, org: OrgId, slug: &str) -> Result<bool> {
        exists(
            self.conn,
            "SELECT EXISTS (SELECT 1 FROM workspaces WHERE org_id = ?1 AND slug = ?2)",
            params![org.to_string(), slug],
        )
    }

    async fn create_workspace(&mut self, ws: &Workspace, slug: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO workspaces (workspace_id, org_id, slug, created_at, name, environment, region, status, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(db)?
            .execute(params![
                ws.workspace_id.to_string(),
                ws.org_id.to_string(),
                slug,
                ws.created_at.as_millis(),
                ws.name,
                ws.environment.as_str(),
                ws.region,
                ws.status.as_str(),
                ws.updated_at.as_millis()
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn workspace(
        &mut self,
        org: OrgId,
        ws: WorkspaceId,
        _for_update: bool,
    ) -> Result<Option<Workspace>> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {WORKSPACE_COLUMNS} WHERE org_id = ?1 AND workspace_id = ?2"))
            .map_err(db)?
            .query_row(params![org.to_string(), ws.to_string()], workspace_row)
            .optional()
            .map_err(db)?;
        row.map(workspace).transpose()
    }

    async fn list_workspaces(&mut self, org: OrgId) -> Result<Vec<Workspace>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {WORKSPACE_COLUMNS} WHERE org_id = ?1 ORDER BY created_at, workspace_id"
            ))
            .map_err(db)?;
        let rows = stmt.query_map(params![org.to_string()], workspace_row).map_err(db)?;
        rows.map(|r| workspace(r.map_err(db)?)).collect()
    }

    async fn update_workspace(&mut self, ws: &Workspace) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE workspaces SET name = ?3, status = ?4, region = ?5, updated_at = ?6
                  WHERE org_id = ?1 AND workspace_id = ?2",
            )
            .map_err(db)?
            .execute(params![
                ws.org_id.to_string(),
                ws.workspace_id.to_string(),
                ws.name,
                ws.status.as_str(),
                ws.region,
                ws.updated_at.as_millis()
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn tenant_of(&mut self, ws: WorkspaceId) -> Result<Option<Tenant>> {
        let row: Option<(String, String, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT w.org_id, w.workspace_id, o.slug, w.slug
                   FROM workspaces w JOIN orgs o ON o.org_id = w.org_id
                  WHERE w.workspace_id = ?1",
            )
            .map_err(db)?
            .query_row(params![ws.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()
            .map_err(db)?;
        row.map(|(org, ws, org_slug, workspace_slug)| {
            Ok(Tenant {
                org_id: OrgId(uuid_of(&org)?),
                workspace_id: WorkspaceId(uuid_of(&ws)?),
                org_slug,
                workspace_slug,
            })
        })
        .transpose()
    }

    async fn workspace_of_service_account(&mut self, id: ServiceAccountId) -> Result<Option<WorkspaceId>> {
        let ws: Option<String> = self
            .conn
            .prepare_cached("SELECT workspace_id FROM service_accounts WHERE service_account_id = ?1")
            .map_err(db)?
            .query_row(params![id.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        ws.map(|w| Ok(WorkspaceId(uuid_of(&w)?))).transpose()
    }

    async fn memberships_of(&mut self, org: OrgId, actor_id: &str) -> Result<Vec<Member>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT body FROM members WHERE org_id = ?1 AND actor_id = ?2 ORDER BY created_at, member_id",
            )
            .map_err(db)?;
        let rows =
            stmt.query_map(params![org.to_string(), actor_id], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    async fn active_owners_for_update(&mut self, org: OrgId) -> Result<Vec<MemberId>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT member_id FROM members
                  WHERE org_id = ?1 AND scope = '*' AND role = 'org_owner' AND status = 'active'",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![org.to_string()], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.map(|id| Ok(MemberId(uuid_of(&id.map_err(db)?)?))).collect()
    }
}
