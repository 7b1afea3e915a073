//! Organizations, workspaces, service accounts and API keys.

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, OptionalExtension, params};

use axp_core::access::Roles;
use axp_store::Actor;

use super::*;

#[async_trait]
impl AccountTable for SqliteTx<'_> {
    async fn lock_bootstrap(&mut self) -> Result<()> {
        // One writer: nothing runs beside this transaction.
        Ok(())
    }

    async fn any_org(&mut self) -> Result<bool> {
        let conn = &*self.conn;
        conn.query_row("SELECT EXISTS (SELECT 1 FROM orgs)", [], |r| r.get(0)).map_err(db)
    }

    /// The org with `slug`, created if missing.
    async fn ensure_org(&mut self, slug: &str, now: Timestamp) -> Result<OrgId> {
        let conn = &*self.conn;
        let existing: Option<String> = conn
            .query_row("SELECT org_id FROM orgs WHERE slug = ?1", [slug], |r| r.get(0))
            .optional()
            .map_err(db)?;
        if let Some(id) = existing {
            return id.parse().map(OrgId).map_err(|e| Error::Internal(e.to_string()));
        }
        let id = OrgId::new();
        conn.execute(
            "INSERT INTO orgs (org_id, slug, created_at, name, updated_at) VALUES (?1, ?2, ?3, ?2, ?3)",
            params![id.to_string(), slug, now.as_millis()],
        )
        .map_err(db)?;
        Ok(id)
    }

    async fn org_of(&mut self, ws: WorkspaceId) -> Result<OrgId> {
        let conn = &*self.conn;
        let id: String = conn
            .prepare_cached("SELECT org_id FROM workspaces WHERE workspace_id = ?1")
            .map_err(db)?
            .query_row(params![ws.to_string()], |r| r.get(0))
            .map_err(db)?;
        id.parse().map(OrgId).map_err(|e| Error::Internal(e.to_string()))
    }

    async fn insert_workspace(&mut self, org: OrgId, slug: &str, now: Timestamp) -> Result<WorkspaceId> {
        let conn = &*self.conn;
        let id = WorkspaceId::new();
        conn.execute(
            "INSERT INTO workspaces (workspace_id, org_id, slug, created_at, name, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?3, ?4)",
            params![id.to_string(), org.to_string(), slug, now.as_millis()],
        )
        .map_err(db)?;
        Ok(id)
    }

    async fn insert_service_account(
        &mut self,
        tenant: &Tenant,
        sa: &NewServiceAccount,
    ) -> Result<ServiceAccountRecord> {
        let conn = &*self.conn;
        let record = sa.record(tenant);
        conn.execute(
            "INSERT INTO service_accounts (workspace_id, service_account_id, name, agent_address, body, push_secret)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                tenant.workspace_id.to_string(),
                sa.id.to_string(),
                sa.name,
                sa.agent_address.as_str(),
                to_json(&record)?,
                sa.push.as_ref().map(|p| p.secret.as_str())
            ],
        )
        .map_err(db)?;
        Ok(record)
    }

    async fn service_account(
        &mut self,
        tenant: &Tenant,
        id: ServiceAccountId,
        _for_update: bool,
    ) -> Result<Option<ServiceAccountRecord>> {
        let conn = &*self.conn;
        conn.query_row(
            "SELECT body FROM service_accounts WHERE workspace_id = ?1 AND service_account_id = ?2",
            params![tenant.workspace_id.to_string(), id.to_string()],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .map_err(db)?
        .map(|b| from_json(&b))
        .transpose()
    }

    async fn agent_by_address(
        &mut self,
        ws: WorkspaceId,
        address: &str,
        _for_update: bool,
    ) -> Result<Option<ServiceAccountRecord>> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT body FROM service_accounts WHERE workspace_id = ?1 AND agent_address = ?2",
        )
        .map_err(db)?
        .query_row(params![ws.to_string(), address], |r| r.get::<_, String>(0))
        .optional()
        .map_err(db)?
        .map(|b| from_json(&b))
        .transpose()
    }

    /// The agents of a workspace, oldest first.
    async fn list_agents(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<ServiceAccountRecord>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT body FROM service_accounts WHERE workspace_id = ?1
                  ORDER BY service_account_id LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![ws.to_string(), limit], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    /// Rewrites an agent's record and its push secret.
    async fn update_agent(
        &mut self,
        ws: WorkspaceId,
        sa: &ServiceAccountRecord,
        push_secret: Option<&str>,
    ) -> Result<()> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "UPDATE service_accounts SET body = ?1, push_secret = ?2 WHERE workspace_id = ?3 AND service_account_id = ?4",
        )
        .map_err(db)?
        .execute(params![to_json(sa)?, push_secret, ws.to_string(), sa.service_account_id.to_string()])
        .map_err(db)?;
        Ok(())
    }

    /// The signing secret of the `http` agent at `address`.
    async fn push_secret(&mut self, ws: WorkspaceId, address: &str) -> Result<Option<String>> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT push_secret FROM service_accounts WHERE workspace_id = ?1 AND agent_address = ?2",
        )
        .map_err(db)?
        .query_row(params![ws.to_string(), address], |r| r.get::<_, Option<String>>(0))
        .optional()
        .map(Option::flatten)
        .map_err(db)
    }

    async fn insert_api_key(
        &mut self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: &NewApiKey,
    ) -> Result<ApiKeyRecord> {
        let conn = &*self.conn;
        let record = key.record(account);
        conn.execute(
            "INSERT INTO api_keys (key_hash, workspace_id, key_id, service_account_id, body, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                key.hash.0.as_slice(),
                tenant.workspace_id.to_string(),
                key.key_id.to_string(),
                account.to_string(),
                to_json(&record)?,
                key.expires_at.map(Timestamp::as_millis)
            ],
        )
        .map_err(db)?;
        Ok(record)
    }

    async fn api_key_for_update(
        &mut self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: ApiKeyId,
    ) -> Result<Option<ApiKeyRecord>> {
        let conn = &*self.conn;
        conn.query_row(
            "SELECT body FROM api_keys WHERE workspace_id = ?1 AND key_id = ?2 AND service_account_id = ?3",
            params![tenant.workspace_id.to_string(), key.to_string(), account.to_string()],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .map_err(db)?
        .map(|b| from_json(&b))
        .transpose()
    }

    async fn update_api_key(&mut self, ws: WorkspaceId, record: &ApiKeyRecord) -> Result<()> {
        let conn = &*self.conn;
        conn.execute(
            "UPDATE api_keys SET body = ?1, revoked_at = ?2 WHERE workspace_id = ?3 AND key_id = ?4",
            params![
                to_json(record)?,
                record.revoked_at.map(Timestamp::as_millis),
                ws.to_string(),
                record.key_id.to_string()
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    async fn active_keys_for_update(
        &mut self,
        ws: WorkspaceId,
        account: ServiceAccountId,
    ) -> Result<Vec<ApiKeyRecord>> {
        let conn = &*self.conn;
        let mut stmt = conn
            .prepare_cached("SELECT body FROM api_keys WHERE workspace_id = ?1 AND service_account_id = ?2 AND revoked_at IS NULL")
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ws.to_string(), account.to_string()], |r| r.get::<_, String>(0))
            .map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }

    /// The principal behind an active, unexpired key, with the key's expiry (`None`: never).
    async fn principal(
        &mut self,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(Principal, Option<Timestamp>)>> {
        let conn = &*self.conn;
        conn.prepare_cached(
            "SELECT w.org_id, w.workspace_id, o.slug, w.slug, k.service_account_id, k.key_id, s.agent_address,
                    k.expires_at
               FROM api_keys k
               JOIN workspaces w ON w.workspace_id = k.workspace_id
               JOIN orgs o ON o.org_id = w.org_id
               JOIN service_accounts s ON s.workspace_id = k.workspace_id AND s.service_account_id = k.service_account_id
              WHERE k.key_hash = ?1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?2)",
        )
        .map_err(db)?
        .query_row(params![hash.as_slice(), now.as_millis()], |r| {
            let principal = Principal {
                tenant: Tenant {
                    org_id: OrgId(parse(r.get(0)?)?),
                    workspace_id: WorkspaceId(parse(r.get(1)?)?),
                    org_slug: r.get(2)?,
                    workspace_slug: r.get(3)?,
                },
                actor: Actor::ServiceAccount { id: ServiceAccountId(parse(r.get(4)?)?), key_id: ApiKeyId(parse(r.get(5)?)?) },
                agent_address: AgentAddress::from_trusted(r.get(6)?),
                roles: Roles::NONE,
                grants: Vec::new(),
            };
            Ok((principal, r.get::<_, Option<i64>>(7)?.map(Timestamp::from_millis)))
        })
        .optional()
        .map_err(db)
    }
}

fn parse<T: std::str::FromStr>(s: String) -> rusqlite::Result<T> {
    s.parse().map_err(|_| rusqlite::Error::InvalidColumnType(0, s, rusqlite::types::Type::Text))
}
