//! Users, invites and actor tokens.

use async_trait::async_trait;
use axp_core::access::Roles;
use axp_core::api::{ActorToken, Invite, User};
use axp_core::ids::{ActorTokenId, UserId};
use axp_core::users::owner_agent;
use axp_store::{Actor, KeyHash, NewActorToken};
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl PeopleTable for SqliteTx<'_> {
    async fn insert_user(&mut self, ws: WorkspaceId, user: &User) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO users (workspace_id, user_id, nick, body) VALUES (?1, ?2, ?3, ?4)")
            .map_err(db)?
            .execute(params![ws.to_string(), user.user_id.to_string(), user.normalized_nick, to_json(user)?])
            .map_err(db)?;
        Ok(())
    }

    async fn user(&mut self, ws: WorkspaceId, id: UserId, _for_update: bool) -> Result<Option<User>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM users WHERE workspace_id = ?1 AND user_id = ?2")
            .map_err(db)?
            .query_row(params![ws.to_string(), id.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn user_by_nick(&mut self, ws: WorkspaceId, nick: &str) -> Result<Option<User>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM users WHERE workspace_id = ?1 AND nick = ?2")
            .map_err(db)?
            .query_row(params![ws.to_string(), nick], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn update_user(&mut self, ws: WorkspaceId, user: &User) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE users SET nick = ?3, body = ?4 WHERE workspace_id = ?1 AND user_id = ?2")
            .map_err(db)?
            .execute(params![ws.to_string(), user.user_id.to_string(), user.normalized_nick, to_json(user)?])
            .map_err(db)?;
        Ok(())
    }

    async fn insert_invite(&mut self, ws: WorkspaceId, hash: &KeyHash, invite: &Invite) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO invites (workspace_id, token_hash, body) VALUES (?1, ?2, ?3)")
            .map_err(db)?
            .execute(params![ws.to_string(), hash.0.as_slice(), to_json(invite)?])
            .map_err(db)?;
        Ok(())
    }

    async fn invite(&mut self, ws: WorkspaceId, hash: &KeyHash, _for_update: bool) -> Result<Option<Invite>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM invites WHERE workspace_id = ?1 AND token_hash = ?2")
            .map_err(db)?
            .query_row(params![ws.to_string(), hash.0.as_slice()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn update_invite(&mut self, ws: WorkspaceId, hash: &KeyHash, invite: &Invite) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE invites SET body = ?3 WHERE workspace_id = ?1 AND token_hash = ?2")
            .map_err(db)?
            .execute(params![ws.to_string(), hash.0.as_slice(), to_json(invite)?])
            .map_err(db)?;
        Ok(())
    }

    async fn insert_actor_token(&mut self, ws: WorkspaceId, token: &NewActorToken) -> Result<ActorToken> {
        let record = token.record();
        self.conn
            .prepare_cached(
                "INSERT INTO actor_tokens (token_hash, workspace_id, token_id, user_id, expires_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db)?
            .execute(params![
                token.hash.0.as_slice(),
                ws.to_string(),
                token.token_id.to_string(),
                token.user_id.to_string(),
                token.expires_at.as_millis(),
                to_json(&record)?
            ])
            .map_err(db)?;
        Ok(record)
    }

    async fn actor_token(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        id: ActorTokenId,
        _for_update: bool,
    ) -> Result<Option<ActorToken>> {
        let body: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT body FROM actor_tokens WHERE workspace_id = ?1 AND token_id = ?2 AND user_id = ?3",
            )
            .map_err(db)?
            .query_row(params![ws.to_string(), id.to_string(), user.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn update_actor_token(&mut self, ws: WorkspaceId, token: &ActorToken) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE actor_tokens SET revoked_at = ?3, body = ?4 WHERE workspace_id = ?1 AND token_id = ?2",
            )
            .map_err(db)?
            .execute(params![
                ws.to_string(),
                token.token_id.to_string(),
                token.revoked_at.map(Timestamp::as_millis),
                to_json(token)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn actor_principal(
        &mut self,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(Principal, Option<Timestamp>)>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT w.org_id, w.workspace_id, o.slug, w.slug, t.user_id, t.token_id, t.expires_at
                   FROM actor_tokens t
                   JOIN workspaces w ON w.workspace_id = t.workspace_id
                   JOIN orgs o ON o.org_id = w.org_id
                  WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND t.expires_at > ?2",
            )
            .map_err(db)?
            .query_row(params![hash.as_slice(), now.as_millis()], |r| {
                Ok((
                    [r.get::<_, String>(0)?, r.get(1)?, r.get(4)?, r.get(5)?],
                    (r.get::<_, String>(2)?, r.get::<_, String>(3)?),
                    r.get::<_, i64>(6)?,
                ))
            })
            .optional()
            .map_err(db)?;
        let Some(([org, ws, user, token], (org_slug, workspace_slug), expires_at)) = row else {
            return Ok(None);
        };
        let user = UserId(uuid_of(&user)?);
        let principal = Principal {
            tenant: Tenant {
                org_id: OrgId(uuid_of(&org)?),
                workspace_id: WorkspaceId(uuid_of(&ws)?),
                org_slug,
                workspace_slug,
            },
            actor: Actor::User { id: user, token_id: ActorTokenId(uuid_of(&token)?) },
            agent_address: AgentAddress::from_trusted(owner_agent(user)),
            roles: Roles::NONE,
            grants: Vec::new(),
        };
        Ok(Some((principal, Some(Timestamp::from_millis(expires_at)))))
    }
}
