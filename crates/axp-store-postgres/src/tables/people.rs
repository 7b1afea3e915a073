//! Users, invites and actor tokens.

use async_trait::async_trait;
use axp_core::access::Roles;
use axp_core::api::{ActorToken, Invite, User};
use axp_core::ids::{ActorTokenId, UserId};
use axp_core::users::owner_agent;

use super::*;

#[async_trait]
impl PeopleTable for PgTx {
    async fn insert_user(&mut self, ws: WorkspaceId, user: &User) -> Result<()> {
        q("INSERT INTO users (workspace_id, user_id, nick, body) VALUES ($1, $2, $3, $4)")
            .bind(ws.0)
            .bind(user.user_id.0)
            .bind(&user.normalized_nick)
            .bind(to_json(user)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn user(&mut self, ws: WorkspaceId, id: UserId, for_update: bool) -> Result<Option<User>> {
        let sql = if for_update {
            "SELECT body FROM users WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE"
        } else {
            "SELECT body FROM users WHERE workspace_id = $1 AND user_id = $2"
        };
        body(q(sql).bind(ws.0).bind(id.0).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn user_by_nick(&mut self, ws: WorkspaceId, nick: &str) -> Result<Option<User>> {
        body(
            q("SELECT body FROM users WHERE workspace_id = $1 AND nick = $2")
                .bind(ws.0)
                .bind(nick)
                .fetch_optional(self.conn())
                .await
                .map_err(db)?,
        )
    }

    async fn update_user(&mut self, ws: WorkspaceId, user: &User) -> Result<()> {
        q("UPDATE users SET nick = $3, body = $4 WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws.0)
            .bind(user.user_id.0)
            .bind(&user.normalized_nick)
            .bind(to_json(user)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_invite(&mut self, ws: WorkspaceId, hash: &KeyHash, invite: &Invite) -> Result<()> {
        q("INSERT INTO invites (workspace_id, token_hash, body) VALUES ($1, $2, $3)")
            .bind(ws.0)
            .bind(hash.0.as_slice())
            .bind(to_json(invite)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn invite(&mut self, ws: WorkspaceId, hash: &KeyHash, for_update: bool) -> Result<Option<Invite>> {
        let sql = if for_update {
            "SELECT body FROM invites WHERE workspace_id = $1 AND token_hash = $2 FOR UPDATE"
        } else {
            "SELECT body FROM invites WHERE workspace_id = $1 AND token_hash = $2"
        };
        body(q(sql).bind(ws.0).bind(hash.0.as_slice()).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn update_invite(&mut self, ws: WorkspaceId, hash: &KeyHash, invite: &Invite) -> Result<()> {
        q("UPDATE invites SET body = $3 WHERE workspace_id = $1 AND token_hash = $2")
            .bind(ws.0)
            .bind(hash.0.as_slice())
            .bind(to_json(invite)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_actor_token(&mut self, ws: WorkspaceId, token: &NewActorToken) -> Result<ActorToken> {
        let record = token.record();
        q("INSERT INTO actor_tokens (token_hash, workspace_id, token_id, user_id, expires_at, body)
           VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(token.hash.0.as_slice())
        .bind(ws.0)
        .bind(token.token_id.0)
        .bind(token.user_id.0)
        .bind(token.expires_at.as_millis())
        .bind(to_json(&record)?)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(record)
    }

    async fn actor_token(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        id: ActorTokenId,
        for_update: bool,
    ) -> Result<Option<ActorToken>> {
        let sql = if for_update {
            "SELECT body FROM actor_tokens WHERE workspace_id = $1 AND token_id = $2 AND user_id = $3 FOR UPDATE"
        } else {
            "SELECT body FROM actor_tokens WHERE workspace_id = $1 AND token_id = $2 AND user_id = $3"
        };
        body(q(sql).bind(ws.0).bind(id.0).bind(user.0).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn update_actor_token(&mut self, ws: WorkspaceId, token: &ActorToken) -> Result<()> {
        q("UPDATE actor_tokens SET revoked_at = $3, body = $4 WHERE workspace_id = $1 AND token_id = $2")
            .bind(ws.0)
            .bind(token.token_id.0)
            .bind(token.revoked_at.map(Timestamp::as_millis))
            .bind(to_json(token)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn actor_principal(
        &mut self,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(Principal, Option<Timestamp>)>> {
        let row = q("SELECT w.org_id, w.workspace_id, o.slug, w.slug, t.user_id, t.token_id, t.expires_at
                       FROM actor_tokens t
                       JOIN workspaces w ON w.workspace_id = t.workspace_id
                       JOIN orgs o ON o.org_id = w.org_id
                      WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2")
        .bind(hash.as_slice())
        .bind(now.as_millis())
        .fetch_optional(self.conn())
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        let user = UserId(get(&r, 4)?);
        let principal = Principal {
            tenant: Tenant {
                org_id: OrgId(get(&r, 0)?),
                workspace_id: WorkspaceId(get(&r, 1)?),
                org_slug: get(&r, 2)?,
                workspace_slug: get(&r, 3)?,
            },
            actor: Actor::User { id: user, token_id: ActorTokenId(get(&r, 5)?) },
            agent_address: AgentAddress::from_trusted(owner_agent(user)),
            roles: Roles::NONE,
            grants: Vec::new(),
        };
        let expires_at: i64 = get(&r, 6)?;
        Ok(Some((principal, Some(Timestamp::from_millis(expires_at)))))
    }
}
