//! Organizations, workspaces, service accounts and API keys.

use async_trait::async_trait;

use axp_core::access::Roles;

use super::*;

#[async_trait]
impl AccountTable for PgTx {
    async fn lock_bootstrap(&mut self) -> Result<()> {
        lock_key(self.conn(), "bootstrap").await
    }

    async fn any_org(&mut self) -> Result<bool> {
        let conn = self.conn();
        let row = q("SELECT EXISTS (SELECT 1 FROM orgs)").fetch_one(conn).await.map_err(db)?;
        get(&row, 0)
    }

    /// The org with `slug`, created if missing.
    async fn ensure_org(&mut self, slug: &str, now: Timestamp) -> Result<OrgId> {
        let conn = self.conn();
        let row =
            q("INSERT INTO orgs (org_id, slug, created_at, name, updated_at) VALUES ($1, $2, $3, $2, $3)
                     ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING org_id")
            .bind(OrgId::new().0)
            .bind(slug)
            .bind(now.as_millis())
            .fetch_one(conn)
            .await
            .map_err(db)?;
        Ok(OrgId(get(&row, 0)?))
    }

    async fn org_of(&mut self, ws: WorkspaceId) -> Result<OrgId> {
        let conn = self.conn();
        let row = q("SELECT org_id FROM workspaces WHERE workspace_id = $1")
            .bind(ws.0)
            .fetch_one(conn)
            .await
            .map_err(db)?;
        Ok(OrgId(get(&row, 0)?))
    }

    async fn insert_workspace(&mut self, org: OrgId, slug: &str, now: Timestamp) -> Result<WorkspaceId> {
        let conn = self.conn();
        let id = WorkspaceId::new();
        q("INSERT INTO workspaces (workspace_id, org_id, slug, created_at, name, updated_at)
           VALUES ($1, $2, $3, $4, $3, $4)")
        .bind(id.0)
        .bind(org.0)
        .bind(slug)
        .bind(now.as_millis())
        .execute(conn)
        .await
        .map_err(db)?;
        Ok(id)
    }

    async fn insert_service_account(
        &mut self,
        tenant: &Tenant,
        sa: &NewServiceAccount,
    ) -> Result<ServiceAccountRecord> {
        self.agents.clear();
        self.cached_rows_changed = true;
        let conn = self.conn();
        let record = sa.record(tenant);
        q("INSERT INTO service_accounts (workspace_id, service_account_id, name, agent_address, body, push_secret)
           VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(tenant.workspace_id.0)
        .bind(sa.id.0)
        .bind(&sa.name)
        .bind(sa.agent_address.as_str())
        .bind(to_json(&record)?)
        .bind(sa.push.as_ref().map(|p| p.secret.as_str()))
        .execute(conn)
        .await
        .map_err(db)?;
        Ok(record)
    }

    async fn service_account(
        &mut self,
        tenant: &Tenant,
        id: ServiceAccountId,
        lock: bool,
    ) -> Result<Option<ServiceAccountRecord>> {
        let conn = self.conn();
        let sql = if lock {
            "SELECT body FROM service_accounts WHERE workspace_id = $1 AND service_account_id = $2 FOR UPDATE"
        } else {
            "SELECT body FROM service_accounts WHERE workspace_id = $1 AND service_account_id = $2"
        };
        body(q(sql).bind(tenant.workspace_id.0).bind(id.0).fetch_optional(conn).await.map_err(db)?)
    }

    async fn agent_by_address(
        &mut self,
        ws: WorkspaceId,
        address: &str,
        lock: bool,
    ) -> Result<Option<ServiceAccountRecord>> {
        let key = (ws, address.to_owned());
        if !lock && let Some(agent) = self.agents.get(&key) {
            return Ok(agent.clone());
        }
        let shared = !lock && !self.cached_rows_changed;
        if shared && let Some(agent) = self.rows.agents.get(&key) {
            self.agents.insert(key, agent.clone());
            return Ok(agent);
        }
        let generation = self.rows.agents.generation();
        let sql = if lock {
            "SELECT body FROM service_accounts WHERE workspace_id = $1 AND agent_address = $2 FOR UPDATE"
        } else {
            "SELECT body FROM service_accounts WHERE workspace_id = $1 AND agent_address = $2"
        };
        let agent: Option<ServiceAccountRecord> =
            body(q(sql).bind(ws.0).bind(address).fetch_optional(self.conn()).await.map_err(db)?)?;
        if shared {
            self.rows.agents.insert(key.clone(), agent.clone(), generation);
        }
        self.agents.insert(key, agent.clone());
        Ok(agent)
    }

    /// The agents of a workspace, oldest first.
    async fn list_agents(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<ServiceAccountRecord>> {
        let conn = self.conn();
        bodies(
            q("SELECT body FROM service_accounts WHERE workspace_id = $1 ORDER BY service_account_id LIMIT $2")
                .bind(ws.0)
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await
                .map_err(db)?,
        )
    }

    /// Rewrites an agent's record and its push secret.
    async fn update_agent(
        &mut self,
        ws: WorkspaceId,
        sa: &ServiceAccountRecord,
        push_secret: Option<&str>,
    ) -> Result<()> {
        self.agents.clear();
        self.cached_rows_changed = true;
        let conn = self.conn();
        q("UPDATE service_accounts SET body = $1, push_secret = $2 WHERE workspace_id = $3 AND service_account_id = $4")
            .bind(to_json(sa)?)
            .bind(push_secret)
            .bind(ws.0)
            .bind(sa.service_account_id.0)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The signing secret of the `http` agent at `address`.
    async fn push_secret(&mut self, ws: WorkspaceId, address: &str) -> Result<Option<String>> {
        let conn = self.conn();
        let row =
            q("SELECT push_secret FROM service_accounts WHERE workspace_id = $1 AND agent_address = $2")
                .bind(ws.0)
                .bind(address)
                .fetch_optional(conn)
                .await
                .map_err(db)?;
        Ok(match row {
            Some(r) => get::<Option<String>>(&r, 0)?,
            None => None,
        })
    }

    async fn insert_api_key(
        &mut self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: &NewApiKey,
    ) -> Result<ApiKeyRecord> {
        let conn = self.conn();
        let record = key.record(account);
        q("INSERT INTO api_keys (key_hash, workspace_id, key_id, service_account_id, body, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(key.hash.0.as_slice())
        .bind(tenant.workspace_id.0)
        .bind(key.key_id.0)
        .bind(account.0)
        .bind(to_json(&record)?)
        .bind(key.expires_at.map(Timestamp::as_millis))
        .execute(conn)
        .await
        .map_err(db)?;
        Ok(record)
    }

    async fn api_key_for_update(
        &mut self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: ApiKeyId,
    ) -> Result<Option<ApiKeyRecord>> {
        let conn = self.conn();
        body(
            q("SELECT body FROM api_keys WHERE workspace_id = $1 AND key_id = $2 AND service_account_id = $3 FOR UPDATE")
                .bind(tenant.workspace_id.0)
                .bind(key.0)
                .bind(account.0)
                .fetch_optional(conn)
                .await
                .map_err(db)?,
        )
    }

    async fn update_api_key(&mut self, ws: WorkspaceId, record: &ApiKeyRecord) -> Result<()> {
        let conn = self.conn();
        q("UPDATE api_keys SET body = $1, revoked_at = $2 WHERE workspace_id = $3 AND key_id = $4")
            .bind(to_json(record)?)
            .bind(record.revoked_at.map(Timestamp::as_millis))
            .bind(ws.0)
            .bind(record.key_id.0)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Every active key of a service account, locked.
    async fn active_keys_for_update(
        &mut self,
        ws: WorkspaceId,
        account: ServiceAccountId,
    ) -> Result<Vec<ApiKeyRecord>> {
        let conn = self.conn();
        bodies(
            q("SELECT body FROM api_keys WHERE workspace_id = $1 AND service_account_id = $2 AND revoked_at IS NULL
               ORDER BY key_id FOR UPDATE")
            .bind(ws.0)
            .bind(account.0)
            .fetch_all(conn)
            .await
            .map_err(db)?,
        )
    }

    /// The principal behind an active, unexpired key.
    async fn principal(
        &mut self,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(Principal, Option<Timestamp>)>> {
        let conn = self.conn();
        let row = q("SELECT w.org_id, w.workspace_id, o.slug, w.slug, k.service_account_id, k.key_id, s.agent_address,
                            k.expires_at
                       FROM api_keys k
                       JOIN workspaces w ON w.workspace_id = k.workspace_id
                       JOIN orgs o ON o.org_id = w.org_id
                       JOIN service_accounts s ON s.workspace_id = k.workspace_id AND s.service_account_id = k.service_account_id
                      WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)")
        .bind(hash.as_slice())
        .bind(now.as_millis())
        .fetch_optional(conn)
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        let principal = Principal {
            tenant: Tenant {
                org_id: OrgId(get(&r, 0)?),
                workspace_id: WorkspaceId(get(&r, 1)?),
                org_slug: get(&r, 2)?,
                workspace_slug: get(&r, 3)?,
            },
            actor: Actor::ServiceAccount { id: ServiceAccountId(get(&r, 4)?), key_id: ApiKeyId(get(&r, 5)?) },
            agent_address: AgentAddress::from_trusted(get(&r, 6)?),
            roles: Roles::NONE,
            grants: Vec::new(),
        };
        let expires_at: Option<i64> = get(&r, 7)?;
        Ok(Some((principal, expires_at.map(Timestamp::from_millis))))
    }
}
