//! People: users and their nicks, invites, actor tokens (contract §6 "Users / nicks",
//! "Invites"; §1.1). A nick is unique in its workspace; an invite is accepted once, before it
//! expires; revoking a token drops the cached principals so it stops working at once.

use axp_core::Timestamp;
use axp_core::api::{ActorToken, AuditTarget, Invite, User, actions};
use axp_core::ids::{ActorTokenId, UserId};
use axp_core::users::Nick;
use axp_store::{
    Audit, Error, InviteAcceptance, KeyHash, NewActorToken, Result, Tenant, Transaction, UserUpdate,
};
use serde_json::Value;

use super::Ledger;
use super::audit::{At, details, record};

/// Conflict unless `nick` is free in the workspace or already `user`'s own.
async fn ensure_free(
    tx: &mut dyn Transaction,
    tenant: &Tenant,
    nick: &str,
    user: Option<UserId>,
) -> Result<()> {
    match tx.user_by_nick(tenant.workspace_id, nick).await? {
        Some(other) if Some(other.user_id) != user => {
            Err(Error::Conflict { constraint: "users.nick".into() })
        }
        _ => Ok(()),
    }
}

/// Records that `token` was issued or revoked (its id and its person; never the token).
async fn token_audit(
    tx: &mut dyn Transaction,
    by: &Audit,
    at: At,
    action: &str,
    token: &ActorToken,
) -> Result<()> {
    let fields = details([("user_id", Value::String(token.user_id.to_string()))]);
    record(tx, by, at, action, AuditTarget::new("actor_token", token.token_id), fields).await
}

impl Ledger {
    pub(super) async fn register_user(&self, tenant: &Tenant, user: User) -> Result<User> {
        self.write((tenant.clone(), user), |(tenant, user), tx| {
            Box::pin(async move {
                ensure_free(tx, tenant, &user.normalized_nick, None).await?;
                tx.insert_user(tenant.workspace_id, user).await?;
                Ok(user.clone())
            })
        })
        .await
    }

    pub(super) async fn get_user(&self, tenant: &Tenant, id: UserId) -> Result<User> {
        self.read((tenant.workspace_id, id), |(ws, id), tx| {
            Box::pin(async move { tx.user(*ws, *id, false).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    pub(super) async fn find_user_by_nick(&self, tenant: &Tenant, nick: &Nick) -> Result<Option<User>> {
        self.read((tenant.workspace_id, nick.as_str().to_owned()), |(ws, nick), tx| {
            Box::pin(tx.user_by_nick(*ws, nick))
        })
        .await
    }

    pub(super) async fn update_user(
        &self,
        tenant: &Tenant,
        id: UserId,
        update: UserUpdate,
        now: Timestamp,
    ) -> Result<User> {
        self.write((tenant.clone(), id, update, now), |(tenant, id, update, now), tx| {
            Box::pin(async move {
                let mut user = tx.user(tenant.workspace_id, *id, true).await?.ok_or(Error::NotFound)?;
                if let Some(nick) = &update.nick {
                    ensure_free(tx, tenant, nick.as_str(), Some(*id)).await?;
                    user.set_nick(nick);
                }
                for (field, value) in [
                    (&mut user.display_name, &update.display_name),
                    (&mut user.phone, &update.phone),
                    (&mut user.email, &update.email),
                ] {
                    if value.is_some() {
                        field.clone_from(value);
                    }
                }
                user.updated_at = *now;
                tx.update_user(tenant.workspace_id, &user).await?;
                Ok(user)
            })
        })
        .await
    }

    pub(super) async fn create_invite(
        &self,
        tenant: &Tenant,
        hash: KeyHash,
        invite: Invite,
    ) -> Result<Invite> {
        self.write((tenant.workspace_id, hash, invite), |(ws, hash, invite), tx| {
            Box::pin(async move {
                tx.insert_invite(*ws, hash, invite).await?;
                Ok(invite.clone())
            })
        })
        .await
    }

    pub(super) async fn get_invite(&self, tenant: &Tenant, hash: KeyHash) -> Result<Invite> {
        self.read((tenant.workspace_id, hash), |(ws, hash), tx| {
            Box::pin(async move { tx.invite(*ws, hash, false).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    pub(super) async fn accept_invite(
        &self,
        tenant: &Tenant,
        hash: KeyHash,
        accept: InviteAcceptance,
        by: &Audit,
    ) -> Result<(Invite, User, ActorToken)> {
        self.write((tenant.clone(), hash, accept, by.clone()), |(tenant, hash, accept, by), tx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                let now = accept.user.created_at;
                let mut invite = tx.invite(ws, hash, true).await?.ok_or(Error::NotFound)?;
                if invite.accepted_at.is_some() {
                    return Err(Error::Conflict { constraint: "invites.accepted".into() });
                }
                if now >= invite.expires_at {
                    return Err(Error::Conflict { constraint: "invites.expired".into() });
                }
                let user = &accept.user;
                ensure_free(tx, tenant, &user.normalized_nick, None).await?;
                tx.insert_user(ws, user).await?;
                let token = tx.insert_actor_token(ws, &accept.token).await?;
                token_audit(tx, by, At::tenant(tenant, now), actions::ACTOR_TOKEN_ISSUED, &token).await?;
                invite.accepted_at = Some(now);
                invite.accepted_owner_agent = Some(user.owner_agent.clone());
                invite.nick = Some(user.nick.clone());
                invite.public_address = Some(user.public_address.clone());
                tx.update_invite(ws, hash, &invite).await?;
                Ok((invite, user.clone(), token))
            })
        })
        .await
    }

    pub(super) async fn issue_actor_token(
        &self,
        tenant: &Tenant,
        token: NewActorToken,
        by: &Audit,
    ) -> Result<ActorToken> {
        self.write((tenant.clone(), token, by.clone()), |(tenant, token, by), tx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                tx.user(ws, token.user_id, false).await?.ok_or(Error::NotFound)?;
                let issued = tx.insert_actor_token(ws, token).await?;
                let at = At::tenant(tenant, issued.created_at);
                token_audit(tx, by, at, actions::ACTOR_TOKEN_ISSUED, &issued).await?;
                Ok(issued)
            })
        })
        .await
    }

    pub(super) async fn revoke_actor_token(
        &self,
        tenant: &Tenant,
        user: UserId,
        id: ActorTokenId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ActorToken> {
        self.write((tenant.clone(), user, id, now, by.clone()), |(tenant, user, id, now, by), tx| {
            Box::pin(async move {
                let ws = &tenant.workspace_id;
                let mut token = tx.actor_token(*ws, *user, *id, true).await?.ok_or(Error::NotFound)?;
                if token.revoked_at.is_none() {
                    token.revoked_at = Some(*now);
                    token.status = "revoked".into();
                    tx.update_actor_token(*ws, &token).await?;
                    tx.principals_changed();
                    token_audit(tx, by, At::tenant(tenant, *now), actions::ACTOR_TOKEN_REVOKED, &token)
                        .await?;
                }
                Ok(token)
            })
        })
        .await
    }
}
