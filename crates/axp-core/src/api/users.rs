//! People: users and their nicks (contract §6 "Users / nicks", `api.users.*.v1.json`), their
//! actor tokens (§1.1) and `GET /v1/me`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::yes;
use crate::access::Role;
use crate::ids::{ActorTokenId, OrgId, UserId, WorkspaceId};
use crate::time::Timestamp;
use crate::users::{Nick, owner_agent};

/// A person of a workspace, as stored and as the profile routes show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Its id.
    pub user_id: UserId,
    /// `agent://user/<user_id>`.
    pub owner_agent: String,
    /// `@<normalized_nick>`.
    pub nick: String,
    /// The normalised nick, unique in the workspace.
    pub normalized_nick: String,
    /// `<normalized_nick>@ax`.
    pub public_address: String,
    /// 1 to 120 characters.
    pub display_name: Option<String>,
    /// 3 to 32 characters.
    pub phone: Option<String>,
    /// 3 to 255 characters.
    pub email: Option<String>,
    /// Registration time.
    pub created_at: Timestamp,
    /// Last change (its nick included).
    pub updated_at: Timestamp,
}

impl User {
    /// A new user `id` named `nick`, registered at `now`.
    pub fn new(id: UserId, nick: &Nick, now: Timestamp) -> Self {
        Self {
            user_id: id,
            owner_agent: owner_agent(id),
            nick: nick.handle(),
            normalized_nick: nick.as_str().to_owned(),
            public_address: nick.public_address(),
            display_name: None,
            phone: None,
            email: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Renames it (nick, normalised nick and public address together).
    pub fn set_nick(&mut self, nick: &Nick) {
        self.nick = nick.handle();
        self.normalized_nick = nick.as_str().to_owned();
        self.public_address = nick.public_address();
    }
}

/// Body of `POST /v1/users/register-nick` (`api.users.register_nick.request.v1.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterNickRequest {
    /// The nick, with or without `@`, any case.
    pub nick: String,
    /// 1 to 120 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// 3 to 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// 3 to 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Body of `POST /v1/users/rename-nick` (`api.users.rename_nick.request.v1.json`) and, with
/// `nick` optional, of `POST /v1/users/profile/update` (`api.users.profile.update.request.v1.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUserRequest {
    /// The user's `agent://user/<user_id>`.
    pub owner_agent: String,
    /// The new nick (required by rename-nick).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// 1 to 120 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// 3 to 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// 3 to 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `GET /v1/users/check-nick?nick=` (`api.users.check_nick.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckNickResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// `@<normalized_nick>`.
    pub nick: String,
    /// The normalised nick.
    pub normalized_nick: String,
    /// `<normalized_nick>@ax`.
    pub public_address: String,
    /// Whether no user of the workspace has it.
    pub available: bool,
}

/// The user fields the register and rename answers share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NickedUser {
    /// The user.
    pub user_id: UserId,
    /// `agent://user/<user_id>`.
    pub owner_agent: String,
    /// `@<nick>`.
    pub nick: String,
    /// `<nick>@ax`.
    pub public_address: String,
    /// As given or changed.
    pub display_name: Option<String>,
    /// As given or changed.
    pub phone: Option<String>,
    /// As given or changed.
    pub email: Option<String>,
}

impl From<User> for NickedUser {
    fn from(u: User) -> Self {
        Self {
            user_id: u.user_id,
            owner_agent: u.owner_agent,
            nick: u.nick,
            public_address: u.public_address,
            display_name: u.display_name,
            phone: u.phone,
            email: u.email,
        }
    }
}

/// `POST /v1/users/register-nick` (`api.users.register_nick.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterNickResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The new user.
    #[serde(flatten)]
    pub user: NickedUser,
    /// Registration time.
    pub created_at: Timestamp,
}

impl From<User> for RegisterNickResponse {
    fn from(u: User) -> Self {
        let created_at = u.created_at;
        Self { ok: true, user: u.into(), created_at }
    }
}

/// `POST /v1/users/rename-nick` (`api.users.rename_nick.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameNickResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The user after the change.
    #[serde(flatten)]
    pub user: NickedUser,
    /// When it was renamed.
    pub renamed_at: Timestamp,
}

impl From<User> for RenameNickResponse {
    fn from(u: User) -> Self {
        let renamed_at = u.updated_at;
        Self { ok: true, user: u.into(), renamed_at }
    }
}

/// `GET /v1/users/profile` and `POST /v1/users/profile/update`
/// (`api.users.profile.get.response.v1.json`, `api.users.profile.update.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The user.
    pub user_id: UserId,
    /// `agent://user/<user_id>`.
    pub owner_agent: String,
    /// `@<nick>`.
    pub nick: String,
    /// The normalised nick.
    pub normalized_nick: String,
    /// `<nick>@ax`.
    pub public_address: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Last change.
    pub updated_at: Timestamp,
}

impl From<User> for ProfileResponse {
    fn from(u: User) -> Self {
        Self {
            ok: true,
            user_id: u.user_id,
            owner_agent: u.owner_agent,
            nick: u.nick,
            normalized_nick: u.normalized_nick,
            public_address: u.public_address,
            display_name: u.display_name,
            phone: u.phone,
            email: u.email,
            updated_at: u.updated_at,
        }
    }
}

/// `GET /v1/users/resolve-nick?nick=` (OAS `ResolveNickResponse`): `resolved` says whether a
/// user of the workspace has the nick; the owner and names are `null` when not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveNickResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// Whether the nick names a user.
    pub resolved: bool,
    /// `@<normalized_nick>`.
    pub nick: String,
    /// The normalised nick.
    pub normalized_nick: String,
    /// `<normalized_nick>@ax`.
    pub public_address: String,
    /// The user's `agent://user/<user_id>`.
    pub owner_agent: Option<String>,
    /// The user's display name.
    pub display_name: Option<String>,
    /// The user's phone: only for callers who may read that user's things.
    pub phone: Option<String>,
    /// The user's email: only for callers who may read that user's things.
    pub email: Option<String>,
}

/// An actor token as stored and listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActorToken {
    /// Its id.
    pub token_id: ActorTokenId,
    /// The person it authenticates.
    pub user_id: UserId,
    /// `active` or `revoked` (an expired one stays `active` and authenticates no more).
    pub status: String,
    /// Issue time.
    pub created_at: Timestamp,
    /// When it stops authenticating.
    pub expires_at: Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

/// `POST /v1/users/{user_id}/tokens` (an axp extension): a new actor token, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewActorTokenResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// `axme_at_<64 hex>`: send it as `Authorization: Bearer`.
    pub token: String,
    /// Its id, to revoke it.
    pub token_id: ActorTokenId,
    /// When it stops authenticating.
    pub expires_at: Timestamp,
}

/// `POST /v1/users/{user_id}/tokens/{token_id}/revoke` (an axp extension).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActorTokenResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The token, `revoked`.
    pub actor_token: ActorToken,
}

/// What kind of caller `GET /v1/me` describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A service account, by API key.
    ServiceAccount,
    /// A person, by actor token.
    User,
}

/// The caller as `GET /v1/me` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// Service account or person.
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The service account's or the user's id.
    pub id: Uuid,
    /// Its agent address: `from_agent` of what it sends, its default owner scope.
    pub owner_agent: String,
    /// The roles its memberships give it in its workspace, strongest first; empty: it acts
    /// only as its own address (and, for a service account, the addresses granted to it).
    pub roles: Vec<Role>,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// Its organization.
    pub org_id: OrgId,
}

/// `GET /v1/me` (an axp extension): `{"ok": true, "actor": {…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The caller.
    pub actor: Me,
}
