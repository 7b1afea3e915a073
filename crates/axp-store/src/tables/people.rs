//! People: users (nicks and profiles), invites and actor tokens. Invite and actor tokens are
//! stored as SHA-256 hashes only.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::api::{ActorToken, Invite, User};
use axp_core::ids::{ActorTokenId, UserId, WorkspaceId};

use crate::{KeyHash, NewActorToken, Principal, Result};

/// Tables `users`, `invites` and `actor_tokens`.
#[async_trait]
pub trait PeopleTable {
    /// Adds a user. Errors: [`crate::Error::Conflict`] when its normalised nick is taken in the
    /// workspace.
    async fn insert_user(&mut self, ws: WorkspaceId, user: &User) -> Result<()>;

    /// One user of the workspace (locked with `for_update`).
    async fn user(&mut self, ws: WorkspaceId, id: UserId, for_update: bool) -> Result<Option<User>>;

    /// The user of the workspace whose normalised nick is `nick`.
    async fn user_by_nick(&mut self, ws: WorkspaceId, nick: &str) -> Result<Option<User>>;

    /// Rewrites a user (nick and profile). Errors: [`crate::Error::Conflict`] when its new nick
    /// is taken in the workspace.
    async fn update_user(&mut self, ws: WorkspaceId, user: &User) -> Result<()>;

    /// Adds an invite known by the hash of its token.
    async fn insert_invite(&mut self, ws: WorkspaceId, hash: &KeyHash, invite: &Invite) -> Result<()>;

    /// The invite of the workspace with this token hash (locked with `for_update`).
    async fn invite(&mut self, ws: WorkspaceId, hash: &KeyHash, for_update: bool) -> Result<Option<Invite>>;

    /// Rewrites an invite (its acceptance).
    async fn update_invite(&mut self, ws: WorkspaceId, hash: &KeyHash, invite: &Invite) -> Result<()>;

    /// Adds an actor token; returns its record.
    async fn insert_actor_token(&mut self, ws: WorkspaceId, token: &NewActorToken) -> Result<ActorToken>;

    /// One actor token of `user` (locked with `for_update`).
    async fn actor_token(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        id: ActorTokenId,
        for_update: bool,
    ) -> Result<Option<ActorToken>>;

    /// Rewrites an actor token's record (its `revoked_at` included).
    async fn update_actor_token(&mut self, ws: WorkspaceId, token: &ActorToken) -> Result<()>;

    /// The person behind an unrevoked actor token with SHA-256 `hash` that has not expired at
    /// `now`, with the token's expiry; across workspaces. The principal has no roles and no
    /// grants yet (the ledger adds the roles of the user's memberships).
    async fn actor_principal(
        &mut self,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(Principal, Option<Timestamp>)>>;
}
